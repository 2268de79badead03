//! Filling a slot, the same way for every surface: gather candidates
//! (`surfaces/`), score the generic signals, blend with the merchant's
//! weights and boosts, then select under the guardrails, the diversity caps,
//! the new-arrival share and the pins.

use std::fmt;

use crate::error::EngineError;
use crate::limits::{CANDIDATES_PER_SOURCE, DEFAULT_K, MAX_K};
use crate::order;
use crate::policy::guardrails::{cart_shipping, Guardrails, Refusal, SlotContext};
use crate::signals::session::Session;
use crate::signals::visit::{Visit, Visitor};
use crate::slots::candidates::{Candidate, Pool, Signal, SIGNALS};
use crate::slots::slot::{RankedItem, Ranking, Reason, Removed, SlotKind, SlotRequest};
use crate::slots::surfaces::{
    gather, Context, Fill, Found, BACK_IN_STOCK, RECENTLY_VIEWED, REFILL_DUE,
};
use crate::store::Product;
use crate::store::Store;

/// Room reserved for a slot's candidates: most slots propose a few sources'
/// worth.
const POOL_CAPACITY: usize = 4 * CANDIDATES_PER_SOURCE;

/// A scored candidate.
#[derive(Clone, Copy)]
struct Scored {
    ord: u32,
    score: f32,
    boost: f32,
    /// What the visit's habit of going back added (negative: took away).
    going_back: f32,
    c: Candidate,
}

