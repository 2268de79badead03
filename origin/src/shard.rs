//! Splitting a store too large for one KV value into shards.
//!
//! A bundle costs ~200 bytes a product, so one KV value (25 MiB) holds a
//! store of ~100k products. A larger store is cut along its category tree:
//! one shard per top-level category ("Electronics"), and a top-level
//! category too large for one shard is cut along its second level
//! ("Electronics/Phones", "Electronics/Audio"), those packed into as few
//! shards as fit (a second-level category still too large is cut into
//! runs of products in catalog order). A product is in exactly one
//! category shard. A small `global` shard holds the store's most active
//! products, whatever their category, for the pages that are about no one
//! category (home, cart).
//!
//! Each shard is a complete bundle, built from its products and the
//! events that name them: what a shard learns (viewed together, bought
//! together, similar products, search) stays within it. Rules are checked
//! once against the whole store; a shard keeps the rules that name its
//! own products and categories.
//!
//! `routes.fst` maps every product id to its category shard (an `fst`
//! map: ids share their prefixes, so a million ids cost a few bytes
//! each), for the edge to find a product page's shard. `terms.dir` maps
//! every search term of the category shards to the shards that hold it,
//! with how many of their products do ([`firstpaint_bundle::TermDirectory`]),
//! for the edge to send a query to the shards its words are in.

use std::collections::{BTreeMap, HashSet};

use firstpaint_contracts::{Event, EventKind, Product};
use serde::{Deserialize, Serialize};

use crate::build::ordinals;
use crate::inputs::Inputs;

/// One shard of the plan: its name and the products in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardSpec {
    /// File-safe name (`electronics`, `electronics-2`, `global`).
    pub name: String,
    /// The category paths it covers (`Electronics`, or
    /// `Electronics/Phones` when its top-level category was cut); empty
    /// for the global shard.
    pub categories: Vec<String>,
    /// Indexes into the catalog, in catalog order.
    pub products: Vec<usize>,
}

/// Cuts `products` into category shards of at most `max_products` each
/// (see the module docs). Every product is in exactly one.
pub fn plan(products: &[Product], max_products: usize) -> Vec<ShardSpec> {
    let max = max_products.max(1);
    // Top-level category -> second-level path -> products, in catalog
    // order; BTreeMaps so the plan does not depend on hashing.
    let mut tree: BTreeMap<&str, BTreeMap<String, Vec<usize>>> = BTreeMap::new();
    for (i, p) in products.iter().enumerate() {
        let top = p.category.first().map_or("", String::as_str);
        let second = p
            .category
            .iter()
            .take(2)
            .cloned()
            .collect::<Vec<_>>()
            .join("/");
        tree.entry(top)
            .or_default()
            .entry(second)
            .or_default()
            .push(i);
    }
    let mut shards = Vec::new();
    let mut taken = HashSet::new();
    for (top, seconds) in tree {
        // Two categories whose names slug alike ("Home & Kitchen", "Home
        // Kitchen") must not write the same file.
        let mut base = slug(if top.is_empty() { "uncategorized" } else { top });
        while !taken.insert(base.clone()) {
            base.push('_');
        }
        let total: usize = seconds.values().map(Vec::len).sum();
        if total <= max {
            let mut products: Vec<usize> = seconds.into_values().flatten().collect();
            products.sort_unstable();
            shards.push(ShardSpec {
                name: base,
                categories: vec![top.to_owned()],
                products,
            });
            continue;
        }
        // First fit, largest first: few shards, each under the limit.
        let mut parts: Vec<(String, Vec<usize>)> = Vec::new();
        for (path, products) in seconds {
            for (k, chunk) in products.chunks(max).enumerate() {
                let name = if products.len() > max {
                    format!("{path}#{}", k + 1)
                } else {
                    path.clone()
                };
                parts.push((name, chunk.to_vec()));
            }
        }
        parts.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
        let mut bins: Vec<(Vec<String>, Vec<usize>)> = Vec::new();
        for (path, products) in parts {
            match bins
                .iter_mut()
                .find(|(_, bin)| bin.len() + products.len() <= max)
            {
                Some((paths, bin)) => {
                    paths.push(path);
                    bin.extend(products);
                }
                None => bins.push((vec![path], products)),
            }
        }
        for (k, (mut categories, mut products)) in bins.into_iter().enumerate() {
            categories.sort();
            products.sort_unstable();
            shards.push(ShardSpec {
                name: format!("{base}-{}", k + 1),
                categories,
                products,
            });
        }
    }
    shards
}

/// The `size` products shoppers touched most (views, carts, orders),
/// whatever their category: the global shard's products, in catalog order.
pub fn global(inputs: &Inputs, size: usize) -> ShardSpec {
    let ordinal = ordinals(&inputs.products);
    let mut touches = vec![0u32; inputs.products.len()];
    for e in &inputs.events {
        for id in e.kind.products() {
            if let Some(t) = ordinal.get(id).and_then(|&i| touches.get_mut(i as usize)) {
                *t += 1;
            }
        }
    }
    let mut ranked: Vec<usize> = (0..inputs.products.len()).collect();
    let touched = |i: usize| touches.get(i).copied().unwrap_or(0);
    ranked.sort_by(|&a, &b| touched(b).cmp(&touched(a)).then(a.cmp(&b)));
    ranked.truncate(size);
    ranked.sort_unstable();
    ShardSpec {
        name: "global".to_owned(),
        categories: Vec::new(),
        products: ranked,
    }
}

