//! A catalog product, as one line of `catalog.ndjson`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{id_problem, is_valid_id};
use crate::read::{check_money, Problems, Validate};
use crate::urls::{image_url_problem, site_path_problem};

/// One sellable product with everything ranking and guardrails read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// Merchant's stable id (see [`crate::is_valid_id`]).
    pub id: String,
    /// Display title.
    pub title: String,
    /// Longer text; feeds the text embedding.
    #[serde(default)]
    pub description: String,
    /// Brand name, if any.
    #[serde(default)]
    pub brand: Option<String>,
    /// Category path, top level first (`["Electronics", "Phone cases"]`).
    pub category: Vec<String>,
    /// Free attributes (`colour = "red"`).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Purchasable variants (sizes, colours) of this product.
    #[serde(default)]
    pub variants: Vec<Variant>,
    /// Selling price in major units of `currency`.
    pub price: f64,
    /// Unit cost, for margin floors; absent when the merchant does not share it.
    #[serde(default)]
    pub cost: Option<f64>,
    /// ISO 4217 code, three upper-case letters.
    pub currency: String,
    /// Review score, when the product has reviews.
    #[serde(default)]
    pub rating: Option<Rating>,
    /// Stock per location.
    #[serde(default)]
    pub inventory: Vec<Stock>,
    /// Days from order to delivery for the default location.
    #[serde(default)]
    pub ship_days: Option<u16>,
    /// Images with alt text.
    #[serde(default)]
    pub media: Vec<Media>,
    /// Ids of products this one works with (a case and its phone).
    #[serde(default)]
    pub compatible_with: Vec<String>,
    /// Merchant tags (`new`, `clearance`, ...).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Regulated goods (medicines, alcohol): never promoted unless rules allow.
    #[serde(default)]
    pub regulated: bool,
    /// Safety flags (`hazmat`, `age-restricted`, ...).
    #[serde(default)]
    pub safety: Vec<String>,
    /// Storefront path of the product page; `/products/<id>` when absent.
    #[serde(default)]
    pub url: Option<String>,
    /// When the product was first listed.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change; defaults to `created_at`.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

/// A purchasable variant of a product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Variant id (a SKU).
    pub id: String,
    /// What distinguishes it (`size = "M"`).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Price when it differs from the product's.
    #[serde(default)]
    pub price: Option<f64>,
    /// Units available across locations.
    #[serde(default)]
    pub available: u32,
}

/// An average review score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    /// Mean score, 0 to 5.
    pub average: f32,
    /// Number of reviews behind the mean.
    pub count: u32,
}

/// Stock at one fulfilment location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stock {
    /// Location id (warehouse, store).
    pub location: String,
    /// Units that can be sold now.
    pub available: u32,
    /// Days before this location can ship.
    #[serde(default)]
    pub lead_days: u16,
}

/// An image of the product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Media {
    /// Image URL or path.
    pub url: String,
    /// Alt text for accessibility.
    #[serde(default)]
    pub alt: String,
}

impl Product {
    /// Units available over all locations.
    pub fn available(&self) -> u64 {
        self.inventory.iter().map(|s| u64::from(s.available)).sum()
    }

    /// The product page path.
    pub fn path(&self) -> String {
        self.url
            .clone()
            .unwrap_or_else(|| format!("/products/{}", self.id))
    }
}

impl Validate for Product {
    fn validate(&self, p: &mut Problems) {
        if !is_valid_id(&self.id) {
            p.push("id", id_problem(&self.id));
        }
        if self.title.trim().is_empty() {
            p.push("title", "must not be empty");
        }
        if self.category.is_empty() {
            p.push("category", "needs at least the top-level category");
        }
        for (i, c) in self.category.iter().enumerate() {
            if c.trim().is_empty() || c.contains('/') {
                p.push(
                    format!("category[{i}]"),
                    format!("must be a non-empty name without '/' (got {c:?})"),
                );
            }
        }
        check_money(p, "price", self.price);
        if let Some(cost) = self.cost {
            check_money(p, "cost", cost);
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            p.push(
                "currency",
                format!(
                    "must be an ISO 4217 code like EUR (got {:?})",
                    self.currency
                ),
            );
        }
        if let Some(r) = self.rating {
            if !(0.0..=5.0).contains(&r.average) {
                p.push(
                    "rating.average",
                    format!("must be within 0..=5 (got {})", r.average),
                );
            }
        }
        for (i, v) in self.variants.iter().enumerate() {
            if !is_valid_id(&v.id) {
                p.push(format!("variants[{i}].id"), id_problem(&v.id));
            }
            if let Some(price) = v.price {
                check_money(p, &format!("variants[{i}].price"), price);
            }
        }
        check_inventory(p, &self.inventory);
        for (i, c) in self.compatible_with.iter().enumerate() {
            if !is_valid_id(c) {
                p.push(format!("compatible_with[{i}]"), id_problem(c));
            } else if *c == self.id {
                p.push(
                    format!("compatible_with[{i}]"),
                    "a product cannot list itself",
                );
            }
        }
        if let Some(problem) = self.url.as_deref().and_then(site_path_problem) {
            p.push("url", problem);
        }
        for (i, m) in self.media.iter().enumerate() {
            if let Some(problem) = image_url_problem(&m.url) {
                p.push(format!("media[{i}].url"), problem);
            }
        }
        if let Some(updated) = self.updated_at {
            if updated < self.created_at {
                p.push("updated_at", "is before created_at");
            }
        }
    }
}

/// Fails a location that is empty or listed twice.
pub(crate) fn check_inventory(p: &mut Problems, inventory: &[Stock]) {
    for (i, s) in inventory.iter().enumerate() {
        if s.location.trim().is_empty() {
            p.push(format!("inventory[{i}].location"), "must not be empty");
        } else if inventory.iter().take(i).any(|o| o.location == s.location) {
            p.push(
                format!("inventory[{i}].location"),
                format!("{:?} is listed twice", s.location),
            );
        }
    }
}
