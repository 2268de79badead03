//! From validated inputs to a signed bundle.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use firstpaint_bundle::{BundleWriter, Lineage, SigningKey, LINEAGE};
use firstpaint_contracts::{InputErrors, Product};
use firstpaint_engine::{
    CatalogSection, Embedding, EngineSections, IntentSection, PriorsSection, ProductRecord,
    Quantized, StockAt,
};
use indicatif::{ProgressBar, ProgressStyle};

use anyhow::Context;

use crate::compile;
use crate::incremental::state::{text_digest, BuildState, Products, Training};
use crate::inputs::Inputs;
use crate::train::graph::Graph;
use crate::train::{
    ann, coview, embed, intent, learned_queries, priors, recent_sessions, search, sessions,
};

/// Knobs of one build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Build time, unix seconds (also the bundle version).
    pub now: i64,
    /// Days until the edge refuses the bundle.
    pub ttl_days: u32,
    /// Show progress bars on stderr.
    pub progress: bool,
    /// Name of the rules file, for error messages.
    pub rules_file: String,
    /// The inputs are one shard of a store ([`crate::shard`]) whose rules
    /// [`check_rules`] checked whole: rules naming products or categories
    /// of other shards are left out of this one, not refused.
    pub shard: bool,
}

/// What a build produced and how long each step took.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// Products in the bundle.
    pub products: usize,
    /// Sessions trained on (0 for an incremental build: it trains nothing).
    pub sessions: usize,
    /// Signed bundle size.
    pub bytes: usize,
    /// (step, time) in order.
    pub steps: Vec<(&'static str, Duration)>,
    /// Things for the merchant to look at that did not stop the build.
    pub warnings: Vec<String>,
    /// The product embeddings before the bundle quantized them (by
    /// ordinal), for quality checks such as ANN recall (empty for an
    /// incremental build, which keeps its parent's quantized vectors).
    pub embeddings: Vec<Embedding>,
    /// What the models learned, a line each, for the merchant.
    pub models: Vec<String>,
}

/// Compiles the rules against the whole store, as [`build`] does, without
/// training anything: its warnings, or the errors that would stop it.
pub fn check_rules(inputs: &Inputs, opts: &BuildOptions) -> Result<Vec<String>, InputErrors> {
    let ordinal = ordinals(&inputs.products);
    let catalog = catalog_section(&inputs.products, &ordinal);
    Ok(compile_rules(inputs, &catalog, &ordinal, opts, false)?.warnings)
}

/// Product id -> ordinal (catalog order).
pub(crate) fn ordinals(products: &[Product]) -> HashMap<&str, u32> {
    products
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i as u32))
        .collect()
}

/// The distinct values of a list field of the products, sorted.
fn distinct<'a>(
    products: &'a [Product],
    field: impl Fn(&'a Product) -> &'a [String],
) -> Vec<&'a str> {
    let mut values: Vec<&str> = products
        .iter()
        .flat_map(|p| field(p).iter().map(String::as_str))
        .collect();
    values.sort_unstable();
    values.dedup();
    values
}

/// The rules compiled against `catalog` (see [`compile::Catalog::partial`]).
pub(crate) fn compile_rules(
    inputs: &Inputs,
    catalog: &CatalogSection,
    ordinal: &HashMap<&str, u32>,
    opts: &BuildOptions,
    partial: bool,
) -> Result<compile::Compiled, InputErrors> {
    let tags = distinct(&inputs.products, |p| &p.tags);
    let safety = distinct(&inputs.products, |p| &p.safety);
    compile::compile(
        &opts.rules_file,
        &inputs.rules,
        &compile::Catalog {
            categories: &catalog.categories,
            ordinal,
            tags: &tags,
            safety: &safety,
            partial,
        },
    )
}

/// Trains every model, compiles the rules and signs the bundle.
pub fn build(
    inputs: &Inputs,
    key: &SigningKey,
    opts: &BuildOptions,
) -> anyhow::Result<(Vec<u8>, BuildReport)> {
    let (bytes, report, _) = train(inputs, key, opts, false)?;
    Ok((bytes, report))
}

