//! Cart slots, about the products in the cart.

use super::{neighbours, score_affinity, score_similarity, Context};
use crate::embedding::Embedding;
use crate::limits::{CANDIDATES_PER_SOURCE, MAX_ORDERED};
use crate::slots::candidates::{Pool, Signal};

/// Cart add-ons: what fits or is bought with the cart's items and what
/// the shopper ordered before where their category's shoppers order
/// again, then what is viewed with them or close to them in the embedding
/// space (which is how a product nobody has bought yet can come up:
/// through its text). That they ship in the same box is a guardrail
/// (`guardrails.rs`).
pub(crate) fn addons(ctx: &Context<'_>, pool: &mut Pool) {
    for &item in ctx.cart {
        if let Some(p) = ctx.store.product_at(item) {
            for ord in p.compatible() {
                pool.add(ord, 0, "compatible");
            }
        }
        for (ord, score) in ctx.store.bought_together().row(item) {
            let c = pool.add(ord, 0, "bought-together");
            c.set(Signal::CoView, c.get(Signal::CoView).max(score));
        }
        for (ord, score) in ctx.store.co_view().row(item) {
            let c = pool.add(ord, 1, "co-view");
            c.set(Signal::CoView, c.get(Signal::CoView).max(score * 0.5));
        }
    }
    rebuy(ctx, pool);
    neighbours(ctx, &cart_taste(ctx), 1, pool);
    score_cart(ctx, pool);
}

/// The free-shipping ladder: items priced to close the gap to the
/// threshold without overshooting it by more than a third; nothing when the
/// cart already ships free or the rules set no threshold.
pub(crate) fn ladder(ctx: &Context<'_>, pool: &mut Pool) {
    let store = ctx.store;
    let Some(threshold) = store.rules().free_shipping_threshold else {
        return;
    };
    let subtotal: f64 = ctx
        .cart
        .iter()
        .filter_map(|&o| store.product_at(o))
        .map(|p| p.price())
        .sum();
    let gap = threshold - subtotal;
    if gap <= 0.0 {
        return;
    }
    let fits = |ord: u32| {
        store
            .product_at(ord)
            .is_some_and(|p| p.price() >= gap && p.price() <= gap * 4.0 / 3.0)
    };
    let propose = |ord: u32, source: &'static str, pool: &mut Pool| {
        if fits(ord) {
            pool.add(ord, 0, source);
        }
    };
    for &item in ctx.cart {
        for (ord, _) in store.bought_together().row(item) {
            propose(ord, "bought-together", pool);
        }
        for (ord, _) in store.co_view().row(item) {
            propose(ord, "co-view", pool);
        }
    }
    for ord in store.top_overall() {
        propose(ord, "popular", pool);
    }
    if pool.order.len() < CANDIDATES_PER_SOURCE {
        // Sparse around this price: the catalog's items that fit, in
        // catalog order. Those already proposed do not count, so the first
        // `CANDIDATES_PER_SOURCE * 4` that fit are enough to fill up to it.
        let most = CANDIDATES_PER_SOURCE * 4;
        for ord in store.priced_within(gap, gap * 4.0 / 3.0, most) {
            pool.add(ord, 0, "price-fit");
            if pool.order.len() >= most {
                break;
            }
        }
    }
    score_cart(ctx, pool);
}

/// Source name of the shopper's earlier orders proposed again.
const ORDERED_BEFORE: &str = "ordered-before";

/// Proposes the products the shopper ordered before (the latest
/// [`MAX_ORDERED`]) that are not in the cart, each with its category's
/// rebuy rate as its `rebuy` signal: in a store whose shoppers order the
/// same products again (a grocery's staples) they compete with what is
/// bought together; where nobody does, the rate is near 0 and they rank
/// low (a category with no evidence has 0: not proposed). Nothing when the
/// merchant weighs `rebuy` at 0.
fn rebuy(ctx: &Context<'_>, pool: &mut Pool) {
    let store = ctx.store;
    if store.rules().blend.rebuy <= 0.0 {
        return;
    }
    for &(ord, _) in ctx.ordered.iter().take(MAX_ORDERED) {
        if ctx.cart.contains(&ord) {
            continue;
        }
        let rate = store
            .product_at(ord)
            .and_then(|p| p.leaf())
            .map_or(0.0, |c| store.rebuy(c));
        // A damaged bundle's rate is no reason to rank above the rest.
        if rate.is_finite() && rate > 0.0 {
            pool.add(ord, 0, ORDERED_BEFORE)
                .set(Signal::Rebuy, rate.min(1.0));
        }
    }
}

/// The mean of the cart's embeddings, normalized.
fn cart_taste(ctx: &Context<'_>) -> Embedding {
    let mut taste = Embedding::ZERO;
    for &item in ctx.cart {
        if let Some(e) = ctx.store.embedding(item) {
            taste.add_scaled(&e, 1.0);
        }
    }
    taste.normalized()
}

/// Similarity to the cart's items and the session's category affinity.
fn score_cart(ctx: &Context<'_>, pool: &mut Pool) {
    score_similarity(ctx, &cart_taste(ctx), pool);
    score_affinity(ctx, pool);
}
