//! Where each slot type finds its candidates. Every surface only proposes
//! and scores its own signals; blending, boosts, guardrails, caps and pins
//! happen afterwards in one place (`rank.rs`), so no surface can skip them.

mod cart;
mod category;
mod home;
mod next;

pub(crate) use home::{BACK_IN_STOCK, RECENTLY_VIEWED, REFILL_DUE};
mod product;

use std::cell::OnceCell;

use crate::embedding::Embedding;
use crate::limits::CANDIDATES_PER_SOURCE;
use crate::signals::going_back::ViewCounts;
use crate::signals::session::Session;
use crate::signals::sharing::SharingSessions;
use crate::signals::{neighbourhood, successors};
use crate::slots::candidates::{Pool, Signal};
use crate::store::slot_kind::SlotKind;
use crate::store::Store;

/// What a surface knows about the request.
pub(crate) struct Context<'a> {
    pub store: &'a Store,
    pub session: &'a Session,
    /// The product a product-page slot is about.
    pub anchor: Option<u32>,
    /// The category a category slot lists.
    pub category: Option<u32>,
    /// Products in the cart.
    pub cart: &'a [u32],
    /// The shopper visited before.
    pub returning: bool,
    /// The visit's product views and returns so far.
    pub view_counts: ViewCounts,
    /// Products the shopper wanted while out of stock.
    pub wanted: &'a [u32],
    /// Products the shopper ordered, with when (unix seconds).
    pub ordered: &'a [(u32, i64)],
    /// The time of the request, unix seconds.
    pub now: i64,
    /// What the session's sources found, kept for the slot's second pass.
    pub found: Found,
}

/// The session's transitions and neighbourhood as a slot's surface read
/// them: a slot gathered twice (its fillers searched on the second pass)
/// reads them once. A surface asks the same way on both passes.
#[derive(Default)]
pub(crate) struct Found {
    /// The successors of each followed view.
    successors: OnceCell<Vec<Vec<(u32, f32)>>>,
    /// The neighbourhood's scores.
    neighbourhood: OnceCell<Vec<(u32, f32)>>,
}

impl Context<'_> {
    /// The session neighbourhood's candidate sessions, which the
    /// transitions read too; `None` when the merchant weighs the
    /// neighbourhood at 0 (then nothing else would read them).
    fn sharing(&self) -> Option<&SharingSessions> {
        let on = self.store.rules().blend.neighbours > 0.0;
        on.then(|| self.session.sharing(self.store))
    }
}

/// Which of a surface's sources [`gather`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fill {
    /// All but its fillers: sources whose candidates rank below every one
    /// of the others' (a higher tier), so they can only take places the
    /// others leave empty. Searching them when the others fill the slot is
    /// wasted (the ANN search alone was a fifth of a `next` ranking).
    Primary,
    /// Every source.
    Everything,
}

/// Fills `pool` for a slot of `kind` from the sources `fill` says; true
/// when it left fillers out (so a slot the pool cannot fill should be
/// gathered again with [`Fill::Everything`]).
pub(crate) fn gather(kind: SlotKind, ctx: &Context<'_>, pool: &mut Pool, fill: Fill) -> bool {
    match (kind, ctx.anchor) {
        (SlotKind::Similar, Some(a)) => product::similar(ctx, a, pool),
        (SlotKind::ViewedTogether, Some(a)) => product::viewed_together(ctx, a, pool),
        (SlotKind::BoughtTogether, Some(a)) => product::bought_together(ctx, a, pool),
        (SlotKind::Alternatives, Some(a)) => product::alternatives(ctx, a, pool),
        (SlotKind::Addons, Some(a)) => product::addons(ctx, a, pool),
        (SlotKind::CartAddons, _) => cart::addons(ctx, pool),
        (SlotKind::Ladder, _) => cart::ladder(ctx, pool),
        (SlotKind::Next, _) => return next::next(ctx, pool, fill),
        (SlotKind::Category, _) => category::category(ctx, pool),
        _ => home::home(ctx, pool),
    }
    false
}

/// The session's latest products whose successors are read: the fifth
/// weighs [`RECENCY_DECAY`]^4 (0.24), and on YOOCHOOSE following all 20
/// ranks the same to the third decimal.
///
/// [`RECENCY_DECAY`]: crate::limits::RECENCY_DECAY
const FOLLOWED_VIEWS: usize = 5;

