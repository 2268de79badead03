//! `firstpaint readout --events DIR --rules rules.toml --out report.html`:
//! what the holdout experiments say personalization earns, from the
//! events `events pull` brought back: per module and overall, visitors
//! per arm, the sample-ratio check, conversion, add-to-cart rate, revenue
//! per visitor, AOV and repeat purchase with their lifts and intervals,
//! CUPED, segments, bundle versions, the day-by-day lift and a fairness
//! audit; as an HTML report with plots, and as JSON (`--json`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use firstpaint_contracts::{read_ndjson, Event};
use firstpaint_origin::readout::{self, html, Options, ReleaseNote};

use super::releases::LogEntry;

/// Arguments of `readout`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The pulled events: `events pull`'s directory (its objects are
    /// merged, each event id once) or one events.ndjson file.
    #[arg(long)]
    events: PathBuf,
    /// The rules file the experiments ran under (its `[experiments]`:
    /// the holdout shares the sample-ratio check expects).
    #[arg(long)]
    rules: PathBuf,
    /// The catalog (catalog.ndjson): brands for the fairness audit and
    /// product pages' categories for the entry-category segment.
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// The publish log as `firstpaint releases --json` prints it: links
    /// each bundle version's results to the releases that served it.
    #[arg(long)]
    releases: Option<PathBuf>,
    /// Exposures from this time on (RFC 3339 or unix seconds).
    #[arg(long)]
    from: Option<String>,
    /// Up to this time (default: the last event).
    #[arg(long)]
    to: Option<String>,
    /// The planned length of the experiment, days: reached, the
    /// fixed-horizon intervals decide; before it (or without it), the
    /// always-valid ones do, so looking early is safe.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    horizon_days: Option<u32>,
    /// Visitors the always-valid intervals are tuned for (narrowest
    /// there); set it from the traffic expected over the experiment.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..))]
    planned_visitors: u64,
    /// A second order within this many days of exposure is a repeat
    /// purchase.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=365))]
    repeat_days: u32,
    /// Write the HTML report here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the readout as JSON.
    #[arg(long)]
    json: bool,
}

/// Reads out the experiments.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.out.is_none() && !args.json {
        bail!("say where the report goes (--out report.html), or ask for --json");
    }
    let rules = super::assign::experiments_of(&args.rules)?;
    let events = read_events(&args.events)?;
    let catalog = match &args.catalog {
        Some(path) => {
            let file = path.display().to_string();
            let text =
                std::fs::read_to_string(path).with_context(|| format!("{file}: failed to read"))?;
            firstpaint_origin::inputs::check_catalog(&file, &text)?
        }
        None => Vec::new(),
    };
    let options = Options {
        from: args
            .from
            .as_deref()
            .map(|t| super::parse_time("--from", t))
            .transpose()?,
        to: args
            .to
            .as_deref()
            .map(|t| super::parse_time("--to", t))
            .transpose()?,
        now: super::now(),
        horizon_days: args.horizon_days,
        planned_visitors: args.planned_visitors as f64,
        repeat_days: args.repeat_days,
    };
    let releases = match &args.releases {
        Some(path) => release_notes(path)?,
        None => Vec::new(),
    };
    let readout = readout::readout(&events, &rules, &catalog, &releases, &options);
    if let Some(out) = &args.out {
        super::replace(out, html::report(&readout).as_bytes())?;
        eprintln!(
            "{}: {} visitors, {} experiments read out",
            out.display(),
            readout.visitors,
            readout.modules.len() + 1
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&readout)?);
    }
    Ok(())
}

/// The publish log's lines, one note per bundle version they served (a
/// canary's too).
fn release_notes(path: &Path) -> anyhow::Result<Vec<ReleaseNote>> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("{file}: failed to read"))?;
    let log: Vec<LogEntry> = serde_json::from_str(&text)
        .with_context(|| format!("{file}: not the publish log of `firstpaint releases --json`"))?;
    let mut notes = Vec::new();
    for e in log {
        let line = format!(
            "#{} {} {} by {}: {}",
            e.sequence,
            readout::iso(e.at),
            e.action,
            e.by,
            e.message
        );
        notes.push(ReleaseNote {
            bundle: e.bundle.bundle_version,
            note: line.clone(),
        });
        if let Some(c) = e.canary {
            notes.push(ReleaseNote {
                bundle: c.bundle.bundle_version,
                note: format!("{line} (canary at {}%)", c.percent),
            });
        }
    }
    Ok(notes)
}

/// The events of `events pull`'s directory, or of one NDJSON file.
fn read_events(path: &Path) -> anyhow::Result<Vec<Event>> {
    if path.is_dir() {
        let merged = firstpaint_origin::pulled_events::merge(path)?;
        if merged.objects == 0 {
            bail!(
                "{}: no .ndjson.gz objects here; give `events pull`'s directory or an events.ndjson file",
                path.display()
            );
        }
        return Ok(merged.events);
    }
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("{file}: failed to read"))?;
    Ok(read_ndjson::<Event>(&file, &text)?)
}
