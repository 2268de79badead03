//! A catalog change as a catalog-change webhook carries it, applied to the
//! catalog file (`firstpaint serve`).
//!
//! The body is one JSON object: `upsert`, the products added or changed
//! (each a whole catalog line, as in `catalog.ndjson`), and `delete`, the
//! ids removed; either may be left out, and an empty change asks for a
//! rebuild of the files as they are. Every product is checked like a
//! catalog line (`upsert:3: field \`price\`: …` names the third), then the
//! changed catalog as a whole (unique ids, compatibility links); a change
//! with any problem changes nothing. Lines of products the change does not
//! touch are kept byte for byte.
//!
//! ```
//! use firstpaint_origin::catalog_change::CatalogChange;
//!
//! let catalog = "{\"id\":\"A\",\"title\":\"Mug\",\"category\":[\"Home\"],\"price\":5,\"currency\":\"EUR\",\"created_at\":\"2026-01-01T00:00:00Z\"}\n";
//! let change = CatalogChange::parse(br#"{"delete":["A"]}"#).unwrap();
//! let (text, applied) = change.apply("catalog.ndjson", catalog).unwrap();
//! assert_eq!((text.as_str(), applied.deleted), ("", 1));
//! ```

use std::collections::{HashMap, HashSet};

use firstpaint_contracts::{read_ndjson, InputErrors, Product};
use serde::{Deserialize, Serialize};

use crate::inputs::{check_catalog, cross_check, CheckedCatalog};

/// What a webhook asks to change.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogChange {
    /// Products added or changed, whole.
    #[serde(default)]
    upsert: Vec<serde_json::Value>,
    /// Ids of products removed.
    #[serde(default)]
    delete: Vec<String>,
}

/// What a change did to the catalog.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    /// Products replaced.
    pub updated: usize,
    /// Products added.
    pub added: usize,
    /// Products removed.
    pub deleted: usize,
    /// Ids asked to be removed that the catalog does not have.
    pub not_found: Vec<String>,
}

impl Applied {
    /// Whether the catalog changed.
    pub fn changed(&self) -> bool {
        self.updated + self.added + self.deleted > 0
    }
}

/// The id an upserted product names, if it names one.
fn id_of(product: &serde_json::Value) -> Option<&str> {
    product.get("id")?.as_str()
}

/// Just the id of a catalog line, to match it without reading the rest.
#[derive(Deserialize)]
struct Id {
    id: String,
}

impl CatalogChange {
    /// The change a webhook body holds, or why it is not one.
    pub fn parse(body: &[u8]) -> Result<CatalogChange, String> {
        serde_json::from_slice(body).map_err(|e| {
            format!("the body is not a catalog change ({{\"upsert\": [products], \"delete\": [ids]}}): {e}")
        })
    }

    /// Whether it changes nothing (a request to rebuild as things are).
    pub fn is_empty(&self) -> bool {
        self.upsert.is_empty() && self.delete.is_empty()
    }

    /// This change and then `next`, as one change: the last word on each
    /// id wins (an upsert after a delete puts the product back, a delete
    /// after an upsert removes it). Applied to any catalog, the result is
    /// the catalog that applying both in turn gives, up to where re-added
    /// products stand; applied again, it changes nothing more.
    pub fn then(mut self, next: CatalogChange) -> CatalogChange {
        let mut named: HashSet<String> = next.delete.iter().cloned().collect();
        named.extend(
            next.upsert
                .iter()
                .filter_map(|p| Some(id_of(p)?.to_owned())),
        );
        self.upsert
            .retain(|p| id_of(p).is_none_or(|id| !named.contains(id)));
        self.delete.retain(|id| !named.contains(id));
        self.upsert.extend(next.upsert);
        self.delete.extend(next.delete);
        self
    }

    /// `catalog` (the text of the file named `file`) with the change
    /// applied, and what it did; every problem otherwise. The catalog is
    /// checked whole after the change (so a change may mend a bad line).
    pub fn apply(&self, file: &str, catalog: &str) -> Result<(String, Applied), InputErrors> {
        let upserts = self.upserts()?;
        let (text, _, applied) = self.merge(&upserts, catalog.lines().map(|line| (line, None)));
        check_catalog(file, &text)?;
        Ok((text, applied))
    }

    /// [`CatalogChange::apply`] to a catalog already checked: only the
    /// upserts are read and only the checks across records run again, and
    /// the products come back with the text (what `serve` keeps).
    pub fn apply_checked(
        &self,
        file: &str,
        catalog: &CheckedCatalog,
    ) -> Result<(CheckedCatalog, Applied), InputErrors> {
        let upserts = self.upserts()?;
        let records = catalog.records().map(|(line, p)| (line, Some(p)));
        let (text, products, applied) = self.merge(&upserts, records);
        cross_check(file, &text, &products)?;
        Ok((CheckedCatalog { text, products }, applied))
    }

    /// The upserted products, each checked as a catalog line, with its line.
    fn upserts(&self) -> Result<Vec<(Product, String)>, InputErrors> {
        let lines: Vec<String> = self.upsert.iter().map(|p| p.to_string()).collect();
        let products: Vec<Product> = read_ndjson("upsert", &lines.join("\n"))?;
        Ok(products.into_iter().zip(lines).collect())
    }

