//! Next-item prediction on real click sessions (YOOCHOOSE sample,
//! train_tr -> train_valid), as a regression guard: `firstpaint eval
//! sessions` prints the full table.
//!
//! Skips, saying so, when `../shared/data/` is not there.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::path::PathBuf;

use firstpaint_contracts::{read_toml, Rules};
use firstpaint_origin::eval::sessions;

#[test]
fn the_engine_predicts_next_clicks_about_as_well_as_session_knn() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let data = root.join("../../shared/data/yoochoose-100k");
    if !data.exists() {
        eprintln!("SKIPPED: {} is absent", data.display());
        return;
    }
    let train = sessions::read_tsv(&data.join("train_tr.tsv")).unwrap();
    let test = sessions::read_tsv(&data.join("train_valid.tsv")).unwrap();
    let rules_text = std::fs::read_to_string(root.join("eval/yoochoose-rules.toml")).unwrap();
    let rules: Rules = read_toml("yoochoose-rules.toml", &rules_text).unwrap();
    let scores = sessions::run(&train, &test, rules, None).unwrap().rows;
    eprintln!("{}", sessions::table(&scores));
    let by = |m: &str| scores.iter().find(|s| s.method.starts_with(m)).unwrap();
    let (engine, knn, item, spop) = (
        by("firstpaint"),
        by("session-knn"),
        by("item-knn"),
        by("s-pop"),
    );
    assert!(engine.predictions > 10_000);
    // HR@20 and MRR@20 (cut-off index 2).
    assert!(
        engine.hit_rate(2) > item.hit_rate(2) + 0.1,
        "{engine:?} vs {item:?}"
    );
    assert!(
        engine.hit_rate(2) > spop.hit_rate(2) + 0.1,
        "{engine:?} vs {spop:?}"
    );
    assert!(
        engine.hit_rate(2) > knn.hit_rate(2) - 0.03,
        "{engine:?} vs {knn:?}"
    );
    assert!(engine.mrr(2) > knn.mrr(2) - 0.01, "{engine:?} vs {knn:?}");
}
