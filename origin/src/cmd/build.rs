//! `firstpaint build`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use firstpaint_bundle::{hex, sha256, SigningKey, TermDirectoryBuilder};
use firstpaint_engine::Engine;
use firstpaint_origin::build::{build, build_with_state, check_rules, BuildOptions, BuildReport};
use firstpaint_origin::incremental::state::{self, BuildState};
use firstpaint_origin::incremental::{parent_of, rebuild, Diff, MAX_CHANGED_SHARE};
use firstpaint_origin::inputs::{
    load_catalog_side, load_with_catalog, CheckedCatalog, InputPaths, Inputs,
};
use firstpaint_origin::keys::read_signing_key;
use firstpaint_origin::shard::{self, ShardEntry, ShardIndex};

use super::publish::KV_VALUE_LIMIT;
use super::replace;

/// Arguments of `build`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Products, one JSON object per line.
    #[arg(long)]
    catalog: PathBuf,
    /// Behaviour events, one JSON object per line.
    #[arg(long)]
    events: PathBuf,
    /// Guardrail rules (TOML).
    #[arg(long)]
    rules: PathBuf,
    /// Search synonyms: `a, b, c` (two-way) or `a => b, c` (one-way) per line.
    #[arg(long)]
    synonyms: Option<PathBuf>,
    /// Secret signing key file (from `firstpaint keygen`).
    #[arg(long)]
    key: PathBuf,
    /// Where to write the signed bundle (with --shard-products, the
    /// directory of the shards).
    #[arg(long)]
    out: PathBuf,
    /// Days until the edge refuses the bundle.
    #[arg(long, default_value_t = 14)]
    ttl_days: u32,
    /// Cut the store into shards of at most this many products, one bundle
    /// each (a store too large for one KV value: ~100k products fit one),
    /// with a global shard, `routes.fst` and `shards.json` beside them.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    shard_products: Option<u32>,
    /// Products in the global shard (the store's most active; with
    /// --shard-products).
    #[arg(long, default_value_t = 20_000, requires = "shard_products")]
    global_products: usize,
    #[command(flatten)]
    lexicon: super::Lexicon,
    #[command(flatten)]
    incremental: Incremental,
}

/// When a build may start from the last one instead of training again.
#[derive(Debug, Clone, clap::Args)]
pub struct Incremental {
    /// Build incrementally when the bundle at --out and the state beside it
    /// allow: catalog, rules and synonyms are read again, the models are
    /// carried over from that build without reading the events (see
    /// `firstpaint_origin::incremental`). Otherwise, or when the change is
    /// over 10% of the catalog, it says why and builds in full.
    #[arg(long, conflicts_with = "shard_products")]
    pub incremental: bool,
    #[command(flatten)]
    pub retrain: Retrain,
}

/// How old an incremental build's models may be.
#[derive(Debug, Clone, clap::Args)]
pub struct Retrain {
    /// Build in full, retraining on the events, once the models are this
    /// many hours old (incremental builds carry them over).
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..))]
    pub retrain_after_hours: u64,
}

impl Retrain {
    /// The age as a duration.
    pub fn after(&self) -> Duration {
        Duration::from_secs(self.retrain_after_hours.saturating_mul(3600))
    }
}

/// Validates, trains, signs and writes. Nothing is written when any input is
/// invalid, and the old bundle at `--out` is replaced atomically.
pub fn run(args: Args) -> anyhow::Result<()> {
    let key = read_signing_key(&args.key)?;
    let paths = InputPaths {
        catalog: args.catalog,
        events: args.events,
        rules: args.rules.clone(),
        synonyms: args.synonyms,
        wordnet: args.lexicon.dir()?,
    };
    let opts = options(&args.rules, args.ttl_days);
    match args.shard_products {
        Some(max) => sharded(
            &loaded(&paths, None)?,
            &key,
            &opts,
            &args.out,
            max as usize,
            args.global_products,
        ),
        None => {
            let incremental = args.incremental;
            let retrain = incremental.incremental.then(|| incremental.retrain.after());
            single(&paths, &key, &opts, &args.out, retrain, None).map(|_| ())
        }
    }
}

/// The inputs at `paths`, checked, with a line saying what they hold; a
/// `known` catalog stands for the catalog file.
pub fn loaded(paths: &InputPaths, known: Option<&CheckedCatalog>) -> anyhow::Result<Inputs> {
    let inputs = load_with_catalog(paths, known)?;
    eprintln!(
        "inputs: {} products, {} events ({} without analytics consent dropped, {} naming unknown products)",
        inputs.products.len(),
        inputs.events.len(),
        inputs.dropped_without_consent,
        inputs.unknown_product_refs
    );
    Ok(inputs)
}

/// How a bundle is built now: valid `ttl_days`, rules read from `rules`.
pub fn options(rules: &Path, ttl_days: u32) -> BuildOptions {
    BuildOptions {
        now: super::now(),
        ttl_days,
        progress: std::io::stderr().is_terminal(),
        rules_file: rules.display().to_string(),
        shard: false,
    }
}

