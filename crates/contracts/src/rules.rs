//! The merchant's guardrail rules, as `rules.toml`.
//!
//! Rules are validated here for shape and ranges; references to the catalog
//! (categories, tags) are checked by the origin build against the real
//! catalog, where a misspelt category would otherwise silently exclude nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::read::{check_money, Problems, Validate};
use crate::urls::site_path_problem;

/// Everything a merchandiser controls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Hard constraints applied after every model score.
    #[serde(default)]
    pub guardrails: Guardrails,
    /// Weights of the score parts.
    #[serde(default)]
    pub blend: Blend,
    /// Consent defaults by region.
    #[serde(default)]
    pub consent: ConsentRules,
    /// Shipping terms the cart slots work towards.
    #[serde(default)]
    pub shipping: Shipping,
    /// Boosts (weight > 0) and buries (weight < 0), optionally timed.
    #[serde(default)]
    pub boosts: Vec<Boost>,
    /// Products pinned to a position in a slot, optionally timed.
    #[serde(default)]
    pub pins: Vec<Pin>,
    /// Message banners for `banner` slots.
    #[serde(default)]
    pub banners: Vec<Banner>,
    /// Search: typo tolerance, blend weights, per-query pins and buries.
    #[serde(default)]
    pub search: SearchRules,
    /// Holdouts: who is shown the rules and priors only, per module.
    #[serde(default)]
    pub experiments: Experiments,
    /// How long collected events are kept.
    #[serde(default)]
    pub events: EventRules,
}

/// How long the events the edge collects are kept: the edge never
/// returns an older one from `/p13n/events`, and `firstpaint events
/// prune --rules` deletes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventRules {
    /// Days an event is kept (1 to 3,650; default 395, thirteen months:
    /// a year-on-year comparison and no longer).
    pub retention_days: u32,
}

impl Default for EventRules {
    fn default() -> Self {
        Self {
            retention_days: 395,
        }
    }
}

/// The holdout experiments that measure what personalization earns.
///
/// Each consenting shopper's first-party id is assigned, per module (each
/// slot type, and `search`), to `treatment` or `holdout` by a hash of the
/// salt, the module and the id (so modules are drawn independently), and
/// to a global holdout, where every module holds out. A holdout is shown what the
/// merchant would show without personalization: the rules and priors
/// only. Assignment does not depend on the bundle, so it is stable across
/// releases; `firstpaint assign ID` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Experiments {
    /// Share of shoppers in each module's holdout (0 to 0.5), unless
    /// `holdouts` names the module.
    pub holdout: f64,
    /// Share of shoppers in the global holdout (0 to 0.5).
    pub global_holdout: f64,
    /// Shares for single modules (`similar = 0.2`, `search = 0.05`).
    pub holdouts: BTreeMap<String, f64>,
    /// Mixed into every assignment: a new salt draws every arm anew (end
    /// an experiment, start the next).
    pub salt: String,
}

impl Default for Experiments {
    fn default() -> Self {
        Self {
            holdout: 0.1,
            global_holdout: 0.1,
            holdouts: BTreeMap::new(),
            salt: String::new(),
        }
    }
}

/// How search understands queries and ranks results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchRules {
    /// Words of at least this many characters may match with one typo.
    pub typo_one_from: u8,
    /// Words of at least this many characters may match with two typos.
    pub typo_two_from: u8,
    /// Weight of lexical relevance (BM25 over title, brand, category,
    /// attributes, description), normalised to the best match.
    pub lexical: f32,
    /// Weight of the shopper's session: similarity to recent views and
    /// their categories.
    pub session: f32,
    /// Weight of being in stock.
    pub stock: f32,
    /// Weight of fast delivery (`shipping.fast_ship_days`).
    pub fast_ship: f32,
    /// Weight of the (review-count shrunk) rating.
    pub rating: f32,
    /// Weight of popularity.
    pub popularity: f32,
    /// Weight of matching a query word that names an attribute value or a
    /// brand in that attribute ("red dress" prefers colour = red).
    pub attribute: f32,
    /// Weight of what the store's shoppers went on to view, cart or order
    /// after searching the same query (learned from the events).
    pub learned: f32,
    /// Products put at a position for a query.
    pub pins: Vec<SearchPin>,
    /// Products sent to the end of a query's results.
    pub buries: Vec<SearchBury>,
}

