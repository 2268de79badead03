//! The session-intent model: a multinomial logistic regression from a
//! visit's first events to its mission (the top-level category it spends
//! itself on).
//!
//! 1. [`visits`] turns events into visits: the channel it arrived by, its
//!    steps in time order (category pages, searches, product views and
//!    cart adds; for a visit known only by its order, the order's lines)
//!    and its label, the top-level category with the most weight
//!    over the whole visit (view 1, category page 1, cart 2, order 3).
//! 2. [`train`] fits the model on the first 1, 2 and 3 steps of every
//!    labelled visit, with the engine's own [`intent::features`], so the
//!    edge predicts from exactly what was trained on. Softmax cross-entropy
//!    with L2, AdaGrad over shuffled examples (seeded: builds repeat).

use std::collections::HashMap;

use firstpaint_contracts::{Event, EventKind};
use firstpaint_engine::signals::intent::{self, IntentSection, IntentSignals};
use firstpaint_engine::text::category_names;
use firstpaint_engine::CatalogSection;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// Steps of a visit the model is trained to predict from (1, 2, .. this).
pub const MAX_STEPS: usize = 3;
const EPOCHS: usize = 12;
const LEARNING_RATE: f32 = 0.3;
const L2: f32 = 1e-4;
const SEED: u64 = 7;

/// One thing a visit did that says something about its mission.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A category page, by name or path.
    Category(String),
    /// A search, as typed.
    Query(String),
    /// A product viewed or added to the cart (ordinal).
    Product(u32),
}

impl Step {
    /// The top-level category the step points at: a product's, or a
    /// category page's (resolved by name or path); none for a search.
    pub fn top(&self, catalog: &CatalogSection) -> Option<u32> {
        match self {
            Step::Product(p) => catalog
                .products
                .get(*p as usize)
                .and_then(|p| p.category_path.first().copied()),
            Step::Category(c) => {
                catalog.top_of(category_names::resolve_category(&catalog.categories, c)?)
            }
            Step::Query(_) => None,
        }
    }
}

/// A visit as the intent model sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    /// Its session id.
    pub session: String,
    /// Channel of its landing page, if it said.
    pub channel: Option<String>,
    /// Its steps, in time order.
    pub steps: Vec<Step>,
    /// Its mission: a top-level category index; `None` when it touched no
    /// known category.
    pub label: Option<u32>,
    /// Start, unix seconds.
    pub start: i64,
}

impl Visit {
    /// The model's inputs after the first `k` steps.
    pub fn signals(&self, k: usize) -> (Vec<u32>, IntentSignals) {
        let seen = self
            .steps
            .get(..k.min(self.steps.len()))
            .unwrap_or_default();
        let mut viewed = Vec::new();
        let mut signals = IntentSignals {
            channel: self.channel.clone(),
            ..IntentSignals::default()
        };
        for step in seen.iter().rev() {
            match step {
                Step::Category(c) => signals.categories.push(c.clone()),
                Step::Query(q) => signals.queries.push(q.clone()),
                Step::Product(p) if !viewed.contains(p) => viewed.push(*p),
                Step::Product(_) => {}
            }
        }
        (viewed, signals)
    }
}

/// The visits in `events` (grouped by session, steps in time order),
/// labelled by their most-weighted top-level category.
pub fn visits(
    events: &[Event],
    ordinal: &HashMap<&str, u32>,
    catalog: &CatalogSection,
) -> Vec<Visit> {
    let grouped = super::sessions::by_session(events);
    let mut out = Vec::with_capacity(grouped.len());
    for session in grouped {
        let mut visit = Visit {
            session: session
                .first()
                .map(|e| e.session.clone())
                .unwrap_or_default(),
            channel: None,
            steps: Vec::new(),
            label: None,
            start: session.first().map_or(0, |e| e.ts.unix_timestamp()),
        };
        let mut weight: HashMap<u32, f32> = HashMap::new();
        let mut ordered = Vec::new();
        for e in session {
            match &e.kind {
                EventKind::PageView {
                    product,
                    category,
                    channel,
                } => {
                    if visit.channel.is_none() {
                        visit.channel.clone_from(channel);
                    }
                    let step = match (product.as_deref().and_then(|id| ordinal.get(id)), category) {
                        (Some(&p), _) => Step::Product(p),
                        (None, Some(c)) => Step::Category(c.clone()),
                        (None, None) => continue,
                    };
                    credit(&mut weight, step.top(catalog), 1.0);
                    visit.steps.push(step);
                }
                EventKind::Search { query, .. } => visit.steps.push(Step::Query(query.clone())),
                EventKind::AddToCart { product, .. } => {
                    if let Some(&p) = ordinal.get(product.as_str()) {
                        credit(&mut weight, Step::Product(p).top(catalog), 2.0);
                        visit.steps.push(Step::Product(p));
                    }
                }
                EventKind::Order { items, .. } => {
                    for line in items {
                        if let Some(&p) = ordinal.get(line.product.as_str()) {
                            credit(&mut weight, Step::Product(p).top(catalog), 3.0);
                            ordered.push(Step::Product(p));
                        }
                    }
                }
                _ => {}
            }
        }
        // A store that sends only its orders: the order's lines, in order,
        // are the visit's steps.
        if visit.steps.is_empty() {
            visit.steps = ordered;
        }
        visit.label = heaviest(&weight);
        out.push(visit);
    }
    out
}

