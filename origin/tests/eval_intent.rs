//! Session-intent accuracy as a regression guard (`firstpaint eval intent`
//! prints the tables): on the fixtures store's held-out visits, and on the
//! real Online Retail baskets when `../shared/data/` is there.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::path::PathBuf;

use firstpaint_origin::eval::intent::{self, Row};
use firstpaint_origin::eval::{self, retail};
use firstpaint_origin::inputs::{load, InputPaths};

const NOW: i64 = 1_793_491_200;

fn accuracy(rows: &[Row], method: &str, steps: usize) -> f64 {
    let row = rows
        .iter()
        .find(|r| r.method.starts_with(method) && r.steps == steps)
        .unwrap();
    assert!(row.visits > 100, "{row:?}");
    row.accuracy()
}

fn beats_the_baselines(rows: &[Row], margin_over_majority: f64) {
    eprintln!("{}", intent::table(rows));
    for steps in 1..=3 {
        let model = accuracy(rows, "firstpaint", steps);
        assert!(
            model >= accuracy(rows, "latest step", steps),
            "{steps} step(s)"
        );
        assert!(
            model > accuracy(rows, "most common", steps) + margin_over_majority,
            "{steps} step(s)"
        );
    }
}

#[test]
fn the_intent_model_names_the_mission_of_held_out_store_visits() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let inputs = load(&InputPaths::in_dir(&dir)).unwrap();
    let rows = intent::run_store(inputs, NOW).unwrap();
    beats_the_baselines(&rows, 0.3);
}

#[test]
#[ignore = "needs ../shared/data: make eval runs it when the data is there"]
fn the_intent_model_beats_the_baselines_on_real_baskets() {
    let Some(data) = eval::shared_data(
        env!("CARGO_MANIFEST_DIR"),
        "online-retail/online_retail.csv.gz",
    )
    .unwrap() else {
        return;
    };
    let rows = intent::run_retail(&retail::read(&data).unwrap()).unwrap();
    beats_the_baselines(&rows, 0.03);
}
