//! `firstpaint rank`: what the edge would show in a slot, and why.

use std::io::Write;

use anyhow::Context;
use firstpaint_engine::signals::price_band::MAX_EVIDENCE;
use firstpaint_engine::{PriceBand, SlotKind, SlotRequest, ViewCounts, Visitor};

/// Arguments of `rank`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    signed: super::SignedBundle,
    /// Slot type (home, similar, viewed-together, bought-together, alternatives, addons, cart-addons, ladder, next, category).
    #[arg(long)]
    slot: String,
    /// The product the page shows (product-page slots).
    #[arg(long)]
    product: Option<String>,
    /// The category the page lists (`category` slots): a catalog path, a
    /// leaf name or a page slug.
    #[arg(long)]
    category: Option<String>,
    /// Recently viewed product ids, most recent first, comma-separated.
    #[arg(long, value_delimiter = ',')]
    viewed: Vec<String>,
    /// Product ids in the cart, comma-separated (cart slots).
    #[arg(long, value_delimiter = ',')]
    cart: Vec<String>,
    /// Rank as for a returning visitor (home shows their recent views first).
    #[arg(long)]
    returning: bool,
    /// Products the shopper viewed out of stock, comma-separated (home
    /// shows those back in stock first).
    #[arg(long, value_delimiter = ',')]
    wanted: Vec<String>,
    /// Products the shopper ordered, as ID:DAYS_AGO, comma-separated (home
    /// shows those due for a refill first; cart add-ons propose them again
    /// where their category's shoppers order again).
    #[arg(long, value_delimiter = ',', value_parser = ordered_arg)]
    ordered: Vec<(String, u32)>,
    /// The shopper's country (regional exclusions), e.g. US.
    #[arg(long)]
    region: Option<String>,
    /// The shopper's price band as a multiple of each category's median
    /// price (0.6: a third cheaper, 1.5: half as much again), as if their
    /// profile were sure of it (`price_fit`).
    #[arg(long, value_parser = price_ratio_arg)]
    price_ratio: Option<f32>,
    /// The visit's product views and how many of them went back to a
    /// product it had viewed, as VIEWS:RETURNS (`next` ranks the visit's
    /// own products by that habit), e.g. 6:0 for a shopper who keeps
    /// moving on.
    #[arg(long, value_parser = view_counts_arg)]
    view_counts: Option<ViewCounts>,
    #[command(flatten)]
    visit: super::Visit,
    /// Number of items.
    #[arg(long)]
    k: Option<usize>,
    #[command(flatten)]
    output: super::Output,
}

/// `SKU-1:30` as (`SKU-1`, 30 days ago).
fn ordered_arg(s: &str) -> Result<(String, u32), String> {
    let (id, days) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("{s:?}: expected ID:DAYS_AGO, e.g. SKU-1:30"))?;
    let days = days
        .parse()
        .map_err(|_| format!("{s:?}: {days:?} is not a number of days"))?;
    Ok((id.to_owned(), days))
}

/// `6:2` as 6 views, 2 of them back to a product viewed before.
fn view_counts_arg(s: &str) -> Result<ViewCounts, String> {
    let parsed = s
        .split_once(':')
        .and_then(|(v, r)| Some((v.parse::<u32>().ok()?, r.parse::<u32>().ok()?)));
    match parsed {
        Some((views, returns)) if returns < views.max(1) => Ok(ViewCounts { views, returns }),
        _ => Err(format!(
            "{s:?}: expected VIEWS:RETURNS with fewer returns than views, e.g. 6:2"
        )),
    }
}

/// A positive multiple of the median price.
fn price_ratio_arg(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!(
            "{s:?}: expected a positive multiple of the median price, e.g. 0.6 or 1.5"
        )),
    }
}

/// Ranks one slot and prints it.
pub fn run(args: Args) -> anyhow::Result<()> {
    let engine = args.signed.engine()?;
    let kind: SlotKind = args.slot.parse().context("--slot")?;
    let now = super::now();
    let visitor = Visitor {
        viewed: args.viewed,
        returning: args.returning,
        wanted: args.wanted,
        ordered: args
            .ordered
            .into_iter()
            .map(|(id, days)| (id, now - i64::from(days) * 86_400))
            .collect(),
        signals: args.visit.signals(),
        price_band: args.price_ratio.map(|r| PriceBand {
            level: r.ln(),
            evidence: MAX_EVIDENCE,
        }),
        view_counts: args.view_counts.unwrap_or_default(),
        region: args.region,
        now,
    };
    let req = SlotRequest {
        kind,
        k: args.k,
        product: args.product,
        category: args.category,
        cart: args.cart,
        visitor,
        explain: args.output.explain,
    };
    let ranking = engine.rank(&req)?;
    let mut out = std::io::stdout().lock();
    if args.output.json {
        return super::print_json(&mut out, &engine, "ranking", &ranking);
    }
    writeln!(
        out,
        "slot {} ({}{}), bundle {}",
        ranking.slot,
        if ranking.personalized {
            "personalized"
        } else {
            "not personalized"
        },
        super::intent_line(ranking.intent.as_ref()),
        engine.info().version
    )?;
    for (i, item) in ranking.items.iter().enumerate() {
        let title = engine
            .store()
            .product(&item.id)
            .map_or_else(String::new, |p| p.title().into_owned());
        writeln!(
            out,
            "{:>3}. {:<12} {:>6.3}  {:<16} {}",
            i + 1,
            item.id,
            item.score,
            item.source,
            title
        )?;
        if args.output.explain {
            writeln!(out, "       {}", super::score_parts(&item.reasons))?;
        }
    }
    super::print_removed(&mut out, args.output.explain, &ranking.removed)?;
    Ok(())
}
