//! Synthetic shopping sessions that follow real patterns: category missions,
//! Zipf popularity, drift to fitting accessories, baskets that belong together.

use std::collections::{BTreeMap, HashMap};

use firstpaint_contracts::{Consent, Event, EventKind, OrderLine};
use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use time::Duration;

use super::catalog::Generated;
use super::vocab::Leaf;
use super::Spec;

/// Days of history before the store's "now".
const HISTORY_DAYS: i64 = 60;

struct World<'a> {
    products: &'a [Generated],
    /// Per leaf: product indexes in popularity order.
    by_leaf: Vec<Vec<usize>>,
    /// Per leaf: Zipf sampler over `by_leaf`.
    zipf: Vec<Option<WeightedIndex<f64>>>,
    /// Per leaf: leaves of its accessories (or of the devices it fits).
    related: Vec<Vec<usize>>,
    /// Position of each product id.
    index: HashMap<&'a str, usize>,
    /// Per device: the accessories that fit it.
    fits: HashMap<usize, Vec<usize>>,
}

/// Generates events for `spec.sessions` sessions.
pub fn generate(
    leaves: &[Leaf],
    products: &[Generated],
    spec: &Spec,
    rng: &mut StdRng,
) -> Vec<Event> {
    let mut by_leaf: Vec<Vec<usize>> = vec![Vec::new(); leaves.len()];
    for (i, g) in products.iter().enumerate() {
        if let Some(list) = by_leaf.get_mut(g.leaf) {
            list.push(i);
        }
    }
    for list in &mut by_leaf {
        list.shuffle(rng);
    }
    let zipf = by_leaf
        .iter()
        .map(|list| {
            WeightedIndex::new((0..list.len()).map(|r| 1.0 / (r as f64 + 1.0).powf(0.9))).ok()
        })
        .collect();
    let related = leaves
        .iter()
        .map(|l| {
            leaves
                .iter()
                .enumerate()
                .filter(|(_, o)| o.accessory_of == Some(l.name) || l.accessory_of == Some(o.name))
                .map(|(j, _)| j)
                .collect()
        })
        .collect();
    let index: HashMap<&str, usize> = products
        .iter()
        .enumerate()
        .map(|(i, g)| (g.product.id.as_str(), i))
        .collect();
    let mut fits: HashMap<usize, Vec<usize>> = HashMap::new();
    for (a, g) in products.iter().enumerate() {
        for device in &g.product.compatible_with {
            if let Some(&d) = index.get(device.as_str()) {
                fits.entry(d).or_default().push(a);
            }
        }
    }
    let world = World {
        products,
        by_leaf,
        zipf,
        related,
        index,
        fits,
    };
    let demand = WeightedIndex::new(leaves.iter().map(|l| l.demand)).ok();
    let users = (spec.sessions / 3).max(1);
    let mut events = Vec::with_capacity(spec.sessions * 6);
    for s in 0..spec.sessions {
        let Some(mission) = demand.as_ref().map(|d| d.sample(rng)) else {
            break;
        };
        session(&world, leaves, mission, s, users, spec, rng, &mut events);
    }
    events
}

