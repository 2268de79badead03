//! Basket completion on the UCI Online Retail invoices: the last month is
//! held out; for each held-out basket one product is hidden and ranked from
//! the others, by the engine's `cart-addons` slot and by the baselines
//! (association rules, popularity) in the same run.
//!
//! Four sets, three views of the store:
//! - *warm*: the hidden product was sold before the cut;
//! - *cold*: it was first sold in the held-out month, so no behaviour knows
//!   it: only its title can bring it up, through the text embeddings;
//! - *warm, no text*: the warm baskets on the same store with every
//!   product's text removed (its title is its code): behaviour only, as a
//!   store without product text would be;
//! - *staples*: baskets of known customers with one product hidden that
//!   the same customer had bought before the cut (a repeat-heavy view: a
//!   grocery's baskets are mostly staples). `the customer's own orders`
//!   ranks what they bought most before, a baseline that sees their whole
//!   history.
//!
//! In every set a known customer's request carries their latest orders
//! before the cut as the edge's profile keeps them ([`PROFILE_ORDERED`]
//! products), so what the `rebuy` signal costs where baskets do not repeat
//! shows as well as what it gains where they do.
//!
//! The engine runs twice: with the customer's price band as the edge would
//! keep it (their earlier orders, then the basket's other products) and
//! without, to show what the band's `price_fit` part adds.

use std::collections::HashMap;

use firstpaint_contracts::{Event, EventKind, Product, Rules};
use firstpaint_engine::signals::price_band::{ORDER_EVIDENCE, VIEW_EVIDENCE};
use firstpaint_engine::{Embedding, Engine, PriceBand, SlotKind, SlotRequest};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use time::OffsetDateTime;

use super::ann::{self, WithRecall};
use super::retail::{self, Retail};
use super::{engine_for, Tally};

/// Results judged in the first this many.
pub const K: usize = 10;
/// Days held out at the end.
pub const HELD_OUT_DAYS: i64 = 30;
/// Largest basket kept (a few wholesale invoices list hundreds of lines).
const MAX_BASKET: usize = 60;
/// Ordered products the edge's profile cookie keeps (`edge/src/limits.rs`,
/// `MAX_ORDERED`), most recent first.
pub const PROFILE_ORDERED: usize = 16;

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Row {
    /// `warm`, `cold`, `warm, no text` or `staples`.
    pub set: &'static str,
    /// The method.
    pub method: &'static str,
    /// What it scored.
    pub tally: Tally,
}

/// A held-out basket with one product hidden.
struct Case {
    given: Vec<u32>,
    hidden: u32,
    /// The customer's price band, as the edge would keep it: their orders
    /// before the cut, then the basket's other products as views.
    band: Option<PriceBand>,
    /// The customer's latest ordered products with when, most recent
    /// first, as the profile keeps them (empty for an unknown customer).
    ordered: Vec<(String, i64)>,
    /// What the customer bought before the cut, most often first (staples
    /// only).
    own: Vec<u32>,
}

