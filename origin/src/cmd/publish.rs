//! `firstpaint publish`.
//!
//! The bundle is verified first (a bad bundle never replaces a good one),
//! stored under its content address `bundles/<sha256>`, and only then is the
//! `manifest` pointed at it. Rolling back is publishing the old bundle again.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use firstpaint_bundle::{hex, sha256, Bundle, Manifest};
use firstpaint_engine::Engine;

/// KV key of the manifest.
pub const MANIFEST_KEY: &str = "manifest";
/// Largest value Workers KV stores (25 MiB).
pub const KV_VALUE_LIMIT: usize = 25 << 20;

/// Arguments of `publish`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bundle, and the key the edge trusts: it must verify against it.
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
}

/// Verifies, stores, then points the manifest.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (key, bytes) = args.signed.read()?;
    let name = args.signed.bundle.display();
    let bundle = Bundle::open(&bytes[..], &key, super::now())
        .with_context(|| format!("{name}: refused to publish"))?;
    Engine::open(&bytes, &key, super::now())
        .with_context(|| format!("{name}: refused to publish, it does not load"))?;
    let digest = hex(&sha256(&bytes));
    let manifest = Manifest {
        bundle_key: Manifest::key_for(&digest),
        sha256: digest,
        bytes: bytes.len() as u64,
        bundle_version: bundle.header().bundle_version,
        key_id: hex(&bundle.header().key_id),
        published_at: super::now(),
    };
    let manifest_json = serde_json::to_string_pretty(&manifest)?;
    if let Some(dir) = &args.dir {
        let target = dir.join(&manifest.bundle_key);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("{}: failed to create", parent.display()))?;
        }
        std::fs::write(&target, &bytes)
            .with_context(|| format!("{}: failed to write", target.display()))?;
        super::replace(&dir.join("manifest.json"), manifest_json.as_bytes())?;
    } else if args.local {
        if bytes.len() > KV_VALUE_LIMIT {
            bail!(
                "{name}: {:.1} MiB does not fit one KV value (at most {} MiB); publish it with --dir instead",
                bytes.len() as f64 / (1 << 20) as f64,
                KV_VALUE_LIMIT >> 20
            );
        }
        kv_put(&args, &manifest.bundle_key, &args.signed.bundle)?;
        let tmp =
            std::env::temp_dir().join(format!("firstpaint-manifest-{}.json", std::process::id()));
        std::fs::write(&tmp, &manifest_json)
            .with_context(|| format!("{}: failed to write", tmp.display()))?;
        let result = kv_put(&args, MANIFEST_KEY, &tmp);
        let _ = std::fs::remove_file(&tmp);
        result?;
    } else {
        bail!("say where to publish: --local (wrangler's local KV) or --dir DIR");
    }
    println!(
        "published {} as {} (version {})",
        name, manifest.bundle_key, manifest.bundle_version
    );
    Ok(())
}

fn kv_put(args: &Args, key: &str, file: &Path) -> anyhow::Result<()> {
    let mut command = Command::new(&args.wrangler);
    command
        .args([
            "kv",
            "key",
            "put",
            key,
            "--binding",
            &args.binding,
            "--local",
            "--config",
        ])
        .arg(&args.config)
        .arg("--path")
        .arg(file)
        .env("WRANGLER_SEND_METRICS", "false");
    if let Some(dir) = &args.persist_to {
        command.arg("--persist-to").arg(dir);
    }
    let status = command
        .status()
        .with_context(|| format!("{}: failed to run", args.wrangler.display()))?;
    if !status.success() {
        bail!("wrangler kv key put {key} failed ({status})");
    }
    Ok(())
}