impl Default for SearchRules {
    fn default() -> Self {
        Self {
            typo_one_from: 5,
            typo_two_from: 9,
            lexical: 1.0,
            session: 0.3,
            stock: 0.1,
            fast_ship: 0.05,
            rating: 0.1,
            popularity: 0.1,
            attribute: 0.15,
            learned: 0.3,
            pins: Vec::new(),
            buries: Vec::new(),
        }
    }
}

impl SearchRules {
    /// The blend weights by name, in the order results report them.
    pub fn weights(&self) -> [(&'static str, f32); 8] {
        [
            ("lexical", self.lexical),
            ("attribute", self.attribute),
            ("session", self.session),
            ("stock", self.stock),
            ("fast_ship", self.fast_ship),
            ("rating", self.rating),
            ("popularity", self.popularity),
            ("learned", self.learned),
        ]
    }
}

/// Put a product at a position of one query's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchPin {
    /// The query, compared after normalization ("Phone Cases" = "phone case").
    pub query: String,
    /// The product id.
    pub product: String,
    /// 1-based position.
    pub position: u32,
}

/// Send a product to the end of one query's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchBury {
    /// The query, compared after normalization.
    pub query: String,
    /// The product id.
    pub product: String,
}

/// A message for `banner` slots: the active banner with the highest
/// priority whose condition holds and whose frequency cap is not reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Banner {
    /// Id, counted by frequency caps.
    pub id: String,
    /// The message, at most 200 characters.
    pub text: String,
    /// A site path it links to.
    #[serde(default)]
    pub link: Option<String>,
    /// When it shows.
    #[serde(default)]
    pub show: BannerCondition,
    /// Higher wins among banners that may show.
    #[serde(default)]
    pub priority: i32,
    /// At most this many pages per visit show it (needs personalization
    /// consent to count; without it a capped banner does not show).
    #[serde(default)]
    pub max_per_visit: Option<u32>,
    /// For `before_cutoff`: UTC hour (0-23) of the dispatch cut-off.
    #[serde(default)]
    pub cutoff_hour: Option<u8>,
    /// For `low_stock`: product pages with fewer units than this (default 10).
    #[serde(default)]
    pub low_stock_below: Option<u32>,
    /// Applies from (RFC 3339); always when absent.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub from: Option<time::OffsetDateTime>,
    /// Applies until (RFC 3339, exclusive); forever when absent.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub until: Option<time::OffsetDateTime>,
}

/// When a banner shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BannerCondition {
    /// On every page.
    #[default]
    Always,
    /// On product pages whose product is running low.
    LowStock,
    /// Before the day's dispatch cut-off hour (UTC).
    BeforeCutoff,
}

impl Banner {
    /// When it applies.
    pub fn window(&self) -> Window {
        Window {
            from: self.from,
            until: self.until,
        }
    }
}

/// Shipping terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Shipping {
    /// Order value from which shipping is free; the `ladder` slot closes the gap.
    pub free_threshold: Option<f64>,
    /// Products in stock and delivered in at most this many days are
    /// fast-ship: the `fast_ship` parts of the slot and search blends.
    pub fast_ship_days: u16,
}

impl Default for Shipping {
    fn default() -> Self {
        Self {
            free_threshold: None,
            fast_ship_days: 2,
        }
    }
}

/// A time window; open ends are unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Start.
    pub from: Option<time::OffsetDateTime>,
    /// End, exclusive.
    pub until: Option<time::OffsetDateTime>,
}

