//! Sequential transitions, read from the recent sessions: for a product,
//! what shoppers opened after it. Within each of the [`SAMPLE`] most recent
//! sessions holding the product, each later product up to [`WINDOW`] steps
//! ahead counts `1 / steps` (the next one most), as sequential-rules
//! recommenders do; the strongest [`ROW_LEN`] are kept, each scored by its
//! share of the total weight, shrunk when the evidence is thin (a weight
//! `w` keeps `w / (w + `[`SHRINK`]`)`).
//!
//! The bundle's [`SessionIndex`] holds each session's products in the
//! order of their last touch, so this is the transitions' signal without a
//! section of its own: the sessions that feed the neighbourhood feed it.
//! One thing is lost: a session that went A, B, A holds B, A, so its A -> B
//! is not seen (0.002 HR@20 on YOOCHOOSE, BENCHMARKS.md session 16).
//!
//! [`SessionIndex`]: crate::store::session_index::SessionIndex

use crate::limits::MAX_SESSION_PRODUCTS;
use crate::order;
use crate::ordinal_map::OrdinalMap;
use crate::signals::sharing::SharingSessions;
use crate::store::Store;

/// Sessions read per product, the most recent holding it.
pub const SAMPLE: usize = 500;
/// How many steps ahead a successor counts.
pub const WINDOW: usize = 3;
/// What a successor 1, 2 .. [`WINDOW`] steps ahead counts: 1 / steps.
const STEP_WEIGHTS: [f32; WINDOW] = [1.0, 1.0 / 2.0, 1.0 / 3.0];
/// Most successors kept per product.
pub const ROW_LEN: usize = 32;
/// Shrinkage: a successor of weight `w` keeps `w / (w + SHRINK)`.
pub const SHRINK: f32 = 1.0;

/// What shoppers opened after `product` in the recent sessions, as
/// (ordinal, score in 0..=1), best first (ties by ordinal), at most
/// [`ROW_LEN`]; empty for an unknown product or a store without sessions.
/// Sessions already in `read` are not decoded again.
pub fn after(store: &Store, product: u32, read: Option<&SharingSessions>) -> Vec<(u32, f32)> {
    let index = store.sessions();
    let in_catalog = store.products().len();
    // Room for what a popular product's sample holds (at most WINDOW per
    // session): growing the table was a sixth of the time spent here.
    let mut weights: OrdinalMap<f32> =
        OrdinalMap::with_capacity_and_hasher(4 * ROW_LEN, Default::default());
    let mut decoded = Vec::new();
    let mut from = read.map_or(0, SharingSessions::len);
    for s in index.recent_with(product, SAMPLE) {
        let row = match read.and_then(|r| r.products_of_ascending(s, &mut from)) {
            Some(row) => row,
            None => {
                decoded.clear();
                index
                    .products_of(s)
                    .append_to(&mut decoded, MAX_SESSION_PRODUCTS);
                &decoded
            }
        };
        // What came after the product, at most WINDOW of it.
        let Some(at) = row.iter().position(|&p| p == product) else {
            continue;
        };
        let ahead = row.get(at + 1..).unwrap_or_default();
        for (&next, step) in ahead.iter().zip(STEP_WEIGHTS) {
            // An ordinal past the catalog (a damaged section) is no product.
            if (next as usize) < in_catalog {
                *weights.entry(next).or_default() += step;
            }
        }
    }
    let total = weights.values().sum::<f32>().max(f32::EPSILON);
    let scored: Vec<(u32, f32)> = weights
        .into_iter()
        .map(|(p, w)| (p, w / total * w / (w + SHRINK)))
        .collect();
    let mut keys: Vec<(u64, u32)> = (0u32..)
        .zip(&scored)
        .map(|(i, &(p, score))| (order::desc(score) << 32 | u64::from(p), i))
        .collect();
    order::select(&mut keys, ROW_LEN);
    order::sort(&mut keys);
    order::permute(scored, &keys)
}
