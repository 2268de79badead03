//! The candidate pool a slot is ranked from: each candidate's signal
//! values, the tier of the source that proposed it, and that source's name.

use crate::ordinal_map::OrdinalMap;
use crate::store::sections::BlendWeights;

/// How many signals there are.
pub(crate) const SIGNALS: usize = 16;

/// A signal every candidate carries, 0 to 1, weighed by the merchant's
/// [`BlendWeights`]. Its weight is read by name ([`Signal::weight`]), not by a
/// position that must match another list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Similarity,
    Popularity,
    CategoryAffinity,
    CoView,
    Margin,
    Stock,
    Rating,
    Freshness,
    Sequence,
    Trending,
    Deal,
    FastShip,
    PriceFit,
    Neighbours,
    Rebuy,
    Returns,
}

impl Signal {
    /// Every signal, in the order reasons list them (the rules file's).
    pub const ALL: [Signal; SIGNALS] = [
        Signal::Similarity,
        Signal::Popularity,
        Signal::CategoryAffinity,
        Signal::CoView,
        Signal::Margin,
        Signal::Stock,
        Signal::Rating,
        Signal::Freshness,
        Signal::Sequence,
        Signal::Trending,
        Signal::Deal,
        Signal::FastShip,
        Signal::PriceFit,
        Signal::Neighbours,
        Signal::Rebuy,
        Signal::Returns,
    ];

    /// Its name in reasons, as the rules file's `[blend]` names its weight.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Similarity => "similarity",
            Signal::Popularity => "popularity",
            Signal::CategoryAffinity => "category_affinity",
            Signal::CoView => "co_view",
            Signal::Margin => "margin",
            Signal::Stock => "stock",
            Signal::Rating => "rating",
            Signal::Freshness => "freshness",
            Signal::Sequence => "sequence",
            Signal::Trending => "trending",
            Signal::Deal => "deal",
            Signal::FastShip => "fast_ship",
            Signal::PriceFit => "price_fit",
            Signal::Neighbours => "neighbours",
            Signal::Rebuy => "rebuy",
            Signal::Returns => "returns",
        }
    }

    /// Its weight in `blend`.
    pub fn weight(self, blend: &BlendWeights) -> f32 {
        match self {
            Signal::Similarity => blend.similarity,
            Signal::Popularity => blend.popularity,
            Signal::CategoryAffinity => blend.category_affinity,
            Signal::CoView => blend.co_view,
            Signal::Margin => blend.margin,
            Signal::Stock => blend.stock,
            Signal::Rating => blend.rating,
            Signal::Freshness => blend.freshness,
            Signal::Sequence => blend.sequence,
            Signal::Trending => blend.trending,
            Signal::Deal => blend.deal,
            Signal::FastShip => blend.fast_ship,
            Signal::PriceFit => blend.price_fit,
            Signal::Neighbours => blend.neighbours,
            Signal::Rebuy => blend.rebuy,
            Signal::Returns => blend.returns,
        }
    }
}

/// One candidate.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Candidate {
    /// Signal values, each 0 to 1, by [`Signal`].
    values: [f32; SIGNALS],
    /// 0 for the slot's primary source; higher tiers only fill what is left.
    pub tier: u8,
    /// The source that proposed it first at its tier.
    pub source: &'static str,
    /// By how much the visit's habit of going back scales its blended
    /// score, less 1 (`next`'s own products; 0: as blended).
    pub going_back: f32,
}

impl Candidate {
    /// Sets signal `s` to `v`.
    pub fn set(&mut self, s: Signal, v: f32) {
        if let Some(slot) = self.values.get_mut(s as usize) {
            *slot = v;
        }
    }

    /// Signal `s`.
    pub fn get(&self, s: Signal) -> f32 {
        self.values.get(s as usize).copied().unwrap_or(0.0)
    }
}

/// Candidates keyed by ordinal, in the order first seen.
#[derive(Default)]
pub(crate) struct Pool {
    pub order: Vec<u32>,
    pub candidates: OrdinalMap<Candidate>,
}

impl Pool {
    /// An empty pool with room for `n` candidates (a slot's sources
    /// propose a few hundred: growing the table as they come was ~1% of a
    /// ranking).
    pub fn with_capacity(n: usize) -> Self {
        Self {
            order: Vec::with_capacity(n),
            candidates: OrdinalMap::with_capacity_and_hasher(n, Default::default()),
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_are_the_rules_files_weights_by_name_and_order() {
        // Every weight a distinct value, so a signal reading another's
        // field shows.
        let mut blend = firstpaint_contracts::Blend::default();
        let fields = [
            &mut blend.similarity,
            &mut blend.popularity,
            &mut blend.category_affinity,
            &mut blend.co_view,
            &mut blend.margin,
            &mut blend.stock,
            &mut blend.rating,
            &mut blend.freshness,
            &mut blend.sequence,
            &mut blend.trending,
            &mut blend.deal,
            &mut blend.fast_ship,
            &mut blend.price_fit,
            &mut blend.neighbours,
            &mut blend.rebuy,
            &mut blend.returns,
        ];
        for (i, w) in fields.into_iter().enumerate() {
            *w = i as f32 + 0.5;
        }
        let named = blend.weights();
        let blend = BlendWeights::from(&blend);
        assert_eq!(named.len(), Signal::ALL.len());
        for (i, (s, (name, weight))) in Signal::ALL.into_iter().zip(named).enumerate() {
            assert_eq!(s as usize, i, "{s:?} indexes the values");
            assert_eq!(s.name(), name);
            assert_eq!(s.weight(&blend), weight, "{name}");
        }
    }
}
