//! `firstpaint verify`.

use anyhow::Context;
use firstpaint_bundle::{hex, Bundle, OwnedBytes};
use firstpaint_engine::Engine;

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    signed: super::SignedBundle,
    /// Check expiry at this unix time instead of now.
    #[arg(long)]
    at: Option<i64>,
}

/// Verifies signature, expiry and sections, and that the engine loads it.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (key, bytes) = args.signed.read()?;
    let now = args.at.unwrap_or_else(super::now);
    let name = args.signed.bundle.display();
    let bundle = Bundle::open(OwnedBytes::new(bytes), &key, now)
        .with_context(|| format!("{name}: rejected"))?;
    let h = bundle.header().clone();
    let sizes: Vec<_> = bundle.section_sizes().collect();
    let engine = Engine::from_bundle(bundle).with_context(|| format!("{name}: does not load"))?;
    println!("{name}: OK");
    println!("  format      {}", h.format_version);
    println!("  version     {}", h.bundle_version);
    println!("  key id      {}", hex(&h.key_id));
    println!("  created     {}", h.created_at);
    println!("  expires     {}", h.expires_at);
    println!("  catalog     sha256 {}", hex(&h.catalog_sha256));
    println!("  events      sha256 {}", hex(&h.events_sha256));
    println!("  rules       sha256 {}", hex(&h.rules_sha256));
    println!("  products    {}", engine.info().products);
    for (tag, len) in sizes {
        println!("  section {tag} {len:>10} bytes");
    }
    Ok(())
}
