//! Session intent: how often the engine names a visit's mission (its
//! top-level category) after its first 1, 2 and 3 steps, against always
//! naming the most common mission and against naming the category of the
//! latest step.
//!
//! Two data sets: a store's own events (the fixtures: visits that land on
//! a category page from a channel, search, then view products), split in
//! time (the last fifth of the visits held out); and the Online Retail
//! invoices (the last 30 days held out), where a basket's lines are its
//! steps and its mission is its most common department (see
//! [`super::retail::department`]: the data has no categories).
//!
//! The model is trained by the same `build` as a bundle, on the earlier
//! part only, and asked through [`Engine::intent`], as the edge asks it.

use std::collections::{HashMap, HashSet};

use firstpaint_contracts::Rules;
use firstpaint_engine::{CatalogSection, Engine};

use super::retail::{self, Retail};
use super::{engine_for, markdown, most_common};
use crate::build::catalog_section;
use crate::inputs::Inputs;
use crate::train::intent::{self, Step, Visit, MAX_STEPS};

/// Share of a store's visits held out (the latest ones).
const HELD_OUT_SHARE: f64 = 0.2;

/// One line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The data set.
    pub data: &'static str,
    /// The method.
    pub method: &'static str,
    /// Steps of the visit seen.
    pub steps: usize,
    /// Held-out visits with at least that many steps.
    pub visits: usize,
    /// Of those, how many it named the mission of.
    pub correct: usize,
}

impl Row {
    /// Share named correctly.
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.visits.max(1) as f64
    }
}

/// Evaluates on a store's own catalog and events.
pub fn run_store(inputs: Inputs, now: i64) -> anyhow::Result<Vec<Row>> {
    let ordinal: HashMap<&str, u32> = (0u32..)
        .zip(&inputs.products)
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let catalog = catalog_section(&inputs.products, &ordinal);
    let mut visits = intent::visits(&inputs.events, &ordinal, &catalog);
    visits.sort_by_key(|v| v.start);
    let cut_at = ((1.0 - HELD_OUT_SHARE) * visits.len() as f64) as usize;
    let cut = visits.get(cut_at).map_or(now, |v| v.start);
    let held: Vec<Visit> = visits.split_off(cut_at.min(visits.len()));
    // A session belongs to the side its first event is on.
    let held_out: HashSet<&str> = held.iter().map(|v| v.session.as_str()).collect();
    let train: Vec<_> = inputs
        .events
        .iter()
        .filter(|e| !held_out.contains(e.session.as_str()))
        .cloned()
        .collect();
    let engine = engine_for(inputs.products, train, inputs.rules, cut)?;
    Ok(score("store events", &engine, &catalog, &visits, &held))
}

/// Evaluates on the Online Retail invoices, departments as missions.
pub fn run_retail(retail: &Retail) -> anyhow::Result<Vec<Row>> {
    let split = retail::split(retail, super::baskets::HELD_OUT_DAYS)?;
    let products: Vec<_> = retail
        .products
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p.category = vec![retail::department(&p.title).to_owned()];
            p
        })
        .collect();
    let catalog = catalog_section(&products, &split.index);
    let engine = engine_for(products, split.events.clone(), Rules::default(), split.cut)?;
    let basket_visits = |events: &[firstpaint_contracts::Event]| {
        let mut visits = Vec::new();
        for e in events {
            let firstpaint_contracts::EventKind::Order { items, .. } = &e.kind else {
                continue;
            };
            let steps: Vec<u32> = items
                .iter()
                .filter_map(|l| split.index.get(l.product.as_str()).copied())
                .collect();
            visits.push(basket(&e.session, steps, &catalog));
        }
        visits
    };
    let train = basket_visits(&split.events);
    let held: Vec<Visit> = split
        .test
        .iter()
        .map(|(invoice, steps)| basket(invoice, steps.clone(), &catalog))
        .collect();
    Ok(score(
        "Online Retail baskets",
        &engine,
        &catalog,
        &train,
        &held,
    ))
}

/// A basket as a visit: its products as steps, its most common department
/// as its mission.
fn basket(id: &str, steps: Vec<u32>, catalog: &CatalogSection) -> Visit {
    let steps: Vec<Step> = steps.into_iter().map(Step::Product).collect();
    let mut weight: HashMap<u32, f32> = HashMap::new();
    for top in steps.iter().filter_map(|s| s.top(catalog)) {
        *weight.entry(top).or_default() += 1.0;
    }
    Visit {
        session: id.to_owned(),
        channel: None,
        steps,
        label: intent::heaviest(&weight),
        start: 0,
    }
}

/// Accuracy of the engine and the two baselines on `held` visits after
/// 1..=[`MAX_STEPS`] steps; the majority is counted on `train`.
fn score(
    data: &'static str,
    engine: &Engine,
    catalog: &CatalogSection,
    train: &[Visit],
    held: &[Visit],
) -> Vec<Row> {
    let mut labels: HashMap<u32, usize> = HashMap::new();
    for label in train.iter().filter_map(|v| v.label) {
        *labels.entry(label).or_default() += 1;
    }
    let majority = most_common(&labels).first().map(|&(c, _)| c);
    let latest = |v: &Visit, k: usize| {
        let seen = v.steps.get(..k).unwrap_or_default();
        seen.iter().rev().find_map(|s| s.top(catalog)).or(majority)
    };
    let mut rows = Vec::new();
    for k in 1..=MAX_STEPS {
        let cases: Vec<&Visit> = held
            .iter()
            .filter(|v| v.label.is_some() && v.steps.len() >= k)
            .collect();
        let count = |predict: &dyn Fn(&Visit) -> Option<u32>| {
            cases.iter().filter(|v| predict(v) == v.label).count()
        };
        let model = |v: &Visit| {
            let (viewed, signals) = v.signals(k);
            engine
                .most_likely_mission(&viewed, &signals)
                .map(|i| i.category)
                .or(majority)
        };
        for (method, correct) in [
            ("firstpaint (intent model)", count(&model)),
            ("latest step's category", count(&|v| latest(v, k))),
            ("most common mission", count(&|_| majority)),
        ] {
            rows.push(Row {
                data,
                method,
                steps: k,
                visits: cases.len(),
                correct,
            });
        }
    }
    rows
}

/// The rows as a Markdown table.
pub fn table(rows: &[Row]) -> String {
    markdown(
        &["data", "method", "steps seen", "visits", "accuracy"],
        rows.iter().map(|r| {
            vec![
                r.data.to_owned(),
                r.method.to_owned(),
                r.steps.to_string(),
                r.visits.to_string(),
                format!("{:.3}", r.accuracy()),
            ]
        }),
    )
}
