//! Guardrails hold on every surface, for random rules and random shoppers.
//!
//! For random rules (inventory and cover thresholds, regulated, safety,
//! category and tag exclusions, regional exclusions, price and margin
//! floors, brand and category caps, new-arrival share, pins, boosts,
//! search pins, score weights) written into the hand-built store, and
//! random requests on every slot kind and search:
//! 1. no item breaks a rule (checked against the catalog as written, not
//!    as the engine reads it); a region's exclusions hold for shoppers of
//!    that region only; search may list what is out of stock or selling
//!    out, nothing else;
//! 2. pins and boosts never bring in what a rule forbids;
//! 3. add-ons are compatible with their product; cart add-ons ship from
//!    the cart's location within its lead time; a category slot lists its
//!    category only;
//! 4. brand and category caps hold, pins included;
//! 5. no item repeats, none is the page's product or in the cart, no slot
//!    is longer than asked, and each score is the sum of its reasons.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use firstpaint_bundle::LiveHeader;
use firstpaint_contracts::{LiveUpdate, Stock};
use firstpaint_engine::{
    BoostRule, PinRule, PriceBand, ProductRecord, RegionRule, RulesSection, SearchPinRule,
    SearchRequest, SlotKind, SlotRequest, StockAt,
};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use support::{catalog, category, engine_with, id, priors, NOW};

/// Products in the store.
const PRODUCTS: u32 = 54;
/// Categories in the store.
const CATEGORIES: u32 = 12;
/// What the random searches type.
const QUERIES: [&str; 8] = [
    "smartphone",
    "charger",
    "red",
    "tea",
    "tent",
    "fuel",
    "pixelon",
    "wine",
];
/// The regions shoppers come from (`None`: unknown).
const REGIONS: [Option<&str>; 4] = [None, Some("US"), Some("DE"), Some("GB")];

fn region_rule() -> impl Strategy<Value = RegionRule> {
    (
        select(vec!["US", "DE"]),
        subsequence((0..CATEGORIES).collect::<Vec<_>>(), 0..4),
        subsequence(vec!["new".to_owned(), "sale".to_owned()], 0..2),
        any::<bool>(),
    )
        .prop_map(
            |(region, exclude_categories, exclude_tags, exclude_regulated)| RegionRule {
                region: region.into(),
                exclude_categories,
                exclude_tags,
                exclude_regulated,
            },
        )
}

prop_compose! {
    /// The guardrails: what is never shown.
    fn exclusions()(
        min_inventory in 0u32..30,
        min_cover_days in prop_oneof![Just(0.0f32), 1.0f32..60.0],
        exclude_regulated in any::<bool>(),
        exclude_safety in subsequence(vec!["flammable".to_owned(), "small-parts".to_owned()], 0..=2),
        exclude_categories in subsequence((0..CATEGORIES).collect::<Vec<_>>(), 0..3),
        exclude_tags in subsequence(vec!["discontinued".to_owned(), "new".to_owned()], 0..=2),
        price_floors in proptest::collection::vec((0..CATEGORIES, 0.0f64..200.0), 0..3),
        margin_floors in proptest::collection::vec((0..CATEGORIES, 0.0f64..0.6), 0..3),
        regions in proptest::collection::vec(region_rule(), 0..3),
    ) -> RulesSection {
        RulesSection {
            min_inventory, min_cover_days, exclude_regulated, exclude_safety,
            exclude_categories, exclude_tags, price_floors, margin_floors, regions,
            ..support::default_rules()
        }
    }
}

