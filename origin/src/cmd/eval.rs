//! `firstpaint eval`: quality on real public data, measured with the
//! engine the edge runs.

use std::path::PathBuf;
use std::time::Instant;

use firstpaint_origin::eval::{retail, search};

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
    }
    Ok(())
}
