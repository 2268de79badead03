//! A small store built by hand with the engine's own writers, for the
//! engine's integration tests: no origin, no training.
//!
//! Nine leaf categories under three departments, six products in each
//! (54 in all). Product `k` of a leaf (0 to 5) is the leaf's `k`-th
//! colour, brand `k % 3`, priced up from the leaf's base price; its stock,
//! tags, flags and listing time follow `k` too (see [`catalog`]), so every
//! rule has products to exclude. The embeddings put a product near its
//! leaf, then its department; the HNSW graph links each point to its
//! nearest by brute force. Viewed-together rows run within a leaf,
//! bought-together rows join phones to their chargers and cases (and
//! coffee to tea, tents to fuel and lamps). The recent sessions lead from
//! each product to the leaf's next product (its transitions), and pair
//! each phone with the charger of the same `k`, and once with the tent of
//! the same `k` (a link no list has: only the session neighbourhood knows
//! it).
//!
//! [`engine`] opens the store under [`default_rules`]; [`engine_with`]
//! under rules a test edits first.

// Each test binary that includes this module uses a different part of it.
#![allow(dead_code)]
// Test code: a fixture index out of range is a broken test and should
// fail loudly (the lints guard the engine's input handling, not this).
#![allow(clippy::indexing_slicing, clippy::panic)]

use std::sync::OnceLock;

use firstpaint_bundle::{Bundle, BundleWriter, SigningKey, Tag};
use firstpaint_contracts::{BannerCondition, Blend};
use firstpaint_engine::search::{Field, IndexBuilder, SearchParts};
use firstpaint_engine::store::sections::{BlendWeights, ConsentSection};
use firstpaint_engine::store::text_map::TextMapSection;
use firstpaint_engine::{
    AnnGraph, BannerRule, CatalogSection, CoViewSection, Embedding, Engine, EngineError,
    EngineSections, IntentSection, PriorsSection, ProductRecord, Quantized, RulesSection,
    SearchRulesSection, SessionsSection, StockAt, DIM,
};

/// The time the store is built and every request is made, unix seconds
/// (2027-01-15T08:00:00Z).
pub const NOW: i64 = 1_800_000_000;
/// Products per leaf category.
pub const PER_LEAF: usize = 6;
/// Layer-0 links per point of the HNSW graph.
const DEGREE: usize = 8;

