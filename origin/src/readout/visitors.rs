//! The pulled events folded per visitor: which arm of each module they
//! were in and when they were first shown it, who they are by segment,
//! and what they did (carts and orders), before and after.
//!
//! Only events with a `visitor` count: the edge sets it, from the
//! shopper's first-party id, on what it rendered and on what the
//! storefront reported for a shopper who consented to analytics. Arms
//! come from exposures, never from what a shopper claims.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use firstpaint_contracts::{Event, EventKind, Product};
use firstpaint_engine::experiments::Arm;

/// Where a visitor entered a module's experiment: their first exposure
/// to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    /// The arm the edge put them in.
    pub arm: Arm,
    /// When, unix seconds.
    pub at: i64,
    /// The bundle version that ranked it.
    pub bundle: u64,
}

/// Something a visitor did that the metrics count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// A product went into the cart.
    AddToCart {
        /// When, unix seconds.
        at: i64,
    },
    /// An order was placed.
    Order {
        /// When, unix seconds.
        at: i64,
        /// Its value: price less discount, times units, over its lines.
        revenue: f64,
    },
}

impl Outcome {
    /// When it happened.
    pub fn at(&self) -> i64 {
        match self {
            Outcome::AddToCart { at } | Outcome::Order { at, .. } => *at,
        }
    }
}

/// The segments a visitor is counted in, from their first exposure.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Segment {
    /// `mobile`, `tablet` or `desktop`.
    pub device: String,
    /// The ISO 3166 region.
    pub region: String,
    /// `new` or `returning`.
    pub visit: &'static str,
    /// The top-level category of the first page they viewed (a category
    /// page's, or a product page's product's), if that page came by
    /// their entry (a minute's slack for the page's own view), or `none`:
    /// a page chosen after treatment began would be a segment treatment
    /// could move.
    pub entry: String,
}

/// One visitor of the experiments.
#[derive(Debug, Clone)]
pub struct Visitor {
    /// Their first exposure of each module.
    pub modules: BTreeMap<String, Entry>,
    /// Their first exposure of any module, with the global arm.
    pub first: Entry,
    /// Modules whose exposures disagreed on the arm (the salt changed
    /// within the window, or the shopper's id did): left out of that
    /// module's comparison, and counted.
    pub conflicted: BTreeSet<String>,
    /// Their segments.
    pub segment: Segment,
    /// What they did, in time order, within the window and before it
    /// (the pre-period).
    pub outcomes: Vec<Outcome>,
}

/// The visitors of the experiments, and what the fold left out.
#[derive(Debug, Default)]
pub struct Visitors {
    /// By pseudonymized visitor id.
    pub by_id: BTreeMap<String, Visitor>,
    /// Events without a visitor (no analytics consent or no profile):
    /// they cannot be joined to an arm.
    pub anonymous_events: u64,
    /// Exposures with an arm that is neither `treatment` nor `holdout`.
    pub unknown_arms: u64,
    /// Events of visitors never exposed in the window.
    pub unexposed_events: u64,
    /// Visitors first exposed before the window: left out (counting them
    /// from a later exposure would put treated outcomes in their
    /// pre-period, and who comes back depends on the arm).
    pub entered_before: u64,
    /// Order events that repeated an order id (a later state of the same
    /// order), and orders cancelled: not counted again, or at all.
    pub orders_merged: u64,
    /// Order events whose id another visitor's order already had (two
    /// storefronts numbering alike): left out.
    pub order_collisions: u64,
    /// The first and last exposure in the window, unix seconds.
    pub span: Option<(i64, i64)>,
}

/// The time window of a readout, unix seconds: exposures from `from` to
/// `to` enter the experiments; outcomes count up to `to` (before a
/// visitor's first exposure, they are the pre-period).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Exposures before this are left out.
    pub from: i64,
    /// Exposures and outcomes after this are left out.
    pub to: i64,
}