    /// The catalog's `records` (each line with its product, when known)
    /// with the change applied: the text, the products of the records
    /// that had one, and what was done.
    fn merge<'a>(
        &self,
        upserts: &'a [(Product, String)],
        records: impl Iterator<Item = (&'a str, Option<&'a Product>)>,
    ) -> (String, Vec<Product>, Applied) {
        let mut pending: HashMap<&str, &(Product, String)> =
            upserts.iter().map(|u| (u.0.id.as_str(), u)).collect();
        let deleted: HashSet<&str> = self.delete.iter().map(String::as_str).collect();
        let mut applied = Applied::default();
        let mut text = String::new();
        let mut products = Vec::new();
        let mut seen_deleted = HashSet::new();
        for (line, product) in records {
            let id = match product {
                Some(p) => p.id.clone(),
                None => serde_json::from_str::<Id>(line)
                    .map(|i| i.id)
                    .unwrap_or_default(),
            };
            if deleted.contains(id.as_str()) {
                seen_deleted.insert(id);
                applied.deleted += 1;
            } else if let Some((new, new_line)) = pending.remove(id.as_str()) {
                applied.updated += 1;
                text.push_str(new_line);
                text.push('\n');
                products.push(new.clone());
            } else {
                text.push_str(line);
                text.push('\n');
                products.extend(product.cloned());
            }
        }
        // New products, in the order the change gives them.
        for (p, line) in upserts {
            if pending.remove(p.id.as_str()).is_some() {
                applied.added += 1;
                text.push_str(line);
                text.push('\n');
                products.push(p.clone());
            }
        }
        applied.not_found = self
            .delete
            .iter()
            .filter(|id| !seen_deleted.contains(id.as_str()))
            .cloned()
            .collect();
        (text, products, applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(id: &str, price: f64) -> String {
        format!(
            "{{\"id\":\"{id}\",\"title\":\"Mug {id}\",\"category\":[\"Home\"],\"price\":{price},\"currency\":\"EUR\",\"created_at\":\"2026-01-01T00:00:00Z\"}}"
        )
    }

    #[test]
    fn upserts_replace_in_place_and_append_new_products() {
        let catalog = format!("{}\n\n{}\n", product("A", 1.0), product("B", 2.0));
        let body = format!(
            "{{\"upsert\":[{},{}],\"delete\":[\"B\",\"Z\"]}}",
            product("C", 3.0),
            product("A", 9.0)
        );
        let change = CatalogChange::parse(body.as_bytes()).unwrap();
        let (text, applied) = change.apply("catalog.ndjson", &catalog).unwrap();
        let ids: Vec<&str> = text
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                if l.contains("\"A\"") {
                    "A"
                } else if l.contains("\"C\"") {
                    "C"
                } else {
                    "?"
                }
            })
            .collect();
        assert_eq!(ids, ["A", "C"]);
        assert!(text.contains("\"price\":9,") && !text.contains("\"price\":1,"));
        assert_eq!(
            applied,
            Applied {
                updated: 1,
                added: 1,
                deleted: 1,
                not_found: vec!["Z".into()]
            }
        );
    }

    #[test]
    fn a_bad_product_is_named_and_changes_nothing() {
        let body = format!(
            "{{\"upsert\":[{},{}]}}",
            product("A", 1.0),
            product("B", -2.0)
        );
        let change = CatalogChange::parse(body.as_bytes()).unwrap();
        let err = change.apply("catalog.ndjson", "").unwrap_err().to_string();
        assert_eq!(
            err,
            "upsert:2: field `price`: must be a finite number >= 0 (got -2)"
        );
        assert!(CatalogChange::parse(b"{\"products\":[]}")
            .unwrap_err()
            .contains("unknown field `products`"));
    }

    #[test]
    fn changes_folded_in_order_leave_the_last_word_on_each_id() {
        let catalog = format!("{}\n{}\n", product("A", 1.0), product("B", 2.0));
        let bodies = [
            format!("{{\"upsert\":[{}],\"delete\":[\"B\"]}}", product("C", 3.0)),
            format!("{{\"upsert\":[{}],\"delete\":[\"C\"]}}", product("B", 4.0)),
            format!("{{\"upsert\":[{}],\"delete\":[\"A\"]}}", product("C", 5.0)),
        ];
        let changes = || {
            bodies
                .iter()
                .map(|b| CatalogChange::parse(b.as_bytes()).unwrap())
        };
        let mut one_by_one = catalog.clone();
        for change in changes() {
            one_by_one = change.apply("catalog.ndjson", &one_by_one).unwrap().0;
        }
        let folded = changes().reduce(CatalogChange::then).unwrap();
        let (at_once, _) = folded.apply("catalog.ndjson", &catalog).unwrap();
        let sorted = |text: &str| {
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            lines.sort();
            lines
        };
        assert_eq!(sorted(&at_once), sorted(&one_by_one));
        // (Upserted lines are written as serde_json writes them.)
        let line = |text: String| serde_json::from_str::<serde_json::Value>(&text).unwrap();
        let lines: Vec<_> = at_once.lines().map(|l| line(l.into())).collect();
        assert_eq!(lines, [line(product("B", 4.0)), line(product("C", 5.0))]);
        // Applied again (to a file that already holds it), nothing moves.
        let (again, applied) = folded.apply("catalog.ndjson", &at_once).unwrap();
        assert_eq!(sorted(&again), sorted(&at_once));
        assert_eq!((applied.added, applied.deleted), (0, 0));
    }

    #[test]
    fn a_change_that_breaks_a_link_is_refused() {
        let linked =
            product("B", 2.0).replace("\"price\"", "\"compatible_with\":[\"A\"],\"price\"");
        let catalog = format!("{}\n{linked}\n", product("A", 1.0));
        let change = CatalogChange::parse(br#"{"delete":["A"]}"#).unwrap();
        let err = change
            .apply("catalog.ndjson", &catalog)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no product has id \"A\""), "{err}");
    }
}
