//! `firstpaint build`.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use firstpaint_origin::build::{build, BuildOptions};
use firstpaint_origin::inputs::{load, InputPaths};
use firstpaint_origin::keys::read_signing_key;

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
    /// Where to write the signed bundle.
    #[arg(long)]
    out: PathBuf,
    /// Days until the edge refuses the bundle.
    #[arg(long, default_value_t = 14)]
    ttl_days: u32,
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
    let inputs = load(&paths)?;
    eprintln!(
        "inputs: {} products, {} events ({} without analytics consent dropped, {} naming unknown products)",
        inputs.products.len(),
        inputs.events.len(),
        inputs.dropped_without_consent,
        inputs.unknown_product_refs
    );
    let opts = BuildOptions {
        now: super::now(),
        ttl_days: args.ttl_days,
        progress: std::io::stderr().is_terminal(),
        rules_file: args.rules.display().to_string(),
    };
    let (bytes, report) = build(&inputs, &key, &opts)?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    let tmp = args.out.with_extension("tmp");
    std::fs::write(&tmp, &bytes).with_context(|| format!("{}: failed to write", tmp.display()))?;
    std::fs::rename(&tmp, &args.out)
        .with_context(|| format!("{}: failed to replace", args.out.display()))?;
    for (step, took) in &report.steps {
        eprintln!("  {step:<20} {:>8.1} ms", took.as_secs_f64() * 1e3);
    }
    for line in &report.models {
        eprintln!("  {line}");
    }
    println!(
        "wrote {} ({} bytes, {} products, {} sessions)",
        args.out.display(),
        report.bytes,
        report.products,
        report.sessions
    );
    Ok(())
}
