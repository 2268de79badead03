//! The shopper's session as the ranker sees it: recent products, a taste
//! vector and category shares, all recency-weighted.

use std::cell::OnceCell;

use crate::embedding::Embedding;
use crate::limits::{MAX_VIEWED, RECENCY_DECAY};
use crate::order;
use crate::signals::intent::{Intent, IntentSignals, INTENT_CATEGORIES};
use crate::signals::neighbourhood;
use crate::signals::sharing::SharingSessions;
use crate::store::Store;
use crate::text::category_names::resolve_category;

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
    /// The visit's predicted mission, when the bundle has an intent model
    /// and the visit has shown anything.
    pub intent: Option<Intent>,
    /// The neighbourhood's candidate sessions, read on first use: every
    /// slot of the page (and a slot's second pass) reads the same ones.
    sharing: OnceCell<SharingSessions>,
}

impl Default for Embedding {
    fn default() -> Self {
        Embedding::ZERO
    }
}

impl Session {
    /// Resolves `viewed` ids (most recent first); unknown ids, from an old
    /// bundle's cookie, are skipped. The visit's category pages count in
    /// the category shares like views (a shopper who landed on Coffee
    /// Beans is after coffee beans, not only food). The intent is read
    /// from the viewed products and the visit's other `signals`.
    pub fn new(store: &Store, viewed: &[String], signals: &IntentSignals) -> Self {
        let mut s = Session::default();
        let mut weight = 1.0;
        for id in viewed.iter().take(MAX_VIEWED) {
            let Some(ord) = store.ordinal(id) else {
                continue;
            };
            if s.viewed.iter().any(|(o, _)| *o == ord) {
                continue;
            }
            s.viewed.push((ord, weight));
            weight *= RECENCY_DECAY;
        }
        let pages = category_pages(store, signals);
        let total: f32 = s.viewed.iter().chain(&pages).map(|(_, w)| w).sum();
        let mut taste = Embedding::ZERO;
        for &(ord, w) in &s.viewed {
            if let Some(e) = store.embedding(ord) {
                taste.add_scaled(&e, w);
            }
            if let Some(p) = store.product_at(ord) {
                add_share(&mut s.leaf_share, p.leaf(), w / total);
                add_share(&mut s.top_share, p.top(), w / total);
            }
        }
        for &(c, w) in &pages {
            let top = store.top_of(c);
            if top != Some(c) {
                add_share(&mut s.leaf_share, Some(c), w / total);
            }
            add_share(&mut s.top_share, top, w / total);
        }
        s.taste = taste.normalized();
        let mut keys: Vec<(u64, u32)> = (0u32..)
            .zip(&s.leaf_share)
            .map(|(i, &(_, share))| (order::desc(share), i))
            .collect();
        order::sort(&mut keys);
        s.leaf_share = order::permute(std::mem::take(&mut s.leaf_share), &keys);
        let recent: Vec<u32> = s.viewed.iter().map(|&(ord, _)| ord).collect();
        s.intent = crate::signals::intent::predict(store, &recent, signals);
        s
    }

    /// Whether no product was viewed (there may still be an intent or
    /// category pages).
    pub fn is_empty(&self) -> bool {
        self.viewed.is_empty()
    }

    /// Whether anything personal shaped the session: views, category
    /// pages or an intent.
    pub fn is_personal(&self) -> bool {
        !self.viewed.is_empty() || !self.top_share.is_empty() || self.intent.is_some()
    }

    /// The recent sessions sharing a product with this one, the session
    /// neighbourhood's candidates: read from `store` the first time, for
    /// the views the session holds then (the engine never changes them
    /// after [`Session::new`]).
    pub fn sharing(&self, store: &Store) -> &SharingSessions {
        self.sharing
            .get_or_init(|| neighbourhood::candidates(store, &self.viewed))
    }

    /// Whether `ord` was viewed in this session.
    pub fn contains(&self, ord: u32) -> bool {
        self.viewed.iter().any(|(o, _)| *o == ord)
    }

    /// How much of the session was in `leaf` (full credit) or its `top`
    /// (half credit), or half the intent's probability when `top` is the
    /// predicted mission (a top-level category, like the top share),
    /// whichever is most.
    pub fn affinity(&self, leaf: Option<u32>, top: Option<u32>) -> f32 {
        let find = |shares: &[(u32, f32)], c: Option<u32>| {
            c.and_then(|c| shares.iter().find(|(x, _)| *x == c).map(|(_, s)| *s))
                .unwrap_or(0.0)
        };
        let intent = match (&self.intent, top) {
            (Some(i), Some(t)) if i.category == t => 0.5 * i.probability,
            _ => 0.0,
        };
        find(&self.leaf_share, leaf)
            .max(0.5 * find(&self.top_share, top))
            .max(intent)
    }
}

/// The visit's category pages known to the catalog, with recency weights
/// (most recent first, decaying like views).
fn category_pages(store: &Store, signals: &IntentSignals) -> Vec<(u32, f32)> {
    let mut weight = 1.0;
    let mut out: Vec<(u32, f32)> = Vec::new();
    for name in signals.categories.iter().take(INTENT_CATEGORIES) {
        if let Some(c) = resolve_category(store.categories(), name) {
            if !out.iter().any(|&(x, _)| x == c) {
                out.push((c, weight));
            }
        }
        weight *= RECENCY_DECAY;
    }
    out
}

fn add_share(shares: &mut Vec<(u32, f32)>, category: Option<u32>, w: f32) {
    let Some(c) = category else { return };
    match shares.iter_mut().find(|(x, _)| *x == c) {
        Some((_, s)) => *s += w,
        None => shares.push((c, w)),
    }
}
