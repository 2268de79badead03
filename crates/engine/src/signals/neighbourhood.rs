//! The session neighbourhood: recent sessions of other shoppers that look
//! like this one, and what else they opened. This is V-STAN (Ludewig &
//! Jannach's sequence- and time-aware session kNN, the strongest of the
//! session-rec framework's peers on YOOCHOOSE) over the bundle's
//! [`SessionIndex`], on the session as the edge knows it (each product once,
//! most recent first, at most [`MAX_VIEWED`]).
//!
//! [`SessionIndex`]: crate::store::session_index::SessionIndex
//! [`MAX_VIEWED`]: crate::limits::MAX_VIEWED
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
//! engine with the framework's V-STAN on the same split.

use std::collections::HashMap;

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

/// Products scored by the session neighbourhood of `viewed` ((ordinal,
/// recency weight), most recent first, no repeats) at `now` (unix
/// seconds): at most `top`, best first, scaled so the best is 1. Empty
/// without views or sessions.
pub fn scores(store: &Store, viewed: &[(u32, f32)], now: i64, top: usize) -> Vec<(u32, f32)> {
    let index = store.sessions();
    if viewed.is_empty() || index.is_empty() || top == 0 {
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
    let find = |ord: u32| {
        current
            .binary_search_by_key(&ord, |c| c.0)
            .ok()
            .and_then(|at| current.get(at))
    };
    let ords: Vec<u32> = viewed.iter().map(|v| v.0).collect();
    let mut candidates = Vec::new();
    index.recent_sharing(&ords, SAMPLE, &mut candidates);

    // Each candidate's products, read once, kept flat.
    let now_minutes = now.div_euclid(60);
    let mut products: Vec<u32> = Vec::with_capacity(candidates.len() * 8);
    let mut neighbours: Vec<(f32, usize, usize)> = Vec::with_capacity(candidates.len());
    for &s in &candidates {
        let start = products.len();
        products.extend(index.products_of(s));
        let held = products.get(start..).unwrap_or_default();
        let dot: f32 = held.iter().filter_map(|&p| find(p)).map(|c| c.2).sum();
        if dot <= 0.0 {
            products.truncate(start);
            continue;
        }
        let cosine = dot / (norm * (held.len() as f32).sqrt());
        let age_days = index.minute(s).map_or(0.0, |m| {
            (now_minutes - i64::from(m)).max(0) as f32 / (24.0 * 60.0)
        });
        let similarity = cosine * (-age_days / RECENCY_DAYS).exp();
        neighbours.push((similarity, start, products.len()));
    }
    if neighbours.len() > NEIGHBOURS {
        neighbours.select_nth_unstable_by(NEIGHBOURS, |a, b| b.0.total_cmp(&a.0));
        neighbours.truncate(NEIGHBOURS);
    }

    let sessions = index.len() as f32;
    let mut scored: HashMap<u32, f32> = HashMap::with_capacity(neighbours.len() * 4);
    for (similarity, start, end) in neighbours {
        let held = products.get(start..end).unwrap_or_default();
        // Its last product the shopper viewed too, and the latest view it
        // shares.
        let mut shared_at = 0;
        let mut latest = usize::MAX;
        for (at, &p) in held.iter().enumerate() {
            if let Some(c) = find(p) {
                shared_at = at;
                latest = latest.min(c.1);
            }
        }
        let matched = similarity * (-(latest as f32) / MATCH_DECAY).exp();
        for (at, &p) in held.iter().enumerate() {
            let distance = at.abs_diff(shared_at) as f32;
            let holding = index.sessions_with(p).len().max(1) as f32;
            let idf = (sessions / holding).ln().max(0.0);
            let score = matched * (-distance / ITEM_DECAY).exp() * (1.0 + IDF_WEIGHT * idf);
            *scored.entry(p).or_default() += score;
        }
    }
    let mut ranked: Vec<(u32, f32)> = scored.into_iter().filter(|s| s.1 > 0.0).collect();
    ranked.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(top);
    let best = ranked.first().map_or(1.0, |r| r.1);
    for r in &mut ranked {
        r.1 /= best;
    }
    ranked
}
