//! The signed live overlay: stock, prices and availability pushed between
//! rebuilds (`firstpaint live push`), which the edge lays over every
//! bundle it serves.
//!
//! The container is binary (an overlay of a whole catalog is megabytes,
//! and the edge reads it while serving): a fixed header ending with the
//! payload's SHA-256, an ed25519 signature over the header, then the
//! payload. The signature covers 80 bytes, not megabytes: the payload's
//! hash is the runtime's native SHA-256 at the edge (ed25519 over the
//! whole payload hashed it again with SHA-512 in wasm, ~50 ms for a
//! 100k-product overlay). What the payload holds is the engine's
//! business; this module only seals and opens it.
//!
//! | bytes | content |
//! | --- | --- |
//! | 0..4 | magic `FPLV` |
//! | 4..8 | [`LIVE_FORMAT`], `u32` |
//! | 8..16 | id of the signing key ([`key_id`]) |
//! | 16..24 | sequence, `u64`: one more than the overlay it replaces |
//! | 24..32 | created at, unix seconds, `i64` |
//! | 32..40 | expires at, unix seconds, `i64` |
//! | 40..48 | payload length, `u64` |
//! | 48..80 | SHA-256 of the payload |
//! | 80..144 | ed25519 signature over bytes 0..80 |
//! | 144.. | payload ([`LIVE_PAYLOAD_AT`]) |
//!
//! All integers little-endian. The edge refuses, keeping the overlay it
//! applied: anything that is not such a container, a key it does not
//! trust, a signature that does not match (a tampered overlay), an expired
//! overlay, and one older than the newest it applied (a replay).

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

use crate::keys::key_id;
use crate::stale::Stale;

/// KV key of the pointer to the overlay served now ([`LivePointer`]).
pub const LIVE_KEY: &str = "live";
/// The container's magic.
pub const LIVE_MAGIC: [u8; 4] = *b"FPLV";
/// Version of the container's layout.
pub const LIVE_FORMAT: u32 = 1;
/// Bytes the signature covers: the header, the payload's SHA-256 last.
const SIGNED: usize = 80;
/// Where the payload starts, after the header and the signature.
pub const LIVE_PAYLOAD_AT: usize = SIGNED + 64;

/// What KV key `live` holds: where the overlay served now is. Not signed:
/// the overlay it points to is, and its bytes must hash to `sha256`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LivePointer {
    /// The overlay's sequence number.
    pub sequence: u64,
    /// Its KV key, `overlays/<sha256>`.
    pub key: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its size.
    pub bytes: u64,
    /// Products it has live data for.
    pub updates: u64,
    /// When it was signed, unix seconds.
    pub created_at: i64,
}

/// What an overlay says of itself, signed with its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveHeader {
    /// One more than the overlay it replaces: the edge never goes back.
    pub sequence: u64,
    /// When it was signed, unix seconds.
    pub created_at: i64,
    /// When it expires, unix seconds: past it the edge refuses it when it
    /// reads the pointer (a replayed old overlay cannot be brought back);
    /// an isolate already holding it keeps it until a newer one comes.
    pub expires_at: i64,
}

/// Why an overlay was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    /// Too short, or without the magic.
    #[error("not a live overlay ({0})")]
    NotLive(String),
    /// A layout this reader does not know.
    #[error("the live overlay is format {got}; this edge reads format {supported}")]
    Format {
        /// The overlay's format.
        got: u32,
        /// The format read here.
        supported: u32,
    },
    /// Signed by a key not in the trusted set.
    #[error("the live overlay is signed by key {0}, which is not trusted (BUNDLE_PUBKEYS)")]
    UnknownKey(String),
    /// The signature does not match the bytes.
    #[error("the live overlay's signature does not match its bytes (key {0}): tampered or cut")]
    BadSignature(String),
    /// Expired, or older than an overlay already applied.
    #[error(transparent)]
    Stale(#[from] Stale),
}

/// Seals `payload` under `header`, signed with `key`.
pub fn seal_live(header: &LiveHeader, payload: &[u8], key: &SigningKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(LIVE_PAYLOAD_AT + payload.len());
    out.extend_from_slice(&LIVE_MAGIC);
    out.extend_from_slice(&LIVE_FORMAT.to_le_bytes());
    out.extend_from_slice(&key_id(&key.verifying_key()));
    out.extend_from_slice(&header.sequence.to_le_bytes());
    out.extend_from_slice(&header.created_at.to_le_bytes());
    out.extend_from_slice(&header.expires_at.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crate::sha256(payload));
    let signature = key.sign(&out);
    out.extend_from_slice(&signature.to_bytes());
    out.extend_from_slice(payload);
    out
}

