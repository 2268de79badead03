//! The generator's properties:
//!
//! 1. The classic shape at the fixtures' settings (seed 7, 420 products,
//!    2,000 sessions) writes `fixtures/` byte for byte: the tests are
//!    written against those files, and they are regenerated, not edited.
//! 2. The structured shape is deterministic: the same spec writes the same
//!    bytes, another seed other bytes.
//! 3. Structured sessions keep to few taste clusters of their leaf: most
//!    of a session's views fall in its two most viewed clusters, far more
//!    than if it picked across the leaf by popularity.
//! 4. Structured popularity is Zipf-like: a tenth of the products take
//!    most of the views.
//! 5. Structured titles have a long-tail vocabulary: thousands of distinct
//!    words, most in a handful of products, a few in a large share; the
//!    classic shape's vocabulary stays tiny (the adversarial case).
//! 6. A structured base product's variants share the title up to the
//!    variant's colour or size.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use firstpaint_contracts::{Event, EventKind};
use firstpaint_engine::text::features::words;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use time::macros::datetime;

use super::catalog::Generated;
use super::taste::{self, Shoppers, Taste};
use super::{catalog, events, vocab, write, Shape, Spec};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

const FILES: [&str; 3] = ["catalog.ndjson", "events.ndjson", "rules.toml"];

fn spec(products: usize, sessions: usize, seed: u64, shape: Shape) -> Spec {
    Spec {
        products,
        sessions,
        seed,
        now: datetime!(2026-11-01 0:00 UTC),
        shape,
    }
}

fn same_files(a: &Path, b: &Path) -> bool {
    FILES
        .iter()
        .all(|f| std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap())
}

#[test]
fn the_fixtures_are_what_the_generator_writes() {
    let dir = tempfile::tempdir().unwrap();
    write(&spec(420, 2_000, 7, Shape::Classic), dir.path()).unwrap();
    for f in FILES {
        let (written, fixture) = (
            std::fs::read(dir.path().join(f)).unwrap(),
            std::fs::read(fixtures().join(f)).unwrap(),
        );
        assert!(
            written == fixture,
            "fixtures/{f} is not what generate writes"
        );
    }
}

#[test]
fn the_structured_shape_is_deterministic() {
    let [a, b, c] = [(); 3].map(|_| tempfile::tempdir().unwrap());
    write(&spec(3_000, 2_000, 11, Shape::Structured), a.path()).unwrap();
    write(&spec(3_000, 2_000, 11, Shape::Structured), b.path()).unwrap();
    write(&spec(3_000, 2_000, 12, Shape::Structured), c.path()).unwrap();
    assert!(same_files(a.path(), b.path()), "seed 11 wrote two stores");
    assert!(
        !same_files(a.path(), c.path()),
        "seeds 11 and 12 wrote one store"
    );
}

/// A structured store of 24,000 products (about 10 clusters per leaf) and
/// its sessions' events, generated once for every test.
fn structured() -> &'static (Vec<Generated>, Taste, Vec<Event>) {
    static STORE: OnceLock<(Vec<Generated>, Taste, Vec<Event>)> = OnceLock::new();
    STORE.get_or_init(|| {
        let spec = spec(24_000, 6_000, 3, Shape::Structured);
        let leaves = vocab::leaves();
        let mut rng = StdRng::seed_from_u64(spec.seed);
        let (products, taste) = taste::generate(&leaves, &spec, &mut rng);
        let shoppers = Shoppers::new(&leaves, &products, &taste);
        let events = events::generate(&shoppers, &spec, &mut rng);
        (products, taste, events)
    })
}

/// Per session, the products it viewed, in order.
fn views(products: &[Generated], events: &[Event]) -> Vec<Vec<usize>> {
    let index: HashMap<&str, usize> = products
        .iter()
        .enumerate()
        .map(|(i, g)| (g.product.id.as_str(), i))
        .collect();
    let mut by_session: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for e in events {
        if let EventKind::PageView {
            product: Some(p), ..
        } = &e.kind
        {
            by_session
                .entry(e.session.as_str())
                .or_default()
                .push(index[p.as_str()]);
        }
    }
    by_session.into_values().collect()
}

/// The share of the views of sessions with 4+ views that fall in each
/// session's two most viewed clusters.
fn in_two_clusters(sessions: &[Vec<usize>], taste: &Taste) -> f64 {
    let (mut in_two, mut total) = (0usize, 0usize);
    for session in sessions.iter().filter(|s| s.len() >= 4) {
        let mut count: HashMap<usize, usize> = HashMap::new();
        for &p in session {
            *count.entry(taste.places[p].cluster).or_default() += 1;
        }
        let mut counts: Vec<usize> = count.into_values().collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        in_two += counts.iter().take(2).sum::<usize>();
        total += session.len();
    }
    in_two as f64 / total as f64
}