/// Runs the evaluation with `seed` choosing the hidden products.
pub fn run(retail: &Retail, seed: u64) -> anyhow::Result<WithRecall<Vec<Row>>> {
    let retail::Split {
        cut,
        events,
        test,
        sold_before,
        index,
    } = retail::split(retail, HELD_OUT_DAYS)?;
    let counts = Counts::new(&events, &index, retail.products.len());
    let engine = store_at_cut(retail.products.clone(), &sold_before, &events, cut)?;

    let history = ordered_price_bands(&engine, &events);
    let customer: HashMap<&str, String> = retail
        .lines
        .iter()
        .filter_map(|l| Some((l.invoice.as_str(), format!("c-{}", l.customer.as_deref()?))))
        .collect();
    let orders = orders_by_customer(&events, &index);
    let latest = |invoice: &str| -> Vec<(String, i64)> {
        customer
            .get(invoice)
            .and_then(|c| orders.get(c.as_str()))
            .map(|past| profile_orders(retail, past))
            .unwrap_or_default()
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut warm = Vec::new();
    let mut cold = Vec::new();
    for (invoice, basket) in &test {
        let known_band = customer.get(invoice).and_then(|c| history.get(c)).copied();
        if basket.len() < 2 || basket.len() > MAX_BASKET {
            continue;
        }
        let (known, new): (Vec<u32>, Vec<u32>) = basket
            .iter()
            .partition(|&&i| sold_before.get(i as usize).copied().unwrap_or(false));
        for (set, pool) in [(&mut warm, &known), (&mut cold, &new)] {
            if let Some(&hidden) = pool.choose(&mut rng) {
                let given: Vec<u32> = basket.iter().copied().filter(|&i| i != hidden).collect();
                let mut band = known_band.unwrap_or_default();
                for &i in &given {
                    if let Some(level) = engine.store().price_level(i) {
                        band.record(level, VIEW_EVIDENCE);
                    }
                }
                let band = (band.evidence > 0.0).then_some(band);
                set.push(Case {
                    given,
                    hidden,
                    band,
                    ordered: latest(invoice),
                    own: Vec::new(),
                });
            }
        }
    }
    let staples = staples(retail, &orders, &test, &customer, &mut rng);
    let mut rows = Vec::new();
    for (set, cases) in [("warm", &warm), ("cold", &cold), ("staples", &staples)] {
        rows.extend(score(&engine, retail, &counts, set, cases, cut));
    }
    // The same warm baskets on the store without its products' text.
    let plain = products_without_text(&retail.products);
    let no_text = store_at_cut(plain, &sold_before, &events, cut)?;
    rows.extend(score(
        &no_text,
        retail,
        &counts,
        "warm, no text",
        &warm,
        cut,
    ));
    Ok(WithRecall {
        rows,
        ann: ann::recall(&engine, ann::EVAL_QUERIES, seed),
    })
}

/// The engine over `products` as the catalog stood at the cut: products
/// first sold later were listed just before it (a merchant lists before
/// selling), as new arrivals, and the rules keep a fifth of each slot for
/// new arrivals, as the fixtures' do.
fn store_at_cut(
    mut products: Vec<Product>,
    sold_before: &[bool],
    events: &[Event],
    cut: i64,
) -> anyhow::Result<Engine> {
    for (p, &sold) in products.iter_mut().zip(sold_before) {
        if !sold {
            p.created_at = OffsetDateTime::from_unix_timestamp(cut - 86_400)?;
        }
    }
    let mut rules = Rules::default();
    rules.guardrails.new_arrival_share = 0.2;
    engine_for(products, events.to_vec(), rules, cut)
}

/// Every method's tally on `cases` of `set`.
fn score(
    engine: &Engine,
    retail: &Retail,
    counts: &Counts,
    set: &'static str,
    cases: &[Case],
    cut: i64,
) -> Vec<Row> {
    let mut methods = vec![
        "firstpaint (cart-addons)",
        "firstpaint (cart-addons), no price band",
        "embedding neighbours of the cart",
        "association rules",
        "popularity",
    ];
    if set == "staples" {
        methods.push("the customer's own orders");
    }
    methods
        .into_iter()
        .map(|method| {
            let mut tally = Tally::default();
            for c in cases {
                let list = match method {
                    "association rules" => counts.rules(&c.given),
                    "popularity" => counts.popular(&c.given),
                    "the customer's own orders" => c
                        .own
                        .iter()
                        .copied()
                        .filter(|i| !c.given.contains(i))
                        .take(K)
                        .collect(),
                    "embedding neighbours of the cart" => nearest(engine, &c.given),
                    "firstpaint (cart-addons), no price band" => {
                        ask_engine(engine, retail, c, None, cut)
                    }
                    _ => ask_engine(engine, retail, c, c.band, cut),
                };
                tally.add(list.iter().position(|&i| i == c.hidden).map(|p| p + 1));
            }
            Row { set, method, tally }
        })
        .collect()
}

/// Per customer (user id): (product, when) of every ordered line before
/// the cut, oldest first.
fn orders_by_customer<'a>(
    events: &'a [Event],
    index: &HashMap<&str, u32>,
) -> HashMap<&'a str, Vec<(u32, i64)>> {
    let mut history: HashMap<&str, Vec<(u32, i64)>> = HashMap::new();
    for e in events {
        let (Some(user), EventKind::Order { items, .. }) = (&e.user, &e.kind) else {
            continue;
        };
        let lines = history.entry(user.as_str()).or_default();
        for line in items {
            if let Some(&i) = index.get(line.product.as_str()) {
                lines.push((i, e.ts.unix_timestamp()));
            }
        }
    }
    history
}

