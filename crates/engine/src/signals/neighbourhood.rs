//! The session neighbourhood: recent sessions of other shoppers that look
//! like this one, and what else they opened. This is V-STAN (Ludewig &
//! Jannach's sequence- and time-aware session kNN, the strongest of the
//! session-rec framework's peers on YOOCHOOSE) over the bundle's
//! [`SessionIndex`], on the session as the edge knows it (each product once,
//! most recent first, at most [`MAX_VIEWED`]).
//!
//! [`SessionIndex`]: crate::store::session_index::SessionIndex
//! [`MAX_VIEWED`]: crate::limits::MAX_VIEWED
//! [`MAX_SESSION_PRODUCTS`]: crate::limits::MAX_SESSION_PRODUCTS
//!
//! For the viewed products v_0 (latest) .. v_n:
//! - v_i weighs exp(-i / [`POSITION_DECAY`]);
//! - candidates are the [`SAMPLE`] most recent sessions holding any v_i;
//!   each is scored by the cosine between the weighted session and its
//!   products, times exp(-its age / [`RECENCY_DAYS`]);
//! - the [`NEIGHBOURS`] best each give every product they hold their
//!   score, times exp(-distance / [`ITEM_DECAY`]) from their last product
//!   the shopper viewed too (what came right before or after it counts
//!   most), times exp(-i / [`MATCH_DECAY`]) for the latest v_i they share
//!   (sessions that share the last view count most), times
//!   1 + [`IDF_WEIGHT`] x ln(sessions / sessions holding the product) (a
//!   product in every session says little).
//!
//! The constants are session-rec's own `vstan-hr` configuration for
//! YOOCHOOSE, not tuned here; `firstpaint eval sessions` compares the
//! engine with the framework's V-STAN on the same split. Where this differs
//! from the framework's: positions count each viewed product once; the
//! index holds sessions of two products or more, each product once at its
//! last touch, the latest [`MAX_SESSION_PRODUCTS`] of them, timed to the
//! hour; rarity counts sessions of the index holding a product, where the
//! framework counts its clicks over all training sessions. On YOOCHOOSE
//! the two agree (BENCHMARKS.md, session 15).

use crate::limits::MAX_SESSION_PRODUCTS;
use crate::order;
use crate::ordinal_map::OrdinalMap;
use crate::signals::sharing::SharingSessions;
use crate::store::Store;

/// Candidate sessions, the most recent sharing a viewed product.
pub const SAMPLE: usize = 2_500;
/// Neighbours that score products.
pub const NEIGHBOURS: usize = 2_000;
/// Position decay of the viewed products (λspw).
const POSITION_DECAY: f32 = 8.0;
/// Recency decay of neighbour sessions, days (λsnh).
const RECENCY_DAYS: f32 = 10.0;
/// Decay of a neighbour's products by their distance from its last shared
/// product (λinh).
const ITEM_DECAY: f32 = 8.0;
/// Decay of a neighbour by how far back its latest shared view is (λipw).
const MATCH_DECAY: f32 = 0.5;
/// Weight of a product's rarity (λidf).
const IDF_WEIGHT: f32 = 2.0;

/// The candidate sessions of `viewed`'s neighbourhood (see
/// [`scores`]), read from `store`'s session index.
pub fn candidates(store: &Store, viewed: &[(u32, f32)]) -> SharingSessions {
    let ords: Vec<u32> = viewed.iter().map(|v| v.0).collect();
    SharingSessions::read(store.sessions(), &ords, SAMPLE)
}

