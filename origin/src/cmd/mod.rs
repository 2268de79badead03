//! One module per subcommand, each with `Args` and `run`.

pub mod assign;
pub mod build;
pub mod cache;
pub mod eval;
pub mod events;
pub mod generate;
pub mod inspect;
pub mod keygen;
pub mod live;
pub mod publish;
pub mod rank;
pub mod readout;
pub mod rebuild;
pub mod releases;
pub mod search;
pub mod serve;
pub mod simulate;
pub mod site;
pub mod verify;
pub mod watch;

/// Writes `bytes` to `path` through `path` + `.tmp` and a rename, so a
/// reader never sees half a file and a failed write leaves the old one.
pub fn replace(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    std::fs::write(&tmp, bytes).with_context(|| format!("{}: failed to write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: failed to replace", path.display()))
}

/// The current time, unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The rules file at `path`, checked.
pub fn rules_of(path: &std::path::Path) -> anyhow::Result<firstpaint_contracts::Rules> {
    use anyhow::Context;
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("{file}: failed to read"))?;
    Ok(firstpaint_contracts::read_toml(&file, &text)?)
}

/// A time given to `flag` as RFC 3339 or unix seconds, as unix seconds.
pub fn parse_time(flag: &str, text: &str) -> anyhow::Result<i64> {
    use anyhow::Context;
    if let Ok(s) = text.parse::<i64>() {
        return Ok(s);
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .with_context(|| format!("{flag} {text:?}: neither RFC 3339 nor unix seconds"))
}

/// How `rank` and `search` print: a table, optionally with every score
/// part, or JSON.
#[derive(Debug, clap::Args)]
pub struct Output {
    /// Show every score part and what the guardrails removed.
    #[arg(long)]
    pub explain: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// What the visit showed besides its viewed products, for the intent
/// model (`rank` and `search`).
#[derive(Debug, clap::Args)]
pub struct Visit {
    /// How the shopper arrived: search, social, email, direct, ...
    #[arg(long)]
    pub channel: Option<String>,
    /// An earlier search of the visit (repeat for more, most recent first).
    #[arg(long = "searched")]
    pub searched: Vec<String>,
    /// A category page of the visit, by name or path (repeat for more,
    /// most recent first).
    #[arg(long = "category-page")]
    pub category_pages: Vec<String>,
}

impl Visit {
    /// As the engine reads it.
    pub fn signals(self) -> firstpaint_engine::IntentSignals {
        firstpaint_engine::IntentSignals {
            channel: self.channel,
            queries: self.searched,
            categories: self.category_pages,
        }
    }
}

/// `intent: NAME (p=0.83)` for the table headers, or nothing.
pub fn intent_line(intent: Option<&firstpaint_engine::Intent>) -> String {
    intent.map_or_else(String::new, |i| {
        format!(", intent {} (p={:.2})", i.name, i.probability)
    })
}

/// Prints `{"bundle": …, name: value}` as pretty JSON, for `--json`.
pub fn print_json(
    out: &mut impl std::io::Write,
    engine: &firstpaint_engine::Engine,
    name: &str,
    value: &impl serde::Serialize,
) -> anyhow::Result<()> {
    let mut body = serde_json::Map::new();
    body.insert("bundle".into(), serde_json::to_value(engine.info())?);
    body.insert(name.into(), serde_json::to_value(value)?);
    serde_json::to_writer_pretty(&mut *out, &body)?;
    writeln!(out)?;
    Ok(())
}

/// Score parts as `signal value x weight = contribution`, for `--explain`.
pub fn score_parts(reasons: &[firstpaint_engine::Reason]) -> String {
    let parts: Vec<String> = reasons
        .iter()
        .map(|r| {
            format!(
                "{} {:.2}x{:.2}={:.3}",
                r.signal,
                r.value,
                r.weight,
                r.contribution()
            )
        })
        .collect();
    parts.join("  ")
}

/// Lists what the guardrails removed, under `--explain`.
pub fn print_removed(
    out: &mut impl std::io::Write,
    explain: bool,
    removed: &[firstpaint_engine::Removed],
) -> std::io::Result<()> {
    if explain && !removed.is_empty() {
        writeln!(out, "removed by guardrails:")?;
        for r in removed {
            writeln!(out, "  {:<12} {}", r.id, r.rule)?;
        }
    }
    Ok(())
}

/// Where search's related words come from (`build` and `rebuild`).
#[derive(Debug, Clone, clap::Args)]
pub struct Lexicon {
    /// WordNet's database directory (`data.noun`, `index.noun`); default
    /// Debian's `wordnet-base` in /usr/share/wordnet when installed.
    #[arg(long, value_name = "DIR")]
    pub wordnet: Option<std::path::PathBuf>,
    /// Build without related words even when WordNet is installed.
    #[arg(long, conflicts_with = "wordnet")]
    pub no_wordnet: bool,
}

impl Lexicon {
    /// The directory to read: the one named (which must hold WordNet),
    /// else the installed one, else none.
    pub fn dir(&self) -> anyhow::Result<Option<std::path::PathBuf>> {
        if self.no_wordnet {
            return Ok(None);
        }
        match &self.wordnet {
            Some(dir) if !dir.join("data.noun").exists() => anyhow::bail!(
                "--wordnet {}: no data.noun there (Debian: apt-get install wordnet-base)",
                dir.display()
            ),
            Some(dir) => Ok(Some(dir.clone())),
            None => Ok(firstpaint_origin::inputs::default_wordnet()),
        }
    }
}

/// Where to read what a `show` subcommand prints, and how.
#[derive(Debug, clap::Args)]
pub struct Show {
    #[command(flatten)]
    pub target: releases::Target,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// A bundle file and the public key it must verify against; every command
/// that reads a bundle takes these two.
#[derive(Debug, clap::Args)]
pub struct SignedBundle {
    /// The bundle file.
    pub bundle: std::path::PathBuf,
    /// Public key file of the trusted signer.
    #[arg(long, env = "FIRSTPAINT_PUBKEY")]
    pub pubkey: std::path::PathBuf,
}

impl SignedBundle {
    /// The trusted key and the bundle's bytes.
    pub fn read(&self) -> anyhow::Result<(firstpaint_bundle::VerifyingKey, Vec<u8>)> {
        use anyhow::Context;
        let key = firstpaint_origin::keys::read_verifying_key(&self.pubkey)?;
        let bytes = std::fs::read(&self.bundle)
            .with_context(|| format!("{}: failed to read", self.bundle.display()))?;
        Ok((key, bytes))
    }

    /// The engine over the bundle, verified now.
    pub fn engine(&self) -> anyhow::Result<firstpaint_engine::Engine> {
        use anyhow::Context;
        let (key, bytes) = self.read()?;
        firstpaint_engine::Engine::open(&bytes, &key, now())
            .with_context(|| format!("{}: rejected", self.bundle.display()))
    }
}
