//! `firstpaint publish`.
//!
//! The bundle is verified first (a bad bundle never replaces a good one),
//! stored under its content address `bundles/<sha256>`, and only then is the
//! `manifest` pointed at it: a new signed release
//! ([`firstpaint_bundle::SignedRelease`]) with the next sequence number,
//! an expiry, the bundle as `current` and the one it replaces as
//! `previous`. Rolling back is publishing the old bundle again.
//!
//! A shard directory (`firstpaint build --shard-products … --out DIR`) is
//! published as a set: every shard is verified and loaded, and
//! `routes.fst` and `terms.dir` are checked against the shards, before
//! anything is written (one bad file stops the publish); then each is
//! stored under its content address, and the manifest, naming them all
//! ([`firstpaint_bundle::ShardSet`]), is written last.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context};
use firstpaint_bundle::{
    hex, sha256, Blob, Bundle, Header, Manifest, Release, ShardRef, ShardSet, SignedRelease,
    TermDirectory, VerifyingKey,
};
use firstpaint_engine::Engine;
use firstpaint_origin::shard::{ShardEntry, ShardIndex};

/// KV key of the manifest.
pub const MANIFEST_KEY: &str = "manifest";
/// Largest value Workers KV stores (25 MiB).
pub const KV_VALUE_LIMIT: usize = 25 << 20;

/// Arguments of `publish`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bundle (or a shard directory written by `build
    /// --shard-products`), and the key the edge trusts: it must verify
    /// against it.
    #[command(flatten)]
    signed: super::SignedBundle,
    /// Publish into wrangler's local KV (what `wrangler dev` reads).
    #[arg(long, conflicts_with = "dir")]
    local: bool,
    /// Publish into a directory (bundles/<sha256> and manifest.json).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// KV binding name in wrangler.toml.
    #[arg(long, default_value = "BUNDLES")]
    binding: String,
    /// wrangler.toml to use with --local.
    #[arg(long, default_value = "wrangler.toml")]
    config: PathBuf,
    /// The wrangler executable for --local.
    #[arg(long, default_value = "node_modules/.bin/wrangler")]
    wrangler: PathBuf,
    /// wrangler's local state directory for --local (as given to `wrangler dev --persist-to`).
    #[arg(long)]
    persist_to: Option<PathBuf>,
    /// Secret key file that signs the release (its public key must be one
    /// the edge trusts: `BUNDLE_PUBKEYS`).
    #[arg(long, env = "FIRSTPAINT_KEY")]
    key: PathBuf,
    /// How long the edge accepts the release, in seconds (default 30
    /// days): past it the edge keeps its last bundle and says the release
    /// expired, so a stalled publisher cannot pin a stale bundle forever.
    #[arg(long, default_value_t = 30 * 24 * 3600)]
    ttl_secs: i64,
}

/// One file to store under its content address.
struct Stored {
    file: PathBuf,
    key: String,
    sha256: String,
}

/// Verifies, stores, then points the manifest.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.dir.is_none() && !args.local {
        bail!("say where to publish: --local (wrangler's local KV) or --dir DIR");
    }
    let (stored, manifest) = if args.signed.bundle.is_dir() {
        shard_set(&args)?
    } else {
        single(&args)?
    };
    ensure!(args.ttl_secs > 0, "--ttl-secs must be above 0");
    let signing_key = firstpaint_origin::keys::read_signing_key(&args.key)?;
    let live = live_release(&args)?;
    for s in &stored {
        store(&args, s)?;
    }
    let now = super::now();
    let release = next_release(live, manifest.clone(), now, args.ttl_secs);
    let text = SignedRelease::sign(&release, &signing_key).to_json();
    if let Some(dir) = &args.dir {
        super::replace(&dir.join("manifest.json"), text.as_bytes())?;
    } else {
        let tmp =
            std::env::temp_dir().join(format!("firstpaint-manifest-{}.json", std::process::id()));
        std::fs::write(&tmp, &text)
            .with_context(|| format!("{}: failed to write", tmp.display()))?;
        let result = kv_put(&args, MANIFEST_KEY, &tmp);
        let _ = std::fs::remove_file(&tmp);
        result?;
    }
    println!(
        "release {} (expires {}), signed by key {}",
        release.sequence,
        release.expires_at,
        hex(&firstpaint_bundle::key_id(&signing_key.verifying_key()))
    );
    match &manifest.shards {
        None => println!(
            "published {} as {} (version {})",
            args.signed.bundle.display(),
            manifest.bundle_key,
            manifest.bundle_version
        ),
        Some(set) => println!(
            "published {}: {} shards and {} as {} (version {}), routes {}, terms {}",
            args.signed.bundle.display(),
            set.shards.len(),
            set.global,
            manifest.bundle_key,
            manifest.bundle_version,
            set.routes.key,
            set.terms.key
        ),
    }
    Ok(())
}

