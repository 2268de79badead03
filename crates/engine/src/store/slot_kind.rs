//! The kinds of slot a merchant marks in a page: vocabulary shared by the
//! rules (a pin names its slot), the guardrails and the slots.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::EngineError;

/// The kinds of slot a merchant can mark with `data-p13n-slot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SlotKind {
    /// Home page: popular for new visitors, session-driven for returning ones.
    Home,
    /// Product page: products similar to the one shown (embedding neighbours).
    Similar,
    /// Product page: what shoppers viewed in the same sessions.
    ViewedTogether,
    /// Product page: what shoppers bought in the same orders.
    BoughtTogether,
    /// Product page: in-stock replacements in the same category, near the price.
    Alternatives,
    /// Product page: products compatible with the one shown.
    Addons,
    /// Cart: compatible or bought-together add-ons that ship in the same box.
    CartAddons,
    /// Cart: items that close the gap to free shipping without overshooting much.
    Ladder,
    /// Any page: what the shopper will most likely open next, from the
    /// session's recent products; those may come back ("still deciding?").
    Next,
    /// Category page: the category's own products, the best for this
    /// shopper first (popular, near their taste and price band).
    Category,
}

impl SlotKind {
    /// Every kind, as written in HTML.
    pub const ALL: [SlotKind; 10] = [
        SlotKind::Home,
        SlotKind::Similar,
        SlotKind::ViewedTogether,
        SlotKind::BoughtTogether,
        SlotKind::Alternatives,
        SlotKind::Addons,
        SlotKind::CartAddons,
        SlotKind::Ladder,
        SlotKind::Next,
        SlotKind::Category,
    ];

    /// The name used in `data-p13n-slot` and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            SlotKind::Home => "home",
            SlotKind::Similar => "similar",
            SlotKind::ViewedTogether => "viewed-together",
            SlotKind::BoughtTogether => "bought-together",
            SlotKind::Alternatives => "alternatives",
            SlotKind::Addons => "addons",
            SlotKind::CartAddons => "cart-addons",
            SlotKind::Ladder => "ladder",
            SlotKind::Next => "next",
            SlotKind::Category => "category",
        }
    }

    /// Whether the slot is about one product (`data-p13n-product`).
    pub fn needs_product(self) -> bool {
        matches!(
            self,
            SlotKind::Similar
                | SlotKind::ViewedTogether
                | SlotKind::BoughtTogether
                | SlotKind::Alternatives
                | SlotKind::Addons
        )
    }

    /// Whether the slot is about one category (`data-p13n-category`).
    pub fn needs_category(self) -> bool {
        self == SlotKind::Category
    }

    /// Whether the slot is about the cart (`data-p13n-cart`).
    pub fn needs_cart(self) -> bool {
        matches!(self, SlotKind::CartAddons | SlotKind::Ladder)
    }
}

impl fmt::Display for SlotKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SlotKind {
    type Err = EngineError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let names = SlotKind::ALL.map(SlotKind::as_str);
        SlotKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| EngineError::UnknownSlot {
                got: s.chars().take(64).collect(),
                valid: names.join(", "),
                did_you_mean: firstpaint_contracts::did_you_mean(s, names).map(str::to_owned),
            })
    }
}
