//! `firstpaint-bench`: the spine's numbers, printed as a Markdown table.
//!
//! For the fixtures store and a generated large store: bundle bytes, build
//! time, verify and decode time, rank time per slot kind, and the HNSW's
//! recall@10 and speed against an exact scan run in the same process (the
//! baseline), so the ratios hold on a noisy machine; search time per query
//! (exact, and 2-3 words with one typo) against a scan of every title for
//! the same words, and the search index's bytes.
//!
//! With `--out-dir`, each store's bundle, public key and sampled requests
//! are written there for `bench/wasm.mjs`, which times the same calls in
//! wasm.
//!
//! `cargo run --profile native -p firstpaint-origin --bin firstpaint-bench -- --products 100000 --sessions 170000`

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use firstpaint_bundle::{
    section_ranges, sha256, Bundle, BundleWriter, OwnedBytes, SigningKey, Tag,
};
use firstpaint_engine::store::sections::SESSIONS;
use firstpaint_engine::{Embedding, Engine, SearchRequest, SlotKind, SlotRequest};
use firstpaint_origin::build::{build, BuildOptions};
use firstpaint_origin::eval::ann::{exact_top, hits_with_ties};
use firstpaint_origin::eval::search::{known_item, KnownItem};
use firstpaint_origin::generate::{self, Shape, Spec};
use firstpaint_origin::inputs::{load, InputPaths};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Benchmarks the spine on the fixtures store and a generated store.
#[derive(Debug, Parser)]
struct Args {
    /// Products in the generated store (0 to skip it).
    #[arg(long, default_value_t = 100_000)]
    products: usize,
    /// Sessions in the generated store (about 6 events each).
    #[arg(long, default_value_t = 170_000)]
    sessions: usize,
    /// The fixtures directory.
    #[arg(long, default_value = "fixtures")]
    fixtures: PathBuf,
    /// Rank calls timed per slot kind.
    #[arg(long, default_value_t = 2_000)]
    rank_calls: usize,
    /// ANN queries for recall and speed.
    #[arg(long, default_value_t = 1_000)]
    queries: usize,
    /// Search queries timed per kind.
    #[arg(long, default_value_t = 1_000)]
    searches: usize,
    /// Write each store's bundle, key and sampled requests here (for the wasm bench).
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// How the generated store is structured (see `firstpaint generate --help`).
    #[arg(long, value_enum, default_value_t = Shape::Classic)]
    shape: Shape,
}

const NOW: i64 = 1_793_491_200;