/// [`build`], and the state an incremental build of the next catalog
/// change starts from ([`crate::incremental`]).
pub fn build_with_state(
    inputs: &Inputs,
    key: &SigningKey,
    opts: &BuildOptions,
) -> anyhow::Result<(Vec<u8>, BuildReport, BuildState)> {
    let (bytes, report, state) = train(inputs, key, opts, true)?;
    Ok((bytes, report, state.context("the build kept no state")?))
}

fn train(
    inputs: &Inputs,
    key: &SigningKey,
    opts: &BuildOptions,
    keep_state: bool,
) -> anyhow::Result<(Vec<u8>, BuildReport, Option<BuildState>)> {
    let mut steps = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |name: &'static str, steps: &mut Vec<(&'static str, Duration)>| {
        steps.push((name, clock.elapsed()));
        clock = Instant::now();
    };

    let ordinal = ordinals(&inputs.products);
    let catalog = catalog_section(&inputs.products, &ordinal);
    // Before any training: a mistake in the rules stops the build at once.
    let compiled = compile_rules(inputs, &catalog, &ordinal, opts, opts.shard)?;
    let sessions = sessions::group(&inputs.events, &ordinal);
    lap("catalog + sessions", &mut steps);

    let co_view = coview::build(catalog.products.len(), &sessions);
    let recent = recent_sessions::build(&sessions);
    let baskets = sessions::baskets(&inputs.events, &ordinal);
    let bought_together = coview::build(catalog.products.len(), &baskets);
    let evidence = priors::Evidence::gather(
        &catalog.products,
        catalog.categories.len(),
        &sessions,
        &inputs.events,
        &ordinal,
        opts.now,
    );
    let priors = evidence.priors(&catalog.products, catalog.categories.len(), opts.now);
    lap("co-views + priors", &mut steps);

    let visits = intent::visits(&inputs.events, &ordinal, &catalog);
    let intent = intent::train(&visits, &catalog);
    lap("intent", &mut steps);

    let embedded = embed::build(&inputs.products, &sessions, &baskets);
    let embeddings = embedded.vectors;
    let mut models = vec![match &embedded.fit {
        Some(f) => format!(
            "embeddings: behaviour, and a text map fitted on {} products with behaviour (ridge λ {}, held-out cosine {:.2})",
            f.warm, f.lambda, f.held_out_cosine
        ),
        None => "embeddings: too little behaviour to learn from; plain text similarity".to_owned(),
    }];
    models.extend(summary(&catalog, &priors, &intent, visits.len()));
    lap("embeddings", &mut steps);

    let bar = if opts.progress {
        let bar = ProgressBar::new(embeddings.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("  HNSW {bar:40} {pos}/{len} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let ann = ann::build_graph(&embeddings, bar.clone())?;
    bar.finish_and_clear();
    lap("HNSW index", &mut steps);

    let learned = learned_queries::learn(&inputs.events, &ordinal);
    let mut search = search::build(
        &inputs.products,
        &inputs.synonyms,
        &inputs.related,
        &learned,
    )?;
    models.push(format!(
        "learned queries: {} searched by {}+ sessions, with what {}+ of them went on to view, cart or order",
        learned.len(),
        learned_queries::MIN_SESSIONS,
        learned_queries::MIN_PRODUCT_SESSIONS
    ));
    models.push(search::summary(
        &mut search,
        inputs.wordnet.as_deref(),
        &embedded.text_map,
        &ann.vectors,
    ));
    lap("search index", &mut steps);

    let sections = EngineSections {
        catalog,
        ann,
        priors,
        co_view,
        rules: compiled.section,
        bought_together,
        search,
        sessions: recent,
        intent,
        text_map: embedded.text_map,
    };
    let header = header(
        opts,
        inputs.catalog_sha256,
        inputs.events_sha256,
        inputs.rules_sha256,
    );
    let lineage = Lineage {
        builder: builder(),
        schema: firstpaint_engine::store::sections::SCHEMA,
        inputs: inputs.files.clone(),
        models: models.clone(),
        parent: None,
    };
    let bytes = write_bundle(&sections, header, &lineage, key)?;
    lap("encode + sign", &mut steps);

    let products = sections.catalog.products.len();
    let state = if keep_state {
        let graph = Graph::from_ann(&sections.ann)?;
        let training = Training {
            trained_at: opts.now,
            events: inputs.files.iter().find(|f| f.role == "events").cloned(),
            events_sha256: inputs.events_sha256,
            models: models.clone(),
            learned: learned_queries::to_ids(&learned, &inputs.products),
        };
        let placed = Products {
            ids: inputs.products.iter().map(|p| p.id.clone()).collect(),
            text: inputs.products.iter().map(text_digest).collect(),
            behaviour: embedded
                .behaviour
                .iter()
                .map(|b| b.as_ref().map(Quantized::new))
                .collect(),
            behaviour_weight: embedded.evidence,
            evidence,
        };
        Some(BuildState::new(&bytes, sections, training, placed, graph))
    } else {
        None
    };
    let report = BuildReport {
        products,
        sessions: sessions.len(),
        bytes: bytes.len(),
        steps,
        warnings: compiled.warnings,
        embeddings,
        models,
    };
    Ok((bytes, report, state))
}

/// The header of a bundle built at `opts.now` from inputs with these
/// hashes.
pub(crate) fn header(
    opts: &BuildOptions,
    catalog_sha256: [u8; 32],
    events_sha256: [u8; 32],
    rules_sha256: [u8; 32],
) -> firstpaint_bundle::Inputs {
    firstpaint_bundle::Inputs {
        bundle_version: u64::try_from(opts.now).unwrap_or(0),
        created_at: opts.now,
        expires_at: opts.now + i64::from(opts.ttl_days) * 86_400,
        catalog_sha256,
        events_sha256,
        rules_sha256,
    }
}

/// The builder named in the lineage.
pub(crate) fn builder() -> String {
    format!("firstpaint {}", env!("CARGO_PKG_VERSION"))
}

/// Encodes `sections` and `lineage` under `header` and signs them.
pub(crate) fn write_bundle(
    sections: &EngineSections,
    header: firstpaint_bundle::Inputs,
    lineage: &Lineage,
    key: &SigningKey,
) -> anyhow::Result<Vec<u8>> {
    let mut writer = BundleWriter::new(header);
    sections.write_into(&mut writer)?;
    writer.add(LINEAGE, lineage.encode()?)?;
    Ok(writer.finish(key))
}

/// A line each on the intent model, trending, price response and refills.
fn summary(
    catalog: &CatalogSection,
    priors: &PriorsSection,
    intent: &IntentSection,
    visits: usize,
) -> Vec<String> {
    let name = |c: usize| catalog.categories.get(c).map_or("?", String::as_str);
    let top = |values: &[f32], unit: &dyn Fn(f32) -> String| {
        let mut ranked: Vec<(usize, f32)> = values
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, v)| v > 0.0)
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let shown: Vec<String> = ranked
            .iter()
            .take(3)
            .map(|&(c, v)| format!("{} {}", name(c), unit(v)))
            .collect();
        if shown.is_empty() {
            "none measurable".to_owned()
        } else {
            format!("{} of {}: {}", ranked.len(), values.len(), shown.join(", "))
        }
    };
    vec![
        format!(
            "intent: {} missions learned from {visits} visits",
            intent.classes.len()
        ),
        format!(
            "trending: {} products rising well above their usual rate",
            priors.top_trending.len()
        ),
        format!(
            "price-responsive categories: {}",
            top(&priors.price_response, &|v| format!("{v:.2}"))
        ),
        format!(
            "refill categories: {}",
            top(&priors.refill_days, &|v| format!("every {v:.0} days"))
        ),
        format!(
            "rebought categories: {}",
            top(&priors.rebuy, &|v| format!(
                "{:.0}% ordered again",
                v * 100.0
            ))
        ),
        format!(
            "next views going back: {}",
            went_back(&priors.returns, priors.going_back_strength)
        ),
    ]
}

