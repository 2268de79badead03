//! What a slot asks for and what the engine answers.

use serde::Serialize;

use crate::signals::intent::Intent;
use crate::signals::visit::Visitor;
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
    /// Product ids in the cart (cart slots).
    pub cart: Vec<String>,
    /// The shopper (resolved by [`crate::Engine::rank`]; a page with
    /// several slots resolves it once: [`crate::Engine::visit`]).
    pub visitor: Visitor,
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
            cart: Vec::new(),
            visitor: Visitor::default(),
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
    /// Its value for this item, 0 to 1; for `boost`, the merchant's boost,
    /// and for `going_back` what the visit's habit of going back added to
    /// a product it viewed (negative when it took away), each at weight 1.
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