/// One leaf category and what its products are made of.
struct Leaf {
    path: &'static str,
    noun: &'static str,
    brands: [&'static str; 3],
    base_price: f64,
}

/// The leaves, department by department; products are numbered in this
/// order, [`PER_LEAF`] to a leaf.
const LEAVES: [Leaf; 9] = [
    leaf(
        "Electronics/Phones",
        "Smartphone",
        ["Pixelon", "Nova", "Orbit"],
        300.0,
    ),
    leaf(
        "Electronics/Chargers",
        "Wireless Charger",
        ["Pixelon", "Voltix", "Nova"],
        12.0,
    ),
    leaf(
        "Electronics/Cases",
        "Phone Case",
        ["Pixelon", "Shellco", "Orbit"],
        8.0,
    ),
    leaf(
        "Kitchen/Coffee",
        "Coffee Beans",
        ["Roastery", "Bean Co", "Nova"],
        9.0,
    ),
    leaf(
        "Kitchen/Tea",
        "Green Tea",
        ["Leafwell", "Roastery", "Teahouse"],
        6.0,
    ),
    leaf(
        "Kitchen/Wine",
        "Red Wine",
        ["Vinea", "Castello", "Leafwell"],
        14.0,
    ),
    leaf(
        "Outdoors/Tents",
        "Two-Person Tent",
        ["Trailhead", "Summit", "Orbit"],
        120.0,
    ),
    leaf(
        "Outdoors/Fuel",
        "Fuel Canister",
        ["Trailhead", "Blaze", "Summit"],
        5.0,
    ),
    leaf(
        "Outdoors/Lamps",
        "Camping Lamp",
        ["Summit", "Lumen", "Trailhead"],
        20.0,
    ),
];

const fn leaf(
    path: &'static str,
    noun: &'static str,
    brands: [&'static str; 3],
    base_price: f64,
) -> Leaf {
    Leaf {
        path,
        noun,
        brands,
        base_price,
    }
}

/// Product `k`'s colour.
const COLOURS: [&str; PER_LEAF] = ["Red", "Blue", "Black", "Green", "White", "Grey"];
/// Units product `k` has (shifted by its leaf): some out of stock, some
/// running low, some plenty.
const UNITS: [u32; PER_LEAF] = [40, 0, 3, 120, 1, 25];
/// The departments, in the order of [`LEAVES`].
pub const DEPARTMENTS: [&str; 3] = ["Electronics", "Kitchen", "Outdoors"];
/// Fulfilment locations.
pub const LOCATIONS: [&str; 2] = ["north", "south"];

/// Every category path: the departments, then the leaves.
pub fn categories() -> Vec<String> {
    DEPARTMENTS
        .iter()
        .copied()
        .chain(LEAVES.iter().map(|l| l.path))
        .map(str::to_owned)
        .collect()
}

/// The index of category `path` (a department or a leaf).
pub fn category(path: &str) -> u32 {
    let position = categories()
        .iter()
        .position(|c| c == path)
        .unwrap_or_else(|| panic!("the test store has no category {path:?}"));
    u32::try_from(position).expect("a handful of categories")
}

/// The ordinal of the `k`-th product of leaf `path`.
pub fn ordinal_in(path: &str, k: usize) -> u32 {
    let leaf = LEAVES
        .iter()
        .position(|l| l.path == path)
        .unwrap_or_else(|| panic!("the test store has no leaf {path:?}"));
    u32::try_from(leaf * PER_LEAF + k).expect("a few dozen products")
}

/// The id of the product at ordinal `ord`.
pub fn id(ord: u32) -> String {
    format!("P-{ord:03}")
}

/// The catalog: [`PER_LEAF`] products to a leaf, in the order of the
/// leaves. For product `k` of its leaf: brand `k % 3`, price rising with
/// `k`, margin falling with it (cost unknown for `k = 5`), tag `new` for
/// `k = 0` (listed five days ago), `sale` for 2, `discontinued` for 4;
/// wine regulated, fuel `flammable`, even lamps `small-parts`; chargers
/// and cases compatible with phones.
pub fn catalog() -> CatalogSection {
    let categories = categories();
    let mut products = Vec::new();
    for (l, leaf) in LEAVES.iter().enumerate() {
        let department = u32::try_from(l / 3).expect("three departments");
        let leaf_index = category(leaf.path);
        for k in 0..PER_LEAF {
            let ord = u32::try_from(products.len()).expect("a few dozen products");
            let id = id(ord);
            let title = format!("{} {}, {}", leaf.brands[k % 3], leaf.noun, COLOURS[k]);
            let price = leaf.base_price * (1.0 + 0.25 * k as f64);
            let cost = if k == 5 {
                0.0
            } else {
                price * (0.4 + 0.1 * (k % 4) as f64)
            };
            let units = UNITS[(k + l) % PER_LEAF];
            // Every product is stocked at one location; every third at
            // the other too, with a longer lead.
            let mut stock = vec![StockAt {
                location: (ord % 2) as u16,
                available: units,
                lead_days: 1 + (ord % 3) as u16,
            }];
            if ord % 3 == 0 {
                stock.push(StockAt {
                    location: ((ord + 1) % 2) as u16,
                    available: 5,
                    lead_days: 4,
                });
            }
            let available = stock.iter().map(|s| s.available).sum();
            let tags = match k {
                0 => vec!["new".to_owned()],
                2 => vec!["sale".to_owned()],
                4 => vec!["discontinued".to_owned()],
                _ => Vec::new(),
            };
            let safety = match leaf.path {
                "Outdoors/Fuel" => vec!["flammable".to_owned()],
                "Outdoors/Lamps" if k % 2 == 0 => vec!["small-parts".to_owned()],
                _ => Vec::new(),
            };
            let created_at = if k == 0 {
                NOW - 5 * 86_400
            } else {
                NOW - (30 + i64::from(ord) * 7) * 86_400
            };
            products.push(ProductRecord {
                url: format!("/products/{id}"),
                image: format!("https://cdn.example/{id}.jpg"),
                image_alt: title.clone(),
                id,
                title,
                brand: leaf.brands[k % 3].to_owned(),
                price,
                cost,
                currency: "GBP".into(),
                category_path: vec![department, leaf_index],
                available,
                stock,
                compatible: compatible(leaf.path, k),
                ship_days: 1 + (ord % 5) as u16,
                rating: 3.0 + (ord % 5) as f32 * 0.4,
                rating_count: ord * 3 % 50,
                regulated: leaf.path == "Kitchen/Wine",
                safety,
                tags,
                created_at,
            });
        }
    }
    CatalogSection {
        products,
        categories,
        locations: LOCATIONS.iter().map(|l| (*l).to_owned()).collect(),
    }
}

/// What product `k` of `path` works with, both ways: charger `k` with
/// phones `k` and `k + 1`, case `k` with phone `k`.
fn compatible(path: &str, k: usize) -> Vec<u32> {
    let phone = |k: usize| ordinal_in("Electronics/Phones", k % PER_LEAF);
    match path {
        "Electronics/Chargers" => vec![phone(k), phone(k + 1)],
        "Electronics/Cases" => vec![phone(k)],
        "Electronics/Phones" => {
            let mut with: Vec<u32> = (0..PER_LEAF)
                .filter(|&c| c == k || (c + 1) % PER_LEAF == k)
                .map(|c| ordinal_in("Electronics/Chargers", c))
                .collect();
            with.push(ordinal_in("Electronics/Cases", k));
            with
        }
        _ => Vec::new(),
    }
}

/// Each product's embedding: its department, its leaf, then itself.
pub fn embeddings(catalog: &CatalogSection) -> Vec<Embedding> {
    (0..catalog.products.len())
        .map(|ord| {
            let (l, k) = (ord / PER_LEAF, ord % PER_LEAF);
            let mut e = [0.0f32; DIM];
            e[l / 3] = 1.0;
            e[3 + l] = 0.8;
            e[12 + k] = 0.3;
            e[18 + (k % 3)] = 0.2;
            Embedding(e).normalized()
        })
        .collect()
}

/// The HNSW graph by brute force: each point linked to its [`DEGREE`]
/// nearest; an upper layer of one point per leaf, linked to all the
/// others, holds the entry. Point `p < 9` is the first product of leaf
/// `p`; the other points follow in product order.
pub fn ann(embeddings: &[Embedding]) -> AnnGraph {
    let n = embeddings.len();
    let firsts = (0..LEAVES.len()).map(|l| l * PER_LEAF);
    let rest = (0..n).filter(|o| o % PER_LEAF != 0);
    let products: Vec<u32> = firsts
        .chain(rest)
        .map(|o| u32::try_from(o).expect("a few dozen products"))
        .collect();
    let vectors: Vec<Quantized> = products
        .iter()
        .map(|&o| Quantized::new(&embeddings[o as usize]))
        .collect();
    let nearest = |p: usize, among: usize, degree: usize| -> Vec<u32> {
        let mut others: Vec<(f32, u32)> = (0..among)
            .filter(|&o| o != p)
            .map(|o| (-vectors[p].dot(&vectors[o]), o as u32))
            .collect();
        others.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        others.into_iter().take(degree).map(|(_, o)| o).collect()
    };
    let top = LEAVES.len();
    AnnGraph {
        zero: (0..n).map(|p| nearest(p, n, DEGREE)).collect(),
        layers: vec![(0..top).map(|p| nearest(p, top, top)).collect()],
        products,
        entry: 0,
        ef_search: 64,
        vectors,
    }
}

/// Popularity falling with `k` in each leaf, freshness for the new
/// arrivals, every seventh product trending, some selling out soon
/// (every fourth from ordinal 1 in 6 days, from 2 in 45), coffee and tea
/// rebought every 30 and 45 days.
pub fn priors(catalog: &CatalogSection) -> PriorsSection {
    let n = catalog.products.len();
    let k = |ord: usize| ord % PER_LEAF;
    let popularity: Vec<f32> = (0..n)
        .map(|o| (PER_LEAF - k(o)) as f32 / PER_LEAF as f32)
        .collect();
    let freshness: Vec<f32> = (0..n).map(|o| if k(o) == 0 { 0.9 } else { 0.1 }).collect();
    let trending: Vec<f32> = (0..n).map(|o| if o % 7 == 3 { 0.8 } else { 0.0 }).collect();
    let score = |o: usize| 0.8 * popularity[o] + 0.2 * freshness[o];
    let best_first = |mut ords: Vec<u32>, by: &dyn Fn(usize) -> f32| {
        ords.sort_by(|&a, &b| by(b as usize).total_cmp(&by(a as usize)).then(a.cmp(&b)));
        ords
    };
    let ordinals = || (0..n).map(|o| u32::try_from(o).expect("a few dozen products"));
    let top_by_category = (0..catalog.categories.len())
        .map(|c| {
            let c = u32::try_from(c).expect("a handful of categories");
            let members = ordinals()
                .filter(|&o| catalog.products[o as usize].category_path.contains(&c))
                .collect();
            best_first(members, &score)
        })
        .collect();
    let top_trending = best_first(
        ordinals().filter(|&o| trending[o as usize] > 0.0).collect(),
        &|o| trending[o],
    );
    let median_price = |leaf: u32| {
        let mut prices: Vec<f64> = catalog
            .products
            .iter()
            .filter(|p| p.leaf() == Some(leaf))
            .map(|p| p.price)
            .collect();
        prices.sort_by(f64::total_cmp);
        prices[prices.len() / 2]
    };
    let price_level = catalog
        .products
        .iter()
        .map(|p| {
            let median = p.leaf().map_or(p.price, median_price);
            ((p.price / median).ln() as f32).clamp(-3.0, 3.0)
        })
        .collect();
    let refill_days = catalog
        .categories
        .iter()
        .map(|c| match c.as_str() {
            "Kitchen/Coffee" => 30.0,
            "Kitchen/Tea" => 45.0,
            _ => 0.0,
        })
        .collect();
    // Shoppers order the same coffee and tea again; nothing else.
    let rebuy = catalog
        .categories
        .iter()
        .map(|c| match c.as_str() {
            "Kitchen/Coffee" | "Kitchen/Tea" => 0.6,
            _ => 0.0,
        })
        .collect();
    PriorsSection {
        top_overall: best_first(ordinals().collect(), &|o| popularity[o]),
        top_by_category,
        top_trending,
        // Days of cover 6 and 45 for every fourth product and the next,
        // at the units they hold; the rest have not sold.
        daily_sales: catalog
            .products
            .iter()
            .enumerate()
            .map(|(o, p)| match o % 4 {
                1 => p.available as f32 / 6.0,
                2 => p.available as f32 / 45.0,
                _ => 0.0,
            })
            .collect(),
        deal: (0..n).map(|o| 0.1 * (k(o) % 4) as f32).collect(),
        price_level,
        price_response: vec![0.5; catalog.categories.len()],
        refill_days,
        rebuy,
        // A quarter of next clicks repeat the latest product, a tenth go
        // back one further, a few two; none further back.
        returns: vec![0.25, 0.1, 0.025],
        // The store's rate counts as three moves beside a visit's own.
        going_back_strength: 3.0,
        popularity,
        freshness,
        trending,
    }
}

/// Rows of (neighbour, score) per product, as a [`CoViewSection`].
fn rows(rows: Vec<Vec<(u32, f32)>>) -> CoViewSection {
    let mut lists = CoViewSection {
        offsets: vec![0],
        ..CoViewSection::default()
    };
    for row in rows {
        for (neighbour, score) in row {
            lists.neighbors.push(neighbour);
            lists.scores.push(score);
        }
        lists
            .offsets
            .push(u32::try_from(lists.neighbors.len()).expect("short lists"));
    }
    lists
}

/// The other products of a product's leaf, nearest `k` first.
pub fn co_view(n: usize) -> CoViewSection {
    rows(
        (0..n)
            .map(|o| {
                let (first, k) = (o - o % PER_LEAF, o % PER_LEAF);
                let mut row: Vec<(u32, f32)> = (0..PER_LEAF)
                    .filter(|&j| j != k)
                    .map(|j| ((first + j) as u32, 0.9 - 0.1 * j.abs_diff(k) as f32))
                    .collect();
                row.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                row
            })
            .collect(),
    )
}

/// Phones with their compatible chargers and cases; coffee `k` with tea
/// `k`; tents `k` with fuel `k` and lamps `k`; both ways.
pub fn bought_together(catalog: &CatalogSection) -> CoViewSection {
    let n = catalog.products.len();
    let mut lists: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n];
    let mut link = |a: u32, b: u32, score: f32| {
        lists[a as usize].push((b, score));
        lists[b as usize].push((a, score));
    };
    for k in 0..PER_LEAF {
        let phone = ordinal_in("Electronics/Phones", k);
        link(phone, ordinal_in("Electronics/Cases", k), 0.8);
        link(phone, ordinal_in("Electronics/Chargers", k), 0.7);
        link(
            ordinal_in("Kitchen/Coffee", k),
            ordinal_in("Kitchen/Tea", k),
            0.6,
        );
        let tent = ordinal_in("Outdoors/Tents", k);
        link(tent, ordinal_in("Outdoors/Fuel", k), 0.6);
        link(tent, ordinal_in("Outdoors/Lamps", k), 0.5);
    }
    for row in &mut lists {
        row.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    }
    rows(lists)
}

/// Recent sessions. A week before [`NOW`], the transitions: after every
/// product, two shoppers opened the next one of its leaf and one the same
/// `k` of the department's next leaf. Then, an hour apart up to [`NOW`]:
/// for every `k`, three shoppers opened phone `k` then charger `k`, and one
/// phone `k` then tent `k`.
pub fn recent_sessions() -> SessionsSection {
    let mut s = SessionsSection::default();
    let week_ago = ((NOW - 7 * 86_400) / 3_600) as u32;
    for o in 0..LEAVES.len() * PER_LEAF {
        let (l, k) = (o / PER_LEAF, o % PER_LEAF);
        let next_in_leaf = l * PER_LEAF + (k + 1) % PER_LEAF;
        let next_leaf = (l - l % 3 + (l + 1) % 3) * PER_LEAF + k;
        for next in [next_in_leaf, next_in_leaf, next_leaf] {
            s.products.push(vec![o as u32, next as u32]);
            s.hours.push(week_ago);
        }
    }
    let rounds = [
        "Electronics/Chargers",
        "Electronics/Chargers",
        "Outdoors/Tents",
        "Electronics/Chargers",
    ];
    for (round, then) in rounds.into_iter().enumerate() {
        for k in 0..PER_LEAF {
            s.products.push(vec![
                ordinal_in("Electronics/Phones", k),
                ordinal_in(then, k),
            ]);
            let hours_ago = (rounds.len() - round) * PER_LEAF - k;
            s.hours
                .push(((NOW - 3_600 * hours_ago as i64) / 3_600) as u32);
        }
    }
    s
}

/// The lexical index: title, brand, category path and colour of every
/// product; colours and brands as attributes; `cellphone` a one-way
/// synonym of `smartphone`.
pub fn search(catalog: &CatalogSection) -> SearchParts {
    let mut index = IndexBuilder::default();
    for (ord, p) in catalog.products.iter().enumerate() {
        let colour = COLOURS[ord % PER_LEAF];
        let path = p
            .category_path
            .iter()
            .map(|&c| {
                catalog.categories[c as usize]
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
            })
            .collect::<Vec<_>>()
            .join(" ");
        index.add(&[
            (Field::Title, p.title.as_str()),
            (Field::Brand, p.brand.as_str()),
            (Field::Category, path.as_str()),
            (Field::Attribute, colour),
        ]);
        index.attribute("colour", colour);
        index.attribute("brand", &p.brand);
    }
    index.synonym("cellphone", &["smartphone"]);
    index.finish().expect("the test index builds")
}

/// Rules that exclude nothing and cap nothing: a test turns on what it
/// checks. Free shipping from 50, fast ship within 2 days, the default
/// blend, three banners (the dispatch cut-off before 14:00 UTC, free
/// shipping three times a visit, low stock under 10 units).
pub fn default_rules() -> RulesSection {
    let banner = |id: &str, show: BannerCondition, priority: i32| BannerRule {
        id: id.into(),
        text: format!("{id} banner"),
        link: String::new(),
        show,
        priority,
        max_per_visit: None,
        cutoff_hour: 14,
        low_stock_below: 10,
        from: 0,
        until: i64::MAX,
    };
    RulesSection {
        min_inventory: 1,
        min_cover_days: 0.0,
        exclude_regulated: false,
        exclude_safety: Vec::new(),
        exclude_categories: Vec::new(),
        exclude_tags: Vec::new(),
        price_floors: Vec::new(),
        margin_floors: Vec::new(),
        max_per_brand: None,
        max_per_category: None,
        new_arrival_share: 0.0,
        new_arrival_seconds: 14 * 86_400,
        regions: Vec::new(),
        boosts: Vec::new(),
        pins: Vec::new(),
        free_shipping_threshold: Some(50.0),
        fast_ship_days: 2,
        banners: vec![
            banner("low-stock", BannerCondition::LowStock, 3),
            banner("dispatch", BannerCondition::BeforeCutoff, 2),
            BannerRule {
                max_per_visit: Some(3),
                ..banner("free-shipping", BannerCondition::Always, 1)
            },
        ],
        blend: BlendWeights::from(&Blend::default()),
        consent: ConsentSection::default(),
        search: SearchRulesSection::default(),
        experiments: Default::default(),
        event_retention_days: 395,
    }
}

/// Every section of the store under `rules`.
pub fn sections(rules: RulesSection) -> EngineSections {
    let catalog = catalog();
    let n = catalog.products.len();
    EngineSections {
        ann: ann(&embeddings(&catalog)),
        priors: priors(&catalog),
        co_view: co_view(n),
        rules,
        bought_together: bought_together(&catalog),
        search: search(&catalog),
        sessions: recent_sessions(),
        intent: IntentSection::default(),
        text_map: TextMapSection::random(),
        catalog,
    }
}

/// The key the test bundles are signed with (not the dev key).
pub fn key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

/// `sections` written into a bundle built at [`NOW`] for a day, signed
/// with [`key`].
pub fn bundle(sections: &EngineSections) -> Vec<u8> {
    let mut writer = BundleWriter::new(firstpaint_bundle::Inputs {
        bundle_version: 1,
        created_at: NOW,
        expires_at: NOW + 86_400,
        ..firstpaint_bundle::Inputs::default()
    });
    sections
        .write_into(&mut writer)
        .expect("the test sections write");
    writer.finish(&key())
}

/// `bytes` re-signed with each section passed through `edit`: `None`
/// leaves the section out.
pub fn rewrite(bytes: &[u8], edit: impl Fn(Tag, &[u8]) -> Option<Vec<u8>>) -> Vec<u8> {
    let bundle = Bundle::open(bytes, &key().verifying_key(), NOW).expect("the bundle opens");
    let mut writer = BundleWriter::new(firstpaint_bundle::Inputs {
        bundle_version: 1,
        created_at: NOW,
        expires_at: NOW + 86_400,
        ..firstpaint_bundle::Inputs::default()
    });
    for tag in bundle.tags().collect::<Vec<_>>() {
        let payload = bundle.section(tag).expect("a listed section reads");
        if let Some(payload) = edit(tag, payload) {
            writer.add(tag, payload).expect("each tag once");
        }
    }
    writer.finish(&key())
}

/// Opens `bytes` as the edge would, at [`NOW`].
pub fn open(bytes: Vec<u8>) -> Result<Engine, EngineError> {
    Engine::open(bytes, &key().verifying_key(), NOW)
}

/// The store under [`default_rules`] (its bundle built once per test
/// binary).
pub fn engine() -> Engine {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    let bytes = BYTES.get_or_init(|| bundle(&sections(default_rules())));
    open(bytes.clone()).expect("the test store opens")
}

/// The store under [`default_rules`] as `edit` changes them.
pub fn engine_with(edit: impl FnOnce(&mut RulesSection)) -> Engine {
    let mut rules = default_rules();
    edit(&mut rules);
    open(bundle(&sections(rules))).expect("the test store opens")
}

/// A slot request for `kind` at [`NOW`] with everything it needs: the
/// page's product, a cart, a category.
pub fn request(kind: firstpaint_engine::SlotKind) -> firstpaint_engine::SlotRequest {
    let mut req = firstpaint_engine::SlotRequest::new(kind);
    req.visitor.now = NOW;
    req.product = Some(id(ordinal_in("Electronics/Phones", 0)));
    req.cart = vec![id(ordinal_in("Electronics/Phones", 3))];
    req.category = Some("Kitchen".into());
    req
}
