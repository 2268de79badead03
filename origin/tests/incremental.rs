//! Incremental builds on the fixtures store: a catalog change (products
//! added, removed, renamed, repriced) rebuilt from the last build's state
//! serves the new catalog, agrees with a full build of it, keeps what the
//! events said of the products that stayed, and refuses a state that is
//! not its parent's.

mod support;

use std::collections::HashSet;

use firstpaint_bundle::{hex, Bundle, Lineage, OwnedBytes};
use firstpaint_engine::{Engine, SearchRequest, SlotKind, SlotRequest};
use firstpaint_origin::build::{build_with_state, BuildOptions};
use firstpaint_origin::incremental::state::{path_for, BuildState};
use firstpaint_origin::incremental::{parent_of, rebuild, Diff};
use firstpaint_origin::inputs::Inputs;
use support::{fixtures_inputs, key, NOW};

const LATER: i64 = NOW + 3_600;

fn opts(now: i64) -> BuildOptions {
    BuildOptions {
        now,
        ttl_days: 14,
        progress: false,
        rules_file: "rules.toml".into(),
        shard: false,
    }
}

/// The fixtures catalog changed as a merchant's day changes it: every 40th
/// product removed, every 40th (offset) renamed, every 40th (offset)
/// repriced, and a new brand's tent added.
fn changed(inputs: &Inputs) -> Inputs {
    let mut next = inputs.clone();
    let removed: HashSet<String> = next
        .products
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 40 == 5)
        .map(|(_, p)| p.id.clone())
        .collect();
    next.products.retain(|p| !removed.contains(&p.id));
    for (i, p) in next.products.iter_mut().enumerate() {
        p.compatible_with.retain(|id| !removed.contains(id));
        if i % 40 == 17 {
            p.title = format!("{} Reissue", p.title);
        }
        if i % 40 == 29 {
            p.price = (p.price * 0.7 * 100.0).round() / 100.0;
        }
    }
    let template = next
        .products
        .iter()
        .find(|p| p.title.contains("Two-Person Tent"))
        .expect("a fixture tent")
        .clone();
    let mut tent = template.clone();
    tent.id = "NEW-TENT-1".into();
    tent.brand = Some("Summitline".into());
    tent.title = format!(
        "{} Ultralight",
        template
            .title
            .replace(template.brand.as_deref().unwrap_or_default(), "Summitline")
    );
    tent.compatible_with.clear();
    tent.created_at = time::OffsetDateTime::from_unix_timestamp(NOW).expect("time");
    tent.updated_at = None;
    next.products.push(tent);
    next.catalog_sha256 = [7; 32];
    next
}

fn open(bytes: &[u8], now: i64) -> Engine {
    Engine::open(bytes.to_vec(), &key().verifying_key(), now).expect("bundle opens")
}

struct Case {
    parent: Vec<u8>,
    state: BuildState,
    inputs: Inputs,
}

fn case() -> Case {
    let (parent, _, state) =
        build_with_state(&fixtures_inputs(), &key(), &opts(NOW)).expect("full build");
    Case {
        parent,
        state,
        inputs: changed(&fixtures_inputs()),
    }
}

fn similar(engine: &Engine, id: &str, now: i64) -> Vec<String> {
    let mut req = SlotRequest::new(SlotKind::Similar);
    req.product = Some(id.into());
    req.k = Some(12);
    req.visitor.now = now;
    engine
        .rank(&req)
        .map(|r| r.items.into_iter().map(|i| i.id).collect())
        .unwrap_or_default()
}

