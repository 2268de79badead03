//! Where bundles and releases are published, the signed release chain, and
//! the publish log: shared by `publish`, `rollback` and `releases`.
//!
//! A target is a directory (`bundles/<sha256>`, `manifest.json`,
//! `releases.json`) or wrangler's local KV (the same keys). Every command
//! that changes what is served writes a new signed release
//! ([`SignedRelease`]) with the next sequence number, then appends an entry
//! to the publish log (KV key `releases`): who, when, what, why.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context};
use firstpaint_bundle::{hex, key_id, Canary, Manifest, Release, SignedRelease, SigningKey};
use serde::{Deserialize, Serialize};

/// KV key of the manifest (the signed release).
pub const MANIFEST_KEY: &str = "manifest";
/// KV key of the publish log.
pub const LOG_KEY: &str = "releases";
/// Entries the publish log keeps (the oldest go first).
const LOG_KEPT: usize = 500;
/// Tries of a local KV command that finds the store locked.
const KV_ATTEMPTS: u32 = 10;

/// Where to publish.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// Publish into wrangler's local KV (what `wrangler dev` reads).
    #[arg(long, conflicts_with = "dir")]
    pub local: bool,
    /// Publish into the Cloudflare account's KV through `wrangler kv
    /// --remote` (the namespace `--binding` names in `--config`; wrangler
    /// reads `CLOUDFLARE_API_TOKEN` and `CLOUDFLARE_ACCOUNT_ID`). Every
    /// check and the release chain are the same as `--local`'s.
    #[arg(long, conflicts_with_all = ["dir", "local"])]
    pub remote: bool,
    /// Publish into a directory (bundles/<sha256>, manifest.json, releases.json).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// KV binding name in wrangler.toml.
    #[arg(long, default_value = "BUNDLES")]
    pub binding: String,
    /// wrangler.toml to use with --local.
    #[arg(long, default_value = "wrangler.toml")]
    pub config: PathBuf,
    /// The wrangler executable for --local.
    #[arg(long, default_value = "node_modules/.bin/wrangler")]
    pub wrangler: PathBuf,
    /// wrangler's local state directory for --local (as given to `wrangler dev --persist-to`).
    #[arg(long)]
    pub persist_to: Option<PathBuf>,
}

/// The key that signs what the edge reads (a release, a live overlay),
/// and for how long the edge accepts it.
#[derive(Debug, Clone, clap::Args)]
pub struct Sealing {
    /// Secret key file that signs it (its public key must be one the edge
    /// trusts: `BUNDLE_PUBKEYS`).
    #[arg(long, env = "FIRSTPAINT_KEY")]
    pub key: PathBuf,
    /// How long the edge accepts it, in seconds (default 30 days): past it
    /// the edge keeps what it has and says why, so a stalled publisher
    /// cannot pin stale data forever.
    #[arg(long, default_value_t = 30 * 24 * 3600)]
    pub ttl_secs: i64,
}

impl Sealing {
    /// The signing key, after checking the expiry is in the future.
    pub fn signing_key(&self) -> anyhow::Result<SigningKey> {
        ensure!(self.ttl_secs > 0, "--ttl-secs must be above 0");
        firstpaint_origin::keys::read_signing_key(&self.key)
    }
}

/// How a release is signed, and who says why.
#[derive(Debug, Clone, clap::Args)]
pub struct Signing {
    #[command(flatten)]
    pub seal: Sealing,
    /// Why, for the publish log.
    #[arg(long, short, default_value = "")]
    pub message: String,
    /// Who, for the publish log (default: $USER).
    #[arg(long)]
    pub by: Option<String>,
}

/// One line of the publish log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The release it wrote.
    pub sequence: u64,
    /// When, unix seconds.
    pub at: i64,
    /// Who.
    pub by: String,
    /// `publish`, `rollback`, ...
    pub action: String,
    /// The bundle it made current.
    pub bundle: Manifest,
    /// The canary after it, and its share, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<Canary>,
    /// Why.
    pub message: String,
}

