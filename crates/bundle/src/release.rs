//! The signed release: which bundle the edge serves, who says so, until
//! when, and in which order.
//!
//! KV key `manifest` holds a [`SignedRelease`]: a [`Release`] as JSON text,
//! the ed25519 signature over exactly that text, and the signing key's id.
//! The edge trusts a set of keys (so a new key can sign before the old one
//! is retired) and refuses, keeping its last good bundle:
//! - a manifest that is not a signed release (a bare [`Manifest`], as
//!   publishers before releases wrote them);
//! - a release signed by a key it does not trust, or whose signature does
//!   not match its text;
//! - an expired release (a publisher that stopped publishing cannot keep
//!   the edge on a stale bundle forever: a freeze);
//! - a release older, by sequence, than the newest it has accepted (a
//!   replayed old release: a downgrade).
//!
//! The bundles a release names are checked against their content
//! addresses when read (mix-and-match), and each bundle carries its own
//! signature. Every publish, rollout, promotion and rollback writes a new
//! release with the next sequence number.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::keys::key_id;
use crate::manifest::Manifest;
use crate::stale::Stale;

/// Version of [`SignedRelease`]'s layout.
pub const RELEASE_FORMAT: u32 = 1;

/// What KV key `manifest` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRelease {
    /// [`RELEASE_FORMAT`].
    pub format: u32,
    /// Id of the signing key, hex ([`key_id`]).
    pub key_id: String,
    /// Ed25519 signature over the bytes of `release`, hex.
    pub signature: String,
    /// The [`Release`] as JSON text, signed as written (no canonical form
    /// to agree on).
    pub release: String,
}

/// Which bundles to serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// One more than the release it replaces: the edge never goes back.
    pub sequence: u64,
    /// When it was signed, unix seconds.
    pub created_at: i64,
    /// When the edge stops accepting it, unix seconds.
    pub expires_at: i64,
    /// The bundle (or shard set) every shopper gets, but the canary's.
    pub current: Manifest,
    /// What `current` replaced: where a rollback goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Manifest>,
    /// A bundle served to a share of shoppers before it is promoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<Canary>,
}

/// A bundle on trial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Canary {
    /// The bundle.
    pub bundle: Manifest,
    /// Percent of shoppers (with an id) who get it, 0 to 100.
    pub percent: u8,
}

/// Why a release was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseError {
    /// Not a signed release at all.
    #[error("the manifest is not a signed release ({0}); publish it again with this firstpaint")]
    Unsigned(String),
    /// A layout this reader does not know.
    #[error("the release is format {got}; this edge reads format {supported}")]
    Format {
        /// The release's format.
        got: u32,
        /// The format read here.
        supported: u32,
    },
    /// Signed by a key not in the trusted set.
    #[error("the release is signed by key {0}, which is not trusted (BUNDLE_PUBKEYS)")]
    UnknownKey(String),
    /// The signature does not match the text.
    #[error("the release's signature does not match its text (key {0})")]
    BadSignature(String),
    /// Expired, or older than a release already served.
    #[error(transparent)]
    Stale(#[from] Stale),
    /// Readable but wrong: the message names the field.
    #[error("the release is malformed: {0}")]
    Malformed(String),
}

impl SignedRelease {
    /// `release` signed with `key`.
    pub fn sign(release: &Release, key: &SigningKey) -> Self {
        // A struct of strings, numbers and options: serializing cannot fail.
        let text = serde_json::to_string_pretty(release).unwrap_or_default();
        let signature = key.sign(text.as_bytes());
        Self {
            format: RELEASE_FORMAT,
            key_id: crate::hex(&key_id(&key.verifying_key())),
            signature: crate::hex(&signature.to_bytes()),
            release: text,
        }
    }

    /// As stored in KV.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads KV's `manifest` text: a release signed by one of `keys`, not
    /// expired at `now` (unix seconds), not older than `newest` (the
    /// newest sequence already accepted; 0 for none), naming content
    /// addresses only.
    pub fn open(
        text: &str,
        keys: &[VerifyingKey],
        now: i64,
        newest: u64,
    ) -> Result<Release, ReleaseError> {
        let signed: SignedRelease =
            serde_json::from_str(text).map_err(|e| ReleaseError::Unsigned(e.to_string()))?;
        if signed.format != RELEASE_FORMAT {
            return Err(ReleaseError::Format {
                got: signed.format,
                supported: RELEASE_FORMAT,
            });
        }
        let key = keys
            .iter()
            .find(|k| crate::hex(&key_id(k)) == signed.key_id)
            .ok_or_else(|| ReleaseError::UnknownKey(signed.key_id.clone()))?;
        let bad = || ReleaseError::BadSignature(signed.key_id.clone());
        let bytes = crate::keys::parse_hex::<64>(&signed.signature).map_err(|_| bad())?;
        key.verify(signed.release.as_bytes(), &Signature::from_bytes(&bytes))
            .map_err(|_| bad())?;
        let release: Release = serde_json::from_str(&signed.release)
            .map_err(|e| ReleaseError::Malformed(e.to_string()))?;
        release.check().map_err(ReleaseError::Malformed)?;
        crate::stale::check("release", release.sequence, release.expires_at, now, newest)?;
        Ok(release)
    }
}

