//! What the engine keeps in a bundle: one owned type per section, as the
//! origin builds it.
//!
//! The origin fills these from the merchant's inputs and its trained models;
//! [`EngineSections::write_into`] lays the large ones out for reading in
//! place ([`crate::store`]) and encodes the small ones (rules, the text map,
//! the intent model, search metadata) with the codec. Each has a
//! four-letter tag.

use firstpaint_bundle::Tag;
use firstpaint_contracts::{Blend, ConsentRules, SearchRules};
use serde::{Deserialize, Serialize};

use crate::experiments::ExperimentsSection;
use crate::store::slot_kind::SlotKind;

/// Tag of the schema section: the [`SCHEMA`] the sections were written
/// with, as 4 little-endian bytes.
pub const SCHEMA_TAG: Tag = Tag(*b"SCHM");
/// Version of the engine's section types. Any change to a section struct
/// (a field added to the rules, a new signal) must bump it, so an engine
/// and a bundle that disagree say so instead of failing to decode.
/// Bundles without a schema section are version 1.
pub const SCHEMA: u32 = 20;

/// Tag of [`CatalogSection`].
pub const CATALOG: Tag = Tag(*b"CATL");
/// Tag of the ANN index ([`crate::store::ann`]).
pub const ANN: Tag = Tag(*b"ANNX");
/// Tag of [`PriorsSection`].
pub const PRIORS: Tag = Tag(*b"PRIO");
/// Tag of [`CoViewSection`].
pub const COVIEW: Tag = Tag(*b"COVW");
/// Tag of [`RulesSection`].
pub const RULES: Tag = Tag(*b"RULE");
/// Tag of the bought-together lists (a [`CoViewSection`] built from orders).
pub const BOUGHT: Tag = Tag(*b"BTOG");
/// Tag of the text map ([`TextMapSection`]).
pub const TEXT_MAP: Tag = Tag(*b"TXMP");
/// Tag of the recent sessions ([`SessionsSection`], read in place by
/// [`crate::store::session_index`]).
pub const SESSIONS: Tag = Tag(*b"SNBH");

/// Recent shopping sessions, the session neighbourhood the edge searches:
/// shoppers whose sessions share products with the current one, and what
/// else they opened.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionsSection {
    /// Per session, oldest first (by last touch): its products, each once
    /// at its last touch, in the order of those touches.
    pub products: Vec<Vec<u32>>,
    /// Per session: its last touch, unix hours (the hour is enough for
    /// a decay over days, and says less of a shopper than the minute).
    pub hours: Vec<u32>,
}

/// The products the edge can show, in ordinal order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CatalogSection {
    /// Products; a product's ordinal is its index here.
    pub products: Vec<ProductRecord>,
    /// Category paths (`Top/Leaf`); products refer to them by index.
    pub categories: Vec<String>,
    /// Fulfilment locations; stock refers to them by index.
    pub locations: Vec<String>,
}

impl CatalogSection {
    /// The top-level category of category `c` (itself when it is one).
    pub fn top_of(&self, c: u32) -> Option<u32> {
        let top = self.categories.get(c as usize)?.split('/').next()?;
        let position = self.categories.iter().position(|p| p == top)?;
        u32::try_from(position).ok()
    }
}

/// Stock at one location.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockAt {
    /// Index into [`CatalogSection::locations`].
    pub location: u16,
    /// Units available there.
    pub available: u32,
    /// Days before it ships from there.
    pub lead_days: u16,
}

/// What ranking, guardrails and rendering need of one product.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductRecord {
    /// Merchant id.
    pub id: String,
    /// Display title.
    pub title: String,
    /// Brand, empty when none.
    pub brand: String,
    /// Product page path.
    pub url: String,
    /// First image URL, empty when none.
    pub image: String,
    /// Its alt text (the title when the merchant gave none).
    pub image_alt: String,
    /// Selling price, major units.
    pub price: f64,
    /// Unit cost, 0 when the merchant did not give one.
    pub cost: f64,
    /// Currency code.
    pub currency: String,
    /// Category path as indexes into [`CatalogSection::categories`], top first.
    pub category_path: Vec<u32>,
    /// Units available over all locations (saturating).
    pub available: u32,
    /// Stock per location.
    pub stock: Vec<StockAt>,
    /// Ordinals of the products this one works with, in both directions
    /// (a case lists its phones; the phones list the case).
    pub compatible: Vec<u32>,
    /// Delivery days.
    pub ship_days: u16,
    /// Mean rating, 0 when unrated.
    pub rating: f32,
    /// Number of ratings.
    pub rating_count: u32,
    /// Regulated goods.
    pub regulated: bool,
    /// Safety flags.
    pub safety: Vec<String>,
    /// Merchant tags.
    pub tags: Vec<String>,
    /// Listing time, unix seconds.
    pub created_at: i64,
}