/// The ordered products the edge's profile would hold after `past` (a
/// customer's ordered lines, oldest first): the latest
/// [`PROFILE_ORDERED`] distinct ones with when, most recent first.
fn profile_orders(retail: &Retail, past: &[(u32, i64)]) -> Vec<(String, i64)> {
    let mut ordered: Vec<(String, i64)> = Vec::new();
    for &(i, at) in past.iter().rev() {
        let Some(p) = retail.products.get(i as usize) else {
            continue;
        };
        if ordered.len() < PROFILE_ORDERED && !ordered.iter().any(|o| o.0 == p.id) {
            ordered.push((p.id.clone(), at));
        }
    }
    ordered
}

/// The staples cases: held-out baskets of customers who had ordered
/// before the cut (`orders`, by customer), one product they had bought
/// before hidden.
fn staples(
    retail: &Retail,
    orders: &HashMap<&str, Vec<(u32, i64)>>,
    test: &[(&str, Vec<u32>)],
    customer: &HashMap<&str, String>,
    rng: &mut StdRng,
) -> Vec<Case> {
    let mut cases = Vec::new();
    for (invoice, basket) in test {
        let Some(past) = customer.get(invoice).and_then(|c| orders.get(c.as_str())) else {
            continue;
        };
        if basket.len() < 2 || basket.len() > MAX_BASKET {
            continue;
        }
        let bought: Vec<u32> = basket
            .iter()
            .copied()
            .filter(|i| past.iter().any(|p| p.0 == *i))
            .collect();
        let Some(&hidden) = bought.choose(rng) else {
            continue;
        };
        let ordered = profile_orders(retail, past);
        let mut often: HashMap<u32, usize> = HashMap::new();
        for &(i, _) in past {
            *often.entry(i).or_default() += 1;
        }
        let mut own: Vec<(u32, usize)> = often.into_iter().collect();
        own.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        cases.push(Case {
            given: basket.iter().copied().filter(|&i| i != hidden).collect(),
            hidden,
            band: None,
            ordered,
            own: own.into_iter().map(|o| o.0).collect(),
        });
    }
    cases
}

/// The products with their text removed: the title is the code, no
/// description, brand, attributes or category but one for all.
fn products_without_text(products: &[Product]) -> Vec<Product> {
    products
        .iter()
        .map(|p| Product {
            title: p.id.clone(),
            description: String::new(),
            brand: None,
            attributes: Default::default(),
            category: vec!["All".to_owned()],
            ..p.clone()
        })
        .collect()
}

/// Each customer's price band from their orders (by user id).
fn ordered_price_bands(engine: &Engine, events: &[Event]) -> HashMap<String, PriceBand> {
    let mut bands: HashMap<String, PriceBand> = HashMap::new();
    for e in events {
        let (Some(user), EventKind::Order { items, .. }) = (&e.user, &e.kind) else {
            continue;
        };
        let band = bands.entry(user.clone()).or_default();
        for line in items {
            if let Some(level) = engine
                .store()
                .ordinal(&line.product)
                .and_then(|o| engine.store().price_level(o))
            {
                band.record(level, ORDER_EVIDENCE);
            }
        }
    }
    bands
}