prop_compose! {
    /// Random rules: exclusions, caps, pins, boosts and weights.
    fn rules()(
        exclusions in exclusions(),
        max_per_brand in proptest::option::of(1u32..4),
        max_per_category in proptest::option::of(1u32..4),
        new_arrival_share in prop_oneof![Just(0.0f32), 0.0f32..1.0],
        pins in proptest::collection::vec((0..PRODUCTS, select(SlotKind::ALL.to_vec()), 1u32..6), 0..4),
        boosts in proptest::collection::vec((0..PRODUCTS, -1.0f32..1.0), 0..6),
        search_pins in proptest::collection::vec((0..PRODUCTS, select(QUERIES.to_vec()), 1u32..4), 0..4),
        weights in (0.0f32..1.0, 0.0f32..1.0, 0.0f32..1.0, 0.0f32..1.0, 0.0f32..10.0),
        free_shipping in 20.0f64..200.0,
        fast_ship_days in 0u16..6,
    ) -> RulesSection {
        let mut rules = RulesSection {
            max_per_brand, max_per_category, new_arrival_share,
            free_shipping_threshold: Some(free_shipping),
            fast_ship_days,
            ..exclusions
        };
        rules.pins = pins.into_iter()
            .map(|(product, slot, position)| PinRule { product, slot, position, from: 0, until: i64::MAX })
            .collect();
        rules.boosts = boosts.into_iter()
            .map(|(product, weight)| BoostRule { product, slot: None, weight, from: 0, until: i64::MAX })
            .collect();
        rules.search.pins = search_pins.into_iter()
            .map(|(product, query, position)| SearchPinRule {
                query: firstpaint_engine::text::normalize::query_key(query),
                product,
                position,
            })
            .collect();
        // Score weights only order what the rules allow; strong ones must
        // not let anything through either.
        // `returns` brings the session's own products back into `next`.
        (rules.blend.fast_ship, rules.blend.price_fit, rules.blend.deal, rules.blend.margin, rules.blend.returns) = weights;
        rules
    }
}

/// One random request: a slot of any kind, with a product, a cart, a
/// category and a shopper, or a search.
#[derive(Debug, Clone)]
struct Ask {
    kind: Option<SlotKind>,
    query: &'static str,
    k: usize,
    product: u32,
    cart: Vec<u32>,
    category: u32,
    viewed: Vec<u32>,
    wanted: Vec<u32>,
    ordered: Vec<(u32, i64)>,
    region: Option<&'static str>,
    returning: bool,
    price_band: Option<(f32, f32)>,
}

prop_compose! {
    fn ask()(
        kind in proptest::option::of(select(SlotKind::ALL.to_vec())),
        query in select(QUERIES.to_vec()),
        k in 1usize..=24,
        product in 0..PRODUCTS,
        cart in proptest::collection::vec(0..PRODUCTS, 1..4),
        category in 0..CATEGORIES,
        viewed in proptest::collection::vec(0..PRODUCTS, 0..6),
        wanted in proptest::collection::vec(0..PRODUCTS, 0..3),
        ordered in proptest::collection::vec((0..PRODUCTS, 0i64..60), 0..3),
        region in select(REGIONS.to_vec()),
        returning in any::<bool>(),
        price_band in proptest::option::of((-1.5f32..1.5, 0.0f32..12.0)),
    ) -> Ask {
        let ordered = ordered.into_iter().map(|(o, days)| (o, NOW - days * 86_400)).collect();
        Ask { kind, query, k, product, cart, category, viewed, wanted, ordered, region, returning, price_band }
    }
}

impl Ask {
    fn visitor(&self) -> firstpaint_engine::Visitor {
        let ids = |ords: &[u32]| ords.iter().map(|&o| id(o)).collect();
        firstpaint_engine::Visitor {
            viewed: ids(&self.viewed),
            returning: self.returning,
            wanted: ids(&self.wanted),
            ordered: self.ordered.iter().map(|&(o, at)| (id(o), at)).collect(),
            price_band: self
                .price_band
                .map(|(level, evidence)| PriceBand { level, evidence }),
            region: self.region.map(str::to_owned),
            now: NOW,
            ..firstpaint_engine::Visitor::default()
        }
    }

    fn slot(&self, kind: SlotKind) -> SlotRequest {
        let mut req = SlotRequest::new(kind);
        req.k = Some(self.k);
        req.product = Some(id(self.product));
        req.cart = self.cart.iter().map(|&o| id(o)).collect();
        req.category = support::categories().get(self.category as usize).cloned();
        req.visitor = self.visitor();
        req
    }

    fn search(&self) -> SearchRequest {
        let mut req = SearchRequest::new(self.query);
        req.per_page = self.k;
        req.visitor = self.visitor();
        req
    }
}

/// Each product's units sold per day, as the store's priors give them.
fn daily_sales() -> &'static [f32] {
    static SALES: OnceLock<Vec<f32>> = OnceLock::new();
    SALES.get_or_init(|| priors(&catalog()).daily_sales)
}

/// Locations live updates name: the store's two, and one it does not
/// know (the engine gives it the next index).
const LIVE_LOCATIONS: [&str; 3] = ["north", "south", "east"];

