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
use super::{zipf, Spec};

/// Days of history before the store's "now".
const HISTORY_DAYS: i64 = 60;

/// What every shape's shoppers move through: the products, which leaves
/// serve each other, and which accessories fit which device.
pub struct World<'a> {
    /// The catalog.
    pub products: &'a [Generated],
    /// The leaf categories.
    pub leaves: &'a [Leaf],
    /// Per leaf: leaves of its accessories (or of the devices it fits).
    related: Vec<Vec<usize>>,
    /// Position of each product id.
    index: HashMap<&'a str, usize>,
    /// Per device: the accessories that fit it.
    fits: HashMap<usize, Vec<usize>>,
    /// Sampler of the leaf a shopping mission starts in, by demand.
    demand: Option<WeightedIndex<f64>>,
}

impl<'a> World<'a> {
    /// The world of `products` in `leaves`.
    pub fn new(leaves: &'a [Leaf], products: &'a [Generated]) -> World<'a> {
        let related = leaves
            .iter()
            .map(|l| {
                leaves
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| {
                        o.accessory_of == Some(l.name) || l.accessory_of == Some(o.name)
                    })
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
        World {
            products,
            leaves,
            related,
            index,
            fits,
            demand: WeightedIndex::new(leaves.iter().map(|l| l.demand)).ok(),
        }
    }

    /// The leaf a mission starts in, by demand.
    pub fn mission_leaf(&self, rng: &mut StdRng) -> Option<usize> {
        self.demand.as_ref().map(|d| d.sample(rng))
    }

    /// The leaves under the same top-level category as `leaf` (itself too).
    pub fn siblings(&self, leaf: usize) -> Vec<usize> {
        let top = self.leaves.get(leaf).map(|l| l.top);
        (0..self.leaves.len())
            .filter(|&j| self.leaves.get(j).map(|l| l.top) == top)
            .collect()
    }
}

/// How a shape's shoppers choose: the mission, what they search for, what
/// they view next. The session around it (entry, cart, order) is shared.
pub trait Browse {
    /// What one session is after.
    type Mission;
    /// The products and leaves.
    fn world(&self) -> &World<'_>;
    /// A new session's mission.
    fn mission(&self, rng: &mut StdRng) -> Option<Self::Mission>;
    /// The leaf the mission starts in.
    fn leaf(&self, mission: &Self::Mission) -> usize;
    /// A product of `leaf`, by popularity.
    fn popular_in(&self, leaf: usize, rng: &mut StdRng) -> Option<usize>;
    /// What a session that starts with a search types.
    fn query(&self, mission: &Self::Mission, rng: &mut StdRng) -> Option<String>;
    /// The next product viewed, after `viewed`.
    fn next(&self, mission: &Self::Mission, viewed: &[usize], rng: &mut StdRng) -> Option<usize>;

    /// An accessory that fits `device` when it has one, else a popular
    /// product of a leaf related to `leaf`.
    fn accessory_for(&self, device: Option<usize>, leaf: usize, rng: &mut StdRng) -> Option<usize> {
        let w = self.world();
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
        let related = *w.related.get(leaf)?.choose(rng)?;
        self.popular_in(related, rng)
    }
}

/// The classic shape's shoppers: a mission is a leaf, and products inside
/// a leaf are chosen by popularity alone.
pub struct Classic<'a> {
    world: World<'a>,
    /// Per leaf: product indexes in popularity order.
    by_leaf: Vec<Vec<usize>>,
    /// Per leaf: Zipf sampler over `by_leaf`.
    zipf: Vec<Option<WeightedIndex<f64>>>,
}

impl<'a> Classic<'a> {
    /// Shoppers of `products`, with a random popularity order per leaf.
    pub fn new(leaves: &'a [Leaf], products: &'a [Generated], rng: &mut StdRng) -> Classic<'a> {
        let mut by_leaf: Vec<Vec<usize>> = vec![Vec::new(); leaves.len()];
        for (i, g) in products.iter().enumerate() {
            if let Some(list) = by_leaf.get_mut(g.leaf) {
                list.push(i);
            }
        }
        for list in &mut by_leaf {
            list.shuffle(rng);
        }
        let zipf = by_leaf.iter().map(|list| zipf(list.len(), 0.9)).collect();
        Classic {
            world: World::new(leaves, products),
            by_leaf,
            zipf,
        }
    }
}

impl Browse for Classic<'_> {
    type Mission = usize;

    fn world(&self) -> &World<'_> {
        &self.world
    }

    fn mission(&self, rng: &mut StdRng) -> Option<usize> {
        self.world.mission_leaf(rng)
    }

    fn leaf(&self, mission: &usize) -> usize {
        *mission
    }

    fn popular_in(&self, leaf: usize, rng: &mut StdRng) -> Option<usize> {
        let z = self.zipf.get(leaf)?.as_ref()?;
        self.by_leaf.get(leaf)?.get(z.sample(rng)).copied()
    }

    fn query(&self, mission: &usize, rng: &mut StdRng) -> Option<String> {
        let noun = self.world.leaves.get(*mission)?.nouns.choose(rng)?;
        Some(noun.to_lowercase())
    }

    fn next(&self, mission: &usize, viewed: &[usize], rng: &mut StdRng) -> Option<usize> {
        let roll: f64 = rng.gen();
        if roll < 0.75 {
            self.popular_in(*mission, rng)
        } else if roll < 0.9 {
            self.accessory_for(viewed.last().copied(), *mission, rng)
        } else {
            let siblings = self.world.siblings(*mission);
            siblings.choose(rng).and_then(|&j| self.popular_in(j, rng))
        }
    }
}

/// Events for `spec.sessions` sessions of `shoppers`.
pub fn generate<B: Browse>(shoppers: &B, spec: &Spec, rng: &mut StdRng) -> Vec<Event> {
    let users = (spec.sessions / 3).max(1);
    let mut events = Vec::with_capacity(spec.sessions * 6);
    for s in 0..spec.sessions {
        let Some(mission) = shoppers.mission(rng) else {
            break;
        };
        session(shoppers, &mission, s, users, spec, rng, &mut events);
    }
    events
}

fn session<B: Browse>(
    shoppers: &B,
    mission: &B::Mission,
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
            id: None,
            visitor: None,
            session: session.clone(),
            user: user.clone(),
            ts,
            consent,
            region: region.clone(),
            kind,
        });
    };
    let w = shoppers.world();
    let leaf = shoppers.leaf(mission);
    if rng.gen_bool(0.2) {
        if let Some(query) = shoppers.query(mission, rng) {
            push(
                EventKind::Search {
                    query,
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
                category: w.leaves.get(leaf).map(|l| l.name.to_owned()),
                channel,
            },
            ts,
        );
        ts += Duration::seconds(rng.gen_range(5..60));
    }
    let views = rng.gen_range(2..=7);
    let mut viewed: Vec<usize> = Vec::new();
    for _ in 0..views {
        let Some(p) = shoppers.next(mission, &viewed, rng) else {
            continue;
        };
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
        if let Some(extra) = shoppers.accessory_for(cart.first().copied(), leaf, rng) {
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