struct Row {
    store: String,
    products: usize,
    events: usize,
    bytes: usize,
    sections: Vec<(String, u64)>,
    build: Duration,
    verify: Duration,
    open: Duration,
    /// `Engine::from_bundle` over digests the host computed: what the edge
    /// pays in wasm once `crypto.subtle` has hashed the sections.
    open_given_digests: Duration,
    rank: Vec<(&'static str, Duration, Duration)>,
    recall: f64,
    /// ANN recall@10 against an exact scan of the unquantized embeddings.
    recall_full: f64,
    /// Summed similarity of the ANN's ten over the exact ten's.
    similarity_kept: f64,
    ann_qps: f64,
    exact_qps: f64,
    /// (label, p50, p99, mean results) per search kind.
    search: Vec<(&'static str, Duration, Duration, f64)>,
    /// Mean time of the title scan baseline on the typo-free 2-3 word queries.
    scan: Duration,
    /// Mean time of the index on the same queries.
    indexed: Duration,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let key = SigningKey::from_bytes(&[1; 32]);
    let mut rows = vec![measure("fixtures", &args.fixtures, &key, &args)?];
    if args.products > 0 {
        // The shape in the name: two benches of different shapes at once
        // must not write over each other's store.
        let dir = std::env::temp_dir().join(format!(
            "firstpaint-bench-{}-{:?}",
            args.products, args.shape
        ));
        let spec = Spec {
            products: args.products,
            sessions: args.sessions,
            seed: 11,
            now: time::OffsetDateTime::from_unix_timestamp(NOW)?,
            shape: args.shape,
        };
        eprintln!(
            "generating {} products, {} sessions into {}",
            spec.products,
            spec.sessions,
            dir.display()
        );
        generate::write(&spec, &dir)?;
        rows.push(measure(
            &format!("generated {}k", args.products / 1000),
            &dir,
            &key,
            &args,
        )?);
    }
    print(&rows);
    Ok(())
}

fn measure(name: &str, dir: &Path, key: &SigningKey, args: &Args) -> anyhow::Result<Row> {
    eprintln!("{name}: building");
    let started = Instant::now();
    let inputs = load(&InputPaths::in_dir(dir))?;
    let opts = BuildOptions {
        now: NOW,
        ttl_days: 14,
        progress: false,
        rules_file: "rules.toml".into(),
        shard: false,
    };
    let (bytes, report) = build(&inputs, key, &opts)?;
    let build_time = started.elapsed();

    let public = key.verifying_key();
    let repeats = if bytes.len() > 10 << 20 { 5 } else { 30 };
    let verify = median((0..repeats).map(|_| {
        let t = Instant::now();
        let b = Bundle::open(&bytes[..], &public, NOW).map(|b| b.header().total_len);
        std::hint::black_box(b.ok());
        t.elapsed()
    }));
    let open = median((0..repeats).map(|_| {
        let owned = OwnedBytes::new(bytes.clone());
        let t = Instant::now();
        let e = Engine::open(owned, &public, NOW);
        std::hint::black_box(e.is_ok());
        t.elapsed()
    }));
    let digests: Vec<[u8; 32]> = section_ranges(&bytes)?
        .into_iter()
        .map(|r| sha256(bytes.get(r).unwrap_or_default()))
        .collect();
    let open_given_digests = median((0..repeats).map(|_| {
        let owned = OwnedBytes::new(bytes.clone());
        let t = Instant::now();
        let e = Bundle::open_with_digests(owned, &public, NOW, &digests)
            .map_err(firstpaint_engine::EngineError::from)
            .and_then(Engine::from_bundle);
        std::hint::black_box(e.is_ok());
        t.elapsed()
    }));
    let engine = Engine::open(&bytes, &public, NOW).context("bundle opens")?;
    let sections = Bundle::open(&bytes[..], &public, NOW)?
        .section_sizes()
        .map(|(t, n)| (t.to_string(), n))
        .collect();

    eprintln!("{name}: ranking");
    let n = engine.store().products().len();
    let mut rng = StdRng::seed_from_u64(5);
    let samples: Vec<Sample> = (0..args.rank_calls)
        .map(|_| Sample::draw(&engine, &mut rng))
        .collect();
    let time_ranks = |engine: &Engine, kinds: &[(&'static str, SlotKind, usize)]| {
        let mut rank = Vec::new();
        for &(label, kind, views) in kinds {
            let mut times: Vec<Duration> = samples
                .iter()
                .map(|s| {
                    let req = s.request(kind, views);
                    let t = Instant::now();
                    let r = engine.rank(&req);
                    std::hint::black_box(r.is_ok());
                    t.elapsed()
                })
                .collect();
            times.sort();
            rank.push((label, percentile(&times, 0.5), percentile(&times, 0.99)));
        }
        rank
    };
    let mut rank = time_ranks(&engine, RANKED);
    // The same requests on the same bundle less its recent sessions: what
    // the session neighbourhood costs, in the same run.
    let plain = Engine::open(without(&bytes, SESSIONS, key)?, &public, NOW)?;
    rank.extend(time_ranks(&plain, WITHOUT_NEIGHBOURHOOD));

    eprintln!("{name}: recall");
    let embeddings: Vec<Embedding> = (0..n as u32)
        .filter_map(|o| engine.store().embedding(o))
        .collect();
    let queries: Vec<Embedding> = (0..args.queries)
        .map(|_| embeddings[rng.gen_range(0..n)])
        .collect();
    let t = Instant::now();
    let ann: Vec<Vec<u32>> = queries
        .iter()
        .map(|q| {
            engine
                .store()
                .nearest(q, 10)
                .into_iter()
                .map(|(o, _)| o)
                .collect()
        })
        .collect();
    let ann_qps = queries.len() as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let exact: Vec<Vec<u32>> = queries
        .iter()
        .map(|q| exact_top(&embeddings, q, 10))
        .collect();
    let exact_qps = queries.len() as f64 / t.elapsed().as_secs_f64();
    let hits: usize = queries
        .iter()
        .zip(ann.iter().zip(&exact))
        .map(|(q, (a, e))| hits_with_ties(&embeddings, q, a, e))
        .sum();
    let recall = hits as f64 / (exact.iter().map(Vec::len).sum::<usize>().max(1)) as f64;
    // Against the unquantized vectors: what quantizing costs on top.
    let full: Vec<Embedding> = report.embeddings;
    let full_queries: Vec<&Embedding> = (0..args.queries)
        .filter_map(|_| full.get(rng.gen_range(0..n)))
        .collect();
    let full_hits: usize = full_queries
        .iter()
        .map(|q| {
            let truth = exact_top(&full, q, 10);
            let found: Vec<u32> = engine
                .store()
                .nearest(q, 10)
                .iter()
                .map(|&(o, _)| o)
                .collect();
            hits_with_ties(&full, q, &found, &truth)
        })
        .sum();
    let recall_full = full_hits as f64 / (full_queries.len() * 10).max(1) as f64;
    // How much less similar the ANN's ten are than the exact ten, on the
    // unquantized vectors: what a miss costs a ranking.
    let (mut ann_sum, mut exact_sum) = (0.0f64, 0.0f64);
    for q in &full_queries {
        let similarity = |o: u32| full.get(o as usize).map_or(0.0, |e| f64::from(q.dot(e)));
        exact_sum += exact_top(&full, q, 10)
            .into_iter()
            .map(similarity)
            .sum::<f64>();
        ann_sum += engine
            .store()
            .nearest(q, 10)
            .iter()
            .map(|&(o, _)| similarity(o))
            .sum::<f64>();
    }
    let similarity_kept = ann_sum / exact_sum.max(1e-9);

    eprintln!("{name}: search");
    // Its own generator: the same queries whatever the steps above drew.
    let mut rng = StdRng::seed_from_u64(7);
    let items: Vec<KnownItem> = (0..args.searches * 4)
        .filter_map(|_| {
            let target = rng.gen_range(0..n) as u32;
            let title = &engine.store().product_at(target)?.title();
            known_item(target, title, &mut rng)
        })
        .collect();
    let pick = |words: &dyn Fn(usize) -> bool, typo: bool| -> Vec<String> {
        items
            .iter()
            .filter(|i| words(i.words))
            .take(args.searches)
            .map(|i| {
                if typo {
                    i.typo.clone()
                } else {
                    i.exact.clone()
                }
            })
            .collect()
    };
    let one_word = pick(&|w| w == 1, false);
    let multi = pick(&|w| w >= 2, false);
    let multi_typo = pick(&|w| w >= 2, true);
    let mut search = Vec::new();
    for (label, queries, without_facets) in [
        ("1 word", &one_word, false),
        ("1 word, without facets (baseline)", &one_word, true),
        ("2-3 words", &multi, false),
        ("2-3 words, without facets (baseline)", &multi, true),
        ("2-3 words, one typo", &multi_typo, false),
    ] {
        let mut results = 0usize;
        let mut times: Vec<Duration> = queries
            .iter()
            .map(|q| {
                let mut req = SearchRequest::new(q.as_str());
                req.per_page = 24;
                req.without_facets = without_facets;
                let t = Instant::now();
                let r = engine.search(&req);
                let took = t.elapsed();
                results += r.map_or(0, |r| r.total);
                took
            })
            .collect();
        times.sort();
        let mean_results = results as f64 / queries.len().max(1) as f64;
        search.push((
            label,
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            mean_results,
        ));
    }
    let titles: Vec<String> = engine
        .store()
        .products()
        .map(|p| p.title().to_lowercase())
        .collect();
    let t = Instant::now();
    for q in &multi {
        std::hint::black_box(scan_titles(&titles, q));
    }
    let scan = t.elapsed() / multi.len().max(1) as u32;
    let t = Instant::now();
    for q in &multi {
        std::hint::black_box(engine.search(&SearchRequest::new(q.as_str())).is_ok());
    }
    let indexed = t.elapsed() / multi.len().max(1) as u32;

    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir)?;
        let stem = name.replace(' ', "-");
        std::fs::write(dir.join(format!("{stem}.fpb")), &bytes)?;
        // Every slot kind's requests, as the facade takes them: the wasm
        // bench times the calls timed above.
        let rank: Vec<serde_json::Value> = RANKED
            .iter()
            .map(|&(label, kind, views)| {
                let requests: Vec<serde_json::Value> = samples
                    .iter()
                    .map(|s| {
                        let req = s.request(kind, views);
                        serde_json::json!({
                            "product": req.product,
                            "viewed": req.visitor.viewed,
                            "cart": req.cart,
                            "category": req.category,
                        })
                    })
                    .collect();
                serde_json::json!({ "label": label, "slot": kind.as_str(), "requests": requests })
            })
            .collect();
        let requests = serde_json::json!({
            "store": name,
            "now": NOW,
            "public_key": firstpaint_bundle::hex(public.as_bytes()),
            "rank": rank,
            "search": { "1 word": one_word, "2-3 words": multi, "2-3 words, one typo": multi_typo },
        });
        std::fs::write(dir.join(format!("{stem}.json")), requests.to_string())?;
    }

    Ok(Row {
        store: name.to_owned(),
        products: n,
        events: inputs.events.len(),
        bytes: bytes.len(),
        sections,
        build: build_time,
        verify,
        open,
        open_given_digests,
        rank,
        recall,
        recall_full,
        similarity_kept,
        ann_qps,
        exact_qps,
        search,
        scan,
        indexed,
    })
}

/// `bytes` re-signed by `key` without section `gone`.
fn without(bytes: &[u8], gone: Tag, key: &SigningKey) -> anyhow::Result<Vec<u8>> {
    let bundle = Bundle::open(bytes, &key.verifying_key(), NOW)?;
    let header = bundle.header();
    let mut writer = BundleWriter::new(firstpaint_bundle::Inputs {
        bundle_version: header.bundle_version,
        created_at: header.created_at,
        expires_at: header.expires_at,
        ..firstpaint_bundle::Inputs::default()
    });
    for tag in bundle.tags().filter(|&t| t != gone).collect::<Vec<_>>() {
        writer.add(tag, bundle.section(tag)?.to_vec())?;
    }
    Ok(writer.finish(key))
}

/// The slots the session neighbourhood serves, timed again without it.
const WITHOUT_NEIGHBOURHOOD: &[(&str, SlotKind, usize)] = &[
    (
        "home, 3 views, no neighbourhood (baseline)",
        SlotKind::Home,
        3,
    ),
    (
        "next, on a product page, 3 views, no neighbourhood (baseline)",
        SlotKind::Next,
        3,
    ),
];

/// The slot kinds timed, with the views each request carries: every kind
/// the facade ranks, with home for a new visitor too.
const RANKED: &[(&str, SlotKind, usize)] = &[
    ("home, new visitor", SlotKind::Home, 0),
    ("home, 3 views", SlotKind::Home, 3),
    ("similar, 3 views", SlotKind::Similar, 3),
    ("viewed-together, 3 views", SlotKind::ViewedTogether, 3),
    ("bought-together, 3 views", SlotKind::BoughtTogether, 3),
    (
        "alternatives, out-of-stock product, 3 views",
        SlotKind::Alternatives,
        3,
    ),
    ("addons, 3 views", SlotKind::Addons, 3),
    ("cart-addons, 2 in cart, 3 views", SlotKind::CartAddons, 3),
    ("ladder, 2 in cart, 3 views", SlotKind::Ladder, 3),
    ("next, on a product page, 3 views", SlotKind::Next, 3),
    ("category, 3 views", SlotKind::Category, 3),
];

/// One sampled shopper on one page: each slot kind reads what it needs.
struct Sample {
    viewed: Vec<String>,
    /// The page's product.
    product: String,
    /// A product that cannot be bought, for `alternatives` (which proposes
    /// nothing for one that can).
    out_of_stock: String,
    cart: Vec<String>,
    /// A category on a random level of a random product's path.
    category: String,
}

impl Sample {
    fn draw(engine: &Engine, rng: &mut StdRng) -> Self {
        let n = engine.store().products().len().max(1);
        let product = |rng: &mut StdRng| engine.store().product_at(rng.gen_range(0..n) as u32);
        let id = |p: Option<firstpaint_engine::Product<'_>>| p.map(|p| p.id().to_owned());
        let min = engine.store().rules().min_inventory.max(1);
        let out_of_stock = (0..1000)
            .find_map(|_| product(rng).filter(|p| p.available() < min))
            .or_else(|| product(rng));
        let path = product(rng).map(|p| p.category_path()).unwrap_or_default();
        let level = rng.gen_range(0..path.len().max(1));
        Self {
            viewed: (0..3).filter_map(|_| id(product(rng))).collect(),
            product: id(product(rng)).unwrap_or_default(),
            out_of_stock: id(out_of_stock).unwrap_or_default(),
            cart: (0..2).filter_map(|_| id(product(rng))).collect(),
            category: path
                .get(level)
                .map(|&c| engine.store().category_name(c).to_owned())
                .unwrap_or_default(),
        }
    }

