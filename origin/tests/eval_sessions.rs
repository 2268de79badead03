//! Next-item prediction on real click sessions (YOOCHOOSE sample,
//! train_tr -> train_valid), as a regression guard: `firstpaint eval
//! sessions` prints the full table.
//!
//! The tests on `../shared/data/` are `#[ignore]`d: `make eval` runs them
//! when the data is there.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::path::PathBuf;

use firstpaint_contracts::{read_toml, Rules};
use firstpaint_origin::eval::past_sessions::NextItem;
use firstpaint_origin::eval::{self, sessions, stan, vsknn};

/// The data's folder and its train_tr -> train_valid split, or `None`
/// (saying so) when `../shared/data/` is absent.
fn split() -> Option<(PathBuf, sessions::Clicks, sessions::Clicks)> {
    let data = eval::shared_data(env!("CARGO_MANIFEST_DIR"), "yoochoose-100k").unwrap()?;
    let train = sessions::read_tsv(&data.join("train_tr.tsv")).unwrap();
    let test = sessions::read_tsv(&data.join("train_valid.tsv")).unwrap();
    Some((data, train, test))
}

/// The engine, with its session neighbourhood, ahead of the strongest
/// peer, session-rec's V-STAN, on both HR@20 and MRR@20 (0.669 / 0.375
/// against 0.653 / 0.368 when last written), and far ahead of the simple
/// baselines.
#[test]
#[ignore = "needs ../shared/data: make eval runs it when the data is there"]
fn the_engine_predicts_next_clicks_better_than_v_stan() {
    let Some((_, train, test)) = split() else {
        return;
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let rules_text = std::fs::read_to_string(root.join("eval/yoochoose-rules.toml")).unwrap();
    let rules: Rules = read_toml("yoochoose-rules.toml", &rules_text).unwrap();
    let scores = sessions::run(&train, &test, rules, None).unwrap().rows;
    eprintln!("{}", sessions::table(&scores));
    let by = |m: &str| scores.iter().find(|s| s.method.starts_with(m)).unwrap();
    let (engine, v_stan, item, spop) =
        (by("firstpaint"), by("v-stan"), by("item-knn"), by("s-pop"));
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
        engine.hit_rate(2) > v_stan.hit_rate(2) + 0.01,
        "{engine:?} vs {v_stan:?}"
    );
    // 0.3752 against 0.3682 (without the visit's habit of going back
    // 0.3733; without the `returns` signal 0.369).
    assert!(
        engine.mrr(2) > v_stan.mrr(2) + 0.006,
        "{engine:?} vs {v_stan:?}"
    );
}

/// `model` agrees with session-rec's own predictions in `peers/{file}`:
/// HR@20 and MRR@20 within 0.005 of the framework's (`hr`, `mrr`, from
/// `../shared/data/README.md`), and mostly the same lists, one by one.
fn agrees_with_the_framework(model: &dyn NextItem, file: &str, hr: f64, mrr: f64) {
    let Some((data, train, test)) = split() else {
        return;
    };
    let a = sessions::agreement(&train, &test, model, &data.join("peers").join(file)).unwrap();
    eprintln!("{file}: {a:?}");
    assert_eq!(a.compared, 12_455);
    assert!((a.scores.hit_rate(2) - hr).abs() < 0.005, "{a:?}");
    assert!((a.scores.mrr(2) - mrr).abs() < 0.005, "{a:?}");
    assert!(a.same_first > 0.99 && a.overlap > 0.99, "{a:?}");
}

/// V-SkNN here is session-rec's (k 500, sample 5,000, quadratic, div, idf
/// 5): the framework's 0.6481 / 0.3597.
#[test]
#[ignore = "needs ../shared/data: make eval runs it when the data is there"]
fn v_sknn_is_the_framework_s_own() {
    agrees_with_the_framework(&vsknn::SESSION_REC, "vsknn.valid.csv.gz", 0.6481, 0.3597);
}

/// STAN here is session-rec's `stan-mrr`: the framework's 0.6204 / 0.3636.
#[test]
#[ignore = "needs ../shared/data: make eval runs it when the data is there"]
fn stan_is_the_framework_s_own() {
    agrees_with_the_framework(&stan::STAN_MRR, "stan-mrr.valid.csv.gz", 0.6204, 0.3636);
}

/// V-STAN here is session-rec's `vstan-hr`: the framework's 0.6530 / 0.3682.
#[test]
#[ignore = "needs ../shared/data: make eval runs it when the data is there"]
fn v_stan_is_the_framework_s_own() {
    agrees_with_the_framework(&stan::VSTAN_HR, "vstan-hr.valid.csv.gz", 0.6530, 0.3682);
}
