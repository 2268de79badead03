//! Synthetic products.

use std::collections::BTreeMap;

use firstpaint_contracts::{Media, Product, Rating, Stock, Variant};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use time::Duration;

use super::vocab::{materials, Leaf, ADJECTIVES, COLOURS};
use super::Spec;

/// A generated product and the leaf it belongs to.
pub struct Generated {
    /// The product as written to the catalog.
    pub product: Product,
    /// Index into the leaves.
    pub leaf: usize,
}

const SENTENCES: &[&str] = &[
    "Built to last and easy to care for.",
    "A customer favourite for everyday use.",
    "Designed in the UK and tested for quality.",
    "Thoughtfully packaged in recyclable materials.",
    "Backed by a two-year guarantee.",
    "Pairs well with the rest of the range.",
];

fn pick<'a>(rng: &mut StdRng, items: &'a [&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or_default()
}

/// Generates `spec.products` products spread over `leaves` by demand.
pub fn generate(leaves: &[Leaf], spec: &Spec, rng: &mut StdRng) -> Vec<Generated> {
    let mut out: Vec<Generated> = Vec::with_capacity(spec.products);
    for (leaf_index, (leaf, count)) in leaves.iter().zip(leaf_counts(leaves, spec)).enumerate() {
        for _ in 0..count {
            out.push(Generated {
                product: product(sku(out.len() + 1, spec), leaf, spec, rng),
                leaf: leaf_index,
            });
        }
    }
    link_accessories(leaves, &mut out, rng);
    out
}

/// How many of the `spec.products` products each leaf gets: its share of
/// the demand, at least one while products last, the rest to the last leaf.
pub fn leaf_counts(leaves: &[Leaf], spec: &Spec) -> Vec<usize> {
    let total_demand: f64 = leaves.iter().map(|l| l.demand).sum();
    let mut given = 0;
    let mut counts = Vec::with_capacity(leaves.len());
    for (leaf_index, leaf) in leaves.iter().enumerate() {
        let left = spec.products.saturating_sub(given);
        let share = (spec.products as f64 * leaf.demand / total_demand).round() as usize;
        let count = if leaf_index + 1 == leaves.len() {
            left
        } else {
            share.max(1).min(left)
        };
        given += count;
        counts.push(count);
    }
    counts
}

/// The id of the `i`-th product (from 1), zero-padded to the catalog's size.
pub fn sku(i: usize, spec: &Spec) -> String {
    let width = spec.products.to_string().len().max(5);
    format!("SKU-{i:0width$}")
}

fn product(id: String, leaf: &Leaf, spec: &Spec, rng: &mut StdRng) -> Product {
    let brand = pick(rng, leaf.brands);
    let adjective = pick(rng, ADJECTIVES);
    let noun = pick(rng, leaf.nouns);
    let colour = pick(rng, COLOURS);
    let material = pick(rng, materials(leaf.top));
    let title = format!("{brand} {adjective} {noun}, {}", capitalise(colour));
    let price = price_between(rng, leaf.price);
    let description = format!(
        "The {} {} from {brand} in {colour}, made with {material}. {}",
        adjective.to_lowercase(),
        noun.to_lowercase(),
        blurb(rng),
    );
    let mut attributes = BTreeMap::new();
    attributes.insert("colour".to_owned(), colour.to_owned());
    attributes.insert("material".to_owned(), material.to_owned());
    let text = Text {
        title,
        description,
        brand: brand.to_owned(),
        attributes,
    };
    assemble(id, leaf, text, price, spec, rng)
}

/// A price drawn log-uniformly from `(lo, hi)`, ending in .99.
pub fn price_between(rng: &mut StdRng, (lo, hi): (f64, f64)) -> f64 {
    (rng.gen_range(lo.ln()..hi.ln()).exp()).floor() + 0.99
}

/// Two distinct sentences of shop copy for a description.
pub fn blurb(rng: &mut StdRng) -> String {
    let sentences: Vec<&str> = SENTENCES.choose_multiple(rng, 2).copied().collect();
    sentences.join(" ")
}