/// Builds one bundle of the inputs at `paths` and writes it to `out`
/// (atomically), with its build state beside it, printing each step's
/// time and what the models learned. Incremental when `incremental` (the
/// most age of the models carried over) is given and the last build
/// allows. A `known` catalog stands for the catalog file (`serve` keeps
/// it, with changes the file does not hold yet). Returns what kind of build it was, for logs.
pub fn single(
    paths: &InputPaths,
    key: &SigningKey,
    opts: &BuildOptions,
    out: &Path,
    incremental: Option<Duration>,
    known: Option<&CheckedCatalog>,
) -> anyhow::Result<String> {
    let mut why_full = "full build".to_owned();
    if let Some(retrain) = incremental {
        let started = Instant::now();
        match parent_of(out, opts.now, retrain) {
            Ok(parent) => {
                let mut read = vec![("read build state", started.elapsed())];
                let started = Instant::now();
                let inputs = load_catalog_side(paths, known)?;
                read.push(("read catalog, rules, synonyms", started.elapsed()));
                let started = Instant::now();
                let diff = Diff::between(&parent, &inputs);
                read.push(("compare catalogs", started.elapsed()));
                if !diff.too_large() {
                    let (bytes, mut report, state) = rebuild(&inputs, parent, &diff, key, opts)?;
                    report.steps.splice(0..0, read);
                    written(out, &bytes, report, &state)?;
                    return Ok(format!("incremental build: {}", diff.summary()));
                }
                why_full = format!(
                    "full build: {} is over {:.0}% of the catalog",
                    diff.summary(),
                    MAX_CHANGED_SHARE * 100.0
                );
            }
            Err(why) => why_full = format!("full build: {why}"),
        }
        eprintln!("{why_full}");
    }
    let inputs = loaded(paths, known)?;
    let (bytes, report, state) = build_with_state(&inputs, key, opts)?;
    written(out, &bytes, report, &state)?;
    Ok(why_full)
}

/// Writes a built bundle to `out` and its state beside it, and prints the
/// report. The bundle goes first: a state left naming the old bundle is
/// not used (the next build is a full one).
fn written(
    out: &Path,
    bytes: &[u8],
    mut report: BuildReport,
    state: &BuildState,
) -> anyhow::Result<()> {
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    let started = Instant::now();
    replace(out, bytes)?;
    report.steps.push(("write bundle", started.elapsed()));
    let started = Instant::now();
    replace(&state::path_for(out), &state.to_bytes()?)?;
    report.steps.push(("write build state", started.elapsed()));
    for (step, took) in &report.steps {
        eprintln!("  {step:<26} {:>8.1} ms", took.as_secs_f64() * 1e3);
    }
    for line in &report.models {
        eprintln!("  {line}");
    }
    println!(
        "wrote {} ({} bytes, {} products)",
        out.display(),
        report.bytes,
        report.products,
    );
    Ok(())
}

/// `build --shard-products`: checks the rules against the whole store,
/// then builds and writes each shard (see `firstpaint_origin::shard`),
/// `routes.fst`, `terms.dir` and `shards.json`. A shard over the KV value limit stops
/// the build, naming it. The shards are written to `DIR/.building` and
/// moved into `DIR` only once every one is built, `shards.json` last: a
/// failed build leaves the last good set as it was.
fn sharded(
    inputs: &Inputs,
    key: &SigningKey,
    opts: &BuildOptions,
    dir: &Path,
    max: usize,
    global: usize,
) -> anyhow::Result<()> {
    for w in check_rules(inputs, opts)? {
        eprintln!("warning: {w}");
    }
    let staging = dir.join(".building");
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("{}: cannot create", staging.display()))?;
    let opts = BuildOptions {
        shard: true,
        ..opts.clone()
    };
    let specs = shard::plan(&inputs.products, max);
    let global = shard::global(inputs, global);
    let mut entries = Vec::with_capacity(specs.len() + 1);
    let mut terms = TermDirectoryBuilder::new();
    for (number, spec) in specs.iter().chain(std::iter::once(&global)).enumerate() {
        let started = Instant::now();
        let part = shard::inputs_for(inputs, spec);
        let (bytes, report) = build(&part, key, &opts)
            .with_context(|| format!("shard {}: build failed", spec.name))?;
        if bytes.len() > KV_VALUE_LIMIT {
            bail!(
                "shard {} is {} bytes, over the {KV_VALUE_LIMIT} a KV value holds: build again with a smaller --shard-products (now {max})",
                spec.name,
                bytes.len()
            );
        }
        if number < specs.len() {
            let engine = Engine::open(bytes.clone(), &key.verifying_key(), opts.now)
                .with_context(|| format!("shard {}: does not open", spec.name))?;
            terms.add_shard(number, shard::shard_terms(&engine))?;
        }
        let file = format!("{}.fpb", spec.name);
        replace(&staging.join(&file), &bytes)?;
        eprintln!(
            "  {:<24} {:>8} products {:>11} bytes {:>7.1} s",
            spec.name,
            report.products,
            bytes.len(),
            started.elapsed().as_secs_f64()
        );
        entries.push(ShardEntry {
            name: spec.name.clone(),
            file,
            categories: spec.categories.clone(),
            products: report.products,
            bytes: bytes.len(),
            sha256: hex(&sha256(&bytes)),
        });
    }
    let routes = shard::routes(&inputs.products, &specs)?;
    replace(&staging.join("routes.fst"), &routes)?;
    let terms = terms.finish()?;
    replace(&staging.join("terms.dir"), &terms)?;
    for file in entries
        .iter()
        .map(|e| e.file.as_str())
        .chain(["routes.fst", "terms.dir"])
    {
        std::fs::rename(staging.join(file), dir.join(file))
            .with_context(|| format!("{}: failed to replace", dir.join(file).display()))?;
    }
    // Empty now; a leftover is harmless, so a failure to remove it is not one.
    std::fs::remove_dir(&staging).ok();
    let global = entries.pop().context("the global shard was not built")?;
    let index = ShardIndex {
        shards: entries,
        global,
        routes: "routes.fst".to_owned(),
        terms: "terms.dir".to_owned(),
    };
    let json = serde_json::to_vec_pretty(&index)?;
    replace(&dir.join("shards.json"), &json)?;
    println!(
        "wrote {} shards, a global shard, routes.fst ({} bytes) and terms.dir ({} bytes) to {}",
        index.shards.len(),
        routes.len(),
        terms.len(),
        dir.display()
    );
    Ok(())
}