/// Ranks one slot. See [`crate::Engine::rank`].
/// `first` is what the first gathering reads: [`Fill::Primary`] searches
/// a surface's fillers only when the slot needs them, [`Fill::Everything`]
/// reads every source at once (what the first gives by construction; the
/// tests hold it to that).
pub(crate) fn rank(
    store: &Store,
    visit: &Visit<'_>,
    req: &SlotRequest,
    first: Fill,
) -> Result<Ranking, EngineError> {
    let k = req.k.unwrap_or(DEFAULT_K);
    if k == 0 || k > MAX_K {
        return Err(EngineError::InvalidK { got: k, max: MAX_K });
    }
    let slot_name = req.kind.as_str();
    let anchor = if req.kind.needs_product() {
        let id = req
            .product
            .as_deref()
            .ok_or(EngineError::MissingProduct { slot: slot_name })?;
        Some(
            store
                .ordinal(id)
                .ok_or_else(|| EngineError::UnknownProduct(id.chars().take(64).collect()))?,
        )
    } else if req.kind == SlotKind::Next {
        // On a product page, `next` follows on from the product shown.
        req.product.as_deref().and_then(|id| store.ordinal(id))
    } else {
        None
    };
    let category = if req.kind.needs_category() {
        let name = req
            .category
            .as_deref()
            .ok_or(EngineError::MissingCategory { slot: slot_name })?;
        Some(
            store
                .find_category(name)
                .ok_or_else(|| EngineError::UnknownCategory(name.chars().take(100).collect()))?,
        )
    } else {
        None
    };
    let cart = store.ordinals(&req.cart);
    if req.kind.needs_cart() && cart.is_empty() {
        return Err(EngineError::MissingCart { slot: slot_name });
    }
    let visitor = visit.visitor();
    // On a product page, `next` reads the product shown as the latest view.
    let next_session;
    let session = match (req.kind, &req.product) {
        (SlotKind::Next, Some(shown)) if anchor.is_some() => {
            let viewed: Vec<String> = std::iter::once(shown)
                .chain(visitor.viewed.iter().filter(|v| *v != shown))
                .cloned()
                .collect();
            next_session = Session::new(store, &viewed, &visitor.signals);
            &next_session
        }
        _ => visit.session(),
    };
    let ctx = Context {
        store,
        session,
        anchor,
        category,
        cart: &cart,
        returning: visitor.returning,
        view_counts: visitor.view_counts,
        wanted: visit.wanted(),
        ordered: visit.ordered(),
        now: visitor.now,
        found: Found::default(),
    };
    let blend = store.rules().blend;
    let weights: [(Signal, f32); SIGNALS] = Signal::ALL.map(|s| (s, s.weight(&blend)));
    let boosts = active_boosts(store, req.kind, visitor.now);
    let excluded = |ord: u32, c: &Candidate| {
        let recent = [RECENTLY_VIEWED, BACK_IN_STOCK, REFILL_DUE].contains(&c.source);
        Some(ord) == anchor
            || cart.contains(&ord)
            || (req.kind == SlotKind::Home && session.contains(ord) && !recent)
    };
    let slot = SlotContext {
        kind: Some(req.kind),
        anchor,
        region: visitor.region.clone(),
        ships_from: if req.kind == SlotKind::CartAddons {
            cart_shipping(store, &cart)
        } else {
            Vec::new()
        },
        searching: false,
    };
    // New arrivals a slot of k protects places for.
    let wanted_new = new_arrivals_wanted(store, k);
    // Gathers from the sources `fill` says and selects up to k. A surface's
    // fillers rank below all else it proposes, so they are searched only
    // when the rest cannot fill the slot, or cannot give a protected
    // new-arrival share its places (a new arrival among the fillers may be
    // owed one): a pass that left them out gives `None` then, before
    // selecting when its pool already shows it. Otherwise the fillers
    // would come after every candidate the slot read and every new
    // arrival it took.
    let choose = |fill: Fill| {
        let mut pool = Pool::with_capacity(POOL_CAPACITY);
        let left_out = gather(req.kind, &ctx, &mut pool, fill);
        let new_in_pool = || {
            let new = |&&ord: &&u32| is_new_arrival(store, ord, visitor.now);
            pool.order.iter().filter(new).take(wanted_new).count()
        };
        if left_out && (pool.order.len() < k || new_in_pool() < wanted_new) {
            return None;
        }
        // Every candidate the slot may show, scored, in the order proposed.
        let mut all: Vec<Scored> = Vec::with_capacity(pool.order.len());
        all.extend(pool.order.iter().filter_map(|&ord| {
            let c = *pool.candidates.get(&ord)?;
            // An ordinal no product has (a damaged list) never takes a place.
            store.product_at(ord)?;
            (!excluded(ord, &c)).then(|| scored(store, ord, c, visitor, &weights, &boosts))
        }));
        // Best tier first, then best score; ties keep the order proposed.
        // Read in that order, sorted as far as the selection reads.
        let keys: Vec<(u64, u32)> = (0u32..)
            .zip(&all)
            .map(|(i, s)| (u64::from(s.c.tier) << 32 | order::desc(s.score), i))
            .collect();
        let mut scored =
            order::Ascending::new(keys, 2 * k).filter_map(|(_, i)| all.get(i as usize).copied());

        let mut selection = Selection::new(store, &slot, req.explain, k);
        // New arrivals a diversity cap turned away while the slot filled get
        // another chance when their share is protected, ahead of the rest.
        let mut refused_new = Vec::new();
        while selection.items.len() < k {
            let Some(s) = scored.next() else { break };
            if let Err(refused) = selection.offer(s) {
                if selection.is_new(refused.ord, visitor.now) {
                    refused_new.push(refused);
                }
            }
        }
        selection.protect_new_arrivals(k, refused_new.into_iter().chain(scored), visitor.now);
        let short = selection.items.len() < k || selection.owes_new_arrivals(k, visitor.now);
        (!(left_out && short)).then_some(selection)
    };
    // A pass of every source leaves nothing out, so it always selects.
    let mut selection = choose(first)
        .or_else(|| choose(Fill::Everything))
        .unwrap_or_else(|| Selection::new(store, &slot, req.explain, k));
    selection.apply_pins(k, req.kind, visitor, &weights, &boosts, |ord| {
        Some(ord) == anchor || cart.contains(&ord)
    });

    let items = selection
        .items
        .iter()
        .filter_map(|s| {
            let p = store.product_at(s.ord)?;
            let mut reasons: Vec<Reason> = Vec::with_capacity(SIGNALS + 1);
            reasons.extend(weights.iter().map(|&(signal, weight)| Reason {
                signal: signal.name(),
                value: s.c.get(signal),
                weight,
            }));
            if s.boost != 0.0 {
                reasons.push(Reason {
                    signal: "boost",
                    value: s.boost,
                    weight: 1.0,
                });
            }
            if s.going_back != 0.0 {
                reasons.push(Reason {
                    signal: "going_back",
                    value: s.going_back,
                    weight: 1.0,
                });
            }
            Some(RankedItem {
                id: p.id().to_owned(),
                ordinal: s.ord,
                source: s.c.source,
                score: s.score,
                reasons,
            })
        })
        .collect();
    Ok(Ranking {
        slot: req.kind,
        // The page's own product (which `next` follows on from) is context,
        // not the shopper's history; the visit's signals are.
        // (The visit's session holds the viewed ids that resolve, so it
        // answers without looking one up again when it has any.)
        personalized: !visit.session().viewed.is_empty()
            || visitor.viewed.iter().any(|id| store.ordinal(id).is_some())
            || (!visitor.signals.is_empty() && session.is_personal())
            || (matches!(req.kind, SlotKind::Home | SlotKind::CartAddons)
                && !visit.ordered().is_empty())
            || visitor.price_band.is_some_and(|b| b.evidence > 0.0),
        intent: session.intent.clone(),
        items,
        removed: selection.removed,
    })
}