/// Raise (or, with a negative weight, lower) a product's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Boost {
    /// The product id.
    pub product: String,
    /// Added to the score (scores are roughly 0 to 1): 0.2 lifts, -1 buries.
    pub weight: f32,
    /// Only in this slot type; every slot when absent.
    #[serde(default)]
    pub slot: Option<String>,
    /// Applies from (RFC 3339); always when absent.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub from: Option<time::OffsetDateTime>,
    /// Applies until (RFC 3339, exclusive); forever when absent.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub until: Option<time::OffsetDateTime>,
}

/// Put a product at a position of a slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    /// The product id.
    pub product: String,
    /// The slot type.
    pub slot: String,
    /// 1-based position.
    pub position: u32,
    /// Applies from (RFC 3339); always when absent.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub from: Option<time::OffsetDateTime>,
    /// Applies until (RFC 3339, exclusive); forever when absent.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub until: Option<time::OffsetDateTime>,
}

impl Boost {
    /// When it applies.
    pub fn window(&self) -> Window {
        Window {
            from: self.from,
            until: self.until,
        }
    }
}

impl Pin {
    /// When it applies.
    pub fn window(&self) -> Window {
        Window {
            from: self.from,
            until: self.until,
        }
    }
}

/// When personalization is on without an explicit choice by the shopper.
///
/// In opt-in regions (the GDPR's, by default) personalization needs the
/// shopper's consent; elsewhere it is on until the shopper opts out. A
/// shopper's explicit choice, in the consent cookie, always wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsentRules {
    /// ISO 3166 country codes where personalization is opt-in.
    pub opt_in_regions: Vec<String>,
    /// Whether a shopper whose region is unknown is treated as opt-in.
    pub unknown_region_opt_in: bool,
}

fn check_window(p: &mut Problems, field: &str, w: &Window) {
    if let (Some(from), Some(until)) = (w.from, w.until) {
        if until <= from {
            p.push(format!("{field}.until"), "must be after from");
        }
    }
}

impl Window {
    /// The window in unix seconds, open ends as `i64::MIN` / `i64::MAX`.
    pub fn unix(&self) -> (i64, i64) {
        (
            self.from.map_or(i64::MIN, |f| f.unix_timestamp()),
            self.until.map_or(i64::MAX, |u| u.unix_timestamp()),
        )
    }
}

/// EU and EEA member states, the UK and Switzerland.
const OPT_IN_BY_DEFAULT: [&str; 32] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "GB", "CH",
];

impl Default for ConsentRules {
    fn default() -> Self {
        Self {
            opt_in_regions: OPT_IN_BY_DEFAULT.iter().map(|s| (*s).to_owned()).collect(),
            unknown_region_opt_in: true,
        }
    }
}

/// Hard constraints: an item that breaks one is never shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Guardrails {
    /// Products with fewer units available (over all locations) are never promoted.
    pub min_inventory: u32,
    /// Products expected to sell out sooner (days of cover: units available
    /// over the last 28 days' daily sales) are never promoted, so slots do
    /// not push what will be gone before it ships; 0 turns it off.
    pub min_cover_days: f32,
    /// Never promote regulated products.
    pub exclude_regulated: bool,
    /// Never promote products with any of these safety flags.
    pub exclude_safety: Vec<String>,
    /// Never promote products in these categories (any level of the path).
    pub exclude_categories: Vec<String>,
    /// Never promote products carrying any of these tags.
    pub exclude_tags: Vec<String>,
    /// Minimum price per category.
    pub price_floors: Vec<PriceFloor>,
    /// Minimum margin ((price - cost) / price) per category; products
    /// without a cost pass.
    pub margin_floors: Vec<MarginFloor>,
    /// At most this many items of one brand in a slot.
    pub max_per_brand: Option<u32>,
    /// At most this many items of one leaf category in a slot.
    pub max_per_category: Option<u32>,
    /// Share of each slot kept for new arrivals (0 to 1), when there are any.
    pub new_arrival_share: f32,
    /// A product is a new arrival this many days after it is listed.
    pub new_arrival_days: u32,
    /// Exclusions for shoppers in one region (`region = "US"`).
    pub regions: Vec<RegionExclusion>,
}