#[test]
fn structured_sessions_keep_to_one_or_two_clusters() {
    let (products, taste, events) = structured();
    let clusters_per_leaf = taste.clusters.len() as f64 / taste.by_leaf.len() as f64;
    assert!(
        clusters_per_leaf > 6.0,
        "{clusters_per_leaf} clusters per leaf"
    );
    let sessions = views(products, events);
    let share = in_two_clusters(&sessions, taste);
    // The same sessions if each view were drawn from all the views of the
    // session's first leaf: popularity alone.
    let mut by_leaf: HashMap<usize, Vec<usize>> = HashMap::new();
    for &p in sessions.iter().flatten() {
        by_leaf.entry(products[p].leaf).or_default().push(p);
    }
    let mut rng = StdRng::seed_from_u64(1);
    let by_popularity: Vec<Vec<usize>> = sessions
        .iter()
        .map(|s| {
            let pool = &by_leaf[&products[s[0]].leaf];
            (0..s.len())
                .map(|_| *pool.choose(&mut rng).unwrap())
                .collect()
        })
        .collect();
    let null = in_two_clusters(&by_popularity, taste);
    assert!(
        share > 0.8 && share > null + 0.15,
        "{share:.3} of views in a session's two clusters ({null:.3} by popularity alone)"
    );
}

#[test]
fn structured_popularity_is_long_tailed() {
    let (products, _, events) = structured();
    let mut count = vec![0usize; products.len()];
    for p in views(products, events).into_iter().flatten() {
        count[p] += 1;
    }
    count.sort_unstable_by(|a, b| b.cmp(a));
    let total: usize = count.iter().sum();
    let head: usize = count.iter().take(products.len() / 10).sum();
    let share = head as f64 / total as f64;
    assert!(
        share > 0.5,
        "the top tenth of products has {share:.3} of views"
    );
}

/// Distinct title words, each with the number of products it is in, and
/// the mean title length in words.
fn title_words(products: &[Generated]) -> (HashMap<String, usize>, f64) {
    let mut df: HashMap<String, usize> = HashMap::new();
    let mut length = 0;
    for g in products {
        let w: Vec<String> = words(&g.product.title).collect();
        length += w.len();
        for w in w.into_iter().collect::<HashSet<_>>() {
            *df.entry(w).or_default() += 1;
        }
    }
    (df, length as f64 / products.len() as f64)
}

#[test]
fn structured_titles_have_a_long_tail_and_classic_ones_do_not() {
    let (products, _, _) = structured();
    let n = products.len() as f64;
    let (df, length) = title_words(products);
    let mut shares: Vec<f64> = df.values().map(|&c| c as f64 / n).collect();
    shares.sort_unstable_by(|a, b| b.total_cmp(a));
    let rare = df.values().filter(|&&c| c <= 5).count() as f64 / df.len() as f64;
    assert!(df.len() > 5_000, "{} distinct title words", df.len());
    assert!(
        rare > 0.5,
        "{rare:.3} of the words are in at most 5 products"
    );
    assert!(
        shares[0] > 0.08 && shares[0] < 0.4,
        "top word in {:.3}",
        shares[0]
    );
    assert!(shares[9] > 0.03, "10th word in {:.3}", shares[9]);
    assert!((7.0..12.0).contains(&length), "{length:.1} words per title");

    let classic_spec = spec(24_000, 0, 3, Shape::Classic);
    let mut rng = StdRng::seed_from_u64(3);
    let classic = catalog::generate(&vocab::leaves(), &classic_spec, &mut rng);
    let (classic_df, _) = title_words(&classic);
    assert!(classic_df.len() < 300, "{} classic words", classic_df.len());
}

#[test]
fn structured_variants_share_their_title() {
    let (products, taste, _) = structured();
    let mut stems: HashMap<usize, HashSet<&str>> = HashMap::new();
    let mut variants = 0;
    for (g, place) in products.iter().zip(&taste.places) {
        let title = g.product.title.as_str();
        let stem = title.rsplit_once(", ").map_or(title, |(s, _)| s);
        let seen = stems.entry(place.base).or_default();
        variants += usize::from(!seen.is_empty());
        seen.insert(stem);
    }
    assert!(
        stems.values().all(|s| s.len() == 1),
        "variants differ before the comma"
    );
    assert!(
        variants as f64 > 0.3 * products.len() as f64,
        "{variants} variants"
    );
}
