//! The candidate pool a slot is ranked from: each candidate's signal
//! values, the tier of the source that proposed it, and that source's name.

use std::collections::HashMap;

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
    pub candidates: HashMap<u32, Candidate>,
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