    /// The request for a slot of `kind` with the first `views` views, at 12 items.
    fn request(&self, kind: SlotKind, views: usize) -> SlotRequest {
        let mut req = SlotRequest::new(kind);
        req.k = Some(12);
        req.visitor.now = NOW;
        req.visitor.viewed = self.viewed.iter().take(views).cloned().collect();
        if kind == SlotKind::Alternatives {
            req.product = Some(self.out_of_stock.clone());
        } else if kind.needs_product() || kind == SlotKind::Next {
            req.product = Some(self.product.clone());
        }
        if kind.needs_cart() {
            req.cart = self.cart.clone();
        }
        if kind.needs_category() {
            req.category = Some(self.category.clone());
        }
        req
    }
}

/// The baseline: products whose lower-cased title contains every word of
/// `query` (no index, no typos), as a naive storefront search would do.
fn scan_titles(titles: &[String], query: &str) -> usize {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    titles
        .iter()
        .filter(|t| words.iter().all(|w| t.contains(w.as_str())))
        .count()
}

/// How many of `found` are among the exact top (`truth`), counting a
/// product exactly as similar as the last of the truth as a hit too:
/// catalogs have duplicate vectors (same text, no behaviour), and which
/// of equals an index returns is not an error.
fn median(times: impl Iterator<Item = Duration>) -> Duration {
    let mut v: Vec<Duration> = times.collect();
    v.sort();
    percentile(&v, 0.5)
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

fn print(rows: &[Row]) {
    let header: Vec<&str> = rows.iter().map(|r| r.store.as_str()).collect();
    println!("| figure | {} |", header.join(" | "));
    println!("| --- |{}", " ---: |".repeat(rows.len()));
    let line = |label: &str, f: &dyn Fn(&Row) -> String| {
        let cells: Vec<String> = rows.iter().map(f).collect();
        println!("| {label} | {} |", cells.join(" | "));
    };
    line("products", &|r| r.products.to_string());
    line("events (with analytics consent)", &|r| r.events.to_string());
    line("bundle bytes", &|r| {
        format!("{} ({:.1} MiB)", r.bytes, r.bytes as f64 / (1 << 20) as f64)
    });
    line("bundle bytes per product", &|r| {
        format!("{:.0}", r.bytes as f64 / r.products.max(1) as f64)
    });
    for tag in [
        "CATL", "ANNX", "PRIO", "COVW", "BTOG", "SNBH", "TXMP", "INTN", "RULE", "SRCH", "STRM",
        "SPST",
    ] {
        line(&format!("  section {tag} bytes (per product)"), &|r| {
            r.sections
                .iter()
                .find(|(t, _)| t == tag)
                .map_or("-".into(), |(_, n)| {
                    format!("{n} ({:.1})", *n as f64 / r.products.max(1) as f64)
                })
        });
    }
    line("build (load + train + sign), s", &|r| {
        format!("{:.2}", r.build.as_secs_f64())
    });
    line(
        "verify (signature + section SHA-256), ms",
        &|r| ms(r.verify),
    );
    line("open (verify + views, Engine::open), ms", &|r| ms(r.open));
    line(
        "open with the digests given (as the edge, after crypto.subtle), ms",
        &|r| ms(r.open_given_digests),
    );
    for i in 0..rows.first().map_or(0, |r| r.rank.len()) {
        let label = rows[0].rank[i].0;
        line(&format!("rank {label}, k=12, p50 / p99 µs"), &|r| {
            format!("{} / {}", us(r.rank[i].1), us(r.rank[i].2))
        });
    }
    line(
        "HNSW recall@10 vs exact, ties counted (stored 8-bit vectors)",
        &|r| format!("{:.3}", r.recall),
    );
    line(
        "HNSW recall@10 vs exact, ties counted (unquantized f32)",
        &|r| format!("{:.3}", r.recall_full),
    );
    line(
        "HNSW top-10 similarity / exact top-10 similarity (f32)",
        &|r| format!("{:.4}", r.similarity_kept),
    );
    line("HNSW queries/s (k=10)", &|r| format!("{:.0}", r.ann_qps));
    line("exact scan queries/s (baseline)", &|r| {
        format!("{:.0}", r.exact_qps)
    });
    line("HNSW speed-up over exact", &|r| {
        format!("{:.1}x", r.ann_qps / r.exact_qps)
    });
    for i in 0..rows.first().map_or(0, |r| r.search.len()) {
        let label = rows[0].search[i].0;
        line(
            &format!("search {label}, p50 / p99 µs (mean results)"),
            &|r| {
                let (_, p50, p99, n) = r.search[i];
                format!("{} / {} ({n:.0})", us(p50), us(p99))
            },
        );
    }
    line("title scan baseline, 2-3 words, mean µs", &|r| us(r.scan));
    line("search index speed-up over the scan", &|r| {
        format!(
            "{:.1}x",
            r.scan.as_secs_f64() / r.indexed.as_secs_f64().max(1e-9)
        )
    });
    line("search index bytes (SRCH+STRM+SPST)", &|r| {
        let n: u64 = r
            .sections
            .iter()
            .filter(|(t, _)| ["SRCH", "STRM", "SPST"].contains(&t.as_str()))
            .map(|(_, n)| n)
            .sum();
        format!("{n} ({:.1} B/product)", n as f64 / r.products.max(1) as f64)
    });
}
