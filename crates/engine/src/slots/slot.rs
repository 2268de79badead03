//! What a slot asks for and what the engine answers.

use serde::Serialize;

use crate::signals::intent::{Intent, IntentSignals};
use crate::signals::price_band::PriceBand;
pub use crate::store::slot_kind::SlotKind;

/// One slot to fill.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotRequest {
    /// What kind of slot.
    pub kind: SlotKind,
    /// How many items; `None` for the default.
    pub k: Option<usize>,
    /// The product the page is about (product page slots).
    pub product: Option<String>,
    /// The category a `category` slot lists: a catalog path, a leaf name
    /// or a category page's slug.
    pub category: Option<String>,
    /// The shopper's recently viewed product ids, most recent first. Empty
    /// without personalization consent.
    pub viewed: Vec<String>,
    /// Product ids in the cart (cart slots).
    pub cart: Vec<String>,
    /// The shopper has visited before (home shows their recent views).
    pub returning: bool,
    /// Products the shopper viewed while they could not be bought; home
    /// shows those back in stock first.
    pub wanted: Vec<String>,
    /// Products the shopper ordered, with when (unix seconds), most recent
    /// first; home shows those due for a refill first.
    pub ordered: Vec<(String, i64)>,
    /// The visit's channel, searches and category pages, for its intent.
    pub signals: IntentSignals,
    /// Where the shopper's prices usually sit, from their profile
    /// (`price_fit`); `None` without consent or history.
    pub price_band: Option<PriceBand>,
    /// The shopper's country, for regional exclusions.
    pub region: Option<String>,
    /// The time of the request, unix seconds (time-windowed rules, new arrivals).
    pub now: i64,
    /// Keep the candidates guardrails removed, with the rule that removed them.
    pub explain: bool,
}

impl SlotRequest {
    /// A request for `kind` with defaults.
    pub fn new(kind: SlotKind) -> Self {
        Self {
            kind,
            k: None,
            product: None,
            category: None,
            viewed: Vec::new(),
            cart: Vec::new(),
            returning: false,
            wanted: Vec::new(),
            ordered: Vec::new(),
            signals: IntentSignals::default(),
            price_band: None,
            region: None,
            now: 0,
            explain: false,
        }
    }
}

/// The filled slot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranking {
    /// The slot kind answered.
    pub slot: SlotKind,
    /// Whether the shopper's session changed the result.
    pub personalized: bool,
    /// The visit's predicted mission, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent: Option<Intent>,
    /// Items, best first.
    pub items: Vec<RankedItem>,
    /// With `explain`: candidates guardrails removed, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<Removed>,
}

/// One ranked product with the parts of its score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankedItem {
    /// Product id.
    pub id: String,
    /// Internal ordinal in this bundle.
    #[serde(skip)]
    pub ordinal: u32,
    /// Where the candidate came from (`similar`, `co-view`, `popular`, `pin`, ...).
    pub source: &'static str,
    /// Blended score (including any boost).
    pub score: f32,
    /// Every part that produced the score.
    pub reasons: Vec<Reason>,
}

/// One part of a score: a signal's value and the merchant's weight for it.
/// A merchandiser's boost shows as the signal `boost` with weight 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Reason {
    /// The signal (`similarity`, `popularity`, `category_affinity`, `co_view`).
    pub signal: &'static str,
    /// Its value for this item, 0 to 1.
    pub value: f32,
    /// The weight from the rules' blend.
    pub weight: f32,
}

impl Reason {
    /// What this part adds to the score.
    pub fn contribution(&self) -> f32 {
        self.value * self.weight
    }
}

/// A candidate that a guardrail removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Removed {
    /// Product id.
    pub id: String,
    /// The rule, in words.
    pub rule: String,
}