/// The engine's cart add-ons for the cart of `case`, for a shopper at
/// `band` with the case's orders.
fn ask_engine(
    engine: &Engine,
    retail: &Retail,
    case: &Case,
    band: Option<PriceBand>,
    now: i64,
) -> Vec<u32> {
    let mut req = SlotRequest::new(SlotKind::CartAddons);
    req.k = Some(K);
    req.visitor.now = now;
    req.visitor.price_band = band;
    req.visitor.ordered = case.ordered.clone();
    req.cart = case
        .given
        .iter()
        .filter_map(|&i| retail.products.get(i as usize).map(|p| p.id.clone()))
        .collect();
    engine
        .rank(&req)
        .map(|r| r.items.iter().map(|i| i.ordinal).collect())
        .unwrap_or_default()
}

/// The products nearest to the mean of the cart's embeddings (not in it).
fn nearest(engine: &Engine, given: &[u32]) -> Vec<u32> {
    let mut taste = Embedding::ZERO;
    for e in given.iter().filter_map(|&i| engine.store().embedding(i)) {
        taste.add_scaled(&e, 1.0);
    }
    engine
        .store()
        .nearest(&taste.normalized(), K + given.len())
        .into_iter()
        .map(|(i, _)| i)
        .filter(|i| !given.contains(i))
        .take(K)
        .collect()
}

/// Purchase and pair counts of the training baskets, for the baselines.
struct Counts {
    bought: Vec<u32>,
    pairs: HashMap<u32, HashMap<u32, u32>>,
    popular: Vec<u32>,
}

impl Counts {
    fn new(events: &[Event], index: &HashMap<&str, u32>, n: usize) -> Self {
        let mut bought = vec![0u32; n];
        let mut pairs: HashMap<u32, HashMap<u32, u32>> = HashMap::new();
        for e in events {
            let EventKind::Order { items, .. } = &e.kind else {
                continue;
            };
            let mut basket: Vec<u32> = items
                .iter()
                .filter_map(|l| index.get(l.product.as_str()).copied())
                .collect();
            basket.sort_unstable();
            basket.dedup();
            basket.truncate(MAX_BASKET);
            for &a in &basket {
                if let Some(c) = bought.get_mut(a as usize) {
                    *c += 1;
                }
                let row = pairs.entry(a).or_default();
                for &b in basket.iter().filter(|&&b| b != a) {
                    *row.entry(b).or_default() += 1;
                }
            }
        }
        let mut popular: Vec<u32> = (0..n as u32).collect();
        popular.sort_by_key(|&i| std::cmp::Reverse(bought.get(i as usize).copied().unwrap_or(0)));
        popular.truncate(K * 8);
        Self {
            bought,
            pairs,
            popular,
        }
    }

    /// Association rules: each candidate scored by the summed confidence
    /// P(candidate | item) over the cart's items.
    fn rules(&self, given: &[u32]) -> Vec<u32> {
        let mut score: HashMap<u32, f64> = HashMap::new();
        for &a in given {
            let support = f64::from(self.bought.get(a as usize).copied().unwrap_or(0).max(1));
            for (&b, &c) in self.pairs.get(&a).into_iter().flatten() {
                if !given.contains(&b) {
                    *score.entry(b).or_default() += f64::from(c) / support;
                }
            }
        }
        let mut v: Vec<(u32, f64)> = score.into_iter().collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v.into_iter().take(K).map(|x| x.0).collect()
    }

    /// The most bought products not in the cart.
    fn popular(&self, given: &[u32]) -> Vec<u32> {
        self.popular
            .iter()
            .copied()
            .filter(|i| !given.contains(i))
            .take(K)
            .collect()
    }
}

/// The report as a Markdown table.
pub fn table(rows: &[Row]) -> String {
    let header = ["held-out item", "method", "baskets", "HR@10", "MRR@10"];
    super::markdown(
        &header,
        rows.iter().map(|r| {
            vec![
                r.set.to_owned(),
                r.method.to_owned(),
                r.tally.queries.to_string(),
                format!("{:.3}", r.tally.success()),
                format!("{:.3}", r.tally.mrr()),
            ]
        }),
    )
}
