//! Key files and key ids.
//!
//! Keys are stored as 64 hex characters (the 32-byte ed25519 secret seed or
//! public key), optionally followed by a newline; lines starting with `#` are
//! comments, so a key file can say what it is for.

use ed25519_dalek::{SigningKey, VerifyingKey};

/// Why a key file was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not the expected number of hex characters (64 for a key).
    #[error("expected {expected} hex characters ({} bytes), got {got} characters", expected / 2)]
    Length {
        /// Hex characters expected.
        expected: usize,
        /// Characters found.
        got: usize,
    },
    /// A character that is not hex.
    #[error("invalid hex character {0:?}")]
    NotHex(char),
    /// 32 bytes that are not a valid ed25519 public key.
    #[error("not a valid ed25519 public key")]
    InvalidPublicKey,
}

/// `N` bytes written as `2 N` hex characters, comment lines (`#`) and
/// blank lines aside.
pub(crate) fn parse_hex<const N: usize>(text: &str) -> Result<[u8; N], KeyError> {
    let hex: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if hex.len() != 2 * N {
        return Err(KeyError::Length {
            expected: 2 * N,
            got: hex.chars().count(),
        });
    }
    let mut out = [0u8; N];
    let digits: Vec<u8> = hex
        .chars()
        .map(|c| {
            c.to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
                .ok_or(KeyError::NotHex(c))
        })
        .collect::<Result<_, _>>()?;
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        if let [hi, lo] = pair {
            *byte = hi << 4 | lo;
        }
    }
    Ok(out)
}

/// Reads a signing (secret) key file.
pub fn parse_signing_key(text: &str) -> Result<SigningKey, KeyError> {
    parse_secret(text).map(|b| SigningKey::from_bytes(&b))
}

/// Reads a 32-byte secret written as a key is (an HMAC key, a salt),
/// without deriving an ed25519 key from it: that derivation is a scalar
/// multiplication, which the edge would otherwise pay on every request
/// that reads its cookie keys.
pub fn parse_secret(text: &str) -> Result<[u8; 32], KeyError> {
    parse_hex::<32>(text)
}

/// Reads a verifying (public) key file.
pub fn parse_verifying_key(text: &str) -> Result<VerifyingKey, KeyError> {
    let bytes = parse_hex::<32>(text)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::InvalidPublicKey)
}

/// The key's id: the first 8 bytes of SHA-256 of the public key. Bundles
/// carry it so the edge can tell "signed by another key" from "tampered".
pub fn key_id(key: &VerifyingKey) -> [u8; 8] {
    let digest = crate::sha256(key.as_bytes());
    let mut id = [0; 8];
    id.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_errors_name_the_problem() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let text = format!("# dev key\n{}\n", crate::hex(key.as_bytes()));
        assert_eq!(parse_signing_key(&text).unwrap().as_bytes(), key.as_bytes());
        let public = crate::hex(key.verifying_key().as_bytes());
        assert_eq!(parse_verifying_key(&public).unwrap(), key.verifying_key());
        assert_eq!(
            parse_signing_key("abc"),
            Err(KeyError::Length {
                expected: 64,
                got: 3
            })
        );
        let bad = "g".repeat(64);
        assert_eq!(parse_signing_key(&bad), Err(KeyError::NotHex('g')));
    }

    #[test]
    fn a_secret_is_its_bytes_read_as_a_key_file_is() {
        let bytes: [u8; 32] = std::array::from_fn(|i| i as u8 * 7);
        let text = format!(
            "# cookie key
{}
",
            crate::hex(&bytes)
        );
        assert_eq!(parse_secret(&text), Ok(bytes));
        assert_eq!(
            parse_secret(&crate::hex(&bytes[..31])),
            Err(KeyError::Length {
                expected: 64,
                got: 62
            })
        );
        // A signing key read from the same text holds the same 32 bytes.
        assert_eq!(parse_signing_key(&text).unwrap().to_bytes(), bytes);
    }
}
