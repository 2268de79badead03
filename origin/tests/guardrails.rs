//! Guardrails hold on every surface, for random rule sets and sessions,
//! end to end: the rules are drawn in the merchant's vocabulary
//! (`rules.toml`'s names, not indexes), compiled by the origin, with days
//! of cover computed from the fixtures' events. (The engine's own property
//! over rules written directly is `crates/engine/tests/guardrails.rs`.)
//!
//! For random rules (inventory threshold, regulated/safety/category/tag
//! exclusions, price and margin floors, brand and category caps, new-arrival
//! share, pins and boosts) built into a fixtures bundle, and random
//! requests on every slot type:
//! 1. no item is excluded, below a floor, below the inventory threshold or
//!    selling out sooner than `min_cover_days`;
//! 2. add-ons are compatible with their product; cart add-ons ship from the
//!    cart's location within its lead time;
//! 3. brand and category caps hold, pins included;
//! 4. no item repeats, none is the page's product or in the cart, and no
//!    slot is longer than asked.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::collections::{HashMap, HashSet};

use firstpaint_contracts::{
    Boost, EventKind, MarginFloor, Pin, PriceFloor, Product, RegionExclusion, Rules,
};
use firstpaint_engine::{Engine, PriceBand, SlotKind, SlotRequest};
use firstpaint_origin::build::{build, BuildOptions};
use firstpaint_origin::inputs::{load, InputPaths, Inputs};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use support::{key, root, NOW};

fn fixtures() -> Inputs {
    let root = root();
    load(&InputPaths::in_dir(&root.join("fixtures"))).unwrap()
}

fn random_rules(seed: u64, products: &[Product]) -> Rules {
    let mut rng = StdRng::seed_from_u64(seed);
    let leaves: Vec<String> = {
        let mut l: Vec<String> = products
            .iter()
            .map(|p| p.category.last().unwrap().clone())
            .collect();
        l.sort();
        l.dedup();
        l
    };
    let mut rules = Rules::default();
    let g = &mut rules.guardrails;
    g.min_inventory = rng.gen_range(0..30);
    g.exclude_regulated = rng.gen_bool(0.7);
    g.exclude_safety = ["flammable", "small-parts", "age-restricted"]
        .iter()
        .filter(|_| rng.gen_bool(0.4))
        .map(|s| s.to_string())
        .collect();
    let n = rng.gen_range(0..5);
    g.exclude_categories = leaves.choose_multiple(&mut rng, n).cloned().collect();
    g.exclude_tags = ["discontinued", "new"]
        .iter()
        .filter(|_| rng.gen_bool(0.3))
        .map(|s| s.to_string())
        .collect();
    g.price_floors = (0..rng.gen_range(0..4))
        .map(|_| PriceFloor {
            category: leaves.choose(&mut rng).unwrap().clone(),
            min_price: rng.gen_range(0.0..80.0),
        })
        .collect();
    g.margin_floors = (0..rng.gen_range(0..4))
        .map(|_| MarginFloor {
            category: leaves.choose(&mut rng).unwrap().clone(),
            min_margin: rng.gen_range(0.0..0.6),
        })
        .collect();
    g.max_per_brand = rng.gen_bool(0.6).then(|| rng.gen_range(1..4));
    g.max_per_category = rng.gen_bool(0.6).then(|| rng.gen_range(1..4));
    for region in ["US", "DE"] {
        if rng.gen_bool(0.5) {
            g.regions.push(RegionExclusion {
                region: region.into(),
                exclude_categories: leaves.choose_multiple(&mut rng, 3).cloned().collect(),
                exclude_tags: vec!["new".into()],
                exclude_regulated: true,
            });
        }
    }
    g.min_cover_days = if rng.gen_bool(0.4) {
        rng.gen_range(1.0..60.0)
    } else {
        0.0
    };
    g.new_arrival_share = if rng.gen_bool(0.5) {
        rng.gen_range(0.0..1.0)
    } else {
        0.0
    };
    let kinds = SlotKind::ALL;
    rules.pins = (0..rng.gen_range(0..4))
        .map(|_| Pin {
            product: products.choose(&mut rng).unwrap().id.clone(),
            slot: kinds.choose(&mut rng).unwrap().as_str().to_owned(),
            position: rng.gen_range(1..6),
            from: None,
            until: None,
        })
        .collect();
    rules.boosts = (0..rng.gen_range(0..6))
        .map(|_| Boost {
            product: products.choose(&mut rng).unwrap().id.clone(),
            weight: rng.gen_range(-1.0..1.0),
            slot: None,
            from: None,
            until: None,
        })
        .collect();
    rules.shipping.free_threshold = Some(rng.gen_range(20.0..200.0));
    rules.shipping.fast_ship_days = rng.gen_range(0..6);
    // Score weights only order what the rules allow; strong ones must not
    // let anything through either.
    rules.blend.fast_ship = rng.gen_range(0.0..1.0);
    rules.blend.price_fit = rng.gen_range(0.0..1.0);
    rules.blend.deal = rng.gen_range(0.0..1.0);
    // The session's own products come back into `next`.
    rules.blend.returns = rng.gen_range(0.0..10.0);
    rules
}

