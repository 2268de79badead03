//! `firstpaint search`: what the edge would return for a query, and why.

use std::io::Write;

use firstpaint_engine::{SearchFilters, SearchOutcome, SearchRequest, Visitor};

/// Arguments of `search`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    signed: super::SignedBundle,
    /// The query, as a shopper would type it.
    query: String,
    /// Recently viewed product ids, most recent first, comma-separated.
    #[arg(long, value_delimiter = ',')]
    viewed: Vec<String>,
    /// Only this category (full path or its own name).
    #[arg(long)]
    category: Option<String>,
    /// Only this brand.
    #[arg(long)]
    brand: Option<String>,
    /// Lowest price.
    #[arg(long)]
    price_min: Option<f64>,
    /// Highest price.
    #[arg(long)]
    price_max: Option<f64>,
    /// Only products in stock.
    #[arg(long)]
    in_stock: bool,
    /// The shopper's country (regional exclusions), e.g. US.
    #[arg(long)]
    region: Option<String>,
    #[command(flatten)]
    visit: super::Visit,
    /// 1-based page.
    #[arg(long, default_value_t = 1)]
    page: usize,
    /// Results per page.
    #[arg(long, default_value_t = 10)]
    per_page: usize,
    #[command(flatten)]
    output: super::Output,
}

/// Searches and prints the results with what was understood of the query.
pub fn run(args: Args) -> anyhow::Result<()> {
    let engine = args.signed.engine()?;
    let req = SearchRequest {
        query: args.query,
        page: args.page,
        per_page: args.per_page,
        visitor: Visitor {
            viewed: args.viewed,
            signals: args.visit.signals(),
            region: args.region,
            now: super::now(),
            ..Visitor::default()
        },
        filters: SearchFilters {
            category: args.category,
            brand: args.brand,
            price_min: args.price_min,
            price_max: args.price_max,
            in_stock: args.in_stock,
        },
        explain: args.output.explain,
        without_facets: false,
    };
    let results = engine.search(&req)?;
    let mut out = std::io::stdout().lock();
    if args.output.json {
        return super::print_json(&mut out, &engine, "search", &results);
    }
    let q = &results.query;
    writeln!(
        out,
        "query {:?} -> terms [{}]",
        q.original,
        q.terms.join(" ")
    )?;
    for c in &q.corrections {
        writeln!(
            out,
            "  corrected {:?} -> {:?} ({} typo(s))",
            c.from, c.to, c.typos
        )?;
    }
    for (from, to) in &q.synonyms {
        writeln!(out, "  synonyms  {from:?} also searched {}", to.join(", "))?;
    }
    for (from, to) in &q.related {
        writeln!(
            out,
            "  related   {from:?} is not in the catalog; searched {}",
            to.join(", ")
        )?;
    }
    if !q.attributes.is_empty() {
        writeln!(out, "  attributes {}", q.attributes.join(", "))?;
    }
    if !q.ignored.is_empty() {
        writeln!(out, "  ignored   {}", q.ignored.join(" "))?;
    }
    let outcome = match results.outcome {
        SearchOutcome::Matched => "matched",
        SearchOutcome::Rescued => "no match: RESCUED by meaning",
        SearchOutcome::Empty => "no match: EMPTY",
    };
    writeln!(
        out,
        "{outcome}, {} result(s), page {} ({}{}), bundle {}",
        results.total,
        results.page,
        if results.personalized {
            "personalized"
        } else {
            "not personalized"
        },
        super::intent_line(results.intent.as_ref()),
        engine.info().version
    )?;
    let first = (results.page - 1) * results.per_page;
    for (i, hit) in results.items.iter().enumerate() {
        let title = engine
            .store()
            .product(&hit.id)
            .map_or_else(String::new, |p| p.title().into_owned());
        writeln!(
            out,
            "{:>3}. {:<12} {:>6.3}  {:<6} words {} typos {}  {}",
            first + i + 1,
            hit.id,
            hit.score,
            hit.source,
            hit.matched,
            hit.typos,
            title
        )?;
        if args.output.explain {
            writeln!(out, "       in {}", hit.fields.join(", "))?;
            writeln!(out, "       {}", super::score_parts(&hit.reasons))?;
        }
    }
    let f = &results.facets;
    let values = |vs: &[firstpaint_engine::search::FacetValue]| {
        vs.iter()
            .map(|v| format!("{} ({})", v.value, v.count))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let at_least = if f.exact { "" } else { " (at least)" };
    if !f.categories.is_empty() {
        writeln!(out, "facets{at_least}")?;
        writeln!(out, "  category  {}", values(&f.categories))?;
        writeln!(out, "  brand     {}", values(&f.brands))?;
        let prices: Vec<String> = f
            .prices
            .iter()
            .map(|b| match b.max {
                Some(max) => format!("{}-{} ({})", b.min, max, b.count),
                None => format!("{}+ ({})", b.min, b.count),
            })
            .collect();
        writeln!(out, "  price     {}", prices.join(", "))?;
    }
    super::print_removed(&mut out, args.output.explain, &results.removed)?;
    Ok(())
}
