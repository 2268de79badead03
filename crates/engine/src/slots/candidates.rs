//! The candidate pool a slot is ranked from: each candidate's signal
//! values, the tier of the source that proposed it, and that source's name.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Signals, in the order of [`firstpaint_contracts::Blend::weights`].
pub(crate) const SIMILARITY: usize = 0;
pub(crate) const POPULARITY: usize = 1;
pub(crate) const CATEGORY_AFFINITY: usize = 2;
pub(crate) const CO_VIEW: usize = 3;
pub(crate) const MARGIN: usize = 4;
pub(crate) const STOCK: usize = 5;
pub(crate) const RATING: usize = 6;
pub(crate) const FRESHNESS: usize = 7;
pub(crate) const SEQUENCE: usize = 8;
pub(crate) const TRENDING: usize = 9;
pub(crate) const DEAL: usize = 10;
pub(crate) const FAST_SHIP: usize = 11;
pub(crate) const PRICE_FIT: usize = 12;
/// How many signals there are.
pub(crate) const SIGNALS: usize = 13;

/// One candidate.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Candidate {
    /// Signal values, each 0 to 1.
    pub values: [f32; SIGNALS],
    /// 0 for the slot's primary source; higher tiers only fill what is left.
    pub tier: u8,
    /// The source that proposed it first at its tier.
    pub source: &'static str,
}

impl Candidate {
    /// Sets signal `i` to `v` (ignoring an out-of-range index).
    pub fn set(&mut self, i: usize, v: f32) {
        if let Some(slot) = self.values.get_mut(i) {
            *slot = v;
        }
    }

    /// Signal `i`.
    pub fn get(&self, i: usize) -> f32 {
        self.values.get(i).copied().unwrap_or(0.0)
    }
}

/// Candidates keyed by ordinal, in the order first seen.
#[derive(Default)]
pub(crate) struct Pool {
    pub order: Vec<u32>,
    pub candidates: HashMap<u32, Candidate, BuildHasherDefault<OrdinalHasher>>,
}

/// 2^64 over the golden ratio, odd: Fibonacci hashing's multiplier.
const FIBONACCI: u64 = 0x9e37_79b9_7f4a_7c15;

/// Hashes a product ordinal with one multiplication. The pool's keys come
/// from the bundle's lists, not from the shopper, so SipHash's resistance
/// to chosen keys buys nothing, and it was most of a lookup's cost.
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

impl Pool {
    /// The candidate `ord`, proposed by `source` at `tier`; a better
    /// (lower) tier replaces a worse one.
    pub fn add(&mut self, ord: u32, tier: u8, source: &'static str) -> &mut Candidate {
        let c = self.candidates.entry(ord).or_insert_with(|| {
            self.order.push(ord);
            Candidate {
                tier,
                source,
                ..Candidate::default()
            }
        });
        if tier < c.tier {
            c.tier = tier;
            c.source = source;
        }
        c
    }

    /// The candidate `ord`, if proposed.
    pub fn get_mut(&mut self, ord: u32) -> Option<&mut Candidate> {
        self.candidates.get_mut(&ord)
    }
}