impl Target {
    /// Refuses a target that names no place.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.dir.is_none() && !self.local && !self.remote {
            bail!(
                "say where to publish: --local (wrangler's local KV), --remote (the Cloudflare account's KV) or --dir DIR"
            );
        }
        Ok(())
    }

    /// Whether it is Workers KV (local or remote), with its value limit.
    pub fn is_kv(&self) -> bool {
        self.local || self.remote
    }

    /// Stores `file`, whose contents are `bytes` (already read and
    /// checked by the caller), under `key`: a directory gets the bytes,
    /// KV the file itself (no temporary copy of a large bundle).
    pub fn put_file(&self, key: &str, file: &Path, bytes: &[u8]) -> anyhow::Result<()> {
        match &self.dir {
            Some(dir) => self.put_bytes_in(dir, key, bytes),
            None => self.kv_put(key, file, None),
        }
    }

    /// Stores `bytes` under `key`.
    pub fn put_bytes(&self, key: &str, bytes: &[u8]) -> anyhow::Result<()> {
        match &self.dir {
            Some(dir) => self.put_bytes_in(dir, key, bytes),
            None => self.kv_put_bytes(key, bytes, None),
        }
    }

    /// `bytes` through a temporary file to [`kv_put`](Self::kv_put).
    fn kv_put_bytes(&self, key: &str, bytes: &[u8], ttl_secs: Option<i64>) -> anyhow::Result<()> {
        let tmp = std::env::temp_dir().join(format!(
            "firstpaint-{}-{}",
            key.replace('/', "-"),
            std::process::id()
        ));
        std::fs::write(&tmp, bytes)
            .with_context(|| format!("{}: failed to write", tmp.display()))?;
        let result = self.kv_put(key, &tmp, ttl_secs);
        let _ = std::fs::remove_file(&tmp);
        result
    }

    /// `wrangler kv key put KEY --path FILE [--ttl SECS]`.
    fn kv_put(&self, key: &str, file: &Path, ttl_secs: Option<i64>) -> anyhow::Result<()> {
        let mut command = self.kv_command("put", key);
        command.arg("--path").arg(file);
        if let Some(ttl) = ttl_secs {
            command.arg("--ttl").arg(ttl.to_string());
        }
        run_kv(command, &format!("wrangler kv key put {key}"))?;
        Ok(())
    }

    fn put_bytes_in(&self, dir: &Path, key: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let target = dir.join(file_name(key));
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("{}: failed to create", parent.display()))?;
        }
        super::replace(&target, bytes)
    }

    /// Stores each of `values` (key, bytes, how long to keep it): for KV,
    /// all at once (one wrangler run each, in parallel: a run is most of a
    /// second), each kept `ttl_secs` when given (KV then deletes it; a
    /// directory keeps it). The order they land in is not defined.
    pub fn put_many(&self, values: &[(&str, &[u8], Option<i64>)]) -> anyhow::Result<()> {
        if let Some(dir) = &self.dir {
            for (key, bytes, _) in values {
                self.put_bytes_in(dir, key, bytes)?;
            }
            return Ok(());
        }
        std::thread::scope(|scope| {
            let runs: Vec<_> = values
                .iter()
                .map(|&(key, bytes, ttl)| scope.spawn(move || self.kv_put_bytes(key, bytes, ttl)))
                .collect();
            runs.into_iter()
                .map(|run| {
                    run.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("a KV write panicked")))
                })
                .collect::<anyhow::Result<Vec<()>>>()
        })?;
        Ok(())
    }

    /// The bytes stored under `key`, `None` when there are none.
    pub fn get_bytes(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        match &self.dir {
            Some(dir) => {
                let path = dir.join(file_name(key));
                match std::fs::read(&path) {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e).with_context(|| format!("{}: failed to read", path.display())),
                }
            }
            None => {
                let out = run_kv(
                    self.kv_command("get", key),
                    &format!("wrangler kv key get {key}"),
                )?;
                Ok((out.stdout.trim_ascii() != b"Value not found").then_some(out.stdout))
            }
        }
    }

    /// The text stored under `key`, `None` when there is none.
    pub fn get_text(&self, key: &str) -> anyhow::Result<Option<String>> {
        self.get_bytes(key)?
            .map(|bytes| {
                String::from_utf8(bytes)
                    .with_context(|| format!("KV key `{key}` is not UTF-8 text"))
            })
            .transpose()
    }

    /// The JSON document stored under `key`, `None` when there is none;
    /// one that is not `what` is an error saying so.
    pub fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        what: &str,
    ) -> anyhow::Result<Option<T>> {
        self.get_text(key)?
            .map(|text| {
                serde_json::from_str(&text).with_context(|| format!("KV key `{key}` is not {what}"))
            })
            .transpose()
    }

    /// The release served now (`None` before the first). It is the
    /// publisher's own: its signature is not checked here (the key may
    /// have been rotated since), only its sequence and bundles are
    /// carried on. A manifest from before releases is read as release 0.
    pub fn live_release(&self) -> anyhow::Result<Option<Release>> {
        let Some(text) = self.get_text(MANIFEST_KEY)? else {
            return Ok(None);
        };
        if let Ok(signed) = serde_json::from_str::<SignedRelease>(&text) {
            let release = serde_json::from_str(&signed.release)
                .context("the live release is not readable; publish with --dir to start over")?;
            return Ok(Some(release));
        }
        let bare: Manifest = serde_json::from_str(&text)
            .context("the live manifest is neither a release nor a manifest")?;
        Ok(Some(Release {
            sequence: 0,
            created_at: bare.published_at,
            expires_at: bare.published_at.saturating_add(1),
            current: bare,
            previous: None,
            canary: None,
        }))
    }

    /// The publish log, oldest first.
    pub fn log(&self) -> anyhow::Result<Vec<LogEntry>> {
        match self.get_text(LOG_KEY)? {
            Some(text) => serde_json::from_str(&text).context("the publish log is not readable"),
            None => Ok(Vec::new()),
        }
    }

    /// Signs and stores `release` (what the edge serves from now on), then
    /// logs it as `action`.
    pub fn release(
        &self,
        release: &Release,
        signing: &Signing,
        action: &str,
    ) -> anyhow::Result<()> {
        release
            .check()
            .map_err(|e| anyhow::anyhow!("refused to write release {}: {e}", release.sequence))?;
        let key = signing.seal.signing_key()?;
        let text = SignedRelease::sign(release, &key).to_json();
        self.put_bytes(MANIFEST_KEY, text.as_bytes())?;
        let mut log = self.log()?;
        log.push(LogEntry {
            sequence: release.sequence,
            at: release.created_at,
            by: signing
                .by
                .clone()
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "unknown".into()),
            action: action.into(),
            bundle: release.current.clone(),
            canary: release.canary.clone(),
            message: signing.message.clone(),
        });
        let drop = log.len().saturating_sub(LOG_KEPT);
        log.drain(..drop);
        self.put_bytes(LOG_KEY, serde_json::to_string_pretty(&log)?.as_bytes())?;
        println!(
            "release {} ({action}): serving {} (version {}), expires {}, signed by key {}",
            release.sequence,
            release.current.sha256,
            release.current.bundle_version,
            when(release.expires_at),
            hex(&key_id(&key.verifying_key()))
        );
        Ok(())
    }

    /// `wrangler kv key VERB KEY` against the local or the remote KV.
    fn kv_command(&self, verb: &str, key: &str) -> Command {
        self.wrangler_command(&["kv", "key", verb, key])
    }

    /// `wrangler WORDS...` against the binding's local or remote KV.
    fn wrangler_command(&self, words: &[&str]) -> Command {
        let place = if self.remote { "--remote" } else { "--local" };
        let mut command = Command::new(&self.wrangler);
        command
            .args(words)
            .args(["--binding", &self.binding, place, "--config"])
            .arg(&self.config)
            .env("WRANGLER_SEND_METRICS", "false");
        if let (Some(dir), false) = (&self.persist_to, self.remote) {
            command.arg("--persist-to").arg(dir);
        }
        command
    }
}