/// `c` with the shared signals filled in, blended by `weights` and boosted
/// by `boosts` (the slot's [`active_boosts`]).
fn scored(
    store: &Store,
    ord: u32,
    mut c: Candidate,
    visitor: &Visitor,
    weights: &[(Signal, f32); SIGNALS],
    boosts: &[(u32, f32)],
) -> Scored {
    generic_signals(store, ord, &mut c);
    // The price level only when there is a band to fit it to.
    if let Some(band) = &visitor.price_band {
        if let Some(level) = store.price_level(ord) {
            c.set(Signal::PriceFit, band.fit(level));
        }
    }
    let boost = boosts
        .iter()
        .filter(|&&(product, _)| product == ord)
        .map(|&(_, weight)| weight)
        .sum();
    let blended = weights.iter().map(|&(s, w)| w * c.get(s)).sum::<f32>();
    let going_back = blended * c.going_back;
    Scored {
        ord,
        score: blended + going_back + boost,
        boost,
        going_back,
        c,
    }
}

/// Signals every surface shares: popularity, freshness, trending, deal,
/// margin, stock, rating, fast shipping.
fn generic_signals(store: &Store, ord: u32, c: &mut Candidate) {
    c.set(Signal::Popularity, store.popularity(ord));
    c.set(Signal::Freshness, store.freshness(ord));
    c.set(Signal::Trending, store.trending(ord));
    c.set(Signal::Deal, store.deal(ord));
    let Some(p) = store.product_at(ord) else {
        return;
    };
    c.set(
        Signal::Margin,
        p.margin().map_or(0.0, |m| m.clamp(0.0, 1.0) as f32),
    );
    c.set(Signal::Stock, stock_signal(p));
    c.set(Signal::Rating, rating_signal(p));
    c.set(Signal::FastShip, f32::from(store.is_fast_ship(p)));
}

/// Depth of stock, 0 to 1 on a log scale (1000 units and more is 1).
pub(crate) fn stock_signal(p: Product<'_>) -> f32 {
    ((1.0 + p.available() as f32).ln() / 1001f32.ln()).min(1.0)
}

/// The rating, 0 to 1, shrunk towards 4 stars with the weight of 5 reviews
/// (so three 5-star reviews do not beat three hundred 4.8s); 0 when unrated.
pub(crate) fn rating_signal(p: Product<'_>) -> f32 {
    let count = p.rating_count() as f32;
    if count > 0.0 {
        (p.rating() * count + 4.0 * 5.0) / (count + 5.0) / 5.0
    } else {
        0.0
    }
}

/// The boosts active in this slot now, as (product, weight) in the rules'
/// order: found once per ranking, then summed per candidate in that order.
fn active_boosts(store: &Store, kind: SlotKind, now: i64) -> Vec<(u32, f32)> {
    store
        .rules()
        .boosts
        .iter()
        .filter(|b| b.slot.is_none_or(|s| s == kind) && (b.from..b.until).contains(&now))
        .map(|b| (b.product, b.weight))
        .collect()
}

/// Whether product `ord` was listed within the rules' new-arrival window
/// at `now`.
fn is_new_arrival(store: &Store, ord: u32, now: i64) -> bool {
    let window = store.rules().new_arrival_seconds;
    store
        .product_at(ord)
        .is_some_and(|p| now >= p.created_at() && now - p.created_at() <= window)
}

/// How many of a slot of `k` the merchant's `new_arrival_share` keeps for
/// new arrivals.
fn new_arrivals_wanted(store: &Store, k: usize) -> usize {
    (store.rules().new_arrival_share * k as f32).ceil() as usize
}

/// Items chosen so far, with the caps' counters.
struct Selection<'a> {
    store: &'a Store,
    guardrails: Guardrails<'a>,
    slot: &'a SlotContext,
    explain: bool,
    items: Vec<Scored>,
    removed: Vec<Removed>,
    /// (brand id, items) and (leaf, items): a slot holds a few dozen items
    /// at most, so a scan beats hashing.
    per_brand: Vec<(u32, u32)>,
    per_leaf: Vec<(u32, u32)>,
}

