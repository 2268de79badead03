//! Signed webhooks: HMAC-SHA256 over a timestamp and the body, a replay
//! window, and several secrets at once so one can be rotated.
//!
//! The sender puts `firstpaint-signature: t=<unix seconds>,v1=<hex>` on the
//! request, where `<hex>` is HMAC-SHA256 with a shared secret of
//! `"<t>.<body>"`; while a secret is being rotated it may send one `v1=`
//! per secret. The receiver accepts the request when a `v1` matches one of
//! its secrets, `t` is within the window of its clock, and that signature
//! was not accepted before (within the window, after which `t` alone
//! refuses it).
//!
//! ```
//! use firstpaint_origin::webhook::{sign, Secrets, Verifier};
//!
//! let secrets = Secrets::parse("old-secret-0123456789,new-secret-0123456789").unwrap();
//! let mut verifier = Verifier::new(secrets, 300);
//! let header = sign(b"new-secret-0123456789", 1_000, b"{}");
//! assert!(verifier.verify(Some(&header), b"{}", 1_010).is_ok());
//! assert!(verifier.verify(Some(&header), b"{}", 1_011).is_err()); // replayed
//! ```

use std::collections::HashMap;
use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

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

/// Checks webhook signatures, remembering the ones accepted within the
/// window.
#[derive(Debug)]
pub struct Verifier {
    secrets: Secrets,
    window_secs: i64,
    /// Accepted signatures and their timestamps.
    accepted: HashMap<Vec<u8>, i64>,
}

impl Verifier {
    /// A verifier of `secrets` accepting timestamps within `window_secs`
    /// of its clock.
    pub fn new(secrets: Secrets, window_secs: i64) -> Verifier {
        Verifier {
            secrets,
            window_secs,
            accepted: HashMap::new(),
        }
    }

    /// Whether `header` (the signature header's value, if any) signs
    /// `body` now (`now`, unix seconds); an accepted signature is not
    /// accepted again.
    pub fn verify(&mut self, header: Option<&str>, body: &[u8], now: i64) -> Result<(), Refused> {
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
                Some(("v1", hex)) => tags.push(
                    decode_hex(hex)
                        .ok_or_else(|| Refused::Malformed(format!("`v1={hex}` is not hex")))?,
                ),
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
        let matched = tags.into_iter().find(|tag| {
            self.secrets
                .0
                .iter()
                .any(|secret| mac(secret, timestamp, body).verify_slice(tag).is_ok())
        });
        let tag = matched.ok_or(Refused::Mismatch)?;
        let window = self.window_secs;
        self.accepted
            .retain(|_, t| now.saturating_sub(*t).saturating_abs() <= window);
        if self.accepted.insert(tag, timestamp).is_some() {
            return Err(Refused::Replayed);
        }
        Ok(())
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
        let mut v = verifier();
        assert_eq!(v.verify(Some(&sign(OLD, 100, b"a")), b"a", 100), Ok(()));
        assert_eq!(v.verify(Some(&sign(NEW, 101, b"a")), b"a", 100), Ok(()));
        // One v1 per secret: the one that matches is enough.
        let other = sign(b"retired-secret-0123456789", 102, b"a");
        let both = format!(
            "{},{}",
            sign(NEW, 102, b"a"),
            other.split_once(',').unwrap().1
        );
        assert_eq!(v.verify(Some(&both), b"a", 100), Ok(()));
    }

    #[test]
    fn every_refusal_says_why() {
        let mut v = verifier();
        assert_eq!(v.verify(None, b"a", 0), Err(Refused::Missing));
        assert_eq!(
            v.verify(Some(&sign(NEW, 100, b"a")), b"b", 100),
            Err(Refused::Mismatch)
        );
        assert_eq!(
            v.verify(
                Some(&sign(b"someone-else-0123456789", 100, b"a")),
                b"a",
                100
            ),
            Err(Refused::Mismatch)
        );
        assert_eq!(
            v.verify(Some(&sign(NEW, 100, b"a")), b"a", 401),
            Err(Refused::OutsideWindow {
                skew_secs: 301,
                window_secs: 300
            })
        );
        assert!(matches!(
            v.verify(Some("t=now,v1=00"), b"a", 0),
            Err(Refused::Malformed(_))
        ));
        assert!(matches!(
            v.verify(Some("t=1"), b"a", 1),
            Err(Refused::Malformed(_))
        ));
        assert!(matches!(
            v.verify(Some("t=1,v1=zz"), b"a", 1),
            Err(Refused::Malformed(_))
        ));
        let signed = sign(NEW, 100, b"a");
        assert_eq!(v.verify(Some(&signed), b"a", 100), Ok(()));
        assert_eq!(v.verify(Some(&signed), b"a", 200), Err(Refused::Replayed));
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
