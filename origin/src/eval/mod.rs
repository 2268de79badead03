//! Quality on real public data, measured with the engine the edge runs.
//!
//! - [`retail`]: reads the UCI Online Retail transactions into products
//!   (and, for basket evaluations, invoices).
//! - [`search`]: the known-item search test.
//! - [`sessions`]: next-item prediction on click sessions against baselines.
//! - [`past_sessions`]: the training sessions as the session-kNN peers
//!   index them.
//! - [`vsknn`], [`stan`]: V-SkNN, STAN and V-STAN as session-rec publishes
//!   them, the peers to beat there.
//! - [`baskets`]: basket completion on real invoices, warm and cold.
//! - [`intent`]: session-intent accuracy after 1, 2 and 3 steps.
//! - [`learned`]: learned queries on later searches.
//! - [`ann`]: the HNSW's recall on the stores those build.

pub mod ann;
pub mod baskets;
pub mod intent;
pub mod learned;
pub mod past_sessions;
pub mod retail;
pub mod search;
pub mod sessions;
pub mod stan;
pub mod vsknn;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use firstpaint_bundle::SigningKey;
use firstpaint_contracts::{Event, Product, Rules, Stock};
use firstpaint_engine::Engine;

use crate::build::{build, BuildOptions};
use crate::inputs::Inputs;

/// Set (to anything) where the real data must be there: the evaluations
/// fail without it rather than skip (`make eval` sets it).
pub const REQUIRE_DATA: &str = "FIRSTPAINT_REQUIRE_DATA";

/// `../shared/data/{relative}` from the crate at `manifest_dir`, or `None`
/// when it is absent (an evaluation then skips, saying so on stderr); an
/// error instead when [`REQUIRE_DATA`] is set, so a run that must measure
/// does not pass without measuring.
pub fn shared_data(manifest_dir: &str, relative: &str) -> anyhow::Result<Option<PathBuf>> {
    let path = Path::new(manifest_dir)
        .join("../../shared/data")
        .join(relative);
    if path.exists() {
        return Ok(Some(path));
    }
    if std::env::var_os(REQUIRE_DATA).is_some() {
        anyhow::bail!("{} is absent and {REQUIRE_DATA} is set", path.display());
    }
    eprintln!("SKIPPED: {} is absent", path.display());
    Ok(None)
}

/// Builds a bundle from `products`, `events` and `rules` exactly as
/// `firstpaint build` does, signs it with a throwaway key and opens it.
pub fn engine_for(
    products: Vec<Product>,
    events: Vec<Event>,
    rules: Rules,
    now: i64,
) -> anyhow::Result<Engine> {
    let inputs = Inputs {
        products,
        events,
        rules,
        synonyms: Vec::new(),
        wordnet: None,
        related: Default::default(),
        catalog_sha256: [0; 32],
        events_sha256: [0; 32],
        rules_sha256: [0; 32],
        files: Vec::new(),
        dropped_without_consent: 0,
        unknown_product_refs: 0,
    };
    let key = SigningKey::from_bytes(&[7; 32]);
    let opts = BuildOptions {
        now,
        ttl_days: 1,
        progress: false,
        rules_file: "eval rules".into(),
        shard: false,
    };
    // On one thread: the HNSW builder inserts in parallel, so its graph
    // (and the lists whose fillers come from it) would differ from run to
    // run, and two builds' lists could not be compared one for one.
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let (bytes, _) = one_thread.install(|| build(&inputs, &key, &opts))?;
    Ok(Engine::open(&bytes, &key.verifying_key(), now)?)
}

/// A catalog product made from what a public data set has: an id, a
/// title, a price and when it was first seen; one category for all, and
/// enough stock everywhere that no guardrail hides it.
pub fn product(
    id: &str,
    title: &str,
    category: &str,
    price: f64,
    currency: &str,
    listed: i64,
) -> anyhow::Result<Product> {
    Ok(Product {
        id: id.to_owned(),
        title: title.to_owned(),
        description: String::new(),
        brand: None,
        category: vec![category.to_owned()],
        attributes: Default::default(),
        variants: Vec::new(),
        price,
        cost: None,
        currency: currency.to_owned(),
        rating: None,
        inventory: vec![Stock {
            location: "main".to_owned(),
            available: 100,
            lead_days: 0,
        }],
        ship_days: Some(2),
        media: Vec::new(),
        compatible_with: Vec::new(),
        tags: Vec::new(),
        regulated: false,
        safety: Vec::new(),
        url: None,
        created_at: time::OffsetDateTime::from_unix_timestamp(listed)?,
        updated_at: None,
    })
}

/// Success@k and reciprocal-rank sums over a set of queries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Queries asked.
    pub queries: usize,
    /// Queries whose target was in the top k.
    pub hits: usize,
    /// Sum of 1/rank of the target when in the top k.
    pub reciprocal_ranks: f64,
    /// Queries answered with nothing at all.
    pub empty: usize,
    /// Queries answered by rescue (no lexical match).
    pub rescued: usize,
}

impl Tally {
    /// Counts one answer: the target's 1-based rank among the first k, if there.
    pub fn add(&mut self, rank: Option<usize>) {
        self.queries += 1;
        if let Some(r) = rank {
            self.hits += 1;
            self.reciprocal_ranks += 1.0 / r as f64;
        }
    }

    /// Hits / queries.
    pub fn success(&self) -> f64 {
        self.hits as f64 / self.queries.max(1) as f64
    }

    /// Mean reciprocal rank.
    pub fn mrr(&self) -> f64 {
        self.reciprocal_ranks / self.queries.max(1) as f64
    }

    /// Share of queries answered with nothing.
    pub fn empty_rate(&self) -> f64 {
        self.empty as f64 / self.queries.max(1) as f64
    }

    /// Share of queries answered by rescue.
    pub fn rescue_rate(&self) -> f64 {
        self.rescued as f64 / self.queries.max(1) as f64
    }
}

/// A Markdown table: `header`, then one line per row (numbers right-aligned
/// from the third column on, as the tables in BENCHMARKS.md are).
pub fn markdown(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut out = format!("| {} |\n|", header.join(" | "));
    for i in 0..header.len() {
        out.push_str(if i < 2 { " --- |" } else { " ---: |" });
    }
    out.push('\n');
    for row in rows {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out
}

/// Counts of a key, most common first (ties by key).
pub fn most_common<K: Ord + Clone + std::hash::Hash>(
    counts: &HashMap<K, usize>,
) -> Vec<(K, usize)> {
    let mut v: Vec<(K, usize)> = counts.iter().map(|(k, n)| (k.clone(), *n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}
