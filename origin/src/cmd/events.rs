//! `firstpaint events pull` and `events prune`: the collected events,
//! from the edge's R2 bucket through its `/p13n/events` route (a bearer
//! token from `--token-file`; the worker's secret `EVENTS_TOKEN`).
//!
//! `pull` mirrors every object written from `--since` on (default: from
//! the newest hour already pulled, so a pull takes what is new) into
//! `--out`, one file per object under its hour, skipping objects it has
//! whole (by default from two hours before the newest it has); then it
//! merges every object there into `--out/events.ndjson`,
//! each event id once (delivery is at least once) and in time order:
//! what `build --events` reads. `prune` removes the objects of every hour
//! older than `--older-than-days` from the bucket.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use firstpaint_origin::pulled_events;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

/// The subcommands of `events`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Mirror the collected events into a directory and merge them into its events.ndjson.
    Pull(PullArgs),
    /// Remove collected events older than a number of days from the bucket.
    Prune(PruneArgs),
}

/// Where the edge is and how to be let in.
#[derive(Debug, clap::Args)]
pub struct Edge {
    /// The worker's address (`https://shop.example.com`, or `wrangler
    /// dev`'s `http://127.0.0.1:8787`).
    #[arg(long = "from")]
    url: String,
    /// A file holding the bearer token (the worker's `EVENTS_TOKEN`).
    #[arg(long)]
    token_file: PathBuf,
}

/// Arguments of `events pull`.
#[derive(Debug, clap::Args)]
pub struct PullArgs {
    #[command(flatten)]
    edge: Edge,
    /// Objects written from this time on (RFC 3339 or unix seconds);
    /// default: from two hours before the newest hour already in `--out`
    /// (a batch named just before an hour turned may be written after a
    /// later one; objects already here whole are not fetched again).
    #[arg(long)]
    since: Option<String>,
    /// The directory to mirror into.
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `events prune`.
#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    #[command(flatten)]
    edge: Edge,
    /// Remove what these rules no longer keep: the objects of every hour
    /// older than their `events.retention_days` (the edge already
    /// returns none of them).
    #[arg(
        long,
        required_unless_present = "older_than_days",
        conflicts_with = "older_than_days"
    )]
    rules: Option<PathBuf>,
    /// Or remove the objects of every hour older than this many days (at
    /// least 1: pull before you prune).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    older_than_days: Option<u32>,
}

/// One object in the edge's listing.
#[derive(Debug, serde::Deserialize)]
struct Listed {
    key: String,
    bytes: u64,
}

/// A page of the edge's listing.
#[derive(Debug, serde::Deserialize)]
struct Listing {
    objects: Vec<Listed>,
    cursor: Option<String>,
}

/// Runs `events pull` or `events prune`.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Pull(args) => pull(args),
        Command::Prune(args) => prune(args),
    }
}

fn pull(args: PullArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.edge)?;
    let since = match &args.since {
        Some(t) => super::parse_time("--since", t)?,
        None => (newest_hour(&args.out)? - 2 * 3_600).max(0),
    };
    let mut cursor: Option<String> = None;
    let (mut listed, mut fetched, mut bytes) = (0usize, 0usize, 0u64);
    loop {
        let mut path = format!("/p13n/events?since={since}");
        if let Some(c) = &cursor {
            path.push_str(&format!(
                "&cursor={}",
                utf8_percent_encode(c, NON_ALPHANUMERIC)
            ));
        }
        let page: Listing = serde_json::from_slice(&client.get(&path)?)
            .with_context(|| format!("{path}: not a listing"))?;
        for object in &page.objects {
            listed += 1;
            let Some(relative) = object.key.strip_prefix("events/") else {
                bail!(
                    "the edge listed {:?}, which is not an events object",
                    object.key
                );
            };
            let target = args.out.join(relative);
            let have = std::fs::metadata(&target).map(|m| m.len()).ok();
            if have == Some(object.bytes) {
                continue;
            }
            // Listed, then past retention before it was fetched: gone.
            let Some(body) = client.get_kept(&format!("/p13n/events/{relative}"))? else {
                continue;
            };
            write_new(&target, &body)?;
            fetched += 1;
            bytes += body.len() as u64;
        }
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: failed to create", args.out.display()))?;
    let merged = pulled_events::merge(&args.out)?;
    let file = args.out.join("events.ndjson");
    super::replace(&file, merged.ndjson()?.as_bytes())?;
    println!(
        "pulled {fetched} new objects ({bytes} bytes) of {listed} listed since {since}; {} objects hold {} events ({} repeats dropped): {}",
        merged.objects,
        merged.events.len(),
        merged.repeats,
        file.display()
    );
    Ok(())
}

