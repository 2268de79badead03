//! Filling a slot: gather candidates from several sources, score each signal,
//! blend with the merchant's weights, then apply the guardrails.

use std::collections::HashMap;

use crate::embedding::Embedding;
use crate::error::EngineError;
use crate::guardrails::Guardrails;
use crate::limits::{CANDIDATES_PER_SOURCE, DEFAULT_K, MAX_K};
use crate::session::Session;
use crate::slot::{RankedItem, Ranking, Reason, Removed, SlotKind, SlotRequest};
use crate::Engine;

/// Signal values of one candidate, each 0 to 1.
#[derive(Debug, Clone, Copy, Default)]
struct Signals {
    similarity: f32,
    popularity: f32,
    category_affinity: f32,
    co_view: f32,
}

/// Candidates keyed by ordinal, in the order first seen.
#[derive(Default)]
struct Pool {
    order: Vec<u32>,
    signals: HashMap<u32, Signals>,
}

impl Pool {
    fn entry(&mut self, ord: u32) -> &mut Signals {
        if !self.signals.contains_key(&ord) {
            self.order.push(ord);
        }
        self.signals.entry(ord).or_default()
    }
}

/// Ranks one slot. See [`Engine::rank`].
pub(crate) fn rank(engine: &Engine, req: &SlotRequest) -> Result<Ranking, EngineError> {
    let k = req.k.unwrap_or(DEFAULT_K);
    if k == 0 || k > MAX_K {
        return Err(EngineError::InvalidK { got: k, max: MAX_K });
    }
    let session = Session::new(engine, &req.viewed);
    let mut pool = Pool::default();
    let anchor = match req.kind {
        SlotKind::Home => None,
        SlotKind::Similar => {
            let id = req.product.as_deref().ok_or(EngineError::MissingProduct {
                slot: req.kind.as_str(),
            })?;
            Some(
                engine
                    .ordinal(id)
                    .ok_or_else(|| EngineError::UnknownProduct(id.chars().take(64).collect()))?,
            )
        }
    };
    match anchor {
        Some(anchor) => gather_similar(engine, anchor, &session, &mut pool),
        None => gather_home(engine, &session, &mut pool),
    }
    let personalized = !session.is_empty();
    let blend = engine.rules().blend;
    let mut scored: Vec<(u32, f32, Signals)> = pool
        .order
        .iter()
        .filter(|&&ord| Some(ord) != anchor && !(anchor.is_none() && session.contains(ord)))
        .filter_map(|&ord| {
            let mut s = *pool.signals.get(&ord)?;
            s.popularity = engine.prior(ord);
            if anchor.is_none() {
                s.category_affinity = engine
                    .product_at(ord)
                    .map_or(0.0, |p| session.affinity(p.leaf(), p.top()));
            }
            let score = blend.similarity * s.similarity
                + blend.popularity * s.popularity
                + blend.category_affinity * s.category_affinity
                + blend.co_view * s.co_view;
            Some((ord, score, s))
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));

    let guardrails = Guardrails::new(engine.rules());
    let mut items = Vec::with_capacity(k);
    let mut removed = Vec::new();
    for (ord, score, s) in scored {
        if items.len() == k {
            break;
        }
        let Some(p) = engine.product_at(ord) else {
            continue;
        };
        if let Some(rule) = guardrails.check(p, |c| engine.category_name(c).to_owned()) {
            if req.explain {
                removed.push(Removed {
                    id: p.id.clone(),
                    rule,
                });
            }
            continue;
        }
        items.push(RankedItem {
            id: p.id.clone(),
            ordinal: ord,
            score,
            reasons: vec![
                Reason {
                    signal: "similarity",
                    value: s.similarity,
                    weight: blend.similarity,
                },
                Reason {
                    signal: "popularity",
                    value: s.popularity,
                    weight: blend.popularity,
                },
                Reason {
                    signal: "category_affinity",
                    value: s.category_affinity,
                    weight: blend.category_affinity,
                },
                Reason {
                    signal: "co_view",
                    value: s.co_view,
                    weight: blend.co_view,
                },
            ],
        });
    }
    Ok(Ranking {
        slot: req.kind,
        personalized,
        items,
        removed,
    })
}

/// Home: popular items for everyone; with a session, also its nearest
/// neighbours in embedding space, its viewed-together items and the top of
/// its favourite categories.
fn gather_home(engine: &Engine, session: &Session, pool: &mut Pool) {
    for &ord in engine
        .priors()
        .top_overall
        .iter()
        .take(CANDIDATES_PER_SOURCE)
    {
        pool.entry(ord);
    }
    if session.is_empty() {
        return;
    }
    add_neighbours(engine, &session.taste, pool);
    add_co_views(engine, session, pool);
    for &(leaf, _) in session.leaf_share.iter().take(2) {
        for &ord in engine
            .top_in_category(leaf)
            .iter()
            .take(CANDIDATES_PER_SOURCE / 2)
        {
            pool.entry(ord);
        }
    }
    for ord in pool.order.clone() {
        if let (Some(e), Some(s)) = (engine.embedding(ord), pool.signals.get_mut(&ord)) {
            s.similarity = session.taste.dot(e).max(0.0);
        }
    }
}

/// Product page: nearest neighbours of the product, its viewed-together
/// items, and the top of its category; the session tilts similarity.
fn gather_similar(engine: &Engine, anchor: u32, session: &Session, pool: &mut Pool) {
    let Some(anchor_emb) = engine.embedding(anchor).copied() else {
        return;
    };
    add_neighbours(engine, &anchor_emb, pool);
    for (ord, score) in engine.co_view().row(anchor) {
        pool.entry(ord).co_view = score;
    }
    let anchor_product = engine.product_at(anchor);
    let (leaf, top) = anchor_product.map_or((None, None), |p| (p.leaf(), p.top()));
    if let Some(leaf) = leaf {
        for &ord in engine
            .top_in_category(leaf)
            .iter()
            .take(CANDIDATES_PER_SOURCE / 4)
        {
            pool.entry(ord);
        }
    }
    for ord in pool.order.clone() {
        let (Some(e), Some(p)) = (engine.embedding(ord), engine.product_at(ord)) else {
            continue;
        };
        let Some(s) = pool.signals.get_mut(&ord) else {
            continue;
        };
        let to_anchor = anchor_emb.dot(e).max(0.0);
        s.similarity = if session.is_empty() {
            to_anchor
        } else {
            0.8 * to_anchor + 0.2 * session.taste.dot(e).max(0.0)
        };
        let same: f32 = if p.leaf() == leaf {
            1.0
        } else if p.top() == top {
            0.5
        } else {
            0.0
        };
        s.category_affinity = same.max(0.5 * session.affinity(p.leaf(), p.top()));
    }
}

fn add_neighbours(engine: &Engine, query: &Embedding, pool: &mut Pool) {
    if query.is_zero() {
        return;
    }
    for (ord, _) in engine.nearest(query, CANDIDATES_PER_SOURCE) {
        pool.entry(ord);
    }
}

fn add_co_views(engine: &Engine, session: &Session, pool: &mut Pool) {
    for &(viewed, weight) in &session.viewed {
        for (ord, score) in engine.co_view().row(viewed) {
            let s = pool.entry(ord);
            s.co_view = (s.co_view + weight * score).min(1.0);
        }
    }
}
