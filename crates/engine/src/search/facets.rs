//! Facets: how the matched products divide by category, brand and price,
//! for the storefront's filters ("Cookware (14)", "£25–£50 (6)").
//!
//! Counted over the products the search matched and may show (the
//! query-string filters and the guardrails applied), not only the page;
//! pinned products that did not match are not counted. Retrieval keeps the
//! leading matches only (the re-rank window, or the page asked if
//! further): when more matched, or the search stopped once its page was
//! settled, only those it kept are counted, and the facets say so (`exact`
//! is false): their counts are then lower bounds.

use serde::Serialize;

use crate::order;
use crate::store::Store;

/// Values listed per facet, the most frequent first.
pub const MAX_FACET_VALUES: usize = 20;

/// Price band edges (a 1-2.5-5 series): a band is `[edge, next edge)`, the
/// last has no upper end.
const PRICE_EDGES: [f64; 12] = [
    0.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1_000.0, 2_500.0, 5_000.0, 10_000.0,
];

/// The matched products counted by category, brand and price band.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Facets {
    /// Leaf categories (full paths), most products first.
    pub categories: Vec<FacetValue>,
    /// Brands, most products first (products without one are not counted).
    pub brands: Vec<FacetValue>,
    /// Price bands with products, cheapest first.
    pub prices: Vec<PriceBand>,
    /// Whether every match was counted (`false`: counts are lower bounds).
    pub exact: bool,
}

/// One value of a facet and the matched products that have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FacetValue {
    /// As the catalog writes it (what the `category=` or `brand=` filter takes).
    pub value: String,
    /// Matched products with it.
    pub count: usize,
}

/// A price band and the matched products priced in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceBand {
    /// Lowest price in the band (`price_min=`).
    pub min: f64,
    /// Highest price below the next band (`price_max=`), none for the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Matched products priced in it.
    pub count: usize,
}

impl Facets {
    /// Counts the products at `ordinals` (each once); `exact` says whether
    /// they are every match.
    pub fn count(store: &Store, ordinals: impl Iterator<Item = u32>, exact: bool) -> Facets {
        // Counted by index: categories are few, and brand ids are sorted
        // and counted in runs (a hash per product cost more than the
        // search that found them).
        let mut categories = vec![0usize; store.categories().len()];
        let mut brands: Vec<(u64, u32)> = Vec::new();
        let mut prices = [0usize; PRICE_EDGES.len()];
        for ord in ordinals {
            let Some(p) = store.product_at(ord) else {
                continue;
            };
            if let Some(n) = p.leaf().and_then(|leaf| categories.get_mut(leaf as usize)) {
                *n += 1;
            }
            if let Some(id) = p.brand_id() {
                brands.push((u64::from(id), ord));
            }
            let price = p.price();
            if price.is_finite() && price >= 0.0 {
                let band = PRICE_EDGES.partition_point(|&edge| edge <= price);
                if let Some(n) = prices.get_mut(band.saturating_sub(1)) {
                    *n += 1;
                }
            }
        }
        let categories = most_first(
            (0u32..)
                .zip(categories)
                .filter(|&(_, n)| n > 0)
                .map(|(c, n)| (c, c, n)),
            |c| store.category_name(c).to_owned(),
        );
        order::sort(&mut brands);
        let mut runs: Vec<(u32, u32, usize)> = Vec::new();
        for &(id, ord) in &brands {
            match runs.last_mut() {
                Some((last, _, n)) if u64::from(*last) == id => *n += 1,
                _ => runs.push((id as u32, ord, 1)),
            }
        }
        let brands = most_first(runs.into_iter(), |ord| {
            store
                .product_at(ord)
                .map_or_else(String::new, |p| p.brand().to_owned())
        });
        let prices = PRICE_EDGES
            .iter()
            .zip(prices)
            .enumerate()
            .filter(|(_, (_, n))| *n > 0)
            .map(|(i, (&min, count))| PriceBand {
                min,
                max: PRICE_EDGES.get(i + 1).map(|next| next - 0.01),
                count,
            })
            .collect();
        Facets {
            categories,
            brands,
            prices,
            exact,
        }
    }
}

