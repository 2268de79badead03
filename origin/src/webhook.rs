//! Signed webhooks: HMAC-SHA256 over a timestamp and the body, a replay
//! window, and several secrets at once so one can be rotated.
//!
//! The sender puts `firstpaint-signature: t=<unix seconds>,v1=<hex>` on the
//! request, where `<hex>` is HMAC-SHA256 with a shared secret of
//! `"<t>.<body>"`; while a secret is being rotated it may send one `v1=`
//! per secret. The receiver accepts the request when a `v1` matches one of
//! its secrets and `t` is within the window of its clock ([`Verifier`]),
//! and the same body at the same `t` was not accepted before, whichever
//! signatures it carried ([`Replays`]; past the window `t` alone refuses
//! it). At most [`MAX_SIGNATURES`] `v1`s are read, and each secret's MAC is
//! computed once, so a forged header costs little.
//!
//! ```
//! use firstpaint_origin::webhook::{sign, Replays, Secrets, Verifier};
//!
//! let secrets = Secrets::parse("old-secret-0123456789,new-secret-0123456789").unwrap();
//! let verifier = Verifier::new(secrets, 300);
//! let mut replays = Replays::new(300);
//! let header = sign(b"new-secret-0123456789", 1_000, b"{}");
//! let delivery = verifier.check(Some(&header), b"{}", 1_010).unwrap();
//! assert!(!replays.seen(&delivery, 1_010));
//! replays.remember(delivery.clone(), 1_010);
//! assert!(replays.seen(&delivery, 1_011)); // a replay
//! ```

use std::collections::HashMap;
use std::fmt;

use hmac::digest::{CtOutput, Output};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The request header carrying the signature.
pub const SIGNATURE_HEADER: &str = "firstpaint-signature";
/// Shortest secret accepted, bytes.
pub const MIN_SECRET_BYTES: usize = 16;

/// The secrets a signature may be made with (the first is the newest).
#[derive(Clone)]
pub struct Secrets(Vec<Vec<u8>>);

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} hidden)", self.0.len())
    }
}

impl Secrets {
    /// Secrets separated by commas, each at least [`MIN_SECRET_BYTES`].
    pub fn parse(text: &str) -> Result<Secrets, String> {
        let secrets: Vec<Vec<u8>> = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.as_bytes().to_vec())
            .collect();
        if secrets.is_empty() {
            return Err("no webhook secret given".into());
        }
        if let Some(i) = secrets.iter().position(|s| s.len() < MIN_SECRET_BYTES) {
            return Err(format!(
                "webhook secret {} is shorter than {MIN_SECRET_BYTES} bytes",
                i + 1
            ));
        }
        Ok(Secrets(secrets))
    }
}

/// The `firstpaint-signature` value for `body` sent at `timestamp` with
/// `secret` (what a sender computes; the tests' sender).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", firstpaint_bundle::hex(&tag))
}

/// Why a webhook was refused (each a `401`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// No signature header.
    Missing,
    /// The header is not `t=…,v1=…`.
    Malformed(String),
    /// `t` is too far from now.
    OutsideWindow {
        /// Seconds between `t` and now.
        skew_secs: i64,
        /// The window, seconds.
        window_secs: i64,
    },
    /// No `v1` matches any secret.
    Mismatch,
    /// This signature was accepted before.
    Replayed,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Missing => write!(f, "no {SIGNATURE_HEADER} header"),
            Refused::Malformed(why) => write!(f, "{SIGNATURE_HEADER}: {why}"),
            Refused::OutsideWindow {
                skew_secs,
                window_secs,
            } => write!(
                f,
                "{SIGNATURE_HEADER}: timestamp is {skew_secs} s from now, outside the {window_secs} s replay window"
            ),
            Refused::Mismatch => write!(
                f,
                "{SIGNATURE_HEADER}: the signature does not match the body with any secret"
            ),
            Refused::Replayed => write!(f, "{SIGNATURE_HEADER}: this request was already received"),
        }
    }
}

/// Most `v1` signatures read from one header.
pub const MAX_SIGNATURES: usize = 8;

/// Checks webhook signatures against the secrets and the clock.
#[derive(Debug)]
pub struct Verifier {
    secrets: Secrets,
    window_secs: i64,
}

/// A request whose signature checked: what makes it the same request if
/// it comes again (its time and body, whatever signatures it carried).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Delivery {
    timestamp: i64,
    body_sha256: [u8; 32],
}

impl Verifier {
    /// A verifier of `secrets` accepting timestamps within `window_secs`
    /// of its clock.
    pub fn new(secrets: Secrets, window_secs: i64) -> Verifier {
        Verifier {
            secrets,
            window_secs,
        }
    }

