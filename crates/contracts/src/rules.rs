//! The merchant's guardrail rules, as `rules.toml`.
//!
//! Rules are validated here for shape and ranges; references to the catalog
//! (categories, tags) are checked by the origin build against the real
//! catalog, where a misspelt category would otherwise silently exclude nothing.

use serde::{Deserialize, Serialize};

use crate::read::{check_money, Problems, Validate};

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

impl ConsentRules {
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

/// Hard constraints: an item that breaks one is never shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Guardrails {
    /// Products with fewer units available (over all locations) are never promoted.
    pub min_inventory: u32,
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
}

impl Default for Guardrails {
    fn default() -> Self {
        Self {
            min_inventory: 1,
            exclude_regulated: true,
            exclude_safety: Vec::new(),
            exclude_categories: Vec::new(),
            exclude_tags: Vec::new(),
            price_floors: Vec::new(),
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
    /// Viewed together with the session's products in past sessions.
    pub co_view: f32,
}

impl Default for Blend {
    fn default() -> Self {
        Self {
            similarity: 0.5,
            popularity: 0.2,
            category_affinity: 0.15,
            co_view: 0.15,
        }
    }
}

impl Validate for Rules {
    fn validate(&self, p: &mut Problems) {
        for (i, floor) in self.guardrails.price_floors.iter().enumerate() {
            check_money(
                p,
                &format!("guardrails.price_floors[{i}].min_price"),
                floor.min_price,
            );
        }
        let b = &self.blend;
        for (name, w) in [
            ("similarity", b.similarity),
            ("popularity", b.popularity),
            ("category_affinity", b.category_affinity),
            ("co_view", b.co_view),
        ] {
            if !w.is_finite() || w < 0.0 {
                p.push(
                    format!("blend.{name}"),
                    format!("must be a finite weight >= 0 (got {w})"),
                );
            }
        }
        if b.similarity + b.popularity + b.category_affinity + b.co_view <= 0.0 {
            p.push("blend", "at least one weight must be above 0");
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