impl ProductRecord {
    /// The most specific category, if any.
    pub fn leaf(&self) -> Option<u32> {
        self.category_path.last().copied()
    }

    /// The top-level category, if any.
    pub fn top(&self) -> Option<u32> {
        self.category_path.first().copied()
    }

    /// Margin, (price - cost) / price, when the cost is known.
    pub fn margin(&self) -> Option<f64> {
        (self.cost > 0.0 && self.price > 0.0).then(|| (self.price - self.cost) / self.price)
    }
}

/// Cold-start priors from behaviour and freshness.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PriorsSection {
    /// Per product: popularity within its leaf category, 0 to 1.
    pub popularity: Vec<f32>,
    /// Per product: freshness, 1 for just listed, decaying to 0.
    pub freshness: Vec<f32>,
    /// Per category index: product ordinals, most popular first.
    pub top_by_category: Vec<Vec<u32>>,
    /// Product ordinals, most popular first, over the whole store.
    pub top_overall: Vec<u32>,
    /// Per product: recent interest against its baseline, 0 (flat or
    /// falling) to 1 (eight times its usual rate or more).
    pub trending: Vec<f32>,
    /// Product ordinals, most trending first (the ones above 0).
    pub top_trending: Vec<u32>,
    /// Per product: units sold per day over the last weeks of orders (0
    /// when it has not sold); days of cover are the units available now
    /// over it, so live stock moves them too.
    pub daily_sales: Vec<f32>,
    /// Per product: how much cheaper than its category it is, times how
    /// much its category's shoppers respond to price, 0 to 1.
    pub deal: Vec<f32>,
    /// Per product: its price relative to its leaf category's median, as a
    /// natural log clamped to ±3 (0 without a price), the scale of a
    /// shopper's price band.
    pub price_level: Vec<f32>,
    /// Per category index: how strongly conversion rises as price falls
    /// (0: not at all), for reports.
    pub price_response: Vec<f32>,
    /// Per category index: median days between a shopper's repeat orders
    /// of the same product, 0 where shoppers do not rebuy.
    pub refill_days: Vec<f32>,
    /// Per category index: the share of products its returning shoppers
    /// ordered that they ordered again on a later day, shrunk to the
    /// store's share (0 to 1; 0 where no returning shopper ordered), the
    /// `rebuy` signal's value.
    pub rebuy: Vec<f32>,
    /// By how many views back (0: the latest product the session viewed,
    /// each product once at its latest view): the share of the store's
    /// next clicks that went back to that product, the `returns` signal's
    /// value relative to the largest.
    pub returns: Vec<f32>,
    /// How many moves of evidence the store's rate of going back (the sum
    /// of `returns`) is worth when `next` updates it with a visit's own
    /// moves ([`crate::GoingBack`]); 0 when not fitted.
    pub going_back_strength: f32,
}

/// Viewed-together lists: for each product, the products seen in the same
/// sessions more often than their popularity explains, strongest first.
/// Stored as compressed rows (offsets into flat arrays).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CoViewSection {
    /// `offsets[i]..offsets[i + 1]` is product `i`'s row; `len = products + 1`.
    pub offsets: Vec<u32>,
    /// Neighbour ordinals.
    pub neighbors: Vec<u32>,
    /// Association strength, 0 to 1.
    pub scores: Vec<f32>,
}

impl CoViewSection {
    /// Product `i`'s viewed-together row as (ordinal, score) pairs.
    pub fn row(&self, i: u32) -> impl Iterator<Item = (u32, f32)> + '_ {
        let i = i as usize;
        let start = self.offsets.get(i).copied().unwrap_or(0) as usize;
        let end = self.offsets.get(i + 1).copied().unwrap_or(0) as usize;
        let neighbors = self.neighbors.get(start..end).unwrap_or_default();
        let scores = self.scores.get(start..end).unwrap_or_default();
        neighbors.iter().copied().zip(scores.iter().copied())
    }
}