/// Why a candidate may not join the slot now; displayed, the rule in words.
enum Refused<'a> {
    /// A guardrail.
    Rule(Refusal<'a>),
    /// The brand has `cap` items already.
    BrandCap { cap: u32, brand: &'a str },
    /// The leaf category has `cap` items already.
    CategoryCap { cap: u32, category: &'a str },
}

impl fmt::Display for Refused<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Rule(rule) => rule.fmt(f),
            Refused::BrandCap { cap, brand } => {
                write!(f, "max_per_brand {cap} reached for {brand:?}")
            }
            Refused::CategoryCap { cap, category } => {
                write!(f, "max_per_category {cap} reached for {category:?}")
            }
        }
    }
}

/// The count of `key` in `counts`.
fn counted(counts: &[(u32, u32)], key: u32) -> u32 {
    counts
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(0, |&(_, n)| n)
}

/// Adds `delta` to the count of `key` (saturating at 0).
fn add_count(counts: &mut Vec<(u32, u32)>, key: u32, delta: i32) {
    match counts.iter_mut().find(|(k, _)| *k == key) {
        Some((_, n)) => *n = n.saturating_add_signed(delta),
        None => counts.push((key, 0u32.saturating_add_signed(delta))),
    }
}

impl<'a> Selection<'a> {
    /// An empty selection for a slot of `k` items.
    fn new(store: &'a Store, slot: &'a SlotContext, explain: bool, k: usize) -> Self {
        Self {
            store,
            guardrails: Guardrails::new(store.rules()),
            slot,
            explain,
            items: Vec::with_capacity(k),
            removed: Vec::new(),
            per_brand: Vec::new(),
            per_leaf: Vec::new(),
        }
    }