/// Unix seconds as an RFC 3339 time (UTC), for people.
pub use firstpaint_origin::readout::iso as when;

/// The file a key is stored in within a directory target.
fn file_name(key: &str) -> String {
    match key {
        MANIFEST_KEY => "manifest.json".into(),
        LOG_KEY => "releases.json".into(),
        other => other.into(),
    }
}

/// Runs `command`; again, a few times, while a running `wrangler dev`
/// holds the local store's SQLite lock (publishing while `make dev`
/// serves is the local workflow) or KV answers 500. Its output, or an error with wrangler's
/// own message.
fn run_kv(mut command: Command, what: &str) -> anyhow::Result<std::process::Output> {
    let mut attempt = 1;
    loop {
        let out = command
            .output()
            .with_context(|| format!("{what}: failed to run wrangler"))?;
        if out.status.success() {
            return Ok(out);
        }
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The store locked, or KV's 500 (local KV answers it when two
        // writers meet; remote KV's is transient too).
        let busy = [
            "SQLITE_BUSY",
            "database is locked",
            "500 Internal Server Error",
        ]
        .iter()
        .any(|s| said.contains(s));
        if !busy || attempt >= KV_ATTEMPTS {
            bail!("{what} failed ({}): {}", out.status, said.trim());
        }
        attempt += 1;
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The release after `live` serving `current`: the next sequence number,
/// the bundle it replaces as `previous` (serving the live bundle again
/// keeps the previous one), no canary, an expiry `ttl_secs` from `now`.
pub fn next_release(live: Option<Release>, current: Manifest, now: i64, ttl_secs: i64) -> Release {
    let (sequence, previous) = match live {
        Some(live) if live.current.sha256 == current.sha256 => (live.sequence + 1, live.previous),
        Some(live) => (live.sequence + 1, Some(live.current)),
        None => (1, None),
    };
    Release {
        sequence,
        created_at: now,
        expires_at: now.saturating_add(ttl_secs),
        current,
        previous,
        canary: None,
    }
}

/// `live` again under the next sequence number, signed `now`, expiring
/// `ttl_secs` later: what a change to its canary starts from.
pub fn renewed(live: Release, now: i64, ttl_secs: i64) -> Release {
    Release {
        sequence: live.sequence + 1,
        created_at: now,
        expires_at: now.saturating_add(ttl_secs),
        ..live
    }
}

/// The release after `live` trying `bundle` on `percent` of shoppers;
/// what every other shopper gets stays.
pub fn with_canary(
    live: Option<Release>,
    bundle: Manifest,
    percent: u8,
    now: i64,
    ttl_secs: i64,
) -> anyhow::Result<Release> {
    let live = live.context(
        "nothing is served yet, so there is nothing to compare a canary with: publish without --canary first",
    )?;
    ensure!(
        bundle.sha256 != live.current.sha256,
        "{} is already served to everyone (release {})",
        bundle.sha256,
        live.sequence
    );
    let mut next = renewed(live, now, ttl_secs);
    next.canary = Some(Canary { bundle, percent });
    Ok(next)
}

/// What a change to the served release takes: where, and how it is
/// signed and logged.
#[derive(Debug, clap::Args)]
pub struct Change {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    signing: Signing,
}

impl Change {
    /// The release served now, which the change starts from.
    fn live(&self) -> anyhow::Result<Release> {
        self.target.check()?;
        self.signing.seal.signing_key()?;
        self.target
            .live_release()?
            .context("nothing is published yet")
    }

    /// Signs, stores and logs `release` as `action`.
    fn write(&self, release: &Release, action: &str) -> anyhow::Result<()> {
        self.target.release(release, &self.signing, action)
    }
}

/// Arguments of `rollout`.
#[derive(Debug, clap::Args)]
pub struct RolloutArgs {
    /// The canary's new share of shoppers, 0 to 100 (0 stops it).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    percent: u8,
    #[command(flatten)]
    change: Change,
}

/// `firstpaint rollout --percent N`: the canary to a new share of
/// shoppers (the same ones stay in as it grows).
pub fn rollout(args: RolloutArgs) -> anyhow::Result<()> {
    let live = args.change.live()?;
    ensure!(
        live.canary.is_some(),
        "release {} has no canary: publish one with `publish --canary PERCENT`",
        live.sequence
    );
    let mut next = renewed(live, super::now(), args.change.signing.seal.ttl_secs);
    if let Some(canary) = next.canary.as_mut() {
        canary.percent = args.percent;
    }
    args.change.write(&next, "rollout")
}

/// `firstpaint promote`: the canary to every shopper; the bundle it
/// replaces becomes previous.
pub fn promote(args: Change) -> anyhow::Result<()> {
    let live = args.live()?;
    let canary = live
        .canary
        .clone()
        .with_context(|| format!("release {} has no canary to promote", live.sequence))?;
    let next = next_release(
        Some(live),
        canary.bundle,
        super::now(),
        args.signing.seal.ttl_secs,
    );
    args.write(&next, "promote")
}

/// Arguments of `rollback`.
#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// Serve this bundle instead of the previous one: its SHA-256 (at
    /// least 8 leading hex digits), as `firstpaint releases` lists it.
    #[arg(long)]
    to: Option<String>,
    #[command(flatten)]
    change: Change,
}

/// `firstpaint rollback`: a new release serving the previous bundle (or
/// `--to` one from the log); the bundle it replaces becomes previous.
pub fn rollback(args: RollbackArgs) -> anyhow::Result<()> {
    let live = args.change.live()?;
    let to = match &args.to {
        None => live.previous.clone().context(
            "the live release names no previous bundle; say which with --to (see `firstpaint releases`)",
        )?,
        Some(prefix) => {
            ensure!(
                prefix.len() >= 8 && prefix.bytes().all(|b| b.is_ascii_hexdigit()),
                "--to {prefix:?}: give at least 8 hex digits of the bundle's SHA-256"
            );
            let prefix = prefix.to_ascii_lowercase();
            let log = args.change.target.log()?;
            let found = log
                .iter()
                .rev()
                .map(|e| &e.bundle)
                .chain(live.previous.iter())
                .find(|b| b.sha256.starts_with(&prefix))
                .cloned();
            found.with_context(|| {
                format!("no bundle in the publish log starts with {prefix}; `firstpaint releases` lists them")
            })?
        }
    };
    ensure!(
        to.sha256 != live.current.sha256,
        "{} is already served (release {})",
        to.sha256,
        live.sequence
    );
    let release = next_release(
        Some(live),
        to,
        super::now(),
        args.change.signing.seal.ttl_secs,
    );
    args.change.write(&release, "rollback")
}

/// Arguments of `releases`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: Target,
    /// Print the log as JSON.
    #[arg(long)]
    json: bool,
}

