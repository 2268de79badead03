//! Build and publish in one step: what `watch` and `serve` do after a
//! change.
//!
//! A rebuild reads every input again, builds a bundle to `--out` (the old
//! file stays until the new one is whole), then publishes it as
//! `firstpaint publish` does (verified and loaded first, a new signed
//! release, a line in the publish log saying why). Bad input stops it
//! before anything is written, naming file, line and field: the bundle
//! served stays. A full rebuild retrains every model.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use firstpaint_origin::inputs::{CheckedCatalog, InputPaths};
use firstpaint_origin::keys::read_signing_key;

use super::releases::{Signing, Target};

/// What a rebuild reads, where it writes the bundle and where it
/// publishes it.
#[derive(Debug, Clone, clap::Args)]
pub struct Pipeline {
    /// Products, one JSON object per line.
    #[arg(long)]
    pub catalog: PathBuf,
    /// Behaviour events, one JSON object per line.
    #[arg(long)]
    pub events: PathBuf,
    /// Guardrail rules (TOML).
    #[arg(long)]
    pub rules: PathBuf,
    /// Search synonyms.
    #[arg(long)]
    pub synonyms: Option<PathBuf>,
    #[command(flatten)]
    pub lexicon: super::Lexicon,
    /// Where each new bundle is written before it is published.
    #[arg(long)]
    pub out: PathBuf,
    /// Days until the edge refuses a bundle.
    #[arg(long, default_value_t = 14)]
    pub ttl_days: u32,
    /// Public key file the bundle must verify against before it is
    /// published (the one the edge trusts).
    #[arg(long, env = "FIRSTPAINT_PUBKEY")]
    pub pubkey: PathBuf,
    /// Always build in full, retraining on the events. By default a change
    /// is built incrementally when it can be (see `build --incremental`),
    /// and in full once the models are --retrain-after-hours old.
    #[arg(long)]
    pub full: bool,
    #[command(flatten)]
    pub retrain: super::build::Retrain,
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub signing: Signing,
}

impl Pipeline {
    /// Refuses a pipeline that cannot publish or sign, before it waits for
    /// changes.
    pub fn check(&self) -> anyhow::Result<()> {
        self.target.check()?;
        self.signing.seal.signing_key()?;
        self.lexicon.dir()?;
        Ok(())
    }

    /// The input files, as the build reads them.
    pub fn inputs(&self) -> anyhow::Result<InputPaths> {
        Ok(InputPaths {
            catalog: self.catalog.clone(),
            events: self.events.clone(),
            rules: self.rules.clone(),
            synonyms: self.synonyms.clone(),
            wordnet: self.lexicon.dir()?,
        })
    }

    /// The catalog, rules and synonyms: the files whose change calls for a
    /// rebuild (events are read at each one).
    pub fn watched(&self) -> Vec<&Path> {
        let mut files = vec![self.catalog.as_path(), self.rules.as_path()];
        files.extend(self.synonyms.as_deref());
        files
    }

    /// Builds and publishes once; `why` goes in the publish log (after
    /// `--message`, when one was given). Returns how long it took and what
    /// kind of build it was (incremental, or full and why).
    /// A `known` catalog is taken as the catalog file's content (see
    /// `load_catalog_side`).
    pub fn run(
        &self,
        why: &str,
        known: Option<&CheckedCatalog>,
    ) -> anyhow::Result<(Duration, String)> {
        let started = Instant::now();
        let key = read_signing_key(&self.signing.seal.key)?;
        let opts = super::build::options(&self.rules, self.ttl_days);
        let incremental = (!self.full).then(|| self.retrain.after());
        let kind =
            super::build::single(&self.inputs()?, &key, &opts, &self.out, incremental, known)?;
        let mut signing = self.signing.clone();
        signing.message = match signing.message.as_str() {
            "" => format!("{why} ({kind})"),
            given => format!("{given}: {why} ({kind})"),
        };
        let signed = super::SignedBundle {
            bundle: self.out.clone(),
            pubkey: self.pubkey.clone(),
        };
        super::publish::run(super::publish::Args::new(
            signed,
            self.target.clone(),
            signing,
        ))?;
        Ok((started.elapsed(), kind))
    }
}