    /// Why `ord` may not join the slot now, if it may not. Explained, the
    /// guardrails are asked first (theirs is the rule a refusal names);
    /// otherwise the caps are, which are cheaper and turn away most of
    /// what a slot refuses: refused or not, the answer is the same.
    fn refusal(&self, ord: u32) -> Option<Refused<'a>> {
        let p = self.store.product_at(ord)?;
        let rule = || {
            self.guardrails
                .refusal(p, self.slot, self.store)
                .map(Refused::Rule)
        };
        if self.explain {
            rule().or_else(|| self.capped(p))
        } else {
            self.capped(p).or_else(rule)
        }
    }

    /// The brand or category cap `p` is up against, if any.
    fn capped(&self, p: Product<'a>) -> Option<Refused<'a>> {
        let rules = self.store.rules();
        if let (Some(cap), Some(brand)) = (rules.max_per_brand, p.brand_id()) {
            if counted(&self.per_brand, brand) >= cap {
                return Some(Refused::BrandCap {
                    cap,
                    brand: p.brand(),
                });
            }
        }
        // A category slot lists one category by design: the cap that keeps
        // mixed slots varied does not apply to it (the brand cap does).
        let listing = self.slot.kind == Some(SlotKind::Category);
        if let (Some(cap), Some(leaf), false) = (rules.max_per_category, p.leaf(), listing) {
            if counted(&self.per_leaf, leaf) >= cap {
                return Some(Refused::CategoryCap {
                    cap,
                    category: self.store.category_name(leaf),
                });
            }
        }
        None
    }

    /// Adds `s` unless a rule or cap refuses it, which gives it back.
    fn offer(&mut self, s: Scored) -> Result<(), Scored> {
        let id = || {
            self.store
                .product_at(s.ord)
                .map(|p| p.id().to_owned())
                .unwrap_or_default()
        };
        if let Some(rule) = self.refusal(s.ord) {
            if self.explain && !self.removed.iter().any(|r| r.id == id()) {
                let rule = rule.to_string();
                self.removed.push(Removed { id: id(), rule });
            }
            return Err(s);
        }
        if self.explain {
            // Refused by a cap once, admitted later (a protected new arrival).
            let id = id();
            self.removed.retain(|r| r.id != id);
        }
        self.count(s.ord, 1);
        self.items.push(s);
        Ok(())
    }

    /// Whether `a` and `b` count against the same brand or category cap.
    fn share_a_cap(&self, a: u32, b: u32) -> bool {
        let (Some(a), Some(b)) = (self.store.product_at(a), self.store.product_at(b)) else {
            return false;
        };
        (a.brand_id().is_some() && a.brand_id() == b.brand_id())
            || (a.leaf().is_some() && a.leaf() == b.leaf())
    }

    fn count(&mut self, ord: u32, delta: i32) {
        let Some(p) = self.store.product_at(ord) else {
            return;
        };
        if let Some(brand) = p.brand_id() {
            add_count(&mut self.per_brand, brand, delta);
        }
        if let Some(leaf) = p.leaf() {
            add_count(&mut self.per_leaf, leaf, delta);
        }
    }

    /// Whether `ord` is a new arrival at `now` ([`is_new_arrival`]).
    fn is_new(&self, ord: u32, now: i64) -> bool {
        is_new_arrival(self.store, ord, now)
    }

    /// How many of the items chosen are new arrivals at `now`.
    fn new_arrivals(&self, now: i64) -> usize {
        self.items
            .iter()
            .filter(|s| self.is_new(s.ord, now))
            .count()
    }

    /// Whether the items hold fewer new arrivals than a slot of `k`
    /// protects.
    fn owes_new_arrivals(&self, k: usize, now: i64) -> bool {
        self.new_arrivals(now) < new_arrivals_wanted(self.store, k)
    }

    /// Makes sure `new_arrival_share` of the slot holds new arrivals, when
    /// there are any that pass the rules, by replacing the lowest-ranked others.
    /// `rest` are the candidates not admitted, best first; only its new
    /// arrivals are looked at, and only as many as it takes.
    fn protect_new_arrivals(&mut self, k: usize, rest: impl Iterator<Item = Scored>, now: i64) {
        let wanted = new_arrivals_wanted(self.store, k);
        let mut have = self.new_arrivals(now);
        if have >= wanted {
            return;
        }
        let mut rest = rest;
        while have < wanted {
            let Some(candidate) = rest.find(|s| self.is_new(s.ord, now)) else {
                break;
            };
            let mut dropped = None;
            let capped = self.refusal(candidate.ord).is_some();
            if self.items.len() == k || capped {
                // Make room with the lowest-ranked older item, preferring
                // one that holds the cap the new arrival is up against.
                let old = |s: &Scored| !self.is_new(s.ord, now);
                let in_the_way = self
                    .items
                    .iter()
                    .rposition(|s| old(s) && capped && self.share_a_cap(s.ord, candidate.ord));
                let at = in_the_way.or_else(|| {
                    (self.items.len() == k)
                        .then(|| self.items.iter().rposition(old))
                        .flatten()
                });
                if let Some(at) = at {
                    let item = self.items.remove(at);
                    self.count(item.ord, -1);
                    dropped = Some((at, item));
                } else if self.items.len() == k {
                    break;
                }
            }
            if self.offer(candidate).is_ok() {
                have += 1;
            } else if let Some((at, item)) = dropped {
                // The new arrival was refused: the slot keeps what it had.
                self.count(item.ord, 1);
                self.items.insert(at, item);
            }
        }
    }

    /// Puts active pins for this slot at their positions; a pinned product
    /// that breaks a rule is not shown (pins never override guardrails), nor
    /// one the slot is about (`off_page`: the page's product, the cart's).
    /// A pinned product the slot did not propose is scored with `weights`.
    fn apply_pins(
        &mut self,
        k: usize,
        kind: SlotKind,
        visitor: &Visitor,
        weights: &[(Signal, f32); SIGNALS],
        boosts: &[(u32, f32)],
        off_page: impl Fn(u32) -> bool,
    ) {
        let pins: Vec<_> = self
            .store
            .rules()
            .pins
            .iter()
            .filter(|p| p.slot == kind && (p.from..p.until).contains(&visitor.now))
            .filter(|p| !off_page(p.product))
            .copied()
            .collect();
        // Compiled in position order.
        for pin in pins {
            let Some(product) = self.store.product_at(pin.product) else {
                continue;
            };
            let existing = self.items.iter().position(|s| s.ord == pin.product);
            let mut entry = match existing {
                Some(i) => {
                    let entry = self.items.remove(i);
                    self.count(entry.ord, -1);
                    entry
                }
                None => scored(
                    self.store,
                    pin.product,
                    Candidate::default(),
                    visitor,
                    weights,
                    boosts,
                ),
            };
            // Pins obey the guardrails and the caps like everything else.
            if let Some(rule) = self.refusal(pin.product) {
                if self.explain {
                    self.removed.push(Removed {
                        id: product.id().to_owned(),
                        rule: format!("pin refused: {rule}"),
                    });
                }
                if let Some(i) = existing {
                    // It was allowed where it was; put it back.
                    self.count(entry.ord, 1);
                    self.items.insert(i, entry);
                }
                continue;
            }
            entry.c.source = "pin";
            let at = (pin.position as usize)
                .saturating_sub(1)
                .min(self.items.len());
            self.count(entry.ord, 1);
            self.items.insert(at, entry);
        }
        self.items.truncate(k);
    }
}