/// The merchant's rules, compiled against the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulesSection {
    /// Fewest units a promoted product must have.
    pub min_inventory: u32,
    /// Fewest days of cover a promoted product must have (0: off).
    pub min_cover_days: f32,
    /// Regulated products are never promoted.
    pub exclude_regulated: bool,
    /// Products with any of these safety flags are never promoted.
    pub exclude_safety: Vec<String>,
    /// Category indexes whose products (at any level) are never promoted.
    pub exclude_categories: Vec<u32>,
    /// Products with any of these tags are never promoted.
    pub exclude_tags: Vec<String>,
    /// (category index, minimum price) pairs.
    pub price_floors: Vec<(u32, f64)>,
    /// (category index, minimum margin) pairs.
    pub margin_floors: Vec<(u32, f64)>,
    /// At most this many items of one brand per slot.
    pub max_per_brand: Option<u32>,
    /// At most this many items of one leaf category per slot.
    pub max_per_category: Option<u32>,
    /// Share of each slot kept for new arrivals.
    pub new_arrival_share: f32,
    /// Seconds after listing during which a product is a new arrival.
    pub new_arrival_seconds: i64,
    /// Exclusions for shoppers in one region.
    pub regions: Vec<RegionRule>,
    /// Timed score boosts and buries.
    pub boosts: Vec<BoostRule>,
    /// Timed pins, in position order.
    pub pins: Vec<PinRule>,
    /// Free shipping from this order value.
    pub free_shipping_threshold: Option<f64>,
    /// In stock and delivered within this many days is fast-ship.
    pub fast_ship_days: u16,
    /// Message banners, best priority first.
    pub banners: Vec<BannerRule>,
    /// Score weights.
    pub blend: BlendWeights,
    /// Consent defaults by region, read by the edge.
    pub consent: ConsentSection,
    /// Search settings, pins and buries.
    pub search: SearchRulesSection,
    /// Holdout shares, read by the edge.
    pub experiments: ExperimentsSection,
    /// Days collected events are kept: the edge's event export returns
    /// nothing older.
    pub event_retention_days: u32,
}

/// The search rules, compiled: pins and buries name products by ordinal and
/// queries by their normalized terms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchRulesSection {
    /// Typo thresholds and blend weights.
    pub settings: SearchSettings,
    /// Products at a position of a query's results, in position order.
    pub pins: Vec<SearchPinRule>,
    /// Products sent to the end of a query's results.
    pub buries: Vec<SearchBuryRule>,
}

/// A compiled search pin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchPinRule {
    /// The query's normalized terms, space-separated.
    pub query: String,
    /// Product ordinal.
    pub product: u32,
    /// 1-based position.
    pub position: u32,
}

/// A compiled search bury.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchBuryRule {
    /// The query's normalized terms, space-separated.
    pub query: String,
    /// Product ordinal.
    pub product: u32,
}

/// What is never promoted to shoppers in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionRule {
    /// ISO 3166 country code.
    pub region: String,
    /// Category indexes excluded there (any level of the path).
    pub exclude_categories: Vec<u32>,
    /// Tags excluded there.
    pub exclude_tags: Vec<String>,
    /// Regulated products excluded there.
    pub exclude_regulated: bool,
}

/// A compiled boost: `weight` added to the product's score in the window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoostRule {
    /// Product ordinal.
    pub product: u32,
    /// Slot it is limited to, if any.
    pub slot: Option<SlotKind>,
    /// Added to the score.
    pub weight: f32,
    /// Window start, unix seconds.
    pub from: i64,
    /// Window end (exclusive), unix seconds.
    pub until: i64,
}

/// A compiled banner (see [`firstpaint_contracts::Banner`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BannerRule {
    /// Banner id (frequency caps count it).
    pub id: String,
    /// The message.
    pub text: String,
    /// Where it links, empty for none.
    pub link: String,
    /// When it applies.
    pub show: firstpaint_contracts::BannerCondition,
    /// Higher wins.
    pub priority: i32,
    /// Most pages per visit showing it.
    pub max_per_visit: Option<u32>,
    /// For `before_cutoff`: the UTC hour of the day's dispatch cut-off.
    pub cutoff_hour: u8,
    /// For `low_stock`: shown on product pages with fewer units than this.
    pub low_stock_below: u32,
    /// Window start, unix seconds.
    pub from: i64,
    /// Window end (exclusive), unix seconds.
    pub until: i64,
}

/// A compiled pin: `product` at 1-based `position` of `slot` in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinRule {
    /// Product ordinal.
    pub product: u32,
    /// The slot.
    pub slot: SlotKind,
    /// 1-based position.
    pub position: u32,
    /// Window start, unix seconds.
    pub from: i64,
    /// Window end (exclusive), unix seconds.
    pub until: i64,
}