    /// The delivery `header` (the signature header's value, if any) signs
    /// with `body` now (`now`, unix seconds), or why it does not.
    pub fn check(&self, header: Option<&str>, body: &[u8], now: i64) -> Result<Delivery, Refused> {
        let header = header.ok_or(Refused::Missing)?;
        let mut timestamp = None;
        let mut tags = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", t)) => {
                    timestamp =
                        Some(t.parse::<i64>().map_err(|_| {
                            Refused::Malformed(format!("`t={t}` is not unix seconds"))
                        })?);
                }
                Some(("v1", hex)) => {
                    if tags.len() == MAX_SIGNATURES {
                        return Err(Refused::Malformed(format!(
                            "more than {MAX_SIGNATURES} `v1=` signatures"
                        )));
                    }
                    let tag = decode_hex(hex)
                        .filter(|t| t.len() == 32)
                        .ok_or_else(|| Refused::Malformed("a `v1=` is not 64 hex digits".into()))?;
                    tags.push(tag);
                }
                // Other schemes a later sender may add are ignored.
                Some(_) => {}
                None => return Err(Refused::Malformed(format!("`{part}` is not name=value"))),
            }
        }
        let timestamp = timestamp.ok_or_else(|| Refused::Malformed("no `t=`".into()))?;
        if tags.is_empty() {
            return Err(Refused::Malformed("no `v1=`".into()));
        }
        let skew_secs = now.saturating_sub(timestamp);
        if skew_secs.saturating_abs() > self.window_secs {
            return Err(Refused::OutsideWindow {
                skew_secs,
                window_secs: self.window_secs,
            });
        }
        // One MAC per secret, compared with each tag in constant time.
        let expected: Vec<_> = self
            .secrets
            .0
            .iter()
            .map(|secret| mac(secret, timestamp, body).finalize())
            .collect();
        let matched = tags.iter().any(|tag| {
            let tag = CtOutput::<Hmac<Sha256>>::new(Output::<Hmac<Sha256>>::clone_from_slice(tag));
            expected.contains(&tag)
        });
        if !matched {
            return Err(Refused::Mismatch);
        }
        Ok(Delivery {
            timestamp,
            body_sha256: Sha256::digest(body).into(),
        })
    }
}

/// The deliveries accepted within the replay window (in memory: a restart
/// forgets them, and then only the window refuses a replay).
#[derive(Debug)]
pub struct Replays {
    window_secs: i64,
    accepted: HashMap<Delivery, i64>,
}

impl Replays {
    /// Remembers deliveries for `window_secs`.
    pub fn new(window_secs: i64) -> Replays {
        Replays {
            window_secs,
            accepted: HashMap::new(),
        }
    }

    /// Whether `delivery` was accepted before (as of `now`, unix seconds).
    pub fn seen(&mut self, delivery: &Delivery, now: i64) -> bool {
        let window = self.window_secs;
        self.accepted
            .retain(|_, t| now.saturating_sub(*t).saturating_abs() <= window);
        self.accepted.contains_key(delivery)
    }

    /// Records `delivery` as accepted (once what it asked for is done, so
    /// a retry after a failure is not taken for a replay).
    pub fn remember(&mut self, delivery: Delivery, now: i64) {
        self.accepted.insert(delivery, now);
    }
}

/// HMAC-SHA256 with `secret`, fed `"<timestamp>.<body>"`.
fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &[u8] = b"old-secret-0123456789";
    const NEW: &[u8] = b"new-secret-0123456789";

    fn verifier() -> Verifier {
        Verifier::new(
            Secrets::parse("new-secret-0123456789, old-secret-0123456789").unwrap(),
            300,
        )
    }

    #[test]
    fn either_secret_signs_during_a_rotation() {
        let v = verifier();
        assert!(v.check(Some(&sign(OLD, 100, b"a")), b"a", 100).is_ok());
        assert!(v.check(Some(&sign(NEW, 101, b"a")), b"a", 100).is_ok());
        // One v1 per secret: the one that matches is enough.
        let other = sign(b"retired-secret-0123456789", 102, b"a");
        let both = format!(
            "{},{}",
            sign(NEW, 102, b"a"),
            other.split_once(',').unwrap().1
        );
        assert!(v.check(Some(&both), b"a", 100).is_ok());
    }

    #[test]
    fn every_refusal_says_why() {
        let v = verifier();
        assert_eq!(v.check(None, b"a", 0), Err(Refused::Missing));
        assert_eq!(
            v.check(Some(&sign(NEW, 100, b"a")), b"b", 100),
            Err(Refused::Mismatch)
        );
        assert_eq!(
            v.check(
                Some(&sign(b"someone-else-0123456789", 100, b"a")),
                b"a",
                100
            ),
            Err(Refused::Mismatch)
        );
        assert_eq!(
            v.check(Some(&sign(NEW, 100, b"a")), b"a", 401),
            Err(Refused::OutsideWindow {
                skew_secs: 301,
                window_secs: 300
            })
        );
        for bad in ["t=now,v1=00", "t=1", "t=1,v1=zz", "t=1,v1=00"] {
            assert!(
                matches!(v.check(Some(bad), b"a", 1), Err(Refused::Malformed(_))),
                "{bad}"
            );
        }
        let many = format!(
            "t=1{}",
            format!(",v1={}", "0".repeat(64)).repeat(MAX_SIGNATURES + 1)
        );
        assert!(matches!(
            v.check(Some(&many), b"a", 1),
            Err(Refused::Malformed(_))
        ));
    }

    #[test]
    fn a_delivery_is_the_same_whatever_signatures_it_carries() {
        let v = verifier();
        let mut replays = Replays::new(300);
        let rotating = format!(
            "{},{}",
            sign(NEW, 100, b"a"),
            sign(OLD, 100, b"a").split_once(',').unwrap().1
        );
        let first = v.check(Some(&rotating), b"a", 100).unwrap();
        replays.remember(first, 100);
        // The old secret's signature alone, cut from the header: a replay.
        let cut = sign(OLD, 100, b"a");
        let again = v.check(Some(&cut), b"a", 150).unwrap();
        assert!(replays.seen(&again, 150));
        // Another body at the same time is another delivery.
        let other = v.check(Some(&sign(NEW, 100, b"b")), b"b", 150).unwrap();
        assert!(!replays.seen(&other, 150));
        assert_eq!(
            Refused::Replayed.to_string(),
            "firstpaint-signature: this request was already received"
        );
    }

    #[test]
    fn short_or_missing_secrets_are_refused() {
        assert!(Secrets::parse("").is_err());
        assert_eq!(
            Secrets::parse("long-enough-secret-1,short").unwrap_err(),
            "webhook secret 2 is shorter than 16 bytes"
        );
    }
}
