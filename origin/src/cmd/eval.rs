//! `firstpaint eval`: quality on real public data, measured with the
//! engine the edge runs.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use firstpaint_origin::eval::{baskets, intent, retail, search, sessions};

/// Arguments of `eval`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Known-item search on the Online Retail catalog: success@10 and MRR
    /// for queries of 1-3 title words, exact and with one typo, against the
    /// same index without typo tolerance.
    Search {
        /// `online_retail.csv.gz` (UCI Online Retail).
        #[arg(long)]
        data: PathBuf,
        /// Seed of the query sampler.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Basket completion on the Online Retail invoices (last 30 days held
    /// out): HR@10 and MRR@10 for the engine's cart add-ons, association
    /// rules and popularity, for products sold before and first sold after
    /// the cut.
    Baskets {
        /// `online_retail.csv.gz` (UCI Online Retail).
        #[arg(long)]
        data: PathBuf,
        /// Seed choosing the hidden product of each basket.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Session intent: accuracy of the predicted mission (top-level
    /// category) after a visit's first 1, 2 and 3 steps, against the most
    /// common mission and the latest step's category; on a store's own
    /// events (--store: the last fifth of its visits held out) and/or the
    /// Online Retail baskets (--data: the last 30 days held out).
    Intent {
        /// A store directory (catalog.ndjson, events.ndjson, rules.toml),
        /// e.g. fixtures.
        #[arg(long, required_unless_present = "data")]
        store: Option<PathBuf>,
        /// `online_retail.csv.gz` (UCI Online Retail).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Next-item prediction on click sessions (session-rec's TSV format and
    /// protocol): HitRate and MRR at 5, 10, 20 for the engine and for
    /// popularity, session popularity, item-kNN and session-kNN.
    Sessions {
        /// Training clicks (`SessionId<TAB>ItemId<TAB>Time`).
        #[arg(long)]
        train: PathBuf,
        /// Test clicks, same format.
        #[arg(long, required_unless_present = "hold_out_days")]
        test: Option<PathBuf>,
        /// Instead of --test: hold out the sessions that start in the last
        /// this many days of --train.
        #[arg(long, conflicts_with = "test")]
        hold_out_days: Option<f64>,
        /// Write the engine's lists here (`SessionId;Position;Recommendations;Scores`).
        #[arg(long)]
        recs_out: Option<PathBuf>,
        /// Rules to build with (blend weights matter); the defaults when absent.
        #[arg(long)]
        rules: Option<PathBuf>,
    },
}

/// Runs one evaluation and prints its table (Markdown).
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.what {
        What::Search { data, seed } => {
            let started = Instant::now();
            let retail = retail::read(&data)?;
            eprintln!(
                "{}: {} products from {} lines ({} skipped: {:?})",
                data.display(),
                retail.products.len(),
                retail.lines.len(),
                retail.skipped.values().sum::<usize>(),
                retail.skipped
            );
            let rows = search::run(retail.products, seed, super::now())?;
            print!("{}", search::table(&rows));
            eprintln!("took {:.1} s", started.elapsed().as_secs_f64());
        }
        What::Intent { store, data } => {
            let started = Instant::now();
            let mut rows = Vec::new();
            if let Some(dir) = store {
                let inputs = firstpaint_origin::inputs::load(
                    &firstpaint_origin::inputs::InputPaths::in_dir(&dir),
                )?;
                rows.extend(intent::run_store(inputs, super::now())?);
            }
            if let Some(data) = data {
                rows.extend(intent::run_retail(&retail::read(&data)?)?);
            }
            println!("{}", intent::table(&rows));
            eprintln!("took {:.1} s", started.elapsed().as_secs_f64());
        }
        What::Baskets { data, seed } => {
            let started = Instant::now();
            let retail = retail::read(&data)?;
            let result = baskets::run(&retail, seed)?;
            print!("{}", baskets::table(&result.rows));
            println!("\n{}", result.ann.line());
            eprintln!("took {:.1} s", started.elapsed().as_secs_f64());
        }
        What::Sessions {
            train,
            test,
            recs_out,
            rules,
            hold_out_days,
        } => {
            let rules = match rules {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("{}: failed to read", path.display()))?;
                    firstpaint_contracts::read_toml(&path.display().to_string(), &text)?
                }
                None => firstpaint_contracts::Rules::default(),
            };
            let started = Instant::now();
            let (train_clicks, test_clicks) = match (test, hold_out_days) {
                (Some(test), _) => (sessions::read_tsv(&train)?, sessions::read_tsv(&test)?),
                (None, Some(days)) => sessions::split_last_days(&sessions::read_tsv(&train)?, days),
                (None, None) => anyhow::bail!("give --test or --hold-out-days"),
            };
            eprintln!(
                "train: {} clicks in {} sessions; test: {} clicks in {} sessions",
                train_clicks.len(),
                train_clicks.sessions.len(),
                test_clicks.len(),
                test_clicks.sessions.len()
            );
            let mut file = match &recs_out {
                Some(p) => Some(std::io::BufWriter::new(
                    std::fs::File::create(p)
                        .with_context(|| format!("{}: failed to create", p.display()))?,
                )),
                None => None,
            };
            let result = sessions::run(
                &train_clicks,
                &test_clicks,
                rules,
                file.as_mut().map(|f| f as &mut dyn std::io::Write),
            )?;
            print!("{}", sessions::table(&result.rows));
            println!("\n{}", result.ann.line());
            eprintln!("took {:.1} s", started.elapsed().as_secs_f64());
        }
    }
    Ok(())
}