impl Visitors {
    /// Folds `events` (any order) within `window`; `catalog` (id to
    /// product) names a product page's category.
    pub fn fold(events: &[Event], window: Window, catalog: &HashMap<&str, &Product>) -> Visitors {
        let mut out = Visitors::default();
        let mut sorted: Vec<&Event> = events.iter().collect();
        sorted.sort_by_key(|e| e.ts);
        // Each visitor's first page view: when, and its top category.
        let mut entries: HashMap<&str, (i64, Option<String>)> = HashMap::new();
        let mut outcomes: HashMap<&str, Vec<Outcome>> = HashMap::new();
        let mut before: HashSet<&str> = HashSet::new();
        let mut orders: HashMap<&str, Order<'_>> = HashMap::new();
        for event in sorted {
            let at = event.ts.unix_timestamp();
            if at > window.to {
                continue;
            }
            // An order's later states may come from a server, without the
            // shopper's cookie: they join the order by its id.
            if let EventKind::Order {
                order,
                items,
                fulfilment,
                ..
            } = &event.kind
            {
                let state = Order {
                    visitor: event.visitor.as_deref(),
                    at,
                    revenue: items
                        .iter()
                        .map(|l| (l.price - l.discount).max(0.0) * f64::from(l.qty))
                        .sum(),
                    cancelled: fulfilment.as_deref() == Some("cancelled"),
                };
                match orders.get_mut(order.as_str()) {
                    Some(known)
                        if known.visitor.is_some()
                            && state.visitor.is_some()
                            && known.visitor != state.visitor =>
                    {
                        // One id, two shoppers (storefronts numbering alike):
                        // not merged.
                        out.order_collisions += 1;
                    }
                    Some(known) => {
                        out.orders_merged += 1;
                        known.visitor = known.visitor.or(state.visitor);
                        (known.revenue, known.cancelled) = (state.revenue, state.cancelled);
                    }
                    None => {
                        orders.insert(order, state);
                    }
                }
                continue;
            }
            let Some(visitor) = event.visitor.as_deref() else {
                out.anonymous_events += 1;
                continue;
            };
            match &event.kind {
                EventKind::Exposure { .. } if at < window.from => {
                    before.insert(visitor);
                }
                EventKind::Exposure {
                    module,
                    arm,
                    global_holdout,
                    bundle,
                    device,
                    new_visitor,
                    ..
                } if at >= window.from => {
                    let Some(arm) = parse_arm(arm) else {
                        out.unknown_arms += 1;
                        continue;
                    };
                    let global = if *global_holdout {
                        Arm::Holdout
                    } else {
                        Arm::Treatment
                    };
                    let entry = |arm| Entry {
                        arm,
                        at,
                        bundle: *bundle,
                    };
                    let v = out
                        .by_id
                        .entry(visitor.to_owned())
                        .or_insert_with(|| Visitor {
                            modules: BTreeMap::new(),
                            first: entry(global),
                            conflicted: BTreeSet::new(),
                            segment: Segment {
                                device: device.clone(),
                                region: event.region.clone(),
                                visit: if *new_visitor { "new" } else { "returning" },
                                entry: String::new(),
                            },
                            outcomes: Vec::new(),
                        });
                    if v.first.arm != global {
                        v.conflicted.insert(GLOBAL.to_owned());
                    }
                    match v.modules.get(module) {
                        Some(first) if first.arm != arm => {
                            v.conflicted.insert(module.clone());
                        }
                        Some(_) => {}
                        None => {
                            v.modules.insert(module.clone(), entry(arm));
                        }
                    }
                    out.span = Some(out.span.map_or((at, at), |(a, _)| (a, at)));
                }
                EventKind::PageView {
                    product, category, ..
                } if !entries.contains_key(visitor) => {
                    let top = category
                        .as_deref()
                        .or_else(|| {
                            product
                                .as_deref()
                                .and_then(|p| catalog.get(p))
                                .and_then(|p| p.category.first())
                                .map(String::as_str)
                        })
                        .map(top_level);
                    entries.insert(visitor, (at, top));
                }
                EventKind::AddToCart { .. } => {
                    outcomes
                        .entry(visitor)
                        .or_default()
                        .push(Outcome::AddToCart { at });
                }
                _ => {}
            }
        }
        for order in orders.into_values() {
            match order.visitor {
                None => out.anonymous_events += 1,
                Some(_) if order.cancelled => out.orders_merged += 1,
                Some(visitor) => outcomes.entry(visitor).or_default().push(Outcome::Order {
                    at: order.at,
                    revenue: order.revenue,
                }),
            }
        }
        for id in before {
            if out.by_id.remove(id).is_some() {
                out.entered_before += 1;
            }
        }
        for (id, mut mine) in outcomes {
            mine.sort_by_key(Outcome::at);
            match out.by_id.get_mut(id) {
                Some(v) => v.outcomes = mine,
                None => out.unexposed_events += mine.len() as u64,
            }
        }
        for (id, v) in &mut out.by_id {
            v.segment.entry = match entries.get(id.as_str()) {
                Some((at, Some(top))) if *at <= v.first.at + ENTRY_SLACK_SECS => top.clone(),
                _ => "none".to_owned(),
            };
        }
        out
    }
}

/// An order as its events say it: who placed it (the first event with a
/// visitor), when (its first event), and its latest value and state.
#[derive(Debug, Clone, Copy)]
struct Order<'a> {
    visitor: Option<&'a str>,
    at: i64,
    revenue: f64,
    cancelled: bool,
}

/// A page view this long after a visitor's first exposure still names
/// their entry category (the storefront reports the page it rendered a
/// moment after the edge logged it).
const ENTRY_SLACK_SECS: i64 = 60;

/// The name [`Visitor::conflicted`] gives the global holdout.
pub const GLOBAL: &str = "global";

fn parse_arm(arm: &str) -> Option<Arm> {
    match arm {
        "treatment" => Some(Arm::Treatment),
        "holdout" => Some(Arm::Holdout),
        _ => None,
    }
}

/// `Home` of `Home/Kitchen/Knives` (or of `Home > Kitchen`).
fn top_level(path: &str) -> String {
    path.split(['/', '>'])
        .next()
        .unwrap_or(path)
        .trim()
        .to_owned()
}