/// `firstpaint releases`: the publish log, newest first, and what is
/// served now.
pub fn list(args: ListArgs) -> anyhow::Result<()> {
    args.target.check()?;
    let log = args.target.log()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&log)?);
        return Ok(());
    }
    match args.target.live_release()? {
        Some(live) => println!(
            "serving release {}: {} (version {}), expires {}{}",
            live.sequence,
            live.current.sha256,
            live.current.bundle_version,
            when(live.expires_at),
            live.previous
                .as_ref()
                .map_or(String::new(), |p| format!("; previous {}", p.sha256))
                + &live.canary.as_ref().map_or(String::new(), |c| format!(
                    "; canary {} to {}% of shoppers",
                    c.bundle.sha256, c.percent
                ))
        ),
        None => println!("nothing published yet"),
    }
    for e in log.iter().rev() {
        println!(
            "{:>5}  {}  {:<9} {:<12} {}  {}",
            e.sequence,
            when(e.at),
            e.action,
            e.by,
            e.bundle.sha256.get(..12).unwrap_or(&e.bundle.sha256),
            e.message
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// A command line with a [`Target`], as the subcommands take it.
    #[derive(Parser)]
    struct Line {
        #[command(flatten)]
        target: Target,
    }

    fn args(command: &Command) -> Vec<String> {
        command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    /// The remote transport cannot run here (no account): everything up
    /// to it is the local path's, and the command it runs says `--remote`.
    #[test]
    fn remote_kv_runs_wrangler_against_the_account() {
        let remote =
            Line::parse_from(["x", "--remote", "--persist-to", "/tmp/s", "--binding", "B"]).target;
        remote.check().unwrap();
        assert!(remote.is_kv());
        assert_eq!(
            args(&remote.kv_command("put", "manifest")),
            [
                "kv",
                "key",
                "put",
                "manifest",
                "--binding",
                "B",
                "--remote",
                "--config",
                "wrangler.toml"
            ]
        );
        let local = Line::parse_from(["x", "--local", "--persist-to", "/tmp/s"]).target;
        assert_eq!(
            args(&local.kv_command("get", "releases")),
            [
                "kv",
                "key",
                "get",
                "releases",
                "--binding",
                "BUNDLES",
                "--local",
                "--config",
                "wrangler.toml",
                "--persist-to",
                "/tmp/s"
            ]
        );
        assert!(Line::try_parse_from(["x", "--remote", "--local"]).is_err());
        assert!(Line::try_parse_from(["x", "--remote", "--dir", "d"]).is_err());
        let nowhere = Line::parse_from(["x"]).target;
        assert!(nowhere
            .check()
            .unwrap_err()
            .to_string()
            .contains("--remote"));
    }

    fn bundle(byte: u8) -> Manifest {
        Manifest::single(hex(&[byte; 32]), None, 10, 3, "k".into(), 5)
    }

    #[test]
    fn a_canary_is_tried_grown_and_promoted() {
        let live = next_release(None, bundle(1), 100, 50);
        assert!(with_canary(None, bundle(2), 10, 100, 50).is_err());
        assert!(with_canary(Some(live.clone()), bundle(1), 10, 100, 50).is_err());
        let tried = with_canary(Some(live), bundle(2), 10, 200, 50).unwrap();
        assert_eq!((tried.sequence, tried.expires_at), (2, 250));
        assert_eq!(tried.current, bundle(1));
        assert_eq!(tried.canary.as_ref().map(|c| c.percent), Some(10));
        let promoted = next_release(Some(tried.clone()), bundle(2), 300, 50);
        assert_eq!(promoted.current, bundle(2));
        assert_eq!(promoted.previous, Some(bundle(1)));
        assert_eq!(promoted.canary, None);
        assert_eq!(renewed(tried.clone(), 400, 50).canary, tried.canary);
    }

    #[test]
    fn each_release_follows_the_live_one() {
        let first = next_release(None, bundle(1), 100, 50);
        assert_eq!((first.sequence, first.expires_at), (1, 150));
        assert_eq!(first.previous, None);
        // A new bundle: the live one becomes previous.
        let second = next_release(Some(first.clone()), bundle(2), 200, 50);
        assert_eq!(second.sequence, 2);
        assert_eq!(second.previous, Some(bundle(1)));
        // The same bundle again (a refresh of the expiry): previous stays.
        let third = next_release(Some(second), bundle(2), 300, 50);
        assert_eq!((third.sequence, third.expires_at), (3, 350));
        assert_eq!(third.previous, Some(bundle(1)));
        assert!(third.check().is_ok());
    }
}