#[allow(clippy::too_many_arguments)]
fn session(
    w: &World<'_>,
    leaves: &[Leaf],
    mission: usize,
    s: usize,
    users: usize,
    spec: &Spec,
    rng: &mut StdRng,
    out: &mut Vec<Event>,
) {
    let width = spec.sessions.to_string().len().max(5);
    let session = format!("s{s:0width$}");
    let user = rng
        .gen_bool(0.6)
        .then(|| format!("u{}", rng.gen_range(0..users)));
    let consent = Consent {
        personalization: rng.gen_bool(0.92),
        analytics: true,
    };
    let region = ["GB", "GB", "GB", "DE", "FR", "US"]
        .choose(rng)
        .copied()
        .unwrap_or("GB")
        .to_owned();
    let mut ts = spec.now - Duration::days(rng.gen_range(1..=HISTORY_DAYS))
        + Duration::seconds(rng.gen_range(0..86_400));
    let mut push = |kind: EventKind, ts: time::OffsetDateTime| {
        out.push(Event {
            session: session.clone(),
            user: user.clone(),
            ts,
            consent,
            region: region.clone(),
            kind,
        });
    };
    let leaf = leaves.get(mission);
    if rng.gen_bool(0.2) {
        if let Some(noun) = leaf.and_then(|l| l.nouns.choose(rng)) {
            push(
                EventKind::Search {
                    query: noun.to_lowercase(),
                    filters: BTreeMap::new(),
                    results: 24,
                },
                ts,
            );
            ts += Duration::seconds(rng.gen_range(5..40));
        }
    } else if rng.gen_bool(0.4) {
        let channel = ["search", "social", "email", "direct"]
            .choose(rng)
            .map(|c| (*c).to_owned());
        push(
            EventKind::PageView {
                product: None,
                category: leaf.map(|l| l.name.to_owned()),
                channel,
            },
            ts,
        );
        ts += Duration::seconds(rng.gen_range(5..60));
    }
    let views = rng.gen_range(2..=7);
    let mut viewed: Vec<usize> = Vec::new();
    for _ in 0..views {
        let roll: f64 = rng.gen();
        let next = if roll < 0.75 {
            popular_in(w, mission, rng)
        } else if roll < 0.9 {
            accessory_for(w, viewed.last().copied(), mission, rng)
        } else {
            let top = leaf.map(|l| l.top);
            let siblings: Vec<usize> = (0..leaves.len())
                .filter(|&j| leaves.get(j).map(|l| l.top) == top)
                .collect();
            siblings.choose(rng).and_then(|&j| popular_in(w, j, rng))
        };
        let Some(p) = next else { continue };
        if let Some(g) = w.products.get(p) {
            push(
                EventKind::PageView {
                    product: Some(g.product.id.clone()),
                    category: None,
                    channel: None,
                },
                ts,
            );
        }
        viewed.push(p);
        ts += Duration::seconds(rng.gen_range(15..180));
    }
    if viewed.is_empty() || !rng.gen_bool(0.35) {
        return;
    }
    let mut cart: Vec<usize> = viewed.last().copied().into_iter().collect();
    if rng.gen_bool(0.4) {
        if let Some(extra) = accessory_for(w, cart.first().copied(), mission, rng) {
            if !cart.contains(&extra) {
                cart.push(extra);
            }
        }
    }
    let mut lines = Vec::new();
    for &p in &cart {
        let Some(g) = w.products.get(p) else { continue };
        let qty = if rng.gen_bool(0.85) { 1 } else { 2 };
        push(
            EventKind::AddToCart {
                product: g.product.id.clone(),
                qty,
                price: g.product.price,
                discount: 0.0,
            },
            ts,
        );
        lines.push(OrderLine {
            product: g.product.id.clone(),
            qty,
            price: g.product.price,
            discount: 0.0,
        });
        ts += Duration::seconds(rng.gen_range(10..90));
    }
    if rng.gen_bool(0.45) {
        push(
            EventKind::CheckoutStep {
                step: "payment".into(),
                error: None,
            },
            ts,
        );
        ts += Duration::seconds(rng.gen_range(30..200));
        push(
            EventKind::Order {
                order: format!("o{s}"),
                items: lines,
                fulfilment: Some("delivered".into()),
                returned: rng.gen_bool(0.05),
            },
            ts,
        );
    }
}

fn popular_in(w: &World<'_>, leaf: usize, rng: &mut StdRng) -> Option<usize> {
    let z = w.zipf.get(leaf)?.as_ref()?;
    w.by_leaf.get(leaf)?.get(z.sample(rng)).copied()
}

/// An accessory that fits `device` when it has one, else a popular product
/// of a related leaf.
fn accessory_for(
    w: &World<'_>,
    device: Option<usize>,
    mission: usize,
    rng: &mut StdRng,
) -> Option<usize> {
    if let Some(d) = device {
        if let Some(&a) = w.fits.get(&d).and_then(|list| list.choose(rng)) {
            return Some(a);
        }
    }
    if let Some(dev) = device.and_then(|d| w.products.get(d)) {
        // An accessory being viewed: go to a device it fits.
        if let Some(target) = dev.product.compatible_with.choose(rng) {
            return w.index.get(target.as_str()).copied();
        }
    }
    let leaf = *w.related.get(mission)?.choose(rng)?;
    popular_in(w, leaf, rng)
}
