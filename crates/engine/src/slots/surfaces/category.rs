//! The category slot: a category page's own products, the best for this
//! shopper first. Only the category's products (at any depth below it) are
//! proposed: its most popular, and those nearest the session's taste; the
//! blend then weighs popularity, similarity, the leaves the session
//! favours (on a department page), the price band and the rest.

use super::{score_affinity, score_similarity, Context};
use crate::limits::CANDIDATES_PER_SOURCE;
use crate::slots::candidates::Pool;

pub(crate) fn category(ctx: &Context<'_>, pool: &mut Pool) {
    let Some(c) = ctx.category else {
        return;
    };
    let (store, session) = (ctx.store, ctx.session);
    let member = |ord: u32| {
        store
            .product_at(ord)
            .is_some_and(|p| p.category_path().contains(&c))
    };
    for ord in store.top_in_category(c) {
        pool.add(ord, 0, "category");
    }
    if !session.taste.is_zero() {
        // A wider net than other slots: most neighbours fall outside.
        for (ord, _) in store.nearest_for_slot(&session.taste, 4 * CANDIDATES_PER_SOURCE) {
            if member(ord) {
                pool.add(ord, 0, "similar");
            }
        }
        score_similarity(ctx, &session.taste, pool);
    }
    score_affinity(ctx, pool);
}
