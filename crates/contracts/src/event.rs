//! A behaviour event, as one line of `events.ndjson`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::consent::Consent;
use crate::ids::{id_problem, is_valid_id};
use crate::read::{check_money, Problems, Validate};

/// One thing a shopper did, with the consent and region it was recorded under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The event's own id: the storefront may give one (a retry then
    /// sends the same id), the edge gives one to each event without.
    /// Delivery is at least once; the origin drops repeats by id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The shopper's first-party id, pseudonymized: set by the edge from
    /// the profile cookie (never taken from a body), on exposures and on
    /// the events the storefront reports, so the readout can join what a
    /// shopper in the experiments was shown to what they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor: Option<String>,
    /// Pseudonymous session id.
    pub session: String,
    /// Pseudonymous user id, when known.
    #[serde(default)]
    pub user: Option<String>,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub ts: OffsetDateTime,
    /// Consent in force when it was recorded.
    pub consent: Consent,
    /// ISO 3166 region of the shopper (`GB`, `DE`, `US-CA`).
    pub region: String,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// The kinds of event, tagged by `"type"` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A page was viewed: a product page, a category page, or another page.
    PageView {
        /// Product on the page, for product pages.
        #[serde(default)]
        product: Option<String>,
        /// Category on the page, for category pages.
        #[serde(default)]
        category: Option<String>,
        /// Inbound channel for landing pages (`search`, `social`, `email`).
        #[serde(default)]
        channel: Option<String>,
    },
    /// A product was shown in a slot at a position.
    Impression {
        /// Slot type that showed it.
        slot: String,
        /// Product shown.
        product: String,
        /// 0-based position in the slot.
        position: u32,
    },
    /// A search was run.
    Search {
        /// The query as typed.
        query: String,
        /// Filters applied (`category`, `price_max`).
        #[serde(default)]
        filters: BTreeMap<String, String>,
        /// How many results came back.
        #[serde(default)]
        results: u32,
    },
    /// A product went into the cart.
    AddToCart {
        /// Product added.
        product: String,
        /// Units.
        qty: u32,
        /// Unit price paid.
        price: f64,
        /// Discount per unit, in money.
        #[serde(default)]
        discount: f64,
    },
    /// A product left the cart.
    RemoveFromCart {
        /// Product removed.
        product: String,
        /// Units.
        qty: u32,
    },
    /// A checkout step was reached, possibly with an error.
    CheckoutStep {
        /// Step name (`address`, `payment`).
        step: String,
        /// Error shown at that step, if any.
        #[serde(default)]
        error: Option<String>,
    },
    /// An order was placed.
    Order {
        /// Order id.
        order: String,
        /// What was bought.
        items: Vec<OrderLine>,
        /// Fulfilment outcome (`delivered`, `cancelled`), once known.
        #[serde(default)]
        fulfilment: Option<String>,
        /// Whether anything was returned.
        #[serde(default)]
        returned: bool,
    },
    /// What the edge rendered in one slot for a shopper in an experiment
    /// (written by the edge, never taken from a browser: the readout
    /// counts what was shown, not what a page claims).
    Exposure {
        /// The experiment's module: a slot type, or `search`.
        module: String,
        /// `treatment` or `holdout`.
        arm: String,
        /// The shopper is in the global holdout (every module holds out).
        #[serde(default)]
        global_holdout: bool,
        /// Version of the bundle that ranked it.
        bundle: u64,
        /// Products shown, in position order; none when the slot fell back
        /// to the storefront's own content (it is logged all the same, so
        /// who counts as exposed does not depend on the arm).
        items: Vec<String>,
        /// The page: `product`, `category`, `search`, `home` or `other`;
        /// `api` for what the JSON endpoints returned.
        page: String,
        /// `mobile`, `tablet` or `desktop`, from the user agent.
        device: String,
        /// The shopper's first visit.
        new_visitor: bool,
    },
}

/// The most products one exposure names.
pub const MAX_EXPOSURE_ITEMS: usize = 100;

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderLine {
    /// Product bought.
    pub product: String,
    /// Units.
    pub qty: u32,
    /// Unit price paid.
    pub price: f64,
    /// Discount per unit, in money.
    #[serde(default)]
    pub discount: f64,
}

impl EventKind {
    /// Every product id the event mentions, for reference checks.
    pub fn products(&self) -> Vec<&str> {
        match self {
            EventKind::PageView { product, .. } => product.iter().map(String::as_str).collect(),
            EventKind::Impression { product, .. }
            | EventKind::AddToCart { product, .. }
            | EventKind::RemoveFromCart { product, .. } => vec![product.as_str()],
            EventKind::Order { items, .. } => items.iter().map(|l| l.product.as_str()).collect(),
            EventKind::Exposure { items, .. } => items.iter().map(String::as_str).collect(),
            EventKind::Search { .. } | EventKind::CheckoutStep { .. } => Vec::new(),
        }
    }
}

impl Validate for Event {
    fn validate(&self, p: &mut Problems) {
        if let Some(id) = self.id.as_deref().filter(|id| !is_valid_id(id)) {
            p.push("id", id_problem(id));
        }
        if !is_valid_id(&self.session) {
            p.push("session", id_problem(&self.session));
        }
        if self.region.len() < 2
            || !self
                .region
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b == b'-')
        {
            p.push(
                "region",
                format!("must be an ISO 3166 code like GB (got {:?})", self.region),
            );
        }
        match &self.kind {
            EventKind::AddToCart {
                qty,
                price,
                discount,
                ..
            } => {
                check_qty(p, *qty);
                check_money(p, "price", *price);
                check_money(p, "discount", *discount);
            }
            EventKind::RemoveFromCart { qty, .. } => check_qty(p, *qty),
            EventKind::Order { items, .. } => {
                if items.is_empty() {
                    p.push("items", "an order needs at least one line");
                }
                for (i, line) in items.iter().enumerate() {
                    if line.qty == 0 {
                        p.push(format!("items[{i}].qty"), "must be at least 1");
                    }
                    check_money(p, &format!("items[{i}].price"), line.price);
                }
            }
            EventKind::Search { query, .. } if query.trim().is_empty() => {
                p.push("query", "must not be empty");
            }
            EventKind::Exposure { arm, items, .. } => {
                if arm != "treatment" && arm != "holdout" {
                    p.push("arm", format!("must be treatment or holdout (got {arm:?})"));
                }
                if items.len() > MAX_EXPOSURE_ITEMS {
                    p.push(
                        "items",
                        format!("{} products, at most {MAX_EXPOSURE_ITEMS}", items.len()),
                    );
                }
            }
            _ => {}
        }
        for id in self.kind.products() {
            if !is_valid_id(id) {
                p.push("product", id_problem(id));
            }
        }
    }
}

fn check_qty(p: &mut Problems, qty: u32) {
    if qty == 0 {
        p.push("qty", "must be at least 1");
    }
}
