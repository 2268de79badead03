//! The `next` slot: what the shopper will most likely open next.
//!
//! Session-based next-item ranking: the session's recent products, weighted
//! by recency, propose what shoppers opened right after them (sequential
//! transitions) and what they viewed with them, and the sessions most like
//! this one propose what else they opened (the session neighbourhood);
//! embedding neighbours of the session and the store's popular products
//! fill the rest. Unlike `home`, the session's own products may come back:
//! shoppers return to what they are comparing. The sessions like this one
//! that hold them say how much, and so does the `returns` signal: how often
//! the store's next clicks go back to a product that many views back.

use super::{follow_neighbours, follow_session, neighbours, score_similarity, Context, Fill};
use crate::limits::CANDIDATES_PER_SOURCE;
use crate::slots::candidates::{Pool, Signal};

/// Fills `pool`; the embedding neighbours and popular products are its
/// fillers (tier 1), left out with [`Fill::Primary`] (returns whether they
/// were).
pub(crate) fn next(ctx: &Context<'_>, pool: &mut Pool, fill: Fill) -> bool {
    let (store, session) = (ctx.store, ctx.session);
    follow_session(ctx, 0, pool);
    propose_returns(ctx, pool);
    if fill == Fill::Everything {
        neighbours(ctx, &session.taste, 1, pool);
        for ord in store.top_overall().take(CANDIDATES_PER_SOURCE) {
            pool.add(ord, 1, "popular");
        }
    }
    follow_neighbours(ctx, 0, false, pool);
    score_similarity(ctx, &session.taste, pool);
    weigh_going_back(ctx, pool);
    fill == Fill::Primary
}

/// Scales the session's own products by the visit's habit of going back
/// ([`crate::GoingBack`]), where the merchant weighs going back at all.
fn weigh_going_back(ctx: &Context<'_>, pool: &mut Pool) {
    let Some(prior) = ctx.store.going_back() else {
        return;
    };
    let factor = prior.factor(ctx.view_counts);
    if ctx.store.rules().blend.returns <= 0.0 || factor == 1.0 {
        return;
    }
    for &(ord, _) in &ctx.session.viewed {
        if let Some(c) = pool.get_mut(ord) {
            c.going_back = factor - 1.0;
        }
    }
}

/// Proposes the session's own products where the store's next clicks go
/// back to them, with how likely that is by how many views back each is
/// (its `returns`). Nothing when the merchant weighs returns at 0.
fn propose_returns(ctx: &Context<'_>, pool: &mut Pool) {
    if ctx.store.rules().blend.returns <= 0.0 {
        return;
    }
    for (back, &(ord, _)) in ctx.session.viewed.iter().enumerate() {
        let likely = ctx.store.returns(back);
        if likely > 0.0 {
            pool.add(ord, 0, "returns").set(Signal::Returns, likely);
        }
    }
}