/// The inputs of one shard: its products, and the events that name one of
/// them (an order keeps its lines for the shard's products) or name no
/// product at all (searches, landing pages: every shard's intent model
/// learns from them). Rules and synonyms are the store's.
pub fn inputs_for(inputs: &Inputs, shard: &ShardSpec) -> Inputs {
    let products: Vec<Product> = shard
        .products
        .iter()
        .filter_map(|&i| inputs.products.get(i).cloned())
        .collect();
    let ids: HashSet<&str> = products.iter().map(|p| p.id.as_str()).collect();
    let events: Vec<Event> = inputs
        .events
        .iter()
        .filter_map(|e| {
            let named = e.kind.products();
            if named.is_empty() {
                return Some(e.clone());
            }
            if !named.iter().any(|id| ids.contains(id)) {
                return None;
            }
            let mut e = e.clone();
            if let EventKind::Order { items, .. } = &mut e.kind {
                items.retain(|l| ids.contains(l.product.as_str()));
            }
            Some(e)
        })
        .collect();
    Inputs {
        products,
        events,
        rules: inputs.rules.clone(),
        synonyms: inputs.synonyms.clone(),
        wordnet: inputs.wordnet.clone(),
        related: inputs.related.clone(),
        files: inputs.files.clone(),
        ..*inputs
    }
}

/// `routes.fst`: every product id to the index of its category shard in
/// `shards`.
pub fn routes(products: &[Product], shards: &[ShardSpec]) -> Result<Vec<u8>, fst::Error> {
    let mut pairs: Vec<(&str, u64)> = Vec::with_capacity(products.len());
    for (s, shard) in (0u64..).zip(shards) {
        for &i in &shard.products {
            if let Some(p) = products.get(i) {
                pairs.push((p.id.as_str(), s));
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup_by(|a, b| a.0 == b.0);
    let mut map = fst::MapBuilder::memory();
    for (id, s) in pairs {
        map.insert(id, s)?;
    }
    map.into_inner()
}

/// Each search term of a built shard with how many of its products hold
/// it, read back from the shard's own index (so `terms.dir` holds exactly
/// the terms the shard's search matches).
pub fn shard_terms(engine: &firstpaint_engine::Engine) -> Vec<(String, u32)> {
    let Some(index) = engine.store().search_index() else {
        return Vec::new();
    };
    index
        .terms()
        .into_iter()
        .filter_map(|term| {
            let products = index.doc_freq(index.term_id(&term)?);
            Some((term, products))
        })
        .collect()
}

/// `shards.json`: what the origin wrote, for the publisher and the edge.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardIndex {
    /// The category shards, in plan order (`routes.fst` numbers them so).
    pub shards: Vec<ShardEntry>,
    /// The global shard.
    pub global: ShardEntry,
    /// The id -> shard map's file.
    pub routes: String,
    /// The search term -> shards directory's file.
    pub terms: String,
}

/// One written shard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardEntry {
    /// Its name.
    pub name: String,
    /// Its bundle's file, next to `shards.json`.
    pub file: String,
    /// The category paths it covers.
    pub categories: Vec<String>,
    /// Products in it.
    pub products: usize,
    /// Bundle bytes.
    pub bytes: usize,
    /// SHA-256 of the bundle, hex.
    pub sha256: String,
}

/// A name usable in file names and KV keys: lower-case ASCII letters and
/// digits, words joined by `-`.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for word in name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&word.to_ascii_lowercase());
    }
    if out.is_empty() {
        out.push_str("shard");
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn product(id: &str, category: &[&str]) -> Product {
        let mut p: Product = serde_json::from_str(&format!(
            r#"{{"id":"{id}","title":"t","price":1.0,"currency":"GBP","category":[],"created_at":"2026-01-01T00:00:00Z"}}"#
        ))
        .unwrap();
        p.category = category.iter().map(|c| (*c).to_owned()).collect();
        p
    }

    #[test]
    fn every_product_is_in_one_shard_within_the_limit() {
        let mut products = Vec::new();
        for i in 0..30 {
            products.push(product(
                &format!("e{i}"),
                &["Electronics", if i % 3 == 0 { "Audio" } else { "Phones" }],
            ));
        }
        for i in 0..7 {
            products.push(product(&format!("h{i}"), &["Home & Kitchen", "Pans"]));
        }
        products.push(product("x", &[]));
        let shards = plan(&products, 12);
        let mut seen: Vec<usize> = shards.iter().flat_map(|s| s.products.clone()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..products.len()).collect::<Vec<_>>());
        assert!(shards.iter().all(|s| s.products.len() <= 12));
        let names: Vec<&str> = shards.iter().map(|s| s.name.as_str()).collect();
        // The uncategorized product has a shard of its own; Electronics
        // (30: Phones 20 cut in two, Audio 10) takes three; Home & Kitchen
        // fits in one.
        assert_eq!(
            names,
            [
                "uncategorized",
                "electronics-1",
                "electronics-2",
                "electronics-3",
                "home-kitchen"
            ]
        );
        assert_eq!(shards[4].categories, ["Home & Kitchen"]);
        assert!(shards[1..4]
            .iter()
            .flat_map(|s| &s.categories)
            .all(|c| c.starts_with("Electronics/Phones") || c == "Electronics/Audio"));
        let routes = fst::Map::new(routes(&products, &shards).unwrap()).unwrap();
        assert_eq!(routes.get("h3"), Some(4));
        assert_eq!(routes.len(), products.len());
    }

    #[test]
    fn slugs_are_file_and_key_safe() {
        assert_eq!(slug("Home & Kitchen"), "home-kitchen");
        assert_eq!(slug("Électronique"), "lectronique");
        assert_eq!(slug("&&"), "shard");
    }
}
