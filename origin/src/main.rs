//! `firstpaint`: the origin CLI. Builds, signs, verifies and publishes
//! bundles, ranks slots for merchandisers, and generates synthetic stores.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// firstpaint origin: catalog + events + rules -> signed bundle for the edge.
#[derive(Debug, Parser)]
#[command(name = "firstpaint", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create an ed25519 key pair for signing bundles.
    Keygen(cmd::keygen::Args),
    /// Write a synthetic store (catalog, events, rules) of any size.
    Generate(cmd::generate::Args),
    /// Validate the inputs, train the models and write a signed bundle.
    Build(cmd::build::Args),
    /// Verify a bundle's signature, expiry and sections; print its header.
    Verify(cmd::verify::Args),
    /// Stop the edge serving cached storefront pages (`cache purge`), or show the purges.
    #[command(subcommand)]
    Cache(cmd::cache::Command),
    /// Pull the collected events from the edge into a directory (`events pull`), or prune old ones.
    #[command(subcommand)]
    Events(cmd::events::Command),
    /// Print what a bundle is and where it came from: inputs, schema, models, parent (`--json`).
    Inspect(cmd::inspect::Args),
    /// Publish a verified bundle to a directory or to wrangler's local KV.
    Publish(cmd::publish::Args),
    /// Give the canary a new share of shoppers: a new signed release.
    Rollout(cmd::releases::RolloutArgs),
    /// Serve the canary to every shopper: a new signed release.
    Promote(cmd::releases::Change),
    /// Serve the previous bundle again (or `--to` one from the publish log): a new signed release.
    Rollback(cmd::releases::RollbackArgs),
    /// Print the publish log (who, when, what, why) and what is served now.
    Releases(cmd::releases::ListArgs),
    /// Push stock, prices and availability between rebuilds (`live push`), or show what is live.
    Live(cmd::live::Args),
    /// Rebuild and publish whenever the catalog, rules or synonyms change.
    Watch(cmd::watch::Args),
    /// Take signed catalog-change webhooks over HTTP; rebuild and publish after each burst.
    Serve(cmd::serve::Args),
    /// Print the holdout arms the edge gives a shopper's first-party id.
    Assign(cmd::assign::Args),
    /// Read out the holdout experiments from pulled events: lift per module with intervals, SRM, segments, fairness; an HTML report and JSON.
    Readout(cmd::readout::Args),
    /// Drive seeded synthetic shoppers, with a planted uplift, through a running worker.
    Simulate(cmd::simulate::Args),
    /// Print what the edge would put in a slot, and why.
    Rank(cmd::rank::Args),
    /// Print what the edge would return for a search query, and why.
    Search(cmd::search::Args),
    /// Measure quality on real public data with the engine the edge runs.
    Eval(cmd::eval::Args),
    /// Render the storefront pages of a bundle's catalog into a static site.
    Site(cmd::site::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen(a) => cmd::keygen::run(a),
        Command::Generate(a) => cmd::generate::run(a),
        Command::Build(a) => cmd::build::run(a),
        Command::Verify(a) => cmd::verify::run(a),
        Command::Inspect(a) => cmd::inspect::run(a),
        Command::Cache(a) => cmd::cache::run(a),
        Command::Events(a) => cmd::events::run(a),
        Command::Publish(a) => cmd::publish::run(a),
        Command::Rollout(a) => cmd::releases::rollout(a),
        Command::Promote(a) => cmd::releases::promote(a),
        Command::Rollback(a) => cmd::releases::rollback(a),
        Command::Releases(a) => cmd::releases::list(a),
        Command::Live(a) => cmd::live::run(a),
        Command::Watch(a) => cmd::watch::run(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Rank(a) => cmd::rank::run(a),
        Command::Readout(a) => cmd::readout::run(a),
        Command::Simulate(a) => cmd::simulate::run(a),
        Command::Assign(a) => cmd::assign::run(a),
        Command::Search(a) => cmd::search::run(a),
        Command::Site(a) => cmd::site::run(a),
        Command::Eval(a) => cmd::eval::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether the output was closed early (`firstpaint … | head`): not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let pipe = Some(std::io::ErrorKind::BrokenPipe);
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().map(std::io::Error::kind) == pipe
            // JSON output wraps the write error in its own type.
            || c.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind) == pipe
    })
}
