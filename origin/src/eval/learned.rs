//! Learned queries on searches they were not learned from: the store's
//! sessions are cut in time (by when each started, so no session is on
//! both sides), queries are learned from the earlier sessions, and every
//! search of a later one that it went on to engage with (a view, a cart or
//! an order within half an hour, as [`learned_queries::answers`] reads
//! them) is asked again, as typed: is a product
//! the shopper engaged with in the top [`K`], and at what rank? The same
//! searches run against the same store with the `learned` weight at 0, in
//! the same run, so what learning adds is measured on searches it did not
//! see.

use std::collections::{HashMap, HashSet};

use firstpaint_contracts::{Event, Product, Rules};
use firstpaint_engine::{Engine, SearchRequest};

use super::{engine_for, Tally};
use crate::train::learned_queries;

/// Results are judged in the first this many.
pub const K: usize = 10;

/// What the held-out searches scored.
#[derive(Debug, Clone)]
pub struct Report {
    /// Held-out searches a session engaged with afterwards.
    pub searches: usize,
    /// Of those, searches of a query learned from the earlier events.
    pub learned: usize,
    /// (engine, tally): with the rules' `learned` weight, and at 0.
    pub rows: Vec<(&'static str, Tally)>,
}

/// Learns from the sessions that started before the time that leaves
/// `held_out` (0 to 1) of them after it, and asks the later sessions'
/// searches of `products`' store built with `rules`.
pub fn run(
    products: Vec<Product>,
    events: Vec<Event>,
    rules: Rules,
    held_out: f64,
) -> anyhow::Result<Report> {
    let mut started: HashMap<&str, i64> = HashMap::new();
    for e in &events {
        let at = e.ts.unix_timestamp();
        let first = started.entry(e.session.as_str()).or_insert(at);
        *first = (*first).min(at);
    }
    let mut starts: Vec<i64> = started.values().copied().collect();
    starts.sort_unstable();
    let cut_at = ((1.0 - held_out.clamp(0.0, 1.0)) * starts.len() as f64) as usize;
    let cut = starts.get(cut_at).copied().unwrap_or(i64::MAX);
    let (events, later): (Vec<Event>, Vec<Event>) = events
        .iter()
        .cloned()
        .partition(|e| started.get(e.session.as_str()).is_some_and(|&s| s < cut));
    let now = events
        .iter()
        .map(|e| e.ts.unix_timestamp())
        .max()
        .unwrap_or(0)
        + 1;
    let ordinal: HashMap<&str, u32> = (0u32..)
        .zip(&products)
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let known: HashSet<String> = learned_queries::learn(&events, &ordinal)
        .into_iter()
        .map(|(query, _)| query)
        .collect();
    let asked: Vec<learned_queries::Answer> = learned_queries::answers(&later, &ordinal)
        .into_iter()
        .filter(|a| !a.engaged.is_empty())
        .collect();
    let mut unlearned = rules.clone();
    unlearned.search.learned = 0.0;
    let with = engine_for(products.clone(), events.clone(), rules, now)?;
    let without = engine_for(products, events, unlearned, now)?;
    let mut rows = Vec::new();
    for (name, engine) in [("learned queries", &with), ("words only", &without)] {
        let mut tally = Tally::default();
        for a in &asked {
            tally.add(rank(engine, a)?);
        }
        rows.push((name, tally));
    }
    Ok(Report {
        searches: asked.len(),
        learned: asked.iter().filter(|a| known.contains(&a.query)).count(),
        rows,
    })
}

/// The 1-based rank, in the top [`K`], of the first product `a`'s session
/// engaged with.
fn rank(engine: &Engine, a: &learned_queries::Answer) -> anyhow::Result<Option<usize>> {
    let mut req = SearchRequest::new(&a.typed);
    req.per_page = K;
    req.without_facets = true;
    let r = engine.search(&req)?;
    Ok(r.items
        .iter()
        .position(|i| a.engaged.contains_key(&i.ordinal))
        .map(|p| p + 1))
}

/// The report as a Markdown table.
pub fn table(report: &Report) -> String {
    let mut out = format!(
        "{} held-out searches a session engaged with, {} of a learned query\n\n\
         | engine | success@{K} | MRR@{K} |\n| --- | ---: | ---: |\n",
        report.searches, report.learned
    );
    for (name, t) in &report.rows {
        out.push_str(&format!(
            "| {name} | {:.3} | {:.3} |\n",
            t.success(),
            t.mrr()
        ));
    }
    out
}
