//! `firstpaint watch`: rebuild and publish when the catalog, rules or
//! synonyms change.
//!
//! The files are polled (size and modification time, every `--poll-ms`):
//! it works the same on every file system, network mounts included, and
//! needs nothing from the platform (an edit that keeps a file's size
//! within one tick of a coarse clock, 1 s on some file systems, is not
//! seen: write exports through a rename, as most tools do). A change starts a rebuild once the
//! files have been still for `--debounce-ms`, so an export written in
//! several steps is built once. A rebuild that fails (bad input, named
//! with file, line and field) publishes nothing and the watch goes on; the
//! bundle served stays.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use super::rebuild::Pipeline;

/// Arguments of `watch`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pipeline: Pipeline,
    /// How long the files must be still before a rebuild, ms.
    #[arg(long, default_value_t = 1000)]
    debounce_ms: u64,
    /// How often the files are looked at, ms.
    #[arg(long, default_value_t = 250)]
    poll_ms: u64,
    /// Rebuild and publish once at start, before watching.
    #[arg(long)]
    now: bool,
}

/// What a file looks like from outside: enough to see that it changed.
type Stamp = Option<(u64, SystemTime)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// Watches until killed.
pub fn run(args: Args) -> anyhow::Result<()> {
    args.pipeline.check()?;
    let files: Vec<&Path> = args.pipeline.watched();
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let snapshot = || files.iter().map(|f| stamp(f)).collect::<Vec<Stamp>>();
    // Seen before the first rebuild and before saying so: a change made
    // during either is caught.
    let mut seen = snapshot();
    if args.now {
        rebuild(&args.pipeline, "watch: started");
    }
    eprintln!("watching {}", names.join(", "));
    // When the files last moved, and which did, while a rebuild is due.
    let mut moved: Option<(Instant, Vec<String>)> = None;
    loop {
        std::thread::sleep(Duration::from_millis(args.poll_ms));
        let now = snapshot();
        if now != seen {
            let changed: Vec<String> = names
                .iter()
                .zip(now.iter().zip(&seen))
                .filter(|(_, (a, b))| a != b)
                .map(|(n, _)| n.clone())
                .collect();
            let mut all = moved.map(|(_, c)| c).unwrap_or_default();
            for name in changed {
                if !all.contains(&name) {
                    all.push(name);
                }
            }
            moved = Some((Instant::now(), all));
            seen = now;
            continue;
        }
        if let Some((at, changed)) = &moved {
            if at.elapsed() >= Duration::from_millis(args.debounce_ms) {
                rebuild(
                    &args.pipeline,
                    &format!("watch: {} changed", changed.join(", ")),
                );
                moved = None;
            }
        }
    }
}

/// One rebuild, its outcome on stderr; a failure is reported, not fatal.
fn rebuild(pipeline: &Pipeline, why: &str) {
    eprintln!("{why}: rebuilding");
    match pipeline.run(why, None) {
        Ok((took, kind)) => eprintln!("{why}: published in {:.1} s ({kind})", took.as_secs_f64()),
        Err(e) => eprintln!("{why}: nothing published: {e:#}"),
    }
}