/// The share of next views that repeat the latest product and that go back
/// one further (what `next`'s `returns` signal weighs), and what the store's
/// rate weighs against a visit's own moves (`strength`), in words.
fn went_back(shares: &[f32], strength: f32) -> String {
    let percent = |i: usize| shares.get(i).map_or(0.0, |s| s * 100.0);
    if shares.iter().all(|&s| s <= 0.0) {
        return "none measurable".to_owned();
    }
    let habit = if strength > 0.0 {
        format!("; the store's rate counts as {strength:.1} moves beside a visit's own")
    } else {
        String::new()
    };
    format!(
        "{:.0}% repeat the latest product, {:.0}% the one before{habit}",
        percent(0),
        percent(1)
    )
}

/// The catalog as the edge needs it, with category paths and locations
/// interned and compatibility made symmetric.
pub fn catalog_section(products: &[Product], ordinal: &HashMap<&str, u32>) -> CatalogSection {
    catalog_section_after(products, ordinal, Vec::new(), Vec::new())
}

/// [`catalog_section`] with `categories` and `locations` (a parent
/// build's) keeping their indexes, and new ones after them: the
/// category-indexed models an incremental build carries over (intent,
/// price response, refills) stay true. A category no product is in any
/// more stays listed, empty, until the next full build.
pub fn catalog_section_after(
    products: &[Product],
    ordinal: &HashMap<&str, u32>,
    mut categories: Vec<String>,
    mut locations: Vec<String>,
) -> CatalogSection {
    let mut category_index: HashMap<String, u32> = categories
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), i as u32))
        .collect();
    let mut compatible: Vec<Vec<u32>> = vec![Vec::new(); products.len()];
    for (i, p) in products.iter().enumerate() {
        for other in p
            .compatible_with
            .iter()
            .filter_map(|id| ordinal.get(id.as_str()))
        {
            compatible[i].push(*other);
            compatible[*other as usize].push(i as u32);
        }
    }
    let records = products
        .iter()
        .zip(compatible)
        .map(|(p, mut compatible)| {
            compatible.sort_unstable();
            compatible.dedup();
            // Categories are interned by full path, so "Accessories" under two
            // top levels stay two categories.
            let category_path = (1..=p.category.len())
                .map(|depth| {
                    let path = p.category.get(..depth).unwrap_or_default().join("/");
                    *category_index.entry(path.clone()).or_insert_with(|| {
                        categories.push(path);
                        (categories.len() - 1) as u32
                    })
                })
                .collect();
            let stock = p
                .inventory
                .iter()
                .map(|s| {
                    let location = locations
                        .iter()
                        .position(|l| *l == s.location)
                        .unwrap_or_else(|| {
                            locations.push(s.location.clone());
                            locations.len() - 1
                        });
                    StockAt {
                        location: location as u16,
                        available: s.available,
                        lead_days: s.lead_days,
                    }
                })
                .collect();
            let media = p.media.first();
            ProductRecord {
                id: p.id.clone(),
                title: p.title.clone(),
                brand: p.brand.clone().unwrap_or_default(),
                url: p.path(),
                image: media.map(|m| m.url.clone()).unwrap_or_default(),
                image_alt: media
                    .map(|m| m.alt.clone())
                    .filter(|a| !a.is_empty())
                    .unwrap_or_else(|| p.title.clone()),
                price: p.price,
                cost: p.cost.unwrap_or(0.0),
                currency: p.currency.clone(),
                category_path,
                available: u32::try_from(p.available()).unwrap_or(u32::MAX),
                stock,
                compatible,
                ship_days: p.ship_days.unwrap_or(3),
                rating: p.rating.map_or(0.0, |r| r.average),
                rating_count: p.rating.map_or(0, |r| r.count),
                regulated: p.regulated,
                safety: p.safety.clone(),
                tags: p.tags.clone(),
                created_at: p.created_at.unix_timestamp(),
            }
        })
        .collect();
    CatalogSection {
        products: records,
        categories,
        locations,
    }
}