#[test]
fn an_incremental_build_serves_the_changed_catalog() {
    let Case {
        parent,
        state,
        inputs,
    } = case();
    let old = open(&parent, NOW);
    let diff = Diff::between(&state, &inputs);
    assert_eq!(diff.added(), 1);
    assert_eq!(diff.removed(), 11, "{}", diff.summary());
    assert_eq!(diff.replaced(), 10, "{}", diff.summary());
    assert!(!diff.too_large());
    let parent_sha = state.bundle_sha256;
    let (bytes, report, next) =
        rebuild(&inputs, state, &diff, &key(), &opts(LATER)).expect("incremental build");
    assert_eq!(next.bundle_sha256, firstpaint_bundle::sha256(&bytes));
    let engine = open(&bytes, LATER);
    let store = engine.store();
    assert_eq!(store.products().len(), inputs.products.len());
    assert_eq!(report.products, inputs.products.len());
    for p in &inputs.products {
        let got = store
            .product(&p.id)
            .unwrap_or_else(|| panic!("{} missing", p.id));
        assert_eq!(got.title(), p.title.as_str());
        assert_eq!(got.price(), p.price, "{}", p.id);
        // Every product is in the graph, where its own vector finds it.
        let own = store.embedding(got.ordinal()).expect("a vector");
        assert!(
            store.nearest(&own, 5).iter().any(|h| h.0 == got.ordinal()),
            "{} is not found by its own vector",
            p.id
        );
    }
    let gone: Vec<&str> = old
        .store()
        .products()
        .map(|p| p.id())
        .filter(|id| store.product(id).is_none())
        .collect();
    assert_eq!(gone.len(), 11);
    // What the events said of a product that stayed follows it: its
    // viewed-together neighbours are its parent's, less the removed.
    for p in old.store().products().step_by(7) {
        let Some(now) = store.ordinal(p.id()) else {
            continue;
        };
        let ids = |e: &Engine, ord: u32| -> Vec<String> {
            e.store()
                .co_view()
                .row(ord)
                .filter_map(|(o, _)| e.store().product_at(o).map(|q| q.id().to_owned()))
                .collect()
        };
        let before: Vec<String> = ids(&old, p.ordinal())
            .into_iter()
            .filter(|id| !gone.contains(&id.as_str()))
            .collect();
        assert_eq!(ids(&engine, now), before, "{}", p.id());
        assert_eq!(
            old.store().popularity(p.ordinal()) > 0.0,
            store.popularity(now) > 0.0,
            "{}",
            p.id()
        );
    }
    // The recent sessions follow their products too: the parent's, less
    // the removed products and the sessions left with fewer than two.
    let sessions = |e: &Engine| -> Vec<Vec<String>> {
        let index = e.store().sessions();
        (0..index.len() as u32)
            .map(|s| {
                index
                    .products_of(s)
                    .map(|o| {
                        let q = e.store().product_at(o);
                        q.unwrap_or_else(|| panic!("session {s} holds unknown product {o}"))
                            .id()
                            .to_owned()
                    })
                    .filter(|id| !gone.contains(&id.as_str()))
                    .collect::<Vec<String>>()
            })
            .filter(|ids| ids.len() >= 2)
            .collect()
    };
    assert!(old.store().sessions().len() > 100);
    assert_eq!(sessions(&engine), sessions(&old));
    assert_eq!(store.sessions().len(), sessions(&old).len());
    // The new tent is found by its name and among the similar tents.
    let mut req = SearchRequest::new("summitline tent");
    req.visitor.now = LATER;
    let found = engine.search(&req).expect("search");
    assert!(
        found.items.iter().any(|i| i.id == "NEW-TENT-1"),
        "{:?}",
        found.items
    );
    let template = inputs
        .products
        .iter()
        .find(|p| p.title.contains("Two-Person Tent") && p.id != "NEW-TENT-1")
        .expect("a fixture tent");
    assert!(
        similar(&engine, &template.id, LATER).contains(&"NEW-TENT-1".to_owned()),
        "the new tent is not similar to {}",
        template.id
    );
    // The lineage names the parent and still the events it learned from.
    let bundle =
        Bundle::open(OwnedBytes::new(bytes), &key().verifying_key(), LATER).expect("verifies");
    let lineage = Lineage::of(&bundle).expect("decodes").expect("a lineage");
    assert_eq!(lineage.parent, Some(hex(&parent_sha)));
    assert!(
        lineage.inputs.iter().any(|f| f.role == "events"),
        "{lineage:?}"
    );
}

#[test]
fn an_incremental_build_agrees_with_a_full_build_of_the_same_catalog() {
    let Case { state, inputs, .. } = case();
    let diff = Diff::between(&state, &inputs);
    let (bytes, _, _) =
        rebuild(&inputs, state, &diff, &key(), &opts(LATER)).expect("incremental build");
    let incremental = open(&bytes, LATER);
    let (full, _, _) = build_with_state(&inputs, &key(), &opts(LATER)).expect("full build");
    let full = open(&full, LATER);
    let (mut shared, mut judged) = (0usize, 0usize);
    for p in inputs.products.iter().step_by(5) {
        let a = similar(&incremental, &p.id, LATER);
        let b = similar(&full, &p.id, LATER);
        shared += a.iter().filter(|id| b.contains(id)).count();
        judged += b.len();
    }
    let overlap = shared as f64 / judged as f64;
    println!("similar top-12 overlap, incremental vs full: {overlap:.3}");
    assert!(overlap >= 0.75, "overlap {overlap:.3}");
}

