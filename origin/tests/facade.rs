//! The wasm facade's answers (`crates/wasm`, run here on the host) on a
//! bundle built from the fixtures.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use support::fixtures_engine;

#[test]
fn nearest_lists_the_index_neighbours_without_the_product_itself() {
    let engine = fixtures_engine();
    let id = engine.store().product_at(7).unwrap().id().to_owned();
    let json = firstpaint_wasm::nearest_json(&engine, &id, 5).unwrap();
    let answer: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let query = engine.store().embedding(7).unwrap();
    let expected: Vec<(String, f32)> = engine
        .store()
        .nearest(&query, 6)
        .into_iter()
        .filter(|&(o, _)| o != 7)
        .take(5)
        .map(|(o, s)| (engine.store().product_at(o).unwrap().id().to_owned(), s))
        .collect();
    assert_eq!(answer.len(), 5, "{json}");
    for (got, (id_expected, similarity)) in answer.iter().zip(&expected) {
        assert_eq!(got["id"], id_expected.as_str());
        assert!((got["similarity"].as_f64().unwrap() - f64::from(*similarity)).abs() < 1e-6);
    }
    assert!(answer.iter().all(|n| n["id"] != id.as_str()));
    assert_eq!(
        firstpaint_wasm::nearest_json(&engine, "SKU-NOPE", 5).unwrap_err(),
        "no product has id \"SKU-NOPE\""
    );
}