/// Proposes what follows the session's products at `tier`: what shoppers
/// opened next after them (`sequence`, the latest [`FOLLOWED_VIEWS`]) and
/// what they viewed with them (`co_view`), each weighted by how recent the
/// session's product is.
fn follow_session(ctx: &Context<'_>, tier: u8, pool: &mut Pool) {
    // The neighbourhood's sessions hold the successors' (a product's most
    // recent): read them once.
    let read = ctx.sharing();
    // Reading sessions costs per product: only the latest few, which carry
    // most of the weight, are followed.
    let followed = ctx.found.successors.get_or_init(|| {
        let viewed = ctx.session.viewed.iter().take(FOLLOWED_VIEWS);
        viewed
            .map(|&(ord, _)| successors::after(ctx.store, ord, read))
            .collect()
    });
    for (i, &(viewed, weight)) in ctx.session.viewed.iter().enumerate() {
        for &(ord, score) in followed.get(i).map_or(&[][..], Vec::as_slice) {
            let c = pool.add(ord, tier, "next");
            c.set(
                Signal::Sequence,
                (c.get(Signal::Sequence) + weight * score).min(1.0),
            );
        }
        for (ord, score) in ctx.store.co_view().row(viewed) {
            let c = pool.add(ord, tier, "co-view");
            c.set(
                Signal::CoView,
                (c.get(Signal::CoView) + weight * score).min(1.0),
            );
        }
    }
}

/// Proposes at `tier` what the session's neighbourhood opened (the best
/// [`CANDIDATES_PER_SOURCE`]), and scores the candidates of the pool among
/// its best four times that many by it: call it after the other sources
/// have proposed. With `unseen`, only products the session has not viewed
/// (home leaves those out anyway: they would set the scale and take the
/// places). Nothing when the merchant weighs the neighbourhood at 0.
fn follow_neighbours(ctx: &Context<'_>, tier: u8, unseen: bool, pool: &mut Pool) {
    let Some(read) = ctx.sharing() else {
        return;
    };
    let top = 4 * CANDIDATES_PER_SOURCE;
    let (store, session) = (ctx.store, ctx.session);
    let scores = ctx.found.neighbourhood.get_or_init(|| {
        let sizes = (top, CANDIDATES_PER_SOURCE);
        neighbourhood::scores(store, &session.viewed, read, ctx.now, sizes, unseen)
    });
    for &(ord, score) in scores.iter().take(CANDIDATES_PER_SOURCE) {
        pool.add(ord, tier, "neighbours")
            .set(Signal::Neighbours, score);
    }
    for &(ord, score) in scores.iter().skip(CANDIDATES_PER_SOURCE) {
        if let Some(c) = pool.get_mut(ord) {
            c.set(Signal::Neighbours, score);
        }
    }
}

/// Proposes the ANN neighbours of `query` at `tier`.
fn neighbours(ctx: &Context<'_>, query: &Embedding, tier: u8, pool: &mut Pool) {
    if query.is_zero() {
        return;
    }
    for (ord, _) in ctx.store.nearest_for_slot(query, CANDIDATES_PER_SOURCE) {
        pool.add(ord, tier, "similar");
    }
}

/// Raises every candidate's category affinity to how much of the session
/// was in its leaf or department (see [`Session::affinity`]).
fn score_affinity(ctx: &Context<'_>, pool: &mut Pool) {
    for (&ord, c) in &mut pool.candidates {
        let affinity = ctx
            .store
            .product_at(ord)
            .map_or(0.0, |p| ctx.session.affinity(p.leaf(), p.top()));
        c.set(
            Signal::CategoryAffinity,
            c.get(Signal::CategoryAffinity).max(affinity),
        );
    }
}

/// Sets the similarity of every candidate to `query` (clamped at 0).
fn score_similarity(ctx: &Context<'_>, query: &Embedding, pool: &mut Pool) {
    for (&ord, c) in &mut pool.candidates {
        if let Some(similarity) = ctx.store.similarity(ord, query) {
            c.set(Signal::Similarity, similarity.max(0.0));
        }
    }
}
