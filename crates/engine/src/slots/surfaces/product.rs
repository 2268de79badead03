//! Product-page slots, each about one anchor product.

use super::{neighbours, Context};
use crate::limits::CANDIDATES_PER_SOURCE;
use crate::slots::candidates::{Pool, Signal};

/// Similar: the anchor's embedding neighbours and the top of its category.
pub(crate) fn similar(ctx: &Context<'_>, anchor: u32, pool: &mut Pool) {
    if let Some(e) = ctx.store.embedding(anchor) {
        neighbours(ctx, &e, 0, pool);
    }
    for (ord, score) in ctx.store.co_view().row(anchor) {
        pool.add(ord, 0, "co-view").set(Signal::CoView, score);
    }
    same_category(ctx, anchor, 1, pool);
    score_against(ctx, anchor, pool);
}

/// Viewed together: the anchor's co-view row first, similar items after.
pub(crate) fn viewed_together(ctx: &Context<'_>, anchor: u32, pool: &mut Pool) {
    for (ord, score) in ctx.store.co_view().row(anchor) {
        pool.add(ord, 0, "co-view").set(Signal::CoView, score);
    }
    if let Some(e) = ctx.store.embedding(anchor) {
        neighbours(ctx, &e, 1, pool);
    }
    score_against(ctx, anchor, pool);
}

/// Bought together: the anchor's basket row first, then what fits it, then
/// what is viewed with it.
pub(crate) fn bought_together(ctx: &Context<'_>, anchor: u32, pool: &mut Pool) {
    for (ord, score) in ctx.store.bought_together().row(anchor) {
        pool.add(ord, 0, "bought-together")
            .set(Signal::CoView, score);
    }
    if let Some(p) = ctx.store.product_at(anchor) {
        for ord in p.compatible() {
            pool.add(ord, 1, "compatible");
        }
    }
    for (ord, score) in ctx.store.co_view().row(anchor) {
        let c = pool.add(ord, 2, "co-view");
        c.set(Signal::CoView, c.get(Signal::CoView).max(score));
    }
    score_against(ctx, anchor, pool);
}

/// Alternatives, only while the anchor cannot be bought (below the
/// inventory threshold): replacements from its leaf category at a similar
/// price first; its nearest neighbours elsewhere after.
pub(crate) fn alternatives(ctx: &Context<'_>, anchor: u32, pool: &mut Pool) {
    let Some(a) = ctx.store.product_at(anchor) else {
        return;
    };
    if a.available() >= ctx.store.rules().min_inventory.max(1) {
        return;
    }
    let close_price = |ord: u32| {
        ctx.store.product_at(ord).is_some_and(|p| {
            p.leaf() == a.leaf() && p.price() <= a.price() * 1.5 && p.price() >= a.price() * 0.5
        })
    };
    if let Some(e) = ctx.store.embedding(anchor) {
        for (ord, _) in ctx.store.nearest_for_slot(&e, CANDIDATES_PER_SOURCE) {
            pool.add(ord, if close_price(ord) { 0 } else { 1 }, "similar");
        }
    }
    if let Some(leaf) = a.leaf() {
        for ord in ctx.store.top_in_category(leaf) {
            pool.add(ord, if close_price(ord) { 0 } else { 1 }, "category");
        }
    }
    score_against(ctx, anchor, pool);
}

/// Add-ons: only products compatible with the anchor (the guardrails
/// enforce it), best sellers with it first.
pub(crate) fn addons(ctx: &Context<'_>, anchor: u32, pool: &mut Pool) {
    let Some(a) = ctx.store.product_at(anchor) else {
        return;
    };
    for ord in a.compatible() {
        pool.add(ord, 0, "compatible");
    }
    for (ord, score) in ctx.store.bought_together().row(anchor) {
        if let Some(c) = pool.get_mut(ord) {
            c.set(Signal::CoView, score);
        }
    }
    score_against(ctx, anchor, pool);
}

/// Proposes the top of the anchor's leaf category at `tier`.
fn same_category(ctx: &Context<'_>, anchor: u32, tier: u8, pool: &mut Pool) {
    if let Some(leaf) = ctx.store.product_at(anchor).and_then(|p| p.leaf()) {
        for ord in ctx
            .store
            .top_in_category(leaf)
            .take(CANDIDATES_PER_SOURCE / 4)
        {
            pool.add(ord, tier, "category");
        }
    }
}

/// Similarity and category affinity of every candidate to the anchor,
/// tilted by the session.
fn score_against(ctx: &Context<'_>, anchor: u32, pool: &mut Pool) {
    let store = ctx.store;
    let session = ctx.session;
    let anchor_emb = store.embedding(anchor);
    let (leaf, top) = store
        .product_at(anchor)
        .map_or((None, None), |p| (p.leaf(), p.top()));
    for (&ord, c) in &mut pool.candidates {
        let (Some(to_taste), Some(p)) =
            (store.similarity(ord, &session.taste), store.product_at(ord))
        else {
            continue;
        };
        let to_anchor = anchor_emb
            .and_then(|a| store.similarity(ord, &a))
            .map_or(0.0, |s| s.max(0.0));
        let similarity = if session.is_empty() {
            to_anchor
        } else {
            0.8 * to_anchor + 0.2 * to_taste.max(0.0)
        };
        c.set(Signal::Similarity, similarity);
        let same: f32 = if p.leaf() == leaf {
            1.0
        } else if p.top() == top {
            0.5
        } else {
            0.0
        };
        c.set(
            Signal::CategoryAffinity,
            same.max(0.5 * session.affinity(p.leaf(), p.top())),
        );
    }
}