#[test]
fn the_same_change_builds_the_same_bundle() {
    let Case { state, inputs, .. } = case();
    let diff = Diff::between(&state, &inputs);
    let (a, _, _) = rebuild(&inputs, state.clone(), &diff, &key(), &opts(LATER)).expect("builds");
    let (b, _, _) = rebuild(&inputs, state, &diff, &key(), &opts(LATER)).expect("builds");
    assert!(a == b, "two incremental builds of the same change differ");
}

#[test]
fn a_state_is_only_the_parent_of_its_own_bundle() {
    let Case { parent, state, .. } = case();
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = dir.path().join("b.fpb");
    let hour = std::time::Duration::from_secs(3_600);
    let why = parent_of(&bundle, NOW, hour).expect_err("no state yet");
    assert!(why.contains("no build state"), "{why}");

    std::fs::write(&bundle, &parent).expect("write");
    std::fs::write(path_for(&bundle), state.to_bytes().expect("encodes")).expect("write");
    assert!(parent_of(&bundle, NOW + 60, hour).is_ok());
    let why = parent_of(&bundle, NOW + 3_600, hour).expect_err("too old");
    assert!(why.contains("3600 s old"), "{why}");

    // Another bundle at the path: the state is not its parent.
    let mut other = parent.clone();
    other.push(0);
    std::fs::write(&bundle, &other).expect("write");
    let why = parent_of(&bundle, NOW + 60, hour).expect_err("not its bundle");
    assert!(why.contains("not built with the state"), "{why}");

    // A damaged or foreign state names its file and what is wrong.
    std::fs::write(&bundle, &parent).expect("write");
    let mut bytes = state.to_bytes().expect("encodes");
    bytes.truncate(bytes.len() / 2);
    std::fs::write(path_for(&bundle), &bytes).expect("write");
    let why = parent_of(&bundle, NOW + 60, hour).expect_err("truncated");
    assert!(
        why.contains("b.fpb.state") && why.contains("unreadable"),
        "{why}"
    );
    std::fs::write(path_for(&bundle), b"FPST\x09\0\0\0").expect("write");
    let why = parent_of(&bundle, NOW + 60, hour).expect_err("other format");
    assert!(why.contains("format 9"), "{why}");
    std::fs::write(path_for(&bundle), b"{}").expect("write");
    let why = parent_of(&bundle, NOW + 60, hour).expect_err("not a state");
    assert!(why.contains("not a build state"), "{why}");
}

#[test]
fn a_large_change_is_left_to_a_full_build() {
    let Case {
        state, mut inputs, ..
    } = case();
    for p in inputs.products.iter_mut().step_by(8) {
        p.description = format!("{} Now in a new edition.", p.description);
    }
    let diff = Diff::between(&state, &inputs);
    assert!(diff.too_large(), "{}", diff.summary());
}