/// What is never promoted to shoppers in `region`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionExclusion {
    /// ISO 3166 country code.
    pub region: String,
    /// Categories (any level) excluded there.
    #[serde(default)]
    pub exclude_categories: Vec<String>,
    /// Tags excluded there.
    #[serde(default)]
    pub exclude_tags: Vec<String>,
    /// Regulated products excluded there.
    #[serde(default)]
    pub exclude_regulated: bool,
}

/// No product of `category` with a lower margin is promoted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarginFloor {
    /// Category name (any level of the path).
    pub category: String,
    /// Lowest margin, 0 to 1.
    pub min_margin: f32,
}

impl Default for Guardrails {
    fn default() -> Self {
        Self {
            min_inventory: 1,
            min_cover_days: 0.0,
            exclude_regulated: true,
            exclude_safety: Vec::new(),
            exclude_categories: Vec::new(),
            exclude_tags: Vec::new(),
            price_floors: Vec::new(),
            margin_floors: Vec::new(),
            max_per_brand: None,
            max_per_category: None,
            new_arrival_share: 0.0,
            new_arrival_days: 30,
            regions: Vec::new(),
        }
    }
}

/// No product of `category` below `min_price` is promoted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceFloor {
    /// Category name (any level of the path).
    pub category: String,
    /// Lowest price that may be shown.
    pub min_price: f64,
}

/// Weights of the score parts; every ranked item shows them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Blend {
    /// Embedding similarity to the viewed product or the session.
    pub similarity: f32,
    /// Popularity within the candidate's category.
    pub popularity: f32,
    /// Share of the session's views in the candidate's category.
    pub category_affinity: f32,
    /// Viewed (or bought) together with the anchor or session products.
    pub co_view: f32,
    /// Margin, (price - cost) / price.
    pub margin: f32,
    /// Stock depth (log-scaled units available).
    pub stock: f32,
    /// Rating, shrunk towards the store mean when there are few reviews.
    pub rating: f32,
    /// How recently the product was listed.
    pub freshness: f32,
    /// How often shoppers opened the candidate right after the session's
    /// latest five products (sequential transitions in the bundle's recent
    /// sessions, recency-weighted).
    pub sequence: f32,
    /// Recent interest against its own baseline (last 7 days' daily rate
    /// over the 28 days before).
    pub trending: f32,
    /// How much cheaper than its category the candidate is, where the
    /// category's shoppers respond to price (estimated from conversion
    /// against price and discounts in the events).
    pub deal: f32,
    /// In stock and delivered within `shipping.fast_ship_days`.
    pub fast_ship: f32,
    /// How close the candidate's price, relative to its category's median,
    /// is to what the shopper usually looks at (their price band, kept in
    /// the profile), times how sure the band is.
    pub price_fit: f32,
    /// What shoppers whose recent sessions were like this one opened (the
    /// session neighbourhood, scaled so the strongest candidate is 1).
    pub neighbours: f32,
    /// The shopper ordered the candidate before (a product their profile
    /// remembers), times how often the shoppers of its category order the
    /// same product again (0 where they do not): their staples, where the
    /// store's baskets repeat.
    pub rebuy: f32,
    /// `next` only: the shopper viewed the candidate earlier in this visit,
    /// scored by how often the store's next clicks go back to the product
    /// that many views back (the likeliest, usually the latest, is 1;
    /// learned from the events at the origin). 0 by default: a product
    /// page leaves out the product shown, and shoppers' recent products
    /// have their own row; where next clicks return to what was just seen,
    /// as on YOOCHOOSE's clicks, it ranks them as often as they are.
    pub returns: f32,
}