/// Days each product takes to sell out at the rate of the 28 days of
/// orders before the newest event, computed here from the events.
fn cover_days(inputs: &Inputs) -> HashMap<&str, f64> {
    let newest = inputs.events.iter().map(|e| e.ts).max().unwrap();
    let mut units: HashMap<&str, f64> = HashMap::new();
    for e in &inputs.events {
        if let EventKind::Order { items, .. } = &e.kind {
            if (newest - e.ts).whole_seconds() < 28 * 86_400 {
                for l in items {
                    *units.entry(l.product.as_str()).or_default() += f64::from(l.qty);
                }
            }
        }
    }
    inputs
        .products
        .iter()
        .filter_map(|p| {
            let sold = units.get(p.id.as_str())?;
            Some((p.id.as_str(), p.available() as f64 / (sold / 28.0)))
        })
        .collect()
}

/// Why `p` breaks `rules` for a shopper in `region`, outside any slot, if it
/// does; `cover` is every product's days of cover.
fn breaks(
    p: &Product,
    rules: &Rules,
    region: Option<&str>,
    cover: &HashMap<&str, f64>,
) -> Option<String> {
    let g = &rules.guardrails;
    let days = cover.get(p.id.as_str()).copied().unwrap_or(f64::MAX);
    // A hair of slack: the engine stores the cover as f32.
    if f64::from(g.min_cover_days) > 0.0 && days < f64::from(g.min_cover_days) - 1e-3 {
        return Some(format!("{days:.2} days of cover"));
    }
    let in_cat = |c: &str| p.category.iter().any(|x| x == c);
    for r in g
        .regions
        .iter()
        .filter(|r| Some(r.region.as_str()) == region)
    {
        let excluded = (r.exclude_regulated && p.regulated)
            || r.exclude_categories.iter().any(|c| in_cat(c))
            || p.tags.iter().any(|t| r.exclude_tags.contains(t));
        if excluded {
            return Some(format!("excluded in {}", r.region));
        }
    }
    if p.available() < u64::from(g.min_inventory) {
        return Some("inventory".into());
    }
    if g.exclude_regulated && p.regulated {
        return Some("regulated".into());
    }
    if p.safety.iter().any(|s| g.exclude_safety.contains(s)) {
        return Some("safety".into());
    }
    if g.exclude_categories.iter().any(|c| in_cat(c)) {
        return Some("category".into());
    }
    if p.tags.iter().any(|t| g.exclude_tags.contains(t)) {
        return Some("tag".into());
    }
    if g.price_floors
        .iter()
        .any(|f| in_cat(&f.category) && p.price < f.min_price)
    {
        return Some("price floor".into());
    }
    if let Some(cost) = p.cost.filter(|c| *c > 0.0) {
        let margin = (p.price - cost) / p.price;
        if g.margin_floors
            .iter()
            .any(|f| in_cat(&f.category) && margin < f64::from(f.min_margin))
        {
            return Some("margin floor".into());
        }
    }
    None
}

