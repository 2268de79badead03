//! Keyed hashes with rotating key ids: HMAC-SHA256 under named keys.
//!
//! Used to sign the profile cookie and to pseudonymize identifiers. A key
//! set is written `id:hex,id:hex` (at most 8 keys of 32 bytes): the first
//! key is current and signs; the others still verify, so keys rotate
//! without logging every shopper out.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Most keys one set holds.
const MAX_KEYS: usize = 8;

/// A named 32-byte key.
#[derive(Clone)]
pub struct Key {
    /// Short id written next to what the key signed (`k1`).
    pub id: String,
    secret: [u8; 32],
}

/// Keys in rotation order: the first signs, all verify.
#[derive(Clone)]
pub struct KeySet {
    current: Key,
    older: Vec<Key>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.all().map(|k| k.id.as_str()).collect();
        write!(f, "KeySet({ids:?})")
    }
}

impl KeySet {
    /// Parses `id:hex64,id:hex64`; the error says which entry is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys = Vec::new();
        for (i, entry) in text
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            let (id, hex) = entry
                .split_once(':')
                .ok_or(format!("key {i}: expected id:hex"))?;
            if id.is_empty() || id.len() > 8 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(format!(
                    "key {i}: id must be 1-8 letters or digits (got {id:?})"
                ));
            }
            let secret =
                firstpaint_bundle::parse_secret(hex).map_err(|e| format!("key {id}: {e}"))?;
            keys.push(Key {
                id: id.to_owned(),
                secret,
            });
        }
        if keys.len() > MAX_KEYS {
            return Err(format!("{} keys, at most {MAX_KEYS}", keys.len()));
        }
        let mut keys = keys.into_iter();
        let current = keys.next().ok_or("no keys")?;
        Ok(Self {
            current,
            older: keys.collect(),
        })
    }

    /// The key that signs now.
    pub fn current(&self) -> &Key {
        &self.current
    }

    /// The key named `id`, if it is still in rotation.
    pub fn get(&self, id: &str) -> Option<&Key> {
        self.all().find(|k| k.id == id)
    }

    fn all(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.current).chain(&self.older)
    }
}

impl Key {
    /// HMAC-SHA256 of `message`.
    pub fn mac(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = self.hmac();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` (a prefix of at least 16 bytes) is the MAC of `message`,
    /// compared in constant time.
    pub fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        if tag.len() < 16 {
            return false;
        }
        let mut mac = self.hmac();
        mac.update(message);
        mac.verify_truncated_left(tag).is_ok()
    }

    fn hmac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(&self.secret).expect("HMAC takes keys of any length")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn rotation_keeps_old_keys_verifying() {
        let old = KeySet::parse(&format!("k1:{A}")).unwrap();
        let tag = old.current().mac(b"hello");
        let rotated = KeySet::parse(&format!("k2:{B},k1:{A}")).unwrap();
        assert_eq!(rotated.current().id, "k2");
        assert!(rotated.get("k1").unwrap().verify(b"hello", &tag[..16]));
        assert!(!rotated.get("k1").unwrap().verify(b"hellp", &tag[..16]));
        assert!(!rotated.current().verify(b"hello", &tag[..16]));
        assert!(rotated.get("k0").is_none());
    }

    #[test]
    fn bad_key_sets_say_which_entry() {
        assert_eq!(KeySet::parse("").unwrap_err(), "no keys");
        assert!(KeySet::parse(&format!("k1:{A},bad"))
            .unwrap_err()
            .starts_with("key 1"));
        assert!(KeySet::parse("k1:abcd").unwrap_err().starts_with("key k1"));
    }
}
