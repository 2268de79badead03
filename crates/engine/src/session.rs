//! The shopper's session as the ranker sees it: recent products, a taste
//! vector and category shares, all recency-weighted.

use crate::embedding::Embedding;
use crate::limits::{MAX_VIEWED, RECENCY_DECAY};
use crate::order;
use crate::Engine;

/// Recently viewed products resolved against the catalog.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// (ordinal, recency weight), most recent first, no repeats.
    pub viewed: Vec<(u32, f32)>,
    /// Recency-weighted mean of the viewed embeddings (zero when none).
    pub taste: Embedding,
    /// (leaf category, share of recency weight), largest first.
    pub leaf_share: Vec<(u32, f32)>,
    /// (top category, share of recency weight).
    pub top_share: Vec<(u32, f32)>,
}

impl Default for Embedding {
    fn default() -> Self {
        Embedding::ZERO
    }
}

impl Session {
    /// Resolves `viewed` ids (most recent first); unknown ids, from an old
    /// bundle's cookie, are skipped.
    pub fn new(engine: &Engine, viewed: &[String]) -> Self {
        let mut s = Session::default();
        let mut weight = 1.0;
        for id in viewed.iter().take(MAX_VIEWED) {
            let Some(ord) = engine.ordinal(id) else {
                continue;
            };
            if s.viewed.iter().any(|(o, _)| *o == ord) {
                continue;
            }
            s.viewed.push((ord, weight));
            weight *= RECENCY_DECAY;
        }
        let total: f32 = s.viewed.iter().map(|(_, w)| w).sum();
        let mut taste = Embedding::ZERO;
        for &(ord, w) in &s.viewed {
            if let Some(e) = engine.embedding(ord) {
                taste.add_scaled(e, w);
            }
            if let Some(p) = engine.product_at(ord) {
                add_share(&mut s.leaf_share, p.leaf(), w / total);
                add_share(&mut s.top_share, p.top(), w / total);
            }
        }
        s.taste = taste.normalized();
        let mut keys: Vec<(u64, u32)> = (0u32..)
            .zip(&s.leaf_share)
            .map(|(i, &(_, share))| (order::desc(share), i))
            .collect();
        order::sort(&mut keys);
        s.leaf_share = order::permute(std::mem::take(&mut s.leaf_share), &keys);
        s
    }

    /// Whether there is anything to personalize on.
    pub fn is_empty(&self) -> bool {
        self.viewed.is_empty()
    }

    /// Whether `ord` was viewed in this session.
    pub fn contains(&self, ord: u32) -> bool {
        self.viewed.iter().any(|(o, _)| *o == ord)
    }

    /// How much of the session was in `leaf` (full credit) or its `top` (half).
    pub fn affinity(&self, leaf: Option<u32>, top: Option<u32>) -> f32 {
        let find = |shares: &[(u32, f32)], c: Option<u32>| {
            c.and_then(|c| shares.iter().find(|(x, _)| *x == c).map(|(_, s)| *s))
                .unwrap_or(0.0)
        };
        find(&self.leaf_share, leaf).max(0.5 * find(&self.top_share, top))
    }
}

fn add_share(shares: &mut Vec<(u32, f32)>, category: Option<u32>, w: f32) {
    let Some(c) = category else { return };
    match shares.iter_mut().find(|(x, _)| *x == c) {
        Some((_, s)) => *s += w,
        None => shares.push((c, w)),
    }
}