/// The blend's weights as the bundle carries them: the engine's own wire
/// type, so a change to the merchant's rules file (its serde attributes,
/// its defaults, a new optional field) cannot change the bundle format
/// unnoticed; the origin copies each weight across ([`From`] below).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BlendWeights {
    /// Embedding similarity to the viewed product or the session.
    pub similarity: f32,
    /// Popularity within the candidate's category.
    pub popularity: f32,
    /// Share of the session's views in the candidate's category.
    pub category_affinity: f32,
    /// Viewed (or bought) together with the anchor or session products.
    pub co_view: f32,
    /// Margin.
    pub margin: f32,
    /// Stock depth.
    pub stock: f32,
    /// Shrunk rating.
    pub rating: f32,
    /// How recently the product was listed.
    pub freshness: f32,
    /// Sequential transitions from the session's latest products.
    pub sequence: f32,
    /// Recent interest against its own baseline.
    pub trending: f32,
    /// How much cheaper than its category, where shoppers respond to price.
    pub deal: f32,
    /// In stock and delivered fast.
    pub fast_ship: f32,
    /// Fit to the shopper's price band.
    pub price_fit: f32,
    /// What shoppers whose sessions were like this one opened.
    pub neighbours: f32,
    /// Ordered before, times its category's rate of ordering again.
    pub rebuy: f32,
    /// Viewed earlier in the visit, times how often next clicks go back.
    pub returns: f32,
}

impl From<&Blend> for BlendWeights {
    fn from(b: &Blend) -> Self {
        Self {
            similarity: b.similarity,
            popularity: b.popularity,
            category_affinity: b.category_affinity,
            co_view: b.co_view,
            margin: b.margin,
            stock: b.stock,
            rating: b.rating,
            freshness: b.freshness,
            sequence: b.sequence,
            trending: b.trending,
            deal: b.deal,
            fast_ship: b.fast_ship,
            price_fit: b.price_fit,
            neighbours: b.neighbours,
            rebuy: b.rebuy,
            returns: b.returns,
        }
    }
}

/// When personalization is on without the shopper's explicit choice, as
/// the bundle carries it (the engine's own wire type; see [`BlendWeights`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentSection {
    /// ISO 3166 country codes where personalization is opt-in.
    pub opt_in_regions: Vec<String>,
    /// Whether a shopper whose region is unknown is treated as opt-in.
    pub unknown_region_opt_in: bool,
}

impl ConsentSection {
    /// Whether personalization is on for a shopper from `region` who has
    /// made no choice.
    pub fn default_personalization(&self, region: Option<&str>) -> bool {
        match region {
            Some(r) => !self
                .opt_in_regions
                .iter()
                .any(|o| o.eq_ignore_ascii_case(r)),
            None => !self.unknown_region_opt_in,
        }
    }
}

impl Default for ConsentSection {
    /// The rules file's defaults (opt-in in the GDPR's regions and where
    /// the region is unknown), not an empty list that would opt everyone in.
    fn default() -> Self {
        Self::from(&ConsentRules::default())
    }
}

impl From<&ConsentRules> for ConsentSection {
    fn from(c: &ConsentRules) -> Self {
        Self {
            opt_in_regions: c.opt_in_regions.clone(),
            unknown_region_opt_in: c.unknown_region_opt_in,
        }
    }
}

/// Search's typo thresholds and blend weights, as the bundle carries them
/// (the engine's own wire type; see [`BlendWeights`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SearchSettings {
    /// Words of at least this many characters may match with one typo.
    pub typo_one_from: u8,
    /// Words of at least this many characters may match with two typos.
    pub typo_two_from: u8,
    /// Weight of lexical relevance, normalised to the best match.
    pub lexical: f32,
    /// Weight of the shopper's session.
    pub session: f32,
    /// Weight of being in stock.
    pub stock: f32,
    /// Weight of fast delivery.
    pub fast_ship: f32,
    /// Weight of the shrunk rating.
    pub rating: f32,
    /// Weight of popularity.
    pub popularity: f32,
    /// Weight of a query word naming an attribute value the product has.
    pub attribute: f32,
    /// Weight of what shoppers engaged with after the same query.
    pub learned: f32,
}

impl SearchSettings {
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

impl Default for SearchSettings {
    /// The rules file's defaults.
    fn default() -> Self {
        Self::from(&SearchRules::default())
    }
}

impl From<&SearchRules> for SearchSettings {
    fn from(r: &SearchRules) -> Self {
        Self {
            typo_one_from: r.typo_one_from,
            typo_two_from: r.typo_two_from,
            lexical: r.lexical,
            session: r.session,
            stock: r.stock,
            fast_ship: r.fast_ship,
            rating: r.rating,
            popularity: r.popularity,
            attribute: r.attribute,
            learned: r.learned,
        }
    }
}
