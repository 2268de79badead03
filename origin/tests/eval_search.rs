//! The known-item search test on real data (UCI Online Retail), as a
//! regression guard: `firstpaint eval search` prints the full table.
//!
//! The tests on `../shared/data/` are `#[ignore]`d: `make eval` runs them
//! when the data is there.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::path::PathBuf;

use firstpaint_origin::eval::{self, learned, retail, search};

#[test]
#[ignore = "needs ../shared/data: make eval runs it when the data is there"]
fn typo_tolerance_keeps_known_items_findable_on_a_real_catalog() {
    let Some(data) = eval::shared_data(
        env!("CARGO_MANIFEST_DIR"),
        "online-retail/online_retail.csv.gz",
    )
    .unwrap() else {
        return;
    };
    let retail = retail::read(&data).unwrap();
    assert!(retail.products.len() > 3_000, "{}", retail.products.len());
    let rows = search::run(retail.products, 1, 1_800_000_000).unwrap();
    let row = |queries: &str, engine: &str| {
        rows.iter()
            .find(|r| r.queries == queries && r.engine == engine && r.words == 0)
            .unwrap()
            .tally
            .clone()
    };
    let exact = row("exact", "firstpaint");
    let typo = row("typo", "firstpaint");
    let strict = row("typo", "no typo tolerance");
    eprintln!("{}", search::table(&rows));
    assert!(
        exact.success() > 0.7,
        "exact success@10 {}",
        exact.success()
    );
    // One typo costs little with tolerance, and much without it.
    assert!(
        typo.success() > exact.success() - 0.12,
        "typo {} vs exact {}",
        typo.success(),
        exact.success()
    );
    assert!(
        typo.success() > strict.success() + 0.15,
        "tolerant {} vs strict {}",
        typo.success(),
        strict.success()
    );
    assert!(typo.empty_rate() < 0.02, "empty {}", typo.empty_rate());
}

/// Queries learned from the fixtures' earlier events answer their later
/// searches at least as well as words alone (on the searches they did not
/// see; `run` reports both in the same run).
#[test]
fn learned_queries_answer_searches_they_were_not_learned_from() {
    let inputs = firstpaint_origin::inputs::load(&firstpaint_origin::inputs::InputPaths::in_dir(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures"),
    ))
    .unwrap();
    let report = learned::run(inputs.products, inputs.events, inputs.rules, 0.3).unwrap();
    eprintln!("{}", learned::table(&report));
    let (with, without) = (&report.rows[0].1, &report.rows[1].1);
    assert!(report.searches > 50 && report.learned > 0, "{report:?}");
    assert!(with.success() >= without.success(), "{report:?}");
    assert!(with.mrr() > without.mrr(), "{report:?}");
}
