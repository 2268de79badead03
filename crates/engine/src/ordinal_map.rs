//! Hash maps keyed by product ordinal, hashed with one multiplication.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A map from product ordinals, hashed by [`OrdinalHasher`].
pub(crate) type OrdinalMap<V> = HashMap<u32, V, BuildHasherDefault<OrdinalHasher>>;

/// 2^64 over the golden ratio, odd: Fibonacci hashing's multiplier.
const FIBONACCI: u64 = 0x9e37_79b9_7f4a_7c15;

/// Hashes a product ordinal with one multiplication. The keys come from the
/// bundle (its lists and sessions), not from the shopper, so SipHash's
/// resistance to chosen keys buys nothing, and it was most of a lookup's
/// cost.
#[derive(Default)]
pub(crate) struct OrdinalHasher(u64);

impl Hasher for OrdinalHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u32` keys are hashed; any other key still hashes all its bytes.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(FIBONACCI);
        }
    }

    fn write_u32(&mut self, n: u32) {
        // The high bits (hashbrown's tag) mix every bit of `n`; the low
        // bits (its bucket) are a permutation of `n`'s.
        self.0 = u64::from(n).wrapping_mul(FIBONACCI);
    }
}