/// Three rounds of 1% changes (repriced, renamed, new, deleted) to a
/// generated 100k store, each built incrementally on the last, against a
/// full build of the final catalog in the same run: build times, ANN
/// recall@10 (random products, and the products placed by the rounds), and
/// the overlap of the similar slot's twelve. Prints a Markdown table:
///
/// `cargo test --profile native -p firstpaint-origin --test incremental -- --ignored --nocapture`
#[test]
#[ignore = "a measurement: two full builds at 100k; run optimised"]
fn figures_at_100k() {
    use firstpaint_engine::Embedding;
    use firstpaint_origin::eval::ann::{exact_top, hits_with_ties, recall, K};
    use firstpaint_origin::generate::{self, Shape, Spec};
    use firstpaint_origin::inputs::{load, InputPaths};
    use std::time::Instant;

    let dir = tempfile::tempdir().expect("tempdir");
    let spec = Spec {
        products: 100_000,
        sessions: 170_000,
        seed: 11,
        now: time::OffsetDateTime::from_unix_timestamp(NOW).expect("time"),
        shape: Shape::Structured,
    };
    generate::write(&spec, dir.path()).expect("generates");
    let mut inputs = load(&InputPaths::in_dir(dir.path())).expect("loads");
    let started = Instant::now();
    let (first, _, mut state) = build_with_state(&inputs, &key(), &opts(NOW)).expect("full build");
    let first_full = started.elapsed().as_secs_f64();
    let first = open(&first, NOW);

    let mut placed: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    let mut bytes = Vec::new();
    for round in 0..3 {
        let n = inputs.products.len();
        let linked: HashSet<String> = inputs
            .products
            .iter()
            .flat_map(|p| p.compatible_with.iter().cloned())
            .collect();
        let count = n / 100;
        let step = n / count;
        let mut removed = HashSet::new();
        let mut added = Vec::new();
        for k in 0..count {
            let i = (k * step + round * 7) % n;
            match k % 10 {
                0..=3 => {
                    inputs.products[i].price = (inputs.products[i].price * 93.0).round() / 100.0
                }
                4..=6 => {
                    let p = &mut inputs.products[i];
                    p.title = format!("{} (round {} edition)", p.title, round + 1);
                    placed.push(p.id.clone());
                }
                7 | 8 => {
                    let mut p = inputs.products[i].clone();
                    p.id = format!("{}-R{}", p.id, round + 1);
                    p.title = format!("New {}", p.title);
                    p.compatible_with.clear();
                    placed.push(p.id.clone());
                    added.push(p);
                }
                _ if !linked.contains(&inputs.products[i].id) => {
                    removed.insert(inputs.products[i].id.clone());
                }
                _ => {}
            }
        }
        inputs.products.retain(|p| !removed.contains(&p.id));
        inputs.products.extend(added);
        let now = NOW + 600 * (round as i64 + 1);
        let started = Instant::now();
        let diff = Diff::between(&state, &inputs);
        let built = rebuild(&inputs, state, &diff, &key(), &opts(now)).expect("incremental build");
        rows.push((round + 1, diff.summary(), started.elapsed().as_secs_f64()));
        bytes = built.0;
        state = built.2;
    }
    let now = NOW + 600 * 4;
    let incremental = open(&bytes, now);
    let started = Instant::now();
    let (full, _, _) = build_with_state(&inputs, &key(), &opts(now)).expect("full build");
    let last_full = started.elapsed().as_secs_f64();
    let full = open(&full, now);

    // Recall of queries at the placed products (those still there).
    let placed_recall = |engine: &Engine| {
        let store = engine.store();
        let all: Vec<Embedding> = (0..store.products().len() as u32)
            .map(|o| store.embedding(o).unwrap_or(Embedding::ZERO))
            .collect();
        let (mut hits, mut judged) = (0, 0);
        for o in placed.iter().filter_map(|id| store.ordinal(id)) {
            let q = all[o as usize];
            let truth = exact_top(&all, &q, K);
            let found: Vec<u32> = store.nearest(&q, K).into_iter().map(|h| h.0).collect();
            hits += hits_with_ties(&all, &q, &found, &truth);
            judged += truth.len();
        }
        hits as f64 / judged.max(1) as f64
    };
    // The similar slot's twelve, shared between two bundles, over every
    // 97th product of the final catalog that the first one also had.
    let overlap = |a: &Engine, b: &Engine| {
        let (mut shared, mut judged) = (0usize, 0usize);
        for p in inputs.products.iter().step_by(97) {
            if first.store().product(&p.id).is_none() {
                continue;
            }
            let x = similar(a, &p.id, now);
            let y = similar(b, &p.id, now);
            shared += x.iter().filter(|id| y.contains(id)).count();
            judged += y.len();
        }
        shared as f64 / judged.max(1) as f64
    };
    println!("\n{} products after three rounds of 1% changes; full build of the first catalog {first_full:.1} s\n", inputs.products.len());
    println!("| build | change | time (s) | vs the full build |");
    println!("| --- | --- | ---: | ---: |");
    for (round, summary, took) in &rows {
        println!(
            "| incremental, round {round} | {summary} | {took:.2} | {:.3}x |",
            took / last_full
        );
    }
    println!("| full, of the final catalog | (all) | {last_full:.1} | 1.000x |");
    println!("\n| bundle | ANN recall@{K}, 1,000 random products | recall@{K} at the {} placed products | similar top-12 shared with the full build of the final catalog | with the first catalog's full build |", placed.len());
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (name, engine) in [
        ("first catalog, full build", &first),
        ("three incremental builds on it", &incremental),
        ("final catalog, full build", &full),
    ] {
        println!(
            "| {name} | {:.4} | {:.4} | {:.3} | {:.3} |",
            recall(engine, 1_000, 5).recall,
            placed_recall(engine),
            overlap(engine, &full),
            overlap(engine, &first),
        );
    }
}