impl Release {
    /// Checks what the edge relies on: every bundle named by its content
    /// address ([`Manifest::check`]), a canary share of at most 100, an
    /// expiry after the signing. The error names the field at fault.
    pub fn check(&self) -> Result<(), String> {
        self.current.check().map_err(|e| format!("current: {e}"))?;
        if let Some(previous) = &self.previous {
            previous.check().map_err(|e| format!("previous: {e}"))?;
        }
        if let Some(canary) = &self.canary {
            canary.bundle.check().map_err(|e| format!("canary: {e}"))?;
            if canary.percent > 100 {
                return Err(format!("canary.percent is {}, above 100", canary.percent));
            }
        }
        if self.expires_at <= self.created_at {
            return Err(format!(
                "expires_at {} is not after created_at {}",
                self.expires_at, self.created_at
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn bundle(byte: u8) -> Manifest {
        Manifest::single(crate::hex(&[byte; 32]), None, 10, 3, "k".into(), 5)
    }

    fn release(sequence: u64) -> Release {
        Release {
            sequence,
            created_at: 1_000,
            expires_at: 2_000,
            current: bundle(1),
            previous: Some(bundle(2)),
            canary: Some(Canary {
                bundle: bundle(3),
                percent: 30,
            }),
        }
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn a_signed_release_opens_with_any_trusted_key() {
        let signed = SignedRelease::sign(&release(7), &key(1)).to_json();
        let keys = [key(2).verifying_key(), key(1).verifying_key()];
        assert_eq!(
            SignedRelease::open(&signed, &keys, 1_500, 7).unwrap(),
            release(7)
        );
        assert_eq!(
            SignedRelease::open(&signed, &keys, 1_500, 0).unwrap(),
            release(7)
        );
    }

    #[test]
    fn each_attack_is_refused_by_name() {
        let keys = [key(1).verifying_key()];
        let good = SignedRelease::sign(&release(7), &key(1));
        let open =
            |s: &SignedRelease, now, newest| SignedRelease::open(&s.to_json(), &keys, now, newest);
        // Downgrade: an older release than one already served.
        assert_eq!(
            open(&good, 1_500, 8),
            Err(ReleaseError::Stale(Stale::Older {
                what: "release",
                got: 7,
                newest: 8
            }))
        );
        // Freeze: past its expiry.
        assert!(matches!(
            open(&good, 2_000, 0),
            Err(ReleaseError::Stale(Stale::Expired { .. }))
        ));
        // Unknown key.
        let other = SignedRelease::sign(&release(7), &key(9));
        assert!(matches!(
            open(&other, 1_500, 0),
            Err(ReleaseError::UnknownKey(_))
        ));
        // The text changed after signing (here: the canary share).
        let mut tampered = good.clone();
        tampered.release = tampered
            .release
            .replace("\"percent\": 30", "\"percent\": 100");
        assert_ne!(tampered.release, good.release);
        assert!(matches!(
            open(&tampered, 1_500, 0),
            Err(ReleaseError::BadSignature(_))
        ));
        // A signature that is not hex.
        let mut garbled = good.clone();
        garbled.signature = "zz".into();
        assert!(matches!(
            open(&garbled, 1_500, 0),
            Err(ReleaseError::BadSignature(_))
        ));
        // Another format.
        let mut future = good.clone();
        future.format = 2;
        assert!(matches!(
            open(&future, 1_500, 0),
            Err(ReleaseError::Format { got: 2, .. })
        ));
    }

    #[test]
    fn an_unsigned_manifest_is_refused_with_the_publish_again_message() {
        let bare = serde_json::to_string(&bundle(1)).unwrap();
        let err = SignedRelease::open(&bare, &[key(1).verifying_key()], 1_500, 0).unwrap_err();
        assert!(matches!(err, ReleaseError::Unsigned(_)), "{err:?}");
        assert!(err.to_string().contains("publish it again"), "{err}");
    }

    #[test]
    fn a_signed_release_naming_a_bad_address_is_malformed() {
        let mut bad = release(7);
        bad.current.bundle_key = "bundles/elsewhere".into();
        let signed = SignedRelease::sign(&bad, &key(1)).to_json();
        let err = SignedRelease::open(&signed, &[key(1).verifying_key()], 1_500, 0).unwrap_err();
        assert!(err.to_string().contains("current: manifest: key"), "{err}");
        let mut share = release(7);
        if let Some(c) = share.canary.as_mut() {
            c.percent = 101;
        }
        let signed = SignedRelease::sign(&share, &key(1)).to_json();
        let err = SignedRelease::open(&signed, &[key(1).verifying_key()], 1_500, 0).unwrap_err();
        assert!(err.to_string().contains("canary.percent is 101"), "{err}");
    }
}
