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

use anyhow::{bail, ensure, Context};
use firstpaint_bundle::{
    head_sha256, hex, sha256, Blob, Bundle, Header, Manifest, ShardRef, ShardSet, TermDirectory,
    VerifyingKey,
};
use firstpaint_engine::Engine;
use firstpaint_origin::shard::{ShardEntry, ShardIndex};

use super::releases::{next_release, with_canary, Signing, Target};

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
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    signing: Signing,
    /// Try the bundle on this share of shoppers (0 to 100) before
    /// promoting it (`firstpaint rollout`, `promote`); every other
    /// shopper keeps the bundle served now.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    canary: Option<u8>,
}

impl Args {
    /// Publishing `signed` to `target` as the current bundle, signed and
    /// logged by `signing` (what `watch` and `serve` do after a rebuild).
    pub fn new(signed: super::SignedBundle, target: Target, signing: Signing) -> Args {
        Args {
            signed,
            target,
            signing,
            canary: None,
        }
    }
}

/// One file to store under its content address.
struct Stored {
    file: PathBuf,
    key: String,
    sha256: String,
}

/// Verifies, stores, then points the manifest.
pub fn run(args: Args) -> anyhow::Result<()> {
    args.target.check()?;
    args.signing.seal.signing_key()?;
    let (stored, manifest) = if args.signed.bundle.is_dir() {
        shard_set(&args)?
    } else {
        single(&args)?
    };
    let live = args.target.live_release()?;
    for s in &stored {
        store(&args, s)?;
    }
    let (now, ttl) = (super::now(), args.signing.seal.ttl_secs);
    match args.canary {
        Some(percent) => {
            let release = with_canary(live, manifest.clone(), percent, now, ttl)?;
            args.target.release(&release, &args.signing, "canary")?;
        }
        None => {
            let release = next_release(live, manifest.clone(), now, ttl);
            args.target.release(&release, &args.signing, "publish")?;
        }
    }
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

/// One bundle: verified and loaded, then its manifest.
fn single(args: &Args) -> anyhow::Result<(Vec<Stored>, Manifest)> {
    let (key, bytes) = args.signed.read()?;
    let file = &args.signed.bundle;
    let (header, head) = verified(file, &bytes, &key, args.target.is_kv())?;
    let digest = hex(&sha256(&bytes));
    let manifest = Manifest::single(
        digest.clone(),
        Some(head),
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
        let (s, _, head) = shard(dir, entry, &key, args.target.is_kv())?;
        refs.push(ShardRef {
            name: entry.name.clone(),
            categories: entry.categories.clone(),
            key: s.key.clone(),
            sha256: s.sha256.clone(),
            head_sha256: Some(head),
            bytes: entry.bytes as u64,
        });
        stored.push(s);
    }
    let (global, header, global_head) = shard(dir, &index.global, &key, args.target.is_kv())?;
    let routes = blob(dir, &index.routes, args.target.is_kv(), |bytes| {
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
    let terms = blob(dir, &index.terms, args.target.is_kv(), |bytes| {
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
        head_sha256: Some(global_head),
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
/// `shards.json`; its header and head digest for the manifest.
fn shard(
    dir: &Path,
    entry: &ShardEntry,
    key: &VerifyingKey,
    kv: bool,
) -> anyhow::Result<(Stored, Header, String)> {
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
    let (header, head) = verified(&file, &bytes, key, kv)?;
    Ok((
        Stored {
            file,
            key: Manifest::key_for(&digest),
            sha256: digest,
        },
        header,
        head,
    ))
}

/// A non-bundle file of the set, checked by `check`; with its size.
fn blob(
    dir: &Path,
    name: &str,
    kv: bool,
    check: impl FnOnce(&[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<(Stored, u64)> {
    let file = dir.join(name);
    let bytes =
        std::fs::read(&file).with_context(|| format!("{}: failed to read", file.display()))?;
    check(&bytes).with_context(|| format!("{}: refused to publish", file.display()))?;
    fits(&file, bytes.len(), kv)?;
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
/// does not load is not published either), and small enough for KV when
/// `kv` is where it goes; its header, and its head's digest (hex) for the
/// release to name.
fn verified(
    file: &Path,
    bytes: &[u8],
    key: &VerifyingKey,
    kv: bool,
) -> anyhow::Result<(Header, String)> {
    let name = file.display();
    let header = Bundle::open(bytes, key, super::now())
        .with_context(|| format!("{name}: refused to publish"))?
        .header()
        .clone();
    Engine::open(bytes, key, super::now())
        .with_context(|| format!("{name}: refused to publish, it does not load"))?;
    fits(file, bytes.len(), kv)?;
    let head = head_sha256(bytes).with_context(|| format!("{name}: refused to publish"))?;
    Ok((header, hex(&head)))
}

fn fits(file: &Path, len: usize, kv: bool) -> anyhow::Result<()> {
    if kv && len > KV_VALUE_LIMIT {
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
    args.target.put_file(&s.key, &s.file, &bytes)
}