/// The words of a product, which each shape writes its own way.
pub struct Text {
    /// Title (also the image's alt text).
    pub title: String,
    /// Description.
    pub description: String,
    /// Brand.
    pub brand: String,
    /// Attributes (colour, material, ...).
    pub attributes: BTreeMap<String, String>,
}

/// The product with `text` at `price`, and the rest drawn as every shape
/// draws it: stock in two locations (some out, some running low), sizes as
/// variants, listing age (a tenth new), a few discontinued, cost, rating
/// and delivery time.
pub fn assemble(
    id: String,
    leaf: &Leaf,
    text: Text,
    price: f64,
    spec: &Spec,
    rng: &mut StdRng,
) -> Product {
    let stock_roll: f64 = rng.gen();
    let (london, manchester) = if stock_roll < 0.08 {
        (0, 0)
    } else if stock_roll < 0.13 {
        (1, 0)
    } else if stock_roll < 0.18 {
        // Running low (the same draws as below, so the stream stays put).
        let (a, b) = (rng.gen_range(0..150), rng.gen_range(2..120));
        (a % 4, b % 5 + 1)
    } else {
        (rng.gen_range(0..150), rng.gen_range(2..120))
    };
    let inventory = vec![
        Stock {
            location: "london".into(),
            available: london,
            lead_days: 0,
        },
        Stock {
            location: "manchester".into(),
            available: manchester,
            lead_days: rng.gen_range(0..3),
        },
    ];
    let variants = leaf
        .sizes
        .iter()
        .map(|size| Variant {
            id: format!("{id}-{size}"),
            attributes: BTreeMap::from([("size".to_owned(), (*size).to_owned())]),
            price: None,
            available: rng.gen_range(0..40),
        })
        .collect();
    let age_days = if rng.gen_bool(0.1) {
        rng.gen_range(0..30)
    } else {
        rng.gen_range(30..540)
    };
    let created_at =
        spec.now - Duration::days(age_days) - Duration::minutes(rng.gen_range(0..1440));
    let mut tags = Vec::new();
    if age_days < 30 {
        tags.push("new".to_owned());
    }
    if rng.gen_bool(0.03) {
        tags.push("discontinued".to_owned());
    }
    let Text {
        title,
        description,
        brand,
        attributes,
    } = text;
    Product {
        title: title.clone(),
        description,
        brand: Some(brand),
        category: vec![leaf.top.to_owned(), leaf.name.to_owned()],
        attributes,
        variants,
        price,
        cost: Some((price * rng.gen_range(0.35..0.7) * 100.0).round() / 100.0),
        currency: "GBP".into(),
        rating: rng.gen_bool(0.85).then(|| Rating {
            average: (rng.gen_range(3.0f32..5.0) * 10.0).round() / 10.0,
            count: rng.gen_range(1..500),
        }),
        inventory,
        ship_days: Some(rng.gen_range(1..6)),
        // A picture of its own, as every real catalog has: pages then load
        // one image per card, whichever products fill them.
        media: vec![Media {
            url: format!("/img/{}.svg", id.to_lowercase()),
            alt: title,
        }],
        compatible_with: Vec::new(),
        tags,
        regulated: leaf.regulated,
        safety: leaf.safety.iter().map(|s| (*s).to_owned()).collect(),
        url: None,
        created_at,
        updated_at: None,
        id,
    }
}

/// Each accessory fits one to three devices of the leaf it serves.
fn link_accessories(leaves: &[Leaf], products: &mut [Generated], rng: &mut StdRng) {
    let mut ids_by_leaf: Vec<Vec<String>> = vec![Vec::new(); leaves.len()];
    for g in products.iter() {
        if let Some(ids) = ids_by_leaf.get_mut(g.leaf) {
            ids.push(g.product.id.clone());
        }
    }
    for g in products.iter_mut() {
        let target = leaves
            .get(g.leaf)
            .and_then(|l| l.accessory_of)
            .and_then(|name| leaves.iter().position(|l| l.name == name));
        let Some(devices) = target.and_then(|t| ids_by_leaf.get(t)) else {
            continue;
        };
        let n = rng.gen_range(1..=3).min(devices.len());
        g.product.compatible_with = devices.choose_multiple(rng, n).cloned().collect();
    }
}

/// `s` with its first letter in upper case.
pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
