//! `firstpaint assign ID --rules rules.toml`: the holdout arms the edge
//! gives the shopper whose first-party id is `ID`, offline: the same
//! hash of the rules' salt, the module and the id, with no bundle needed.

use std::path::{Path, PathBuf};

use firstpaint_contracts::InputErrors;
use firstpaint_engine::experiments::{Arm, Assignment, ExperimentsSection};

/// Arguments of `assign`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shopper's first-party id (the profile cookie's `id`).
    id: String,
    /// The rules file (its `[experiments]`).
    #[arg(long)]
    rules: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// The holdout shares and salt of the rules file at `path`, as the bundle
/// carries them.
pub fn experiments_of(path: &Path) -> anyhow::Result<ExperimentsSection> {
    let file = path.display().to_string();
    let rules = super::rules_of(path)?;
    let mut errors = Vec::new();
    let section = firstpaint_origin::compile::experiments(&file, &rules, &mut errors);
    if !errors.is_empty() {
        return Err(InputErrors(errors).into());
    }
    Ok(section)
}

/// Prints the arms.
pub fn run(args: Args) -> anyhow::Result<()> {
    let section = experiments_of(&args.rules)?;
    let assignment = Assignment::of(&args.id, &section);
    if args.json {
        let arms: serde_json::Map<String, serde_json::Value> = assignment
            .arms
            .iter()
            .map(|(m, a)| ((*m).to_owned(), a.as_str().into()))
            .collect();
        println!(
            "{}",
            serde_json::json!({ "id": args.id, "global": assignment.global.as_str(), "arms": arms })
        );
        return Ok(());
    }
    println!("global holdout: {}", held(assignment.global));
    for (module, arm) in &assignment.arms {
        println!("{module:<16} {}", arm.as_str());
    }
    Ok(())
}

fn held(arm: Arm) -> &'static str {
    match arm {
        Arm::Holdout => "yes: every module holds out",
        Arm::Treatment => "no",
    }
}