/// The release after `live` (the one published now, if any): the next
/// sequence number, `current` as the live bundle, the bundle it replaces
/// as `previous` (republishing the live bundle keeps the previous one), no
/// canary.
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

/// The release published now, read back from where this publish writes
/// (`None` before the first). It is the publisher's own: its signature
/// is not checked here (the key may have been rotated since), only its
/// sequence and bundles are carried on. A manifest from before releases
/// becomes `previous` of release 1.
fn live_release(args: &Args) -> anyhow::Result<Option<Release>> {
    let text = match &args.dir {
        Some(dir) => {
            let path = dir.join("manifest.json");
            match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => {
                    return Err(e).with_context(|| format!("{}: failed to read", path.display()))
                }
            }
        }
        None => match kv_get(args, MANIFEST_KEY)? {
            Some(text) => text,
            None => return Ok(None),
        },
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

/// One bundle: verified and loaded, then its manifest.
fn single(args: &Args) -> anyhow::Result<(Vec<Stored>, Manifest)> {
    let (key, bytes) = args.signed.read()?;
    let file = &args.signed.bundle;
    let header = verified(file, &bytes, &key, args.local)?;
    let digest = hex(&sha256(&bytes));
    let manifest = Manifest::single(
        digest.clone(),
        bytes.len() as u64,
        header.bundle_version,
        hex(&header.key_id),
        super::now(),
    );
    let stored = Stored {
        file: file.clone(),
        key: manifest.bundle_key.clone(),
        sha256: digest,
    };
    Ok((vec![stored], manifest))
}

/// A shard directory: every shard verified and loaded (one at a time, so
/// a 1M-product set never sits in memory at once), the routes and term
/// directory checked against them, then the manifest naming them all.
fn shard_set(args: &Args) -> anyhow::Result<(Vec<Stored>, Manifest)> {
    let dir = &args.signed.bundle;
    let index_file = dir.join("shards.json");
    let index: ShardIndex =
        serde_json::from_slice(&std::fs::read(&index_file).with_context(|| {
            format!(
                "{}: failed to read (is {} a shard directory written by `build --shard-products`?)",
                index_file.display(),
                dir.display()
            )
        })?)
        .with_context(|| {
            format!(
                "{}: not a shard index (rebuild the shards with this release)",
                index_file.display()
            )
        })?;
    let key = firstpaint_origin::keys::read_verifying_key(&args.signed.pubkey)?;
    let mut stored = Vec::new();
    let mut refs = Vec::with_capacity(index.shards.len());
    for entry in &index.shards {
        let (s, _) = shard(dir, entry, &key, args.local)?;
        refs.push(ShardRef {
            name: entry.name.clone(),
            categories: entry.categories.clone(),
            key: s.key.clone(),
            sha256: s.sha256.clone(),
            bytes: entry.bytes as u64,
        });
        stored.push(s);
    }
    let (global, header) = shard(dir, &index.global, &key, args.local)?;
    let routes = blob(dir, &index.routes, args.local, |bytes| {
        let map = fst::Map::new(bytes).context("not an fst map")?;
        let shards = refs.len() as u64;
        let mut stream = map.stream();
        while let Some((id, s)) = fst::Streamer::next(&mut stream) {
            ensure!(
                s < shards,
                "product {:?} routes to shard {s}; there are {shards}",
                String::from_utf8_lossy(id)
            );
        }
        Ok(())
    })?;
    let terms = blob(dir, &index.terms, args.local, |bytes| {
        let directory = TermDirectory::new(bytes)?;
        ensure!(
            directory.shards() as usize <= refs.len(),
            "names {} shards; there are {}",
            directory.shards(),
            refs.len()
        );
        Ok(())
    })?;
    let manifest = Manifest {
        bundle_key: global.key.clone(),
        sha256: global.sha256.clone(),
        bytes: index.global.bytes as u64,
        bundle_version: header.bundle_version,
        key_id: hex(&header.key_id),
        published_at: super::now(),
        shards: Some(ShardSet {
            global: index.global.name.clone(),
            shards: refs,
            routes: Blob {
                key: routes.0.key.clone(),
                sha256: routes.0.sha256.clone(),
                bytes: routes.1,
            },
            terms: Blob {
                key: terms.0.key.clone(),
                sha256: terms.0.sha256.clone(),
                bytes: terms.1,
            },
        }),
    };
    manifest
        .check()
        .map_err(|e| anyhow::anyhow!("{}: {e}", index_file.display()))?;
    stored.push(global);
    stored.push(routes.0);
    stored.push(terms.0);
    Ok((stored, manifest))
}

/// One shard of the set, verified, loaded and matched against
/// `shards.json`; its header for the manifest.
fn shard(
    dir: &Path,
    entry: &ShardEntry,
    key: &VerifyingKey,
    local: bool,
) -> anyhow::Result<(Stored, Header)> {
    let file = dir.join(&entry.file);
    let bytes =
        std::fs::read(&file).with_context(|| format!("{}: failed to read", file.display()))?;
    let digest = hex(&sha256(&bytes));
    ensure!(
        digest == entry.sha256 && bytes.len() == entry.bytes,
        "{}: shard {} does not match shards.json (sha256 {digest}, {} bytes; shards.json says {}, {} bytes): refused to publish",
        file.display(),
        entry.name,
        bytes.len(),
        entry.sha256,
        entry.bytes
    );
    let header = verified(&file, &bytes, key, local)?;
    Ok((
        Stored {
            file,
            key: Manifest::key_for(&digest),
            sha256: digest,
        },
        header,
    ))
}

/// A non-bundle file of the set, checked by `check`; with its size.
fn blob(
    dir: &Path,
    name: &str,
    local: bool,
    check: impl FnOnce(&[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<(Stored, u64)> {
    let file = dir.join(name);
    let bytes =
        std::fs::read(&file).with_context(|| format!("{}: failed to read", file.display()))?;
    check(&bytes).with_context(|| format!("{}: refused to publish", file.display()))?;
    fits(&file, bytes.len(), local)?;
    let digest = hex(&sha256(&bytes));
    Ok((
        Stored {
            file,
            key: Manifest::key_for(&digest),
            sha256: digest,
        },
        bytes.len() as u64,
    ))
}

/// `bytes` verified against `key` and loaded by the engine (a bundle that
/// does not load is not published either), and small enough for KV.
fn verified(file: &Path, bytes: &[u8], key: &VerifyingKey, local: bool) -> anyhow::Result<Header> {
    let name = file.display();
    let header = Bundle::open(bytes, key, super::now())
        .with_context(|| format!("{name}: refused to publish"))?
        .header()
        .clone();
    Engine::open(bytes, key, super::now())
        .with_context(|| format!("{name}: refused to publish, it does not load"))?;
    fits(file, bytes.len(), local)?;
    Ok(header)
}

fn fits(file: &Path, len: usize, local: bool) -> anyhow::Result<()> {
    if local && len > KV_VALUE_LIMIT {
        bail!(
            "{}: {:.1} MiB does not fit one KV value (at most {} MiB); publish it with --dir instead, or build smaller shards",
            file.display(),
            len as f64 / (1 << 20) as f64,
            KV_VALUE_LIMIT >> 20
        );
    }
    Ok(())
}

/// Stores one file under its key, checking it did not change since it
/// was verified.
fn store(args: &Args, s: &Stored) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(&s.file).with_context(|| format!("{}: failed to read", s.file.display()))?;
    ensure!(
        hex(&sha256(&bytes)) == s.sha256,
        "{}: changed while it was being published; nothing was pointed at it",
        s.file.display()
    );
    match &args.dir {
        Some(dir) => {
            let target = dir.join(&s.key);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("{}: failed to create", parent.display()))?;
            }
            super::replace(&target, &bytes)
        }
        None => kv_put(args, &s.key, &s.file),
    }
}

/// `wrangler kv key VERB KEY` against the local KV this publish writes.
fn kv_command(args: &Args, verb: &str, key: &str) -> Command {
    let mut command = Command::new(&args.wrangler);
    command
        .args([
            "kv",
            "key",
            verb,
            key,
            "--binding",
            &args.binding,
            "--local",
            "--config",
        ])
        .arg(&args.config)
        .env("WRANGLER_SEND_METRICS", "false");
    if let Some(dir) = &args.persist_to {
        command.arg("--persist-to").arg(dir);
    }
    command
}

/// Runs `command`; again, a few times, while a running `wrangler dev`
/// holds the local store's SQLite lock (publishing while `make dev`
/// serves is the local workflow). Its output, or an error with wrangler's
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
        let busy = said.contains("SQLITE_BUSY") || said.contains("database is locked");
        if !busy || attempt >= KV_ATTEMPTS {
            bail!("{what} failed ({}): {}", out.status, said.trim());
        }
        attempt += 1;
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Tries of a local KV command that finds the store locked.
const KV_ATTEMPTS: u32 = 10;

fn kv_put(args: &Args, key: &str, file: &Path) -> anyhow::Result<()> {
    let mut command = kv_command(args, "put", key);
    command.arg("--path").arg(file);
    run_kv(command, &format!("wrangler kv key put {key}"))?;
    Ok(())
}

/// The value of `key` in local KV as text, `None` when there is none.
fn kv_get(args: &Args, key: &str) -> anyhow::Result<Option<String>> {
    let mut command = kv_command(args, "get", key);
    command.arg("--text");
    let out = run_kv(command, &format!("wrangler kv key get {key}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if stdout.trim() == "Value not found" {
        return Ok(None);
    }
    Ok(Some(stdout.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(byte: u8) -> Manifest {
        Manifest::single(hex(&[byte; 32]), 10, 3, "k".into(), 5)
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
