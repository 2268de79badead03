//! `firstpaint generate`.

use std::path::PathBuf;

use anyhow::Context;
use firstpaint_origin::generate::{self, Shape, Spec};

/// Arguments of `generate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write catalog.ndjson, events.ndjson and rules.toml into.
    #[arg(long)]
    out: PathBuf,
    /// Number of products.
    #[arg(long, default_value_t = 420)]
    products: usize,
    /// Number of shopping sessions (about 6 events each).
    #[arg(long, default_value_t = 2_000)]
    sessions: usize,
    /// Random seed; the same seed writes the same store.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// The store's "now" (RFC 3339): listings and events happen before it.
    #[arg(long, default_value = "2026-11-01T00:00:00Z")]
    now: String,
    /// How the store is structured: `classic` (the fixtures' store; a tiny
    /// title vocabulary and no taste inside a category) or `structured`
    /// (taste clusters, series and variants, long-tail titles).
    #[arg(long, value_enum, default_value_t = Shape::Classic)]
    shape: Shape,
}

/// Writes the store.
pub fn run(args: Args) -> anyhow::Result<()> {
    let now =
        time::OffsetDateTime::parse(&args.now, &time::format_description::well_known::Rfc3339)
            .with_context(|| format!("--now {:?}: not an RFC 3339 time", args.now))?;
    let spec = Spec {
        products: args.products,
        sessions: args.sessions,
        seed: args.seed,
        now,
        shape: args.shape,
    };
    let summary = generate::write(&spec, &args.out)?;
    println!(
        "wrote {} products and {} events to {}",
        summary.products,
        summary.events,
        args.out.display()
    );
    Ok(())
}
