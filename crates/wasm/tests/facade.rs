//! The wasm facade's answers (run here on the host) on a bundle built from
//! the fixtures by the origin crate.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

// The origin's test support: the fixtures bundle, built as its tests build it.
#[path = "../../../origin/tests/support/mod.rs"]
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

/// The facade describes a shopper the way the edge does (the engine's
/// `Visitor`), so a JavaScript caller's region brings its regional
/// exclusions: the fixtures keep Vitamins from US shoppers.
#[test]
fn a_javascript_shopper_gets_the_regions_guardrails() {
    let engine = fixtures_engine();
    let vitamin = engine.store().product("SKU-00354").unwrap();
    let request = || firstpaint_wasm::Request {
        slot: "category".into(),
        k: Some(24),
        product: None,
        cart: Vec::new(),
        category: vitamin
            .leaf()
            .map(|c| engine.store().category_name(c).to_owned()),
    };
    let ids = |visitor: &str| -> Vec<String> {
        let json = firstpaint_wasm::rank_json(&engine, request(), visitor).unwrap();
        let ranking: serde_json::Value = serde_json::from_str(&json).unwrap();
        ranking["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let elsewhere = ids(r#"{"now": 1800000000, "region": "DE"}"#);
    assert!(!elsewhere.is_empty(), "vitamins are listed outside the US");
    let in_us = ids(r#"{"now": 1800000000, "region": "US", "viewed": ["SKU-00355"]}"#);
    assert!(
        in_us.is_empty(),
        "vitamins listed to a US shopper: {in_us:?}"
    );

    let search = |visitor: &str| {
        firstpaint_wasm::search_json(&engine, "multivitamin", 1, 24, visitor).unwrap()
    };
    assert!(search(r#"{"now": 1800000000}"#).contains("SKU-00354"));
    assert!(!search(r#"{"now": 1800000000, "region": "US"}"#).contains("SKU-00354"));
}

#[test]
fn a_malformed_shopper_is_refused_by_field() {
    let engine = fixtures_engine();
    let request = firstpaint_wasm::Request {
        slot: "home".into(),
        k: None,
        product: None,
        cart: Vec::new(),
        category: None,
    };
    let err =
        firstpaint_wasm::rank_json(&engine, request, r#"{"now": 1, "viewd": []}"#).unwrap_err();
    assert!(err.starts_with("visitor: unknown field `viewd`"), "{err}");
    let err = firstpaint_wasm::search_json(&engine, "tea", 1, 24, r#"{"viewed": []}"#).unwrap_err();
    assert!(err.contains("missing field `now`"), "{err}");
}
