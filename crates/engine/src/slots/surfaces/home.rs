//! The home slot: popular and trending products for everyone, the best of
//! the visit's predicted mission and of the categories it viewed or landed
//! on, and for a new visitor the fast-ship best of that interest; with
//! viewed products, also their nearest neighbours, what follows them
//! (opened next, viewed together) and what sessions like this one opened;
//! for a returning visitor, their
//! recent views come first, after what they wanted back in stock and what
//! they ordered and are due to buy again (by their category's refill
//! interval).

use super::{
    follow_neighbours, follow_session, neighbours, score_affinity, score_similarity, Context,
};
use crate::limits::{CANDIDATES_PER_SOURCE, RECENT_IN_HOME};
use crate::slots::candidates::Pool;

/// Source name of a returning visitor's recent views; `rank.rs` keeps them
/// although home otherwise leaves out what the session has seen.
pub(crate) const RECENTLY_VIEWED: &str = "recently-viewed";
/// Source name of wanted products; the guardrails drop those still out of stock.
pub(crate) const BACK_IN_STOCK: &str = "back-in-stock";
/// Source name of ordered products due again by their category's refill
/// interval.
pub(crate) const REFILL_DUE: &str = "refill-due";
/// Source name of fast-ship products offered to a new visitor.
pub(crate) const FAST_SHIP: &str = "fast-ship";
/// A refill is due from this share of its category's interval after the
/// order...
const REFILL_FROM: f32 = 0.8;
/// ...and no longer offered after this many intervals (bought elsewhere).
const REFILL_UNTIL: f32 = 3.0;

pub(crate) fn home(ctx: &Context<'_>, pool: &mut Pool) {
    let (store, session) = (ctx.store, ctx.session);
    // Wanted products back in stock and refills due first (tier 0), then a
    // returning visitor's recent views, one tier each to keep their
    // recency order, then the rest.
    for &ord in ctx.wanted.iter().take(RECENT_IN_HOME) {
        pool.add(ord, 0, BACK_IN_STOCK);
    }
    for &(ord, at) in ctx.ordered.iter().take(RECENT_IN_HOME) {
        let interval = store
            .product_at(ord)
            .and_then(|p| p.leaf())
            .map_or(0.0, |c| store.refill_days(c));
        let elapsed = (ctx.now - at) as f32 / 86_400.0;
        if interval > 0.0 && (REFILL_FROM * interval..REFILL_UNTIL * interval).contains(&elapsed) {
            pool.add(ord, 0, REFILL_DUE);
        }
    }
    let returning = ctx.returning && !session.is_empty();
    if returning {
        for (i, &(ord, _)) in session.viewed.iter().take(RECENT_IN_HOME).enumerate() {
            pool.add(ord, i as u8 + 1, RECENTLY_VIEWED);
        }
    }
    let tier = if returning {
        RECENT_IN_HOME as u8 + 1
    } else {
        1
    };
    for ord in store.top_overall().take(CANDIDATES_PER_SOURCE) {
        pool.add(ord, tier, "popular");
    }
    for ord in store.top_trending().take(CANDIDATES_PER_SOURCE / 2) {
        pool.add(ord, tier, "trending");
    }
    // The visit's mission, even before it viewed a product (a landing
    // category, a search, the channel).
    if let Some(intent) = &session.intent {
        for ord in store
            .top_in_category(intent.category)
            .take(CANDIDATES_PER_SOURCE / 2)
        {
            pool.add(ord, tier, "intent");
        }
    }
    // A new visitor: the best fast-ship products of the visit's interest
    // (the category it landed on or viewed most, else its mission, else the
    // store), so a first order arrives soon.
    if !ctx.returning {
        let interest = match (session.leaf_share.first(), &session.intent) {
            (Some(&(leaf, _)), _) => store.top_in_category(leaf),
            (None, Some(intent)) => store.top_in_category(intent.category),
            (None, None) => store.top_overall(),
        };
        let fast =
            interest.filter(|&ord| store.product_at(ord).is_some_and(|p| store.is_fast_ship(p)));
        for ord in fast.take(CANDIDATES_PER_SOURCE / 2) {
            pool.add(ord, tier, FAST_SHIP);
        }
    }
    // The favourite categories, of views and category pages.
    for &(leaf, _) in session.leaf_share.iter().take(2) {
        for ord in store.top_in_category(leaf).take(CANDIDATES_PER_SOURCE / 2) {
            pool.add(ord, tier, "category");
        }
    }
    if !session.is_empty() {
        neighbours(ctx, &session.taste, tier, pool);
        follow_session(ctx, tier, pool);
        follow_neighbours(ctx, tier, true, pool);
        score_similarity(ctx, &session.taste, pool);
    }
    score_affinity(ctx, pool);
}