/// Opens an overlay signed by one of `keys`, not expired at `now` (unix
/// seconds), not older than `newest` (the newest sequence applied; 0 for
/// none): its header and payload. `payload_sha256` is the payload's
/// SHA-256 when the caller computed it (the edge, with the runtime's
/// native hash, over `bytes[LIVE_PAYLOAD_AT..]`); `None` hashes it here.
pub fn open_live<'a>(
    bytes: &'a [u8],
    keys: &[VerifyingKey],
    now: i64,
    newest: u64,
    payload_sha256: Option<[u8; 32]>,
) -> Result<(LiveHeader, &'a [u8]), LiveError> {
    let word = |at: usize| -> [u8; 8] {
        bytes
            .get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .unwrap_or_default()
    };
    let (Some(signed), Some(signature), Some(payload)) = (
        bytes.get(..SIGNED),
        bytes.get(SIGNED..LIVE_PAYLOAD_AT),
        bytes.get(LIVE_PAYLOAD_AT..),
    ) else {
        return Err(LiveError::NotLive(format!(
            "{} bytes, fewer than a header and a signature",
            bytes.len()
        )));
    };
    if bytes.get(..4) != Some(&LIVE_MAGIC[..]) {
        return Err(LiveError::NotLive("bad magic at offset 0".into()));
    }
    let format = u32::from_le_bytes(
        bytes
            .get(4..8)
            .and_then(|b| b.try_into().ok())
            .unwrap_or_default(),
    );
    if format != LIVE_FORMAT {
        return Err(LiveError::Format {
            got: format,
            supported: LIVE_FORMAT,
        });
    }
    let id = word(8);
    let key = keys
        .iter()
        .find(|k| key_id(k) == id)
        .ok_or_else(|| LiveError::UnknownKey(crate::hex(&id)))?;
    let signature: [u8; 64] = signature.try_into().unwrap_or([0; 64]);
    key.verify(signed, &Signature::from_bytes(&signature))
        .map_err(|_| LiveError::BadSignature(crate::hex(&id)))?;
    let bad = || LiveError::BadSignature(crate::hex(&id));
    if u64::from_le_bytes(word(40)) != payload.len() as u64 {
        return Err(bad());
    }
    let digest = payload_sha256.unwrap_or_else(|| crate::sha256(payload));
    if bytes.get(48..SIGNED) != Some(&digest[..]) {
        return Err(bad());
    }
    let header = LiveHeader {
        sequence: u64::from_le_bytes(word(16)),
        created_at: i64::from_le_bytes(word(24)),
        expires_at: i64::from_le_bytes(word(32)),
    };
    crate::stale::check(
        "live overlay",
        header.sequence,
        header.expires_at,
        now,
        newest,
    )?;
    Ok((header, payload))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    const HEAD: LiveHeader = LiveHeader {
        sequence: 7,
        created_at: 1_000,
        expires_at: 2_000,
    };

    #[test]
    fn a_sealed_overlay_opens_with_any_trusted_key() {
        let sealed = seal_live(&HEAD, b"payload", &key(1));
        let keys = [key(2).verifying_key(), key(1).verifying_key()];
        let (header, payload) = open_live(&sealed, &keys, 1_500, 7, None).unwrap();
        assert_eq!((header, payload), (HEAD, &b"payload"[..]));
    }

    #[test]
    fn each_attack_is_refused_by_name() {
        let keys = [key(1).verifying_key()];
        let good = seal_live(&HEAD, b"payload", &key(1));
        let open = |b: &[u8], now, newest| open_live(b, &keys, now, newest, None).map(|(h, _)| h);
        assert_eq!(
            open(&good, 1_500, 8),
            Err(LiveError::Stale(Stale::Older {
                what: "live overlay",
                got: 7,
                newest: 8
            }))
        );
        assert!(matches!(
            open(&good, 2_000, 0),
            Err(LiveError::Stale(Stale::Expired { .. }))
        ));
        let other = seal_live(&HEAD, b"payload", &key(9));
        assert!(matches!(
            open(&other, 1_500, 0),
            Err(LiveError::UnknownKey(_))
        ));
        // Any byte changed after signing, in the header or the payload.
        for at in [16, 30, 50, LIVE_PAYLOAD_AT + 2, good.len() - 1] {
            let mut tampered = good.clone();
            tampered[at] ^= 1;
            assert!(
                matches!(open(&tampered, 1_500, 0), Err(LiveError::BadSignature(_))),
                "byte {at}"
            );
        }
        // A digest the caller computed: the payload's passes, another fails.
        let digest = crate::sha256(&good[LIVE_PAYLOAD_AT..]);
        assert!(open_live(&good, &keys, 1_500, 0, Some(digest)).is_ok());
        assert!(matches!(
            open_live(&good, &keys, 1_500, 0, Some([0; 32])),
            Err(LiveError::BadSignature(_))
        ));
        let mut cut = good.clone();
        cut.truncate(good.len() - 3);
        assert!(matches!(
            open(&cut, 1_500, 0),
            Err(LiveError::BadSignature(_))
        ));
        assert!(matches!(
            open(&good[..20], 1_500, 0),
            Err(LiveError::NotLive(_))
        ));
        let mut future = good.clone();
        future[4] = 2;
        assert!(matches!(
            open(&future, 1_500, 0),
            Err(LiveError::Format { got: 2, .. })
        ));
        let mut magic = good;
        magic[0] = b'X';
        assert!(matches!(open(&magic, 1_500, 0), Err(LiveError::NotLive(_))));
    }
}
