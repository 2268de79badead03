//! A seeded generator of realistic synthetic stores, for the fixtures and for
//! benchmarks at any size.
//!
//! The store has ~30 leaf categories under 8 top levels, with brands,
//! variants, out-of-stock, low-stock, regulated and age-restricted products,
//! new arrivals and accessories linked to the devices they fit. Sessions
//! follow shopping missions: a shopper lands on a category, views popular
//! products in it (Zipf-distributed), drifts to accessories that fit,
//! sometimes adds to cart and orders what belongs together; a few shoppers
//! reorder the same coffee every two weeks. The same seed always writes the
//! same store.
//!
//! Two shapes ([`Shape`]): the classic one writes the fixtures, and keeps a
//! tiny title vocabulary and leaves without structure inside (the
//! adversarial case for search and the ANN); the structured one
//! (`taste/`) splits every leaf into taste clusters, series and variants,
//! titles products from a long-tail vocabulary (`lexicon.rs`) and has
//! sessions with structure down to the product.

mod catalog;
mod events;
mod lexicon;
mod refills;
mod taste;
mod vocab;

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use rand::distributions::WeightedIndex;
use rand::rngs::StdRng;
use rand::SeedableRng;
use time::OffsetDateTime;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Number of products.
    pub products: usize,
    /// Number of shopping sessions.
    pub sessions: usize,
    /// Random seed.
    pub seed: u64,
    /// The store's "now": products are listed and events happen before it.
    pub now: OffsetDateTime,
    /// How the catalog and the sessions are structured.
    pub shape: Shape,
}

/// How a generated store is structured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Shape {
    /// The fixtures' store: a small vocabulary (brand, one of 15 adjectives,
    /// the leaf's noun, a colour), and shoppers who pick inside a leaf by
    /// popularity alone, so a large store's leaves are tight clusters and
    /// most title words match a large share of the catalog (the
    /// adversarial case for search).
    #[default]
    Classic,
    /// Taste clusters inside every leaf (sub-type and price tier), series,
    /// base products with colour or pack variants, long-tail titles, and
    /// sessions that keep to one or two clusters and move to products like
    /// the last one viewed: structure at several scales, down to the
    /// product, as in real stores.
    Structured,
}

/// What was written.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// Products written.
    pub products: usize,
    /// Events written.
    pub events: usize,
}

/// Default rules for a generated store, with comments for merchandisers;
/// `{boost}` and `{pin}` are filled with product ids of the store.
const RULES: &str = r#"# Guardrail rules for the store. Edited by merchandisers, validated by
# `firstpaint build`, compiled into the bundle and applied after every model
# score: nothing a model ranks can break them.

[guardrails]
# Never promote a product with fewer units than this (over all locations).
min_inventory = 2
# Never promote a product that sells out sooner than this at the rate of
# its last 28 days of orders (days of cover); 0 turns it off.
min_cover_days = 3
# Regulated goods (medicines, alcohol) are never promoted.
exclude_regulated = true
# Products with these safety flags are never promoted.
exclude_safety = ["flammable"]
# Whole categories kept out of recommendations (by name or full path).
exclude_categories = ["Camping Fuel"]
# Products carrying these tags are never promoted.
exclude_tags = ["discontinued"]

# At most this many items of one brand, or of one leaf category, per slot
# (a `category` slot lists one category, so only the brand cap applies there).
max_per_brand = 3
max_per_category = 6
# A quarter of every slot is kept for products listed in the last 30 days.
new_arrival_share = 0.25
new_arrival_days = 30

# Nothing cheaper than this is promoted in the category.
[[guardrails.price_floors]]
category = "Electronics"
min_price = 12.0

# Nothing with a thinner margin ((price - cost) / price) is promoted.
[[guardrails.margin_floors]]
category = "Fashion"
min_margin = 0.35

# Kept out of recommendations for shoppers in one region only.
[[guardrails.regions]]
region = "US"
exclude_categories = ["Vitamins"]

# Orders from this value ship free; the cart's ladder slot closes the gap.
[shipping]
free_threshold = 50.0
# In stock and delivered within this many days: fast-ship, lifted in slots
# (blend.fast_ship) and search (search.fast_ship), and offered to new
# visitors on home.
fast_ship_days = 2

# A seasonal push: lift one product's score until the new year.
[[boosts]]
product = "{boost}"
weight = 0.3
from = "2026-11-01T00:00:00Z"
until = "2027-01-01T00:00:00Z"

# Message banners for `banner` slots: the active one with the highest
# priority whose condition holds and whose per-visit cap is not reached.
[[banners]]
id = "low-stock"
text = "Selling fast: only a few left"
show = "low_stock"
low_stock_below = 10
priority = 20

[[banners]]
id = "dispatch"
text = "Order before 3pm (UK time, GMT) for same-day dispatch"
show = "before_cutoff"
cutoff_hour = 15
priority = 10

[[banners]]
id = "free-shipping"
text = "Free shipping on orders over £50"
link = "/cart"
max_per_visit = 3

# A launch: first on the home page.
[[pins]]
product = "{pin}"
slot = "home"
position = 1

# Search: typo tolerance, the fast-ship lift, and per-query placements.
[search]
# Words of 5+ characters may match with one typo, of 9+ with two.
typo_one_from = 5
typo_two_from = 9
# How results that match the same words are ordered: BM25 relevance
# (title > brand, category > attributes > description), attribute or brand
# words found in those fields, the shopper's session, stock, fast shipping,
# rating, popularity, and what the store's shoppers went on to view, cart
# or order after the same query (learned from the events). Every result
# shows these parts.
lexical = 1.0
attribute = 0.15
session = 0.3
stock = 0.1
fast_ship = 0.05
rating = 0.1
popularity = 0.1
learned = 0.3