impl Facets {
    /// The facets of a sharded store's search: `global`'s (the global
    /// shard, which holds copies of the most active products) with those of
    /// the category `shards` searched beside it. A value counts what the
    /// category shards found, or what the global shard found if that is
    /// more (its copies of shards not searched). Exact only when the
    /// global shard answered alone, exactly; ties keep the order values
    /// were first met in (the global shard's first).
    pub fn merge(global: &Facets, shards: &[&Facets]) -> Facets {
        if shards.is_empty() {
            return global.clone();
        }
        let values = |of: fn(&Facets) -> &[FacetValue]| {
            let merged = tally(global, shards, of, |v| v.value.clone(), |v| v.count);
            most_first(
                (0u32..)
                    .zip(merged)
                    .map(|(i, (v, count))| (i, v.value, count)),
                |value| value,
            )
        };
        let mut prices: Vec<PriceBand> = tally(
            global,
            shards,
            |f| &f.prices,
            |b| b.min.to_bits(),
            |b| b.count,
        )
        .into_iter()
        .map(|(band, count)| PriceBand { count, ..band })
        .collect();
        prices.sort_by(|a, b| a.min.total_cmp(&b.min));
        Facets {
            categories: values(|f| &f.categories),
            brands: values(|f| &f.brands),
            prices,
            exact: false,
        }
    }
}

/// Each entry of a facet (`of`) across the global shard and the category
/// shards, by `key`, first seen first, with its merged count: the category
/// shards' sum, or the global shard's count if that is more.
fn tally<T: Clone, K: PartialEq>(
    global: &Facets,
    shards: &[&Facets],
    of: fn(&Facets) -> &[T],
    key: impl Fn(&T) -> K,
    count: impl Fn(&T) -> usize,
) -> Vec<(T, usize)> {
    // (entry, the global shard's count, the category shards' sum)
    let mut seen: Vec<(T, usize, usize)> = Vec::new();
    let sources = std::iter::once((true, global)).chain(shards.iter().map(|f| (false, *f)));
    for (from_global, facets) in sources {
        for entry in of(facets) {
            let at = match seen.iter().position(|(e, ..)| key(e) == key(entry)) {
                Some(at) => at,
                None => {
                    seen.push((entry.clone(), 0, 0));
                    seen.len() - 1
                }
            };
            if let Some((_, global_count, shard_count)) = seen.get_mut(at) {
                if from_global {
                    *global_count = count(entry);
                } else {
                    *shard_count += count(entry);
                }
            }
        }
    }
    seen.into_iter().map(|(e, g, s)| (e, g.max(s))).collect()
}

/// The values, most products first (ties by the index given), at most
/// [`MAX_FACET_VALUES`]; each is (its index, what `name` names it from,
/// its count), named once kept.
fn most_first<T>(
    values: impl Iterator<Item = (u32, T, usize)>,
    name: impl Fn(T) -> String,
) -> Vec<FacetValue> {
    let values: Vec<(u32, T, usize)> = values.collect();
    let mut keys: Vec<(u64, u32)> = (0u32..)
        .zip(&values)
        .map(|(i, (index, _, n))| {
            let fewer = u32::MAX - u32::try_from(*n).unwrap_or(u32::MAX);
            (u64::from(fewer) << 32 | u64::from(*index), i)
        })
        .collect();
    order::sort(&mut keys);
    let mut sorted = order::permute(values, &keys);
    sorted.truncate(MAX_FACET_VALUES);
    sorted
        .into_iter()
        .map(|(_, value, count)| FacetValue {
            value: name(value),
            count,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn facets(categories: &[(&str, usize)], prices: &[(f64, usize)]) -> Facets {
        Facets {
            categories: categories
                .iter()
                .map(|&(v, count)| FacetValue {
                    value: v.into(),
                    count,
                })
                .collect(),
            brands: Vec::new(),
            prices: prices
                .iter()
                .map(|&(min, count)| PriceBand {
                    min,
                    max: None,
                    count,
                })
                .collect(),
            exact: true,
        }
    }

    #[test]
    fn shards_add_up_and_the_global_copies_count_only_where_they_are_more() {
        // The global shard holds copies: 3 lamps it also found in the
        // lighting shard, and 2 pans from a shard not searched.
        let global = facets(&[("Lighting", 3), ("Cookware", 2)], &[(10.0, 5)]);
        let lighting = facets(&[("Lighting", 7)], &[(10.0, 4), (25.0, 3)]);
        let desks = facets(&[("Desks", 1)], &[(25.0, 1)]);
        let merged = Facets::merge(&global, &[&lighting, &desks]);
        let counts: Vec<(&str, usize)> = merged
            .categories
            .iter()
            .map(|v| (v.value.as_str(), v.count))
            .collect();
        assert_eq!(counts, [("Lighting", 7), ("Cookware", 2), ("Desks", 1)]);
        let prices: Vec<(f64, usize)> = merged.prices.iter().map(|b| (b.min, b.count)).collect();
        assert_eq!(prices, [(10.0, 5), (25.0, 4)]);
        assert!(!merged.exact);
        assert_eq!(Facets::merge(&global, &[]), global);
    }
}