fn prune(args: PruneArgs) -> anyhow::Result<()> {
    let days = match (&args.rules, args.older_than_days) {
        (_, Some(days)) => days,
        (Some(rules), None) => super::rules_of(rules)?.events.retention_days,
        (None, None) => bail!("say how old: --rules rules.toml or --older-than-days N"),
    };
    let client = Client::new(&args.edge)?;
    let before = super::now() - i64::from(days) * 86_400;
    let answer: serde_json::Value =
        serde_json::from_slice(&client.delete(&format!("/p13n/events?before={before}"))?)?;
    println!(
        "removed {} objects older than {days} days",
        answer["deleted"]
    );
    Ok(())
}

/// The edge's `/p13n/events` route, with the token.
struct Client {
    agent: ureq::Agent,
    base: String,
    token: String,
}

impl Client {
    fn new(edge: &Edge) -> anyhow::Result<Client> {
        let token = std::fs::read_to_string(&edge.token_file)
            .with_context(|| format!("{}: failed to read", edge.token_file.display()))?
            .trim()
            .to_owned();
        if token.is_empty() {
            bail!("{}: holds no token", edge.token_file.display());
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build();
        Ok(Client {
            agent: ureq::Agent::new_with_config(config),
            base: edge.url.trim_end_matches('/').to_owned(),
            token,
        })
    }

    fn get(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let url = format!("{}{path}", self.base);
        let request = self.agent.get(&url).header("authorization", self.bearer());
        answer(&url, request.call())
    }

    /// Like [`Client::get`], but `None` for an object the edge no longer
    /// returns (410: past the rules' retention).
    fn get_kept(&self, path: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let url = format!("{}{path}", self.base);
        let response = self
            .agent
            .get(&url)
            .header("authorization", self.bearer())
            .call();
        if matches!(&response, Ok(r) if r.status() == 410) {
            return Ok(None);
        }
        answer(&url, response).map(Some)
    }

    fn delete(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let url = format!("{}{path}", self.base);
        let request = self
            .agent
            .delete(&url)
            .header("authorization", self.bearer());
        answer(&url, request.call())
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }
}

/// The body of a 2xx answer; else an error with the status and the
/// edge's reason.
pub(crate) fn answer(
    url: &str,
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> anyhow::Result<Vec<u8>> {
    let mut response = response.with_context(|| format!("{url}: unreachable"))?;
    let body = response
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .with_context(|| format!("{url}: failed to read the answer"))?;
    let status = response.status();
    if !status.is_success() {
        bail!("{url}: {status}: {}", String::from_utf8_lossy(&body).trim());
    }
    Ok(body)
}

/// Writes `bytes` to `path` (its directories made) through a temporary
/// file, so a stopped pull leaves no half object that looks whole.
fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: failed to create", dir.display()))?;
    }
    super::replace(path, bytes)
}

/// The start of the newest hour mirrored in `dir` (`YYYY/MM/DD/HH`), or 0.
fn newest_hour(dir: &Path) -> anyhow::Result<i64> {
    let mut at = dir.to_path_buf();
    let mut parts = Vec::new();
    for _ in 0..4 {
        let newest = match std::fs::read_dir(&at) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
                .max(),
            Err(_) => None,
        };
        let Some(n) = newest else {
            return Ok(0);
        };
        parts.push(n);
        at = at.join(format!(
            "{n:0width$}",
            width = if parts.len() == 1 { 4 } else { 2 }
        ));
    }
    let [y, m, d, h] = parts[..] else {
        return Ok(0);
    };
    let date = time::Date::from_calendar_date(
        y as i32,
        time::Month::try_from(m as u8).context("a month directory out of range")?,
        d as u8,
    )
    .context("a day directory out of range")?;
    Ok(date.with_hms(h as u8, 0, 0)?.assume_utc().unix_timestamp())
}