/// The key with the most weight (the smallest key among equals).
pub fn heaviest(weight: &HashMap<u32, f32>) -> Option<u32> {
    weight
        .iter()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(&k, _)| k)
}

/// Adds `amount` to `top`'s weight, when there is a top.
fn credit(weight: &mut HashMap<u32, f32>, top: Option<u32>, amount: f32) {
    if let Some(top) = top {
        *weight.entry(top).or_default() += amount;
    }
}

/// Fits the intent model on the first 1..=[`MAX_STEPS`] steps of every
/// labelled visit. No labelled visits: a model without classes (predicts
/// nothing).
pub fn train(visits: &[Visit], catalog: &CatalogSection) -> IntentSection {
    let mut classes: Vec<u32> = visits
        .iter()
        .filter(|v| !v.steps.is_empty())
        .filter_map(|v| v.label)
        .collect();
    classes.sort_unstable();
    classes.dedup();
    let class_of: HashMap<u32, usize> = classes.iter().enumerate().map(|(i, &c)| (c, i)).collect();
    let mut feature_ids: Vec<u32> = Vec::new();
    let mut examples: Vec<(Vec<(u32, f32)>, usize)> = Vec::new();
    for v in visits {
        let Some(&class) = v.label.and_then(|l| class_of.get(&l)) else {
            continue;
        };
        for k in 1..=MAX_STEPS.min(v.steps.len()) {
            let (viewed, signals) = v.signals(k);
            let leaves: Vec<u32> = viewed
                .iter()
                .filter_map(|&o| catalog.products.get(o as usize)?.leaf())
                .collect();
            let features = intent::features(&catalog.categories, &leaves, &signals);
            feature_ids.extend(features.iter().map(|&(f, _)| f));
            examples.push((features, class));
        }
    }
    feature_ids.sort_unstable();
    feature_ids.dedup();
    let c = classes.len();
    if c == 0 {
        return IntentSection::default();
    }
    // Features as dense row numbers for training.
    let row: HashMap<u32, usize> = feature_ids
        .iter()
        .enumerate()
        .map(|(i, &f)| (f, i))
        .collect();
    let dense: Vec<(Vec<(usize, f32)>, usize)> = examples
        .into_iter()
        .map(|(features, class)| {
            let f = features
                .into_iter()
                .filter_map(|(id, v)| Some((*row.get(&id)?, v)))
                .collect();
            (f, class)
        })
        .collect();
    let mut model = Softmax::new(feature_ids.len(), c);
    let mut order: Vec<usize> = (0..dense.len()).collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED);
    for _ in 0..EPOCHS {
        order.shuffle(&mut rng);
        for &i in &order {
            if let Some((features, class)) = dense.get(i) {
                model.step(features, *class);
            }
        }
    }
    IntentSection {
        classes,
        bias: model.bias,
        features: feature_ids,
        weights: model.weights,
    }
}

/// Softmax regression state with AdaGrad accumulators.
struct Softmax {
    classes: usize,
    bias: Vec<f32>,
    weights: Vec<f32>,
    bias_g2: Vec<f32>,
    weights_g2: Vec<f32>,
}

impl Softmax {
    fn new(features: usize, classes: usize) -> Self {
        Self {
            classes,
            bias: vec![0.0; classes],
            weights: vec![0.0; features * classes],
            bias_g2: vec![1e-6; classes],
            weights_g2: vec![1e-6; features * classes],
        }
    }

    /// One AdaGrad step on one example (L2 on the rows it touches).
    fn step(&mut self, features: &[(usize, f32)], class: usize) {
        let c = self.classes;
        let mut p = self.bias.clone();
        for &(f, v) in features {
            for (l, w) in p.iter_mut().zip(&self.weights[f * c..(f + 1) * c]) {
                *l += v * w;
            }
        }
        intent::softmax(&mut p);
        for (k, pk) in p.iter().enumerate() {
            let g = pk - if k == class { 1.0 } else { 0.0 };
            self.bias_g2[k] += g * g;
            self.bias[k] -= LEARNING_RATE * g / self.bias_g2[k].sqrt();
            for &(f, v) in features {
                let i = f * c + k;
                let gw = g * v + L2 * self.weights[i];
                self.weights_g2[i] += gw * gw;
                self.weights[i] -= LEARNING_RATE * gw / self.weights_g2[i].sqrt();
            }
        }
    }
}
