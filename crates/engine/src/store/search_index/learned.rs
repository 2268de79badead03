//! Learned queries: for a query the store's shoppers searched often, the
//! products they went on to view, put in the cart or order (the origin's
//! `train/learned_queries.rs`), each with a strength.
//!
//! A query (its normalized terms, space-separated) keys its records
//! ([`super::keyed`]): a product ordinal (`u32`, little-endian) and a
//! strength (`u8`, 1..=255 for (0, 1]), strongest first.

use serde::{Deserialize, Serialize};

use super::keyed::{Keyed, KeyedRecords};

/// Bytes of a query's record: ordinal, strength.
const RECORD: usize = 5;

/// A weight in (0, 1] as the byte the sections store.
#[cfg(feature = "build")]
pub(crate) fn weight_byte(weight: f32) -> u8 {
    (weight.clamp(0.0, 1.0) * 255.0).round().max(1.0) as u8
}

/// The weight a stored byte stands for.
pub(crate) fn weight_of(byte: u8) -> f32 {
    f32::from(byte.max(1)) / 255.0
}

/// The learned queries of a bundle, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnedQueries {
    /// Query → its (ordinal, strength) records.
    pub queries: KeyedRecords,
}

impl LearnedQueries {
    /// Packs `learned`: each query (normalized terms, space-separated) with
    /// its products (ordinals) and strengths in (0, 1], strongest first.
    #[cfg(feature = "build")]
    pub fn pack(learned: Vec<(String, Vec<(u32, f32)>)>) -> Result<Self, fst::Error> {
        let lists = learned
            .into_iter()
            .map(|(query, products)| {
                let records = products
                    .into_iter()
                    .map(|(ord, strength)| {
                        let mut r = ord.to_le_bytes().to_vec();
                        r.push(weight_byte(strength));
                        r
                    })
                    .collect();
                (query, records)
            })
            .collect();
        Ok(Self {
            queries: KeyedRecords::pack(RECORD, lists)?,
        })
    }
}

/// [`LearnedQueries`] opened for lookups.
pub struct Learned {
    queries: Keyed,
}

impl Learned {
    /// Opens `stored`; the error says what is wrong.
    pub fn open(stored: LearnedQueries) -> Result<Self, String> {
        Ok(Self {
            queries: Keyed::open(stored.queries, RECORD)
                .map_err(|e| format!("learned queries: {e}"))?,
        })
    }

    /// Queries held.
    pub fn len(&self) -> usize {
        self.queries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.queries.is_empty()
    }

    /// The products learned for `query` (normalized terms, space-separated)
    /// with their strengths, strongest first; none for most queries.
    pub fn of(&self, query: &str) -> Vec<(u32, f32)> {
        self.queries
            .get(query)
            .filter_map(|record| {
                let [a, b, c, d, strength] = *record else {
                    return None;
                };
                Some((u32::from_le_bytes([a, b, c, d]), weight_of(strength)))
            })
            .collect()
    }
}

#[cfg(all(test, feature = "build"))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn queries_keep_their_products_in_order() {
        let packed = LearnedQueries::pack(vec![
            ("skillet".into(), vec![(7, 1.0), (70_000, 0.5)]),
            ("lamp".into(), Vec::new()),
        ])
        .unwrap();
        let learned = Learned::open(packed).unwrap();
        assert_eq!(learned.len(), 1);
        let got = learned.of("skillet");
        assert_eq!(got[0], (7, 1.0));
        assert_eq!(got[1].0, 70_000);
        assert!((got[1].1 - 128.0 / 255.0).abs() < 1e-6);
        assert!(learned.of("lamp").is_empty());
    }
}