prop_compose! {
    /// A live update of a random product: any of price, buyable, stock.
    fn live_update()(
        ord in 0..PRODUCTS,
        price in proptest::option::of(0.5f64..300.0),
        buyable in proptest::option::of(proptest::bool::weighted(0.8)),
        inventory in proptest::option::of(proptest::collection::vec((select(LIVE_LOCATIONS.to_vec()), 0u32..40, 0u16..6), 0..3)),
    ) -> LiveUpdate {
        let mut inventory: Option<Vec<Stock>> = inventory.map(|rows| rows.into_iter()
            .map(|(l, available, lead_days)| Stock { location: l.into(), available, lead_days })
            .collect());
        if let Some(rows) = inventory.as_mut() {
            let mut seen = HashSet::new();
            rows.retain(|s| seen.insert(s.location.clone()));
        }
        LiveUpdate { id: id(ord), price, buyable, inventory }
    }
}

/// The catalog as the engine should read it with `updates` laid over it
/// (later updates of a product win), and the products taken off sale.
fn with_updates(updates: &[LiveUpdate]) -> (Vec<ProductRecord>, HashSet<u32>) {
    let mut products = catalog().products;
    let mut off_sale = HashSet::new();
    for u in updates {
        let ord =
            u.id.trim_start_matches(|c: char| !c.is_ascii_digit())
                .parse::<u32>()
                .expect("support ids end in the ordinal");
        assert_eq!(id(ord), u.id);
        let p = products
            .get_mut(ord as usize)
            .expect("updates name the store's products");
        if let Some(price) = u.price {
            p.price = price;
        }
        match u.buyable {
            Some(false) => off_sale.insert(ord),
            Some(true) => off_sale.remove(&ord),
            None => false,
        };
        if let Some(inventory) = &u.inventory {
            p.stock = inventory
                .iter()
                .map(|s| StockAt {
                    location: LIVE_LOCATIONS
                        .iter()
                        .position(|l| *l == s.location)
                        .expect("named") as u16,
                    available: s.available,
                    lead_days: s.lead_days,
                })
                .collect();
            p.available = inventory.iter().map(|s| s.available).sum();
        }
    }
    (products, off_sale)
}

/// Why `p` (ordinal `ord`) breaks `rules` for a shopper in `region`,
/// outside any slot, if it does. Search may list what is out of stock or
/// selling out.
fn breaks(
    ord: u32,
    p: &ProductRecord,
    rules: &RulesSection,
    region: Option<&str>,
    searching: bool,
    off_sale: bool,
) -> Option<String> {
    let in_category = |c: &u32| p.category_path.contains(c);
    if off_sale {
        return Some("taken off sale by live data".into());
    }
    if !searching && p.available < rules.min_inventory {
        return Some(format!(
            "{} units, min_inventory {}",
            p.available, rules.min_inventory
        ));
    }
    let rate = daily_sales().get(ord as usize).copied().unwrap_or(0.0);
    let cover = if rate > 0.0 {
        p.available as f32 / rate
    } else {
        f32::MAX
    };
    if !searching && rules.min_cover_days > 0.0 && cover < rules.min_cover_days {
        return Some(format!("{cover} days of cover"));
    }
    if rules.exclude_regulated && p.regulated {
        return Some("regulated".into());
    }
    if p.safety.iter().any(|s| rules.exclude_safety.contains(s)) {
        return Some(format!("safety {:?}", p.safety));
    }
    if rules.exclude_categories.iter().any(in_category) {
        return Some("excluded category".into());
    }
    if p.tags.iter().any(|t| rules.exclude_tags.contains(t)) {
        return Some(format!("tags {:?}", p.tags));
    }
    if rules
        .price_floors
        .iter()
        .any(|(c, floor)| in_category(c) && p.price < *floor)
    {
        return Some("price floor".into());
    }
    if let Some(margin) = p.margin() {
        if rules
            .margin_floors
            .iter()
            .any(|(c, floor)| in_category(c) && margin < *floor)
        {
            return Some(format!("margin floor ({margin:.2})"));
        }
    }
    for rule in rules
        .regions
        .iter()
        .filter(|r| Some(r.region.as_str()) == region)
    {
        let excluded = (rule.exclude_regulated && p.regulated)
            || rule.exclude_categories.iter().any(in_category)
            || p.tags.iter().any(|t| rule.exclude_tags.contains(t));
        if excluded {
            return Some(format!("excluded in {}", rule.region));
        }
    }
    None
}

