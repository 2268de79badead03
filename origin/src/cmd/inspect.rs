//! `firstpaint inspect`: what a bundle is and where it came from: its
//! header, sections and, for bundles that record it, its lineage (the
//! inputs with their SHA-256, schema, builder, models, parent). `verify`
//! prints the first part.

use std::collections::BTreeMap;

use anyhow::Context;
use firstpaint_bundle::{hex, sha256, Bundle, Lineage, OwnedBytes};
use firstpaint_engine::Engine;
use serde::Serialize;

/// A bundle to verify, and when (`verify`'s arguments).
#[derive(Debug, clap::Args)]
pub struct Checked {
    #[command(flatten)]
    signed: super::SignedBundle,
    /// Check expiry at this unix time instead of now.
    #[arg(long)]
    at: Option<i64>,
}

/// Arguments of `inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    checked: Checked,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// A verified bundle, described.
#[derive(Debug, Serialize)]
pub struct Description {
    /// SHA-256 of the whole file, hex (its content address).
    pub sha256: String,
    /// Its size.
    pub bytes: u64,
    /// Layout version.
    pub format: u16,
    /// The bundle version.
    pub version: u64,
    /// Id of the signing key, hex.
    pub key_id: String,
    /// Build time, unix seconds.
    pub created_at: i64,
    /// Expiry, unix seconds.
    pub expires_at: i64,
    /// The header's input hashes (every bundle has them): catalog,
    /// events, rules.
    pub input_hashes: BTreeMap<&'static str, String>,
    /// Products in the catalog.
    pub products: usize,
    /// Each section and its size, in file order.
    pub sections: Vec<SectionSize>,
    /// Where it came from (`None` for bundles built before it was
    /// recorded).
    pub lineage: Option<Lineage>,
}

/// One section of a bundle.
#[derive(Debug, Serialize)]
pub struct SectionSize {
    /// Its tag.
    pub tag: String,
    /// Its size.
    pub bytes: u64,
}

impl Description {
    /// Verifies the bundle (signature, expiry at `--at` or now, sections)
    /// and loads it into the engine, then describes it.
    pub fn read(checked: &Checked) -> anyhow::Result<Self> {
        let (signed, at) = (&checked.signed, checked.at);
        let (key, bytes) = signed.read()?;
        let name = signed.bundle.display();
        let address = hex(&sha256(&bytes));
        let size = bytes.len() as u64;
        let bundle = Bundle::open(OwnedBytes::new(bytes), &key, at.unwrap_or_else(super::now))
            .with_context(|| format!("{name}: rejected"))?;
        let h = bundle.header().clone();
        let sections = bundle
            .section_sizes()
            .map(|(tag, bytes)| SectionSize {
                tag: tag.to_string(),
                bytes,
            })
            .collect();
        let lineage = Lineage::of(&bundle).with_context(|| format!("{name}: lineage"))?;
        let engine =
            Engine::from_bundle(bundle).with_context(|| format!("{name}: does not load"))?;
        Ok(Self {
            sha256: address,
            bytes: size,
            format: h.format_version,
            version: h.bundle_version,
            key_id: hex(&h.key_id),
            created_at: h.created_at,
            expires_at: h.expires_at,
            input_hashes: BTreeMap::from([
                ("catalog", hex(&h.catalog_sha256)),
                ("events", hex(&h.events_sha256)),
                ("rules", hex(&h.rules_sha256)),
            ]),
            products: engine.info().products,
            sections,
            lineage,
        })
    }

    /// Prints `FILE: OK`, the header and the sections, as `verify` has
    /// always shown them.
    pub fn print_header(&self, checked: &Checked) {
        println!("{}: OK", checked.signed.bundle.display());
        println!("  sha256      {}", self.sha256);
        println!("  format      {}", self.format);
        println!("  version     {}", self.version);
        println!("  key id      {}", self.key_id);
        println!("  created     {}", self.created_at);
        println!("  expires     {}", self.expires_at);
        for (role, digest) in &self.input_hashes {
            println!("  {role:<11} sha256 {digest}");
        }
        println!("  products    {}", self.products);
        for s in &self.sections {
            println!("  section {} {:>10} bytes", s.tag, s.bytes);
        }
    }
}

/// Prints what the bundle is and where it came from.
pub fn run(args: Args) -> anyhow::Result<()> {
    let d = Description::read(&args.checked)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
        return Ok(());
    }
    d.print_header(&args.checked);
    let Some(lineage) = &d.lineage else {
        println!("  lineage     not recorded (built before lineage was kept)");
        return Ok(());
    };
    println!(
        "  built by    {} (schema {})",
        lineage.builder, lineage.schema
    );
    match &lineage.parent {
        Some(parent) => println!("  parent      {parent} (an incremental build)"),
        None => println!("  parent      none (a full build)"),
    }
    for input in &lineage.inputs {
        println!(
            "  input       {:<9} {} ({} bytes, sha256 {})",
            input.role, input.file, input.bytes, input.sha256
        );
    }
    for model in &lineage.models {
        println!("  model       {model}");
    }
    Ok(())
}