fn ships_with_cart(item: &Product, cart: &[&Product], min_inventory: u32) -> bool {
    let mut coverage: HashMap<&str, (usize, u16)> = HashMap::new();
    for p in cart {
        for s in p.inventory.iter().filter(|s| s.available > 0) {
            let e = coverage.entry(s.location.as_str()).or_default();
            e.0 += 1;
            e.1 = e.1.max(s.lead_days);
        }
    }
    let best = coverage.values().map(|(n, _)| *n).max().unwrap_or(0);
    item.inventory.iter().any(|s| {
        s.available >= min_inventory.max(1)
            && coverage
                .get(s.location.as_str())
                .is_some_and(|&(n, lead)| n == best && s.lead_days <= lead)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10))]

    #[test]
    fn guardrails_hold_on_every_surface(seed in any::<u64>()) {
        let mut inputs = fixtures();
        inputs.rules = random_rules(seed, &inputs.products);
        let opts = BuildOptions { now: NOW, ttl_days: 14, progress: false, rules_file: "rules.toml".into(), shard: false };
        let (bytes, _) = build(&inputs, &key(), &opts).unwrap();
        let engine = Engine::open(&bytes, &key().verifying_key(), NOW).unwrap();
        let by_id: HashMap<&str, &Product> = inputs.products.iter().map(|p| (p.id.as_str(), p)).collect();
        let compatible = |a: &Product, b: &Product| a.compatible_with.contains(&b.id) || b.compatible_with.contains(&a.id);
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
        let ids: Vec<&str> = inputs.products.iter().map(|p| p.id.as_str()).collect();
        let g = &inputs.rules.guardrails;
        let cover = cover_days(&inputs);
        for _ in 0..60 {
            let kind = *SlotKind::ALL.choose(&mut rng).unwrap();
            let mut req = SlotRequest::new(kind);
            req.k = Some(rng.gen_range(1..=24));
            req.visitor.now = NOW;
            req.visitor.returning = rng.gen_bool(0.5);
            req.visitor.viewed = (0..rng.gen_range(0..6)).map(|_| ids.choose(&mut rng).unwrap().to_string()).collect();
            req.product = Some(ids.choose(&mut rng).unwrap().to_string());
            req.cart = (0..rng.gen_range(1..4)).map(|_| ids.choose(&mut rng).unwrap().to_string()).collect();
            req.visitor.region = [None, Some("US"), Some("DE"), Some("GB")].choose(&mut rng).unwrap().map(str::to_owned);
            // The rest of a profile: wanted and ordered products, the
            // visit's category pages, searches and channel, a price band.
            req.visitor.wanted = (0..rng.gen_range(0..3)).map(|_| ids.choose(&mut rng).unwrap().to_string()).collect();
            req.visitor.ordered = (0..rng.gen_range(0..3))
                .map(|_| (ids.choose(&mut rng).unwrap().to_string(), NOW - rng.gen_range(0..60) * 86_400))
                .collect();
            let categories: Vec<&String> = engine.store().categories().iter().collect();
            req.category = Some(categories.choose(&mut rng).unwrap().to_string());
            req.visitor.signals.categories = (0..rng.gen_range(0..3)).map(|_| categories.choose(&mut rng).unwrap().to_string()).collect();
            req.visitor.signals.queries = (0..rng.gen_range(0..2)).map(|_| ["tent", "red dress", "coffee"].choose(&mut rng).unwrap().to_string()).collect();
            req.visitor.signals.channel = [None, Some("search"), Some("social")].choose(&mut rng).unwrap().map(str::to_owned);
            req.visitor.price_band = rng.gen_bool(0.5).then(|| PriceBand { level: rng.gen_range(-1.5..1.5), evidence: rng.gen_range(0.0..12.0) });
            let ranking = engine.rank(&req).unwrap();
            prop_assert!(ranking.items.len() <= req.k.unwrap());
            let mut seen = HashSet::new();
            let mut brands: HashMap<&str, u32> = HashMap::new();
            let mut leaves: HashMap<&str, u32> = HashMap::new();
            let cart: Vec<&Product> = req.cart.iter().map(|id| by_id[id.as_str()]).collect();
            for item in &ranking.items {
                let p = by_id[item.id.as_str()];
                prop_assert!(seen.insert(&item.id), "{} twice in {kind}", item.id);
                if let Some(why) = breaks(p, &inputs.rules, req.visitor.region.as_deref(), &cover) {
                    prop_assert!(false, "{} shown in {kind} despite {why}", item.id);
                }
                if kind.needs_product() {
                    prop_assert!(req.product.as_deref() != Some(item.id.as_str()), "the page's product in {kind}");
                }
                if kind.needs_cart() {
                    prop_assert!(!req.cart.contains(&item.id), "a cart item in {kind}");
                }
                if kind.needs_category() && item.source != "pin" {
                    let listed = req.category.as_deref().unwrap();
                    let path = p.category.join("/");
                    prop_assert!(
                        path == listed || path.starts_with(&format!("{listed}/")),
                        "{} ({path}) listed in category {listed}", item.id
                    );
                }
                if kind == SlotKind::Addons {
                    let anchor = by_id[req.product.as_deref().unwrap()];
                    prop_assert!(compatible(anchor, p), "{} is not compatible with {}", item.id, anchor.id);
                }
                if kind == SlotKind::CartAddons {
                    prop_assert!(ships_with_cart(p, &cart, g.min_inventory), "{} splits the shipment", item.id);
                }
                if let Some(b) = p.brand.as_deref() {
                    *brands.entry(b).or_default() += 1;
                }
                *leaves.entry(p.category.last().unwrap().as_str()).or_default() += 1;
            }
            if let Some(cap) = g.max_per_brand {
                prop_assert!(brands.values().all(|&n| n <= cap), "brand cap {cap} broken in {kind}: {brands:?}");
            }
            // (A category slot lists one category: the category cap is not its rule.)
            if let (Some(cap), false) = (g.max_per_category, kind == SlotKind::Category) {
                prop_assert!(leaves.values().all(|&n| n <= cap), "category cap {cap} broken in {kind}: {leaves:?}");
            }
        }
    }
}