/// Whether `item` ships from a location holding the most of the cart's
/// products, within that location's longest lead.
fn ships_with_cart(item: &ProductRecord, cart: &[&ProductRecord], min_inventory: u32) -> bool {
    let mut coverage: HashMap<u16, (usize, u16)> = HashMap::new();
    for p in cart {
        for s in p.stock.iter().filter(|s| s.available > 0) {
            let e = coverage.entry(s.location).or_default();
            e.0 += 1;
            e.1 = e.1.max(s.lead_days);
        }
    }
    let best = coverage.values().map(|(n, _)| *n).max().unwrap_or(0);
    item.stock.iter().any(|s| {
        s.available >= min_inventory.max(1)
            && coverage
                .get(&s.location)
                .is_some_and(|&(n, lead)| n == best && s.lead_days <= lead)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn no_slot_and_no_search_shows_what_the_rules_forbid(
        rules in rules(),
        asks in proptest::collection::vec(ask(), 12),
        live in proptest::option::of(proptest::collection::vec(live_update(), 0..24)),
    ) {
        // Half the time with live stock, prices and availability laid
        // over the bundle: the rules hold on the values now.
        let bundle = engine_with(|r| *r = rules.clone());
        let (engine, products, off_sale) = match &live {
            Some(updates) => {
                let header = LiveHeader { sequence: 1, created_at: NOW, expires_at: NOW + 1 };
                let (products, off_sale) = with_updates(updates);
                (bundle.with_live(&header, updates), products, off_sale)
            }
            None => (bundle, catalog().products, HashSet::new()),
        };
        let record = |id: &str| {
            let ord = engine.store().ordinal(id).expect("ranked products exist");
            (ord, &products[ord as usize])
        };
        for ask in &asks {
            let Some(kind) = ask.kind else {
                let results = engine.search(&ask.search()).expect("search answers");
                let mut seen = HashSet::new();
                for hit in &results.items {
                    prop_assert!(seen.insert(&hit.id), "{} twice in search", hit.id);
                    let (ord, p) = record(&hit.id);
                    if let Some(why) = breaks(ord, p, &rules, ask.region, true, off_sale.contains(&ord)) {
                        prop_assert!(false, "{} ({}) found by {:?} despite {why}", hit.id, hit.source, ask.query);
                    }
                }
                continue;
            };
            let req = ask.slot(kind);
            let ranking = engine.rank(&req).expect("every slot ranks");
            prop_assert!(ranking.items.len() <= ask.k, "{kind}: {} items for k {}", ranking.items.len(), ask.k);
            let mut seen = HashSet::new();
            let mut brands: HashMap<&str, u32> = HashMap::new();
            let mut leaves: HashMap<u32, u32> = HashMap::new();
            let cart: Vec<&ProductRecord> = ask.cart.iter().map(|&o| &products[o as usize]).collect();
            for item in &ranking.items {
                let (ord, p) = record(&item.id);
                prop_assert!(seen.insert(&item.id), "{} twice in {kind}", item.id);
                if let Some(why) = breaks(ord, p, &rules, ask.region, false, off_sale.contains(&ord)) {
                    prop_assert!(false, "{} ({}) shown in {kind} despite {why}", item.id, item.source);
                }
                if kind.needs_product() || kind == SlotKind::Next {
                    prop_assert!(ord != ask.product, "the page's product in {kind}");
                }
                if kind.needs_cart() {
                    prop_assert!(!ask.cart.contains(&ord), "a cart item in {kind}");
                }
                if kind == SlotKind::Category && item.source != "pin" {
                    prop_assert!(p.category_path.contains(&ask.category), "{} listed in category {}", item.id, ask.category);
                }
                if kind == SlotKind::Addons {
                    prop_assert!(p.compatible.contains(&ask.product), "{} is not compatible with {}", item.id, ask.product);
                }
                if kind == SlotKind::CartAddons {
                    prop_assert!(ships_with_cart(p, &cart, rules.min_inventory), "{} splits the shipment", item.id);
                }
                let sum: f32 = item.reasons.iter().map(|r| r.contribution()).sum();
                prop_assert!((sum - item.score).abs() < 1e-4, "{kind}: {item:?}");
                *brands.entry(p.brand.as_str()).or_default() += 1;
                *leaves.entry(p.leaf().expect("every product has a leaf")).or_default() += 1;
            }
            if let Some(cap) = rules.max_per_brand {
                prop_assert!(brands.values().all(|&n| n <= cap), "brand cap {cap} broken in {kind}: {brands:?}");
            }
            // (A category slot lists one category: the category cap is not its rule.)
            if let (Some(cap), false) = (rules.max_per_category, kind == SlotKind::Category) {
                prop_assert!(leaves.values().all(|&n| n <= cap), "category cap {cap} broken in {kind}: {leaves:?}");
            }
        }
    }
}

/// Without forbidden products of every kind, the property above could not
/// fail: the store has some for each rule.
#[test]
fn the_store_has_something_for_every_rule_to_exclude() {
    let catalog = catalog();
    let all = |edit: fn(&mut RulesSection)| {
        let mut rules = support::default_rules();
        edit(&mut rules);
        catalog
            .products
            .iter()
            .zip(0..)
            .filter(|&(p, ord)| breaks(ord, p, &rules, Some("US"), false, false).is_some())
            .count()
    };
    type Edit = fn(&mut RulesSection);
    let rules: [(&str, Edit); 9] = [
        ("inventory", |r| r.min_inventory = 2),
        ("cover", |r| r.min_cover_days = 10.0),
        ("regulated", |r| r.exclude_regulated = true),
        ("safety", |r| r.exclude_safety = vec!["small-parts".into()]),
        ("category", |r| {
            r.exclude_categories = vec![category("Outdoors/Fuel")]
        }),
        ("tag", |r| r.exclude_tags = vec!["discontinued".into()]),
        ("price floor", |r| {
            r.price_floors = vec![(category("Electronics"), 15.0)]
        }),
        ("margin floor", |r| {
            r.margin_floors = vec![(category("Kitchen"), 0.45)]
        }),
        ("region", |r| {
            r.regions = vec![RegionRule {
                region: "US".into(),
                exclude_categories: Vec::new(),
                exclude_tags: vec!["sale".into()],
                exclude_regulated: false,
            }]
        }),
    ];
    for (name, edit) in rules {
        let excluded = all(edit);
        assert!(
            (1..PRODUCTS as usize).contains(&excluded),
            "{name} excludes {excluded} of {PRODUCTS} products"
        );
    }
}

#[test]
fn a_regions_exclusions_hold_for_its_shoppers_only() {
    let engine = engine_with(|r| {
        r.regions = vec![RegionRule {
            region: "US".into(),
            exclude_categories: vec![category("Kitchen/Wine")],
            exclude_tags: Vec::new(),
            exclude_regulated: false,
        }]
    });
    let wine = |region: Option<&str>| {
        let mut req = support::request(SlotKind::Category);
        req.category = Some("Kitchen/Wine".into());
        req.k = Some(24);
        req.visitor.region = region.map(str::to_owned);
        let listed = engine.rank(&req).expect("the category ranks").items.len();
        let mut search = SearchRequest::new("wine");
        search.visitor.region = region.map(str::to_owned);
        let found = engine.search(&search).expect("search answers").total;
        (listed, found)
    };
    assert_eq!(wine(Some("US")), (0, 0), "wine shown in the US");
    for elsewhere in [None, Some("DE")] {
        let (listed, found) = wine(elsewhere);
        assert!(
            listed > 0 && found > 0,
            "{elsewhere:?}: {listed} listed, {found} found"
        );
    }
}

#[test]
fn new_arrival_protection_never_shrinks_a_slot() {
    // Under a one-per-brand cap many new arrivals are refused; each refusal
    // must leave the slot as it was, not one item shorter.
    let with_share = |share: f32| {
        engine_with(|r| {
            r.max_per_brand = Some(1);
            r.new_arrival_share = share;
        })
    };
    let mut req = support::request(SlotKind::Home);
    req.k = Some(24);
    let without = with_share(0.0).rank(&req).expect("home ranks").items.len();
    let with = with_share(1.0).rank(&req).expect("home ranks").items.len();
    assert_eq!(
        with, without,
        "new-arrival protection changed the slot's length"
    );
}
