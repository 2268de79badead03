//! The home slot: popular products for everyone; with a session, also its
//! nearest neighbours, its viewed-together items and its favourite categories.

use super::{neighbours, score_similarity, Context};
use crate::candidates::{Pool, CATEGORY_AFFINITY, CO_VIEW};
use crate::limits::CANDIDATES_PER_SOURCE;

pub(crate) fn home(ctx: &Context<'_>, pool: &mut Pool) {
    let (engine, session) = (ctx.engine, ctx.session);
    for &ord in engine.top_overall().iter().take(CANDIDATES_PER_SOURCE) {
        pool.add(ord, 0, "popular");
    }
    if session.is_empty() {
        return;
    }
    neighbours(ctx, &session.taste, 0, pool);
    for &(viewed, weight) in &session.viewed {
        for (ord, score) in engine.co_view().row(viewed) {
            let c = pool.add(ord, 0, "co-view");
            c.set(CO_VIEW, (c.get(CO_VIEW) + weight * score).min(1.0));
        }
    }
    for &(leaf, _) in session.leaf_share.iter().take(2) {
        for &ord in engine
            .top_in_category(leaf)
            .iter()
            .take(CANDIDATES_PER_SOURCE / 2)
        {
            pool.add(ord, 0, "category");
        }
    }
    score_similarity(ctx, &session.taste, pool);
    for ord in pool.order.clone() {
        let affinity = engine
            .product_at(ord)
            .map_or(0.0, |p| session.affinity(p.leaf(), p.top()));
        if let Some(c) = pool.get_mut(ord) {
            c.set(CATEGORY_AFFINITY, affinity);
        }
    }
}