/// Products scored by the session neighbourhood of `viewed` ((ordinal,
/// recency weight), most recent first, no repeats) among its `candidates`
/// (read by [`candidates`]) at `now` (unix seconds): the best `top`, scaled
/// so the best is 1, the first `ordered` of them best first (ties by
/// ordinal) and the rest in no order; with `unseen`, only products
/// `viewed` does not hold. Empty without views or sessions.
pub fn scores(
    store: &Store,
    viewed: &[(u32, f32)],
    candidates: &SharingSessions,
    now: i64,
    (top, ordered): (usize, usize),
    unseen: bool,
) -> Vec<(u32, f32)> {
    let index = store.sessions();
    let products_in_catalog = store.products().len();
    if viewed.is_empty() || candidates.is_empty() || top == 0 {
        return Vec::new();
    }
    // The viewed products by ordinal, with their position (0: latest) and
    // weight, for lookups while reading sessions.
    let mut current: Vec<(u32, usize, f32)> = viewed
        .iter()
        .enumerate()
        .map(|(i, &(ord, _))| (ord, i, (-(i as f32) / POSITION_DECAY).exp()))
        .collect();
    current.sort_unstable_by_key(|c| c.0);
    let norm = current.iter().map(|c| c.2 * c.2).sum::<f32>().sqrt();
    // Most products read are not viewed ones: a bit per ordinal modulo 256
    // turns nearly all of them away before the binary search.
    let bit = |ord: u32| ((ord as usize >> 6) & 3, 1u64 << (ord & 63));
    let mut maybe_viewed = [0u64; 4];
    for c in &current {
        let (word, mask) = bit(c.0);
        if let Some(w) = maybe_viewed.get_mut(word) {
            *w |= mask;
        }
    }
    let find = |ord: u32| {
        let (word, mask) = bit(ord);
        if maybe_viewed.get(word).is_none_or(|w| w & mask == 0) {
            return None;
        }
        current
            .binary_search_by_key(&ord, |c| c.0)
            .ok()
            .and_then(|at| current.get(at))
    };

    // exp(-i / MATCH_DECAY) for each position a latest shared view can have.
    let matched: Vec<f32> = (0..viewed.len())
        .map(|i| (-(i as f32) / MATCH_DECAY).exp())
        .collect();
    // Candidates come most recent first, and runs of them end in the same
    // hour: the last hour's recency decay is kept.
    let now_hours = now.div_euclid(3_600);
    let mut recency = (None, 1.0f32);
    let mut decay_of = |hour: Option<u32>| {
        if recency.0 != Some(hour) {
            let age_days = hour.map_or(0.0, |h| (now_hours - i64::from(h)).max(0) as f32 / 24.0);
            recency = (Some(hour), (-age_days / RECENCY_DAYS).exp());
        }
        recency.1
    };

    // Per candidate: its similarity (as a sort key), its products (as read
    // in `candidates`), its last shared product and its latest shared view.
    let mut keys: Vec<(u64, u32)> = Vec::with_capacity(candidates.len());
    let mut found: Vec<Neighbour<'_>> = Vec::with_capacity(candidates.len());
    for (s, row) in candidates.iter() {
        let (mut dot, mut shared_at, mut latest, mut held) = (0.0f32, 0, usize::MAX, 0);
        for (at, p) in in_catalog(row, products_in_catalog).enumerate() {
            if let Some(c) = find(p) {
                dot += c.2;
                shared_at = at;
                latest = latest.min(c.1);
            }
            held = at + 1;
        }
        if dot <= 0.0 {
            continue;
        }
        let similarity = dot / (norm * (held as f32).sqrt()) * decay_of(index.hour(s));
        keys.push((order::desc(similarity), found.len() as u32));
        found.push(Neighbour {
            weight: similarity * matched.get(latest).copied().unwrap_or(0.0),
            products: row,
            shared_at,
        });
    }
    order::select(&mut keys, NEIGHBOURS);

    // exp(-d / ITEM_DECAY) for the distances a kept session can have.
    let near: Vec<f32> = (0..=MAX_SESSION_PRODUCTS)
        .map(|d| (-(d as f32) / ITEM_DECAY).exp())
        .collect();
    let mut scored: OrdinalMap<f32> =
        OrdinalMap::with_capacity_and_hasher(keys.len() * 4, Default::default());
    for &(_, i) in &keys {
        let Some(n) = found.get(i as usize) else {
            continue;
        };
        for (at, p) in in_catalog(n.products, products_in_catalog).enumerate() {
            let distance = at.abs_diff(n.shared_at);
            let decay = near.get(distance).copied().unwrap_or(0.0);
            *scored.entry(p).or_default() += n.weight * decay;
        }
    }
    // Rarity, once per product: 1 + λidf x ln(sessions / its sessions).
    let rarity = |p: u32| 1.0 + IDF_WEIGHT * index.idf(p);
    let rescored: Vec<(u32, f32)> = scored
        .iter()
        .filter(|(&p, _)| !(unseen && find(p).is_some()))
        .map(|(&p, &score)| (p, score * rarity(p)))
        .collect();
    let mut ranked: Vec<(u64, u32)> = (0u32..)
        .zip(&rescored)
        .map(|(i, &(p, score))| (order::desc(score) << 32 | u64::from(p), i))
        .collect();
    order::select(&mut ranked, top);
    order::sort_head(&mut ranked, ordered);
    let mut out: Vec<(u32, f32)> = order::permute(rescored, &ranked);
    out.retain(|r| r.1 > 0.0);
    let best = out.iter().map(|r| r.1).fold(f32::MIN_POSITIVE, f32::max);
    for r in &mut out {
        r.1 /= best;
    }
    out
}

/// The products of `row` that are in a catalog of `products`: an ordinal
/// past it (a damaged section) is no product.
fn in_catalog(row: &[u32], products: usize) -> impl Iterator<Item = u32> + '_ {
    row.iter()
        .copied()
        .filter(move |&p| (p as usize) < products)
}

/// A neighbour session as [`scores`] keeps it.
struct Neighbour<'a> {
    /// Its similarity, times the decay of its latest shared view.
    weight: f32,
    /// Its products, as the candidates hold them.
    products: &'a [u32],
    /// The position of its last product the shopper viewed too.
    shared_at: usize,
}