impl Blend {
    /// Every weight with its signal name, in the order reasons list them.
    pub fn weights(&self) -> [(&'static str, f32); 16] {
        [
            ("similarity", self.similarity),
            ("popularity", self.popularity),
            ("category_affinity", self.category_affinity),
            ("co_view", self.co_view),
            ("margin", self.margin),
            ("stock", self.stock),
            ("rating", self.rating),
            ("freshness", self.freshness),
            ("sequence", self.sequence),
            ("trending", self.trending),
            ("deal", self.deal),
            ("fast_ship", self.fast_ship),
            ("price_fit", self.price_fit),
            ("neighbours", self.neighbours),
            ("rebuy", self.rebuy),
            ("returns", self.returns),
        ]
    }
}

impl Default for Blend {
    fn default() -> Self {
        Self {
            similarity: 0.5,
            popularity: 0.2,
            category_affinity: 0.15,
            co_view: 0.15,
            margin: 0.0,
            stock: 0.0,
            rating: 0.05,
            freshness: 0.05,
            sequence: 0.5,
            trending: 0.1,
            deal: 0.05,
            fast_ship: 0.05,
            // A tie-breaker: on the Online Retail baskets 0.02 is neutral
            // for cart add-ons and more costs the warm MRR (BENCHMARKS.md).
            price_fit: 0.02,
            // Three times `sequence`, as on YOOCHOOSE's clicks, where the
            // neighbourhood decides most next clicks (BENCHMARKS.md).
            neighbours: 1.5,
            // On the Online Retail baskets (BENCHMARKS.md, session 16).
            rebuy: 0.5,
            returns: 0.0,
        }
    }
}

impl Validate for Rules {
    fn validate(&self, p: &mut Problems) {
        let cover = self.guardrails.min_cover_days;
        if !(0.0..=365.0).contains(&cover) {
            p.push(
                "guardrails.min_cover_days",
                format!("{cover} is not a number of days from 0 to 365"),
            );
        }
        for (i, floor) in self.guardrails.price_floors.iter().enumerate() {
            check_money(
                p,
                &format!("guardrails.price_floors[{i}].min_price"),
                floor.min_price,
            );
        }
        for (i, floor) in self.guardrails.margin_floors.iter().enumerate() {
            if !(0.0..=1.0).contains(&floor.min_margin) {
                p.push(
                    format!("guardrails.margin_floors[{i}].min_margin"),
                    format!("must be within 0..=1 (got {})", floor.min_margin),
                );
            }
        }
        let share = self.guardrails.new_arrival_share;
        if !(0.0..=1.0).contains(&share) {
            p.push(
                "guardrails.new_arrival_share",
                format!("must be within 0..=1 (got {share})"),
            );
        }
        for (name, cap) in [
            ("max_per_brand", self.guardrails.max_per_brand),
            ("max_per_category", self.guardrails.max_per_category),
        ] {
            if cap == Some(0) {
                p.push(
                    format!("guardrails.{name}"),
                    "must be at least 1 (leave it out for no cap)",
                );
            }
        }
        let weights = self.blend.weights();
        for (name, w) in weights {
            if !w.is_finite() || w < 0.0 {
                p.push(
                    format!("blend.{name}"),
                    format!("must be a finite weight >= 0 (got {w})"),
                );
            }
        }
        let days = self.events.retention_days;
        if !(1..=3_650).contains(&days) {
            p.push(
                "events.retention_days",
                format!("must be a number of days within 1..=3650 (got {days})"),
            );
        }
        let shares = [
            ("experiments.holdout".to_owned(), self.experiments.holdout),
            (
                "experiments.global_holdout".to_owned(),
                self.experiments.global_holdout,
            ),
        ];
        let modules = self
            .experiments
            .holdouts
            .iter()
            .map(|(m, s)| (format!("experiments.holdouts.{m}"), *s));
        for (field, share) in shares.into_iter().chain(modules) {
            if !(0.0..=0.5).contains(&share) {
                p.push(
                    field,
                    format!("must be a share within 0..=0.5 (got {share})"),
                );
            }
        }
        if weights.iter().map(|(_, w)| w).sum::<f32>() <= 0.0 {
            p.push("blend", "at least one weight must be above 0");
        }
        if let Some(t) = self.shipping.free_threshold {
            check_money(p, "shipping.free_threshold", t);
        }
        for (i, b) in self.boosts.iter().enumerate() {
            if !b.weight.is_finite() {
                p.push(format!("boosts[{i}].weight"), "must be a finite number");
            }
            check_window(p, &format!("boosts[{i}]"), &b.window());
        }
        for (i, r) in self.guardrails.regions.iter().enumerate() {
            if r.region.len() != 2 || !r.region.bytes().all(|b| b.is_ascii_uppercase()) {
                p.push(
                    format!("guardrails.regions[{i}].region"),
                    format!(
                        "must be a two-letter ISO 3166 code like US (got {:?})",
                        r.region
                    ),
                );
            }
        }
        for (i, b) in self.banners.iter().enumerate() {
            let f = |name: &str| format!("banners[{i}].{name}");
            if !crate::ids::is_valid_id(&b.id) {
                p.push(f("id"), crate::ids::id_problem(&b.id));
            }
            if b.text.trim().is_empty() || b.text.chars().count() > 200 {
                p.push(f("text"), "must be 1-200 characters");
            }
            if let Some(problem) = b.link.as_deref().and_then(site_path_problem) {
                p.push(f("link"), problem);
            }
            match (b.show, b.cutoff_hour) {
                (BannerCondition::BeforeCutoff, None) => {
                    p.push(f("cutoff_hour"), "before_cutoff needs a cutoff_hour")
                }
                (_, Some(h)) if h > 23 => {
                    p.push(f("cutoff_hour"), format!("must be 0-23 (got {h})"))
                }
                _ => {}
            }
            if b.max_per_visit == Some(0) {
                p.push(
                    f("max_per_visit"),
                    "must be at least 1 (leave it out for no cap)",
                );
            }
            check_window(p, &format!("banners[{i}]"), &b.window());
        }
        for (i, pin) in self.pins.iter().enumerate() {
            if pin.position == 0 {
                p.push(format!("pins[{i}].position"), "positions start at 1");
            }
            check_window(p, &format!("pins[{i}]"), &pin.window());
        }
        let search = &self.search;
        if search.typo_one_from == 0 {
            p.push(
                "search.typo_one_from",
                "must be at least 1 (a word of 0 characters cannot have a typo)",
            );
        }
        if search.typo_two_from < search.typo_one_from {
            p.push(
                "search.typo_two_from",
                format!(
                    "must be at least typo_one_from ({}) (got {})",
                    search.typo_one_from, search.typo_two_from
                ),
            );
        }
        for (name, w) in search.weights() {
            if !w.is_finite() || w < 0.0 {
                p.push(
                    format!("search.{name}"),
                    format!("must be a finite weight >= 0 (got {w})"),
                );
            }
        }
        for (i, pin) in search.pins.iter().enumerate() {
            if pin.position == 0 {
                p.push(format!("search.pins[{i}].position"), "positions start at 1");
            }
            if pin.query.trim().is_empty() {
                p.push(format!("search.pins[{i}].query"), "must not be empty");
            }
        }
        for (i, bury) in search.buries.iter().enumerate() {
            if bury.query.trim().is_empty() {
                p.push(format!("search.buries[{i}].query"), "must not be empty");
            }
        }
        for (i, r) in self.consent.opt_in_regions.iter().enumerate() {
            if r.len() != 2 || !r.bytes().all(|b| b.is_ascii_uppercase()) {
                p.push(
                    format!("consent.opt_in_regions[{i}]"),
                    format!("must be a two-letter ISO 3166 code like DE (got {r:?})"),
                );
            }
        }
    }
}