# A campaign: this charger first when shoppers search "chargers".
[[search.pins]]
query = "chargers"
product = "{search_pin}"
position = 1

# Kept at the end of "phone case" results (a supplier dispute).
[[search.buries]]
query = "phone case"
product = "{search_bury}"

# How much each signal counts; every ranked item shows these parts.
[blend]
similarity = 0.5
popularity = 0.2
category_affinity = 0.15
co_view = 0.15
# What shoppers opened right after the session's recent products.
sequence = 0.5
# What shoppers whose recent sessions were like this one opened (the
# session neighbourhood; next and home slots).
neighbours = 1.5
# Interest rising well above its usual rate (last week vs the four before).
trending = 0.1
# Cheaper than its category, where the category's shoppers respond to price.
deal = 0.05
# In stock and delivered within shipping.fast_ship_days.
fast_ship = 0.05
# Priced where this shopper usually looks (relative to each category's
# median), as far as their profile knows it: a tie-breaker.
price_fit = 0.02
# Cart add-ons: what this shopper ordered before, times how often the
# shoppers of its category order the same product again (near 0 where
# they do not), so staples come back where baskets repeat.
rebuy = 0.5
# `next` only: the products this visit viewed, by how often the store's
# next clicks go back to a product that many views back (the build
# measures it; the likeliest is 1). Off: a product page leaves out the
# product shown, and recently viewed products have their own row.
returns = 0.0

# How long the events the edge collects are kept (days): the edge's
# export (/p13n/events) returns nothing older, and `firstpaint events
# prune --rules rules.toml` deletes it. 395 is thirteen months.
[events]
retention_days = 395

# Holdouts measure what personalization earns: per module (each slot
# type, and search) a share of consenting shoppers sees the rules and
# priors only, and a global holdout sees that everywhere. A store's
# defaults are 0.1 and 0.1. A generated store holds out nobody, so its
# tests and benchmarks see every consenting shopper personalized;
# tests/experiments.test.mjs builds a bundle with holdouts of its own.
[experiments]
holdout = 0.0
global_holdout = 0.0
"#;

/// The rules, boosting a pair of headphones, pinning a new, well-stocked
/// board game, pinning a charger to the "chargers" search and burying a
/// phone case in "phone case" (products any store of this generator has).
fn rules_for(products: &[catalog::Generated]) -> String {
    let pick = |leaf: &str, new: bool| {
        products
            .iter()
            .map(|g| &g.product)
            .find(|p| {
                p.category.last().is_some_and(|c| c == leaf)
                    && p.available() >= 10
                    && p.tags.iter().any(|t| t == "new") == new
                    && !p.tags.iter().any(|t| t == "discontinued")
            })
            .map_or_else(
                || {
                    products
                        .first()
                        .map(|g| g.product.id.clone())
                        .unwrap_or_default()
                },
                |p| p.id.clone(),
            )
    };
    RULES
        .replace("{boost}", &pick("Headphones", false))
        .replace("{pin}", &pick("Board Games", true))
        .replace("{search_pin}", &pick("Chargers", false))
        .replace("{search_bury}", &pick("Phone Cases", false))
}

/// Writes `catalog.ndjson`, `events.ndjson` and `rules.toml` into `dir`.
pub fn write(spec: &Spec, dir: &Path) -> anyhow::Result<Summary> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: failed to create", dir.display()))?;
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let leaves = vocab::leaves();
    let (products, mut events) = match spec.shape {
        Shape::Classic => {
            let products = catalog::generate(&leaves, spec, &mut rng);
            let shoppers = events::Classic::new(&leaves, &products, &mut rng);
            let events = events::generate(&shoppers, spec, &mut rng);
            (products, events)
        }
        Shape::Structured => {
            let (products, taste) = taste::generate(&leaves, spec, &mut rng);
            let shoppers = taste::Shoppers::new(&leaves, &products, &taste);
            let events = events::generate(&shoppers, spec, &mut rng);
            (products, events)
        }
    };
    events.extend(refills::generate(&leaves, &products, spec));

    write_lines(
        &dir.join("catalog.ndjson"),
        products.iter().map(|p| &p.product),
    )?;
    write_lines(&dir.join("events.ndjson"), events.iter())?;
    let rules = dir.join("rules.toml");
    std::fs::write(&rules, rules_for(&products))
        .with_context(|| format!("{}: failed to write", rules.display()))?;
    Ok(Summary {
        products: products.len(),
        events: events.len(),
    })
}

/// A Zipf sampler over `n` ranks: rank `r` (from 0) is drawn in
/// proportion to `1 / (r + 1)^exponent`; `None` when `n` is 0.
fn zipf(n: usize, exponent: f64) -> Option<WeightedIndex<f64>> {
    WeightedIndex::new((0..n).map(|r| 1.0 / (r as f64 + 1.0).powf(exponent))).ok()
}

fn write_lines<'a, T: serde::Serialize + 'a>(
    path: &Path,
    records: impl Iterator<Item = &'a T>,
) -> anyhow::Result<()> {
    let context = || format!("{}: failed to write", path.display());
    let file = std::fs::File::create(path).with_context(context)?;
    let mut out = std::io::BufWriter::new(file);
    for r in records {
        serde_json::to_writer(&mut out, r).with_context(context)?;
        out.write_all(b"\n").with_context(context)?;
    }
    out.flush().with_context(context)
}

#[cfg(test)]
mod tests;
