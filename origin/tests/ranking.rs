//! The trained models rank the fixtures store sensibly, through the
//! engine the edge runs; the slots' own behaviour is tested on a store
//! built by hand in `crates/engine/tests`.
//!
//! Properties checked:
//! 1. Similar items to a product come mostly from its own category (the
//!    trained embeddings).
//! 2. The home slot changes with the session, towards its department, and
//!    is the same without one.
//! 3. The banners of the fixtures' `rules.toml` arrive compiled, best
//!    priority first.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use firstpaint_engine::{SlotKind, SlotRequest};
use support::fixtures_engine;

#[test]
fn similar_items_share_the_category() {
    let engine = fixtures_engine();
    let mut same = 0;
    let mut total = 0;
    for p in engine.store().products().step_by(7) {
        let mut req = SlotRequest::new(SlotKind::Similar);
        req.product = Some(p.id().to_owned());
        req.k = Some(6);
        for item in engine.rank(&req).unwrap().items {
            total += 1;
            if engine.store().product(&item.id).unwrap().leaf() == p.leaf() {
                same += 1;
            }
        }
    }
    let share = same as f64 / total as f64;
    assert!(
        share > 0.6,
        "only {share:.2} of similar items share the leaf category"
    );
}

#[test]
fn home_follows_the_session() {
    let engine = fixtures_engine();
    let home = |viewed: &[&str]| {
        let mut req = SlotRequest::new(SlotKind::Home);
        req.visitor.viewed = viewed.iter().map(|s| s.to_string()).collect();
        engine.rank(&req).unwrap()
    };
    let anonymous = home(&[]);
    assert!(!anonymous.personalized);
    assert_eq!(anonymous, home(&[]), "deterministic");
    assert_eq!(
        anonymous,
        home(&["NOT-A-PRODUCT"]),
        "unknown ids are ignored"
    );

    let phones = engine
        .store()
        .products()
        .filter(|p| {
            engine
                .store()
                .category_name(p.leaf().unwrap())
                .ends_with("Smartphones")
        })
        .map(|p| p.id())
        .take(2)
        .collect::<Vec<_>>();
    let tea = engine
        .store()
        .products()
        .filter(|p| {
            engine
                .store()
                .category_name(p.leaf().unwrap())
                .ends_with("/Tea")
        })
        .map(|p| p.id())
        .take(2)
        .collect::<Vec<_>>();
    let a = home(&phones);
    let b = home(&tea);
    assert!(a.personalized && b.personalized);
    assert_ne!(a.items, b.items);
    assert_ne!(a.items, anonymous.items);
    // The first item the session chose (a merchandiser's pin comes first).
    let top_of = |r: &firstpaint_engine::Ranking| {
        let first = r.items.iter().find(|i| i.source != "pin").unwrap();
        engine
            .store()
            .category_name(engine.store().product(&first.id).unwrap().top().unwrap())
            .to_owned()
    };
    assert_eq!(top_of(&a), "Electronics");
    assert_eq!(top_of(&b), "Food & Drink");
}

#[test]
fn the_fixture_banners_arrive_compiled_best_priority_first() {
    // How the engine chooses among them is `crates/engine/tests/ranking.rs`.
    use firstpaint_contracts::BannerCondition::{Always, BeforeCutoff, LowStock};
    let engine = fixtures_engine();
    let banners: Vec<_> = engine
        .store()
        .rules()
        .banners
        .iter()
        .map(|b| {
            let (id, show, priority) = (b.id.as_str(), b.show, b.priority);
            (
                id,
                show,
                priority,
                b.cutoff_hour,
                b.low_stock_below,
                b.max_per_visit,
            )
        })
        .collect();
    assert_eq!(
        banners,
        [
            ("low-stock", LowStock, 20, 0, 10, None),
            ("dispatch", BeforeCutoff, 10, 15, 10, None),
            ("free-shipping", Always, 0, 0, 10, Some(3)),
        ]
    );
}
