//! `firstpaint cache purge` and `cache show`: the edge's storefront cache.
//!
//! The edge keeps the origin's pages in each data centre's Cache API for as
//! long as the origin's `Cache-Control` allows. A purge does not delete
//! them (no command can reach every data centre's cache): it adds rules to
//! the purge document in KV ([`Purges`]), which every isolate re-reads
//! every `PURGE_TTL_MS` (10 s); a page a rule covers that was cached
//! before the purge is fetched from the origin again, and never served
//! stale. Two purges at the same moment from two machines may lose one
//! (read, add, write): purge again if in doubt, a purge is idempotent.

use anyhow::bail;
use firstpaint_contracts::{PurgeRule, Purges, PURGES_KEY};

use super::releases::{when, Target};

/// The subcommands of `cache`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Stop serving cached pages: these paths, prefixes ending in `*`, or `--all`.
    Purge(PurgeArgs),
    /// Print the purges in force.
    Show(super::Show),
}

/// Arguments of `cache purge`.
#[derive(Debug, clap::Args)]
pub struct PurgeArgs {
    /// Page paths (`/p/SKU-1`: every query of it) or prefixes ending in
    /// `*` (`/c/shoes/*`).
    paths: Vec<String>,
    /// Every page.
    #[arg(long, conflicts_with = "paths")]
    all: bool,
    #[command(flatten)]
    target: Target,
}

/// Runs `cache purge` or `cache show`.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Show(shown) => show(shown),
        Command::Purge(asked) => purge(asked),
    }
}

fn purge(args: PurgeArgs) -> anyhow::Result<()> {
    let mut purges = read(&args.target)?;
    let patterns = if args.all {
        vec!["/*".to_owned()]
    } else {
        args.paths
    };
    if patterns.is_empty() {
        bail!("say what to purge: page paths, prefixes ending in `*` (`/c/shoes/*`), or --all");
    }
    let at_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let rules = patterns
        .iter()
        .map(|p| PurgeRule::new(p, at_ms as i64))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("cannot purge {e}"))?;
    for rule in rules {
        purges.add(rule);
    }
    args.target
        .put_bytes(PURGES_KEY, &serde_json::to_vec_pretty(&purges)?)?;
    println!(
        "purged {}: every edge isolate stops serving the cached copies within PURGE_TTL_MS (10 s){}",
        patterns.join(" "),
        if args.target.is_kv() {
            ", plus KV's propagation in production (up to 60 s)"
        } else {
            ""
        }
    );
    Ok(())
}

fn show(args: super::Show) -> anyhow::Result<()> {
    let purges = read(&args.target)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&purges)?);
    } else if purges.rules.is_empty() {
        println!("no purges: every cached page is served for as long as its origin allows");
    } else {
        for rule in &purges.rules {
            println!("{}  {}", when(rule.at_ms / 1000), rule.path);
        }
    }
    Ok(())
}

/// The purge document in force (empty when there is none), once the
/// target is known to name a place.
fn read(target: &Target) -> anyhow::Result<Purges> {
    target.check()?;
    Ok(target
        .get_json(PURGES_KEY, "a purge document")?
        .unwrap_or_default())
}
