//! `firstpaint build`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use firstpaint_bundle::{hex, sha256, SigningKey, TermDirectoryBuilder};
use firstpaint_engine::Engine;
use firstpaint_origin::build::{build, check_rules, BuildOptions};
use firstpaint_origin::inputs::{load, InputPaths, Inputs};
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
    };
    let inputs = loaded(&paths)?;
    let opts = options(&args.rules, args.ttl_days);
    match args.shard_products {
        Some(max) => sharded(
            &inputs,
            &key,
            &opts,
            &args.out,
            max as usize,
            args.global_products,
        ),
        None => single(&inputs, &key, &opts, &args.out),
    }
}

/// The inputs at `paths`, checked, with a line saying what they hold.
pub fn loaded(paths: &InputPaths) -> anyhow::Result<Inputs> {
    let inputs = load(paths)?;
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

/// Builds one bundle of `inputs` and writes it to `out` (atomically),
/// printing each step's time and what the models learned.
pub fn single(
    inputs: &Inputs,
    key: &SigningKey,
    opts: &BuildOptions,
    out: &Path,
) -> anyhow::Result<()> {
    let (bytes, report) = build(inputs, key, opts)?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    replace(out, &bytes)?;
    for (step, took) in &report.steps {
        eprintln!("  {step:<20} {:>8.1} ms", took.as_secs_f64() * 1e3);
    }
    for line in &report.models {
        eprintln!("  {line}");
    }
    println!(
        "wrote {} ({} bytes, {} products, {} sessions)",
        out.display(),
        report.bytes,
        report.products,
        report.sessions
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
