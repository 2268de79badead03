//! A live update of one product: one line of the file `firstpaint live
//! push --updates` reads. Stock, price and whether a product can be bought
//! change far more often than the catalog is rebuilt; an update says what
//! they are now, and the fields it leaves out keep their last value.
//!
//! ```
//! use firstpaint_contracts::{read_ndjson, LiveUpdate};
//!
//! let text = r#"{"id":"SKU-1","inventory":[{"location":"berlin","available":3}],"price":9.5}
//! {"id":"SKU-2","buyable":false}"#;
//! let updates: Vec<LiveUpdate> = read_ndjson("stock.ndjson", text).unwrap();
//! assert_eq!(updates[1].buyable, Some(false));
//!
//! let errors = read_ndjson::<LiveUpdate>("stock.ndjson", r#"{"id":"SKU-1"}"#).unwrap_err();
//! assert_eq!(errors.to_string(), "stock.ndjson:1: says nothing: give price, buyable or inventory");
//! ```

use serde::{Deserialize, Serialize};

use crate::ids::{id_problem, is_valid_id};
use crate::product::{check_inventory, Stock};
use crate::read::{check_money, Problems, Validate};

/// What one product's live data is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveUpdate {
    /// The product's id, as in the catalog.
    pub id: String,
    /// Selling price now, in the catalog's currency for the product.
    #[serde(default)]
    pub price: Option<f64>,
    /// Whether it can be bought now (`false`: taken off sale; no surface
    /// shows it).
    #[serde(default)]
    pub buyable: Option<bool>,
    /// Stock per location now: every location the product is stocked at
    /// (one left out has none).
    #[serde(default)]
    pub inventory: Option<Vec<Stock>>,
}

impl LiveUpdate {
    /// Takes what `newer` says on top of what this update said: each field
    /// `newer` gives replaces this one's.
    pub fn merge(&mut self, newer: LiveUpdate) {
        if newer.price.is_some() {
            self.price = newer.price;
        }
        if newer.buyable.is_some() {
            self.buyable = newer.buyable;
        }
        if newer.inventory.is_some() {
            self.inventory = newer.inventory;
        }
    }
}

impl Validate for LiveUpdate {
    fn validate(&self, p: &mut Problems) {
        if !is_valid_id(&self.id) {
            p.push("id", id_problem(&self.id));
        }
        if self.price.is_none() && self.buyable.is_none() && self.inventory.is_none() {
            p.push("", "says nothing: give price, buyable or inventory");
        }
        if let Some(price) = self.price {
            check_money(p, "price", price);
        }
        if let Some(inventory) = &self.inventory {
            check_inventory(p, inventory);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::read_ndjson;

    #[test]
    fn every_problem_is_named_with_its_line_and_field() {
        let text = "{\"id\":\"A\",\"price\":-2}\n\n{\"id\":\"B\",\"inventory\":[{\"location\":\" \",\"available\":1},{\"location\":\"x\",\"available\":1},{\"location\":\"x\",\"available\":2}]}\n{\"id\":\"C\",\"stock\":4}\n";
        let errors = read_ndjson::<LiveUpdate>("stock.ndjson", text)
            .unwrap_err()
            .to_string();
        for expected in [
            "stock.ndjson:1: field `price`: must be a finite number >= 0 (got -2)",
            "stock.ndjson:3: field `inventory[0].location`: must not be empty",
            "stock.ndjson:3: field `inventory[2].location`: \"x\" is listed twice",
            "stock.ndjson:4: field `stock`: unknown field `stock`",
        ] {
            assert!(errors.contains(expected), "{expected}\nnot in\n{errors}");
        }
    }

    #[test]
    fn a_merge_keeps_what_the_newer_update_leaves_out() {
        let mut old = LiveUpdate {
            id: "A".into(),
            price: Some(5.0),
            buyable: None,
            inventory: Some(vec![]),
        };
        old.merge(LiveUpdate {
            id: "A".into(),
            price: None,
            buyable: Some(false),
            inventory: None,
        });
        assert_eq!(
            (old.price, old.buyable, old.inventory),
            (Some(5.0), Some(false), Some(vec![]))
        );
    }
}
