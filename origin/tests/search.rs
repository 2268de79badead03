//! Search on the fixtures store, through the engine the edge runs: exact,
//! typo'd (one and two edits), synonym, attribute-biased, filtered,
//! guarded, pinned, personalized and zero-result queries.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use firstpaint_bundle::SigningKey;
use firstpaint_engine::{Engine, EngineError, SearchOutcome, SearchRequest, SearchResults};
use firstpaint_origin::build::{build, BuildOptions};
use firstpaint_origin::inputs::{load, InputPaths};
use proptest::prelude::*;
use support::{fixtures_engine, NOW};

fn search(engine: &Engine, query: &str) -> SearchResults {
    let mut req = SearchRequest::new(query);
    req.per_page = 48;
    engine.search(&req).unwrap()
}

fn titles(engine: &Engine, r: &SearchResults) -> Vec<String> {
    r.items
        .iter()
        .map(|i| engine.store().product(&i.id).unwrap().title().into_owned())
        .collect()
}

fn leaf(engine: &Engine, id: &str) -> String {
    let p = engine.store().product(id).unwrap();
    engine.store().category_name(p.leaf().unwrap()).to_owned()
}

/// Groups matched never rise and typos never fall down a page (pins and
/// buries aside): the bucket order the known engines use.
fn assert_bucket_order(r: &SearchResults) {
    let keys: Vec<(i32, u8)> = r
        .items
        .iter()
        .filter(|i| i.source == "match")
        .map(|i| (-i32::from(i.matched), i.typos))
        .collect();
    assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{keys:?}");
}

#[test]
fn exact_query_finds_the_category_and_reports_its_terms() {
    let e = fixtures_engine();
    let r = search(&e, "Smartphones");
    assert_eq!(r.outcome, SearchOutcome::Matched);
    assert_eq!(r.query.terms, ["smartphone"]);
    assert!(r.total >= 10, "{}", r.total);
    for item in r.items.iter().take(10) {
        assert_eq!(leaf(&e, &item.id), "Electronics/Smartphones");
        assert_eq!((item.matched, item.typos), (1, 0));
        assert!(item.fields.contains(&"title"), "{:?}", item.fields);
    }
    assert_bucket_order(&r);
}

#[test]
fn one_and_two_typos_find_what_the_exact_word_finds() {
    let e = fixtures_engine();
    let exact: Vec<String> = search(&e, "smartphone")
        .items
        .iter()
        .map(|i| i.id.clone())
        .collect();
    // One edit (a deletion) in a 9-letter word; two edits in a 9-letter word.
    for (typo, edits) in [("smartphne", 1), ("smrtphine", 2)] {
        let r = search(&e, typo);
        assert_eq!(r.outcome, SearchOutcome::Matched, "{typo}");
        assert_eq!(r.query.corrections.len(), 1, "{typo}");
        assert_eq!(r.query.corrections[0].to, "smartphone");
        assert_eq!(r.query.corrections[0].typos, edits);
        let ids: Vec<String> = r.items.iter().map(|i| i.id.clone()).collect();
        for id in exact.iter().take(10) {
            assert!(ids.contains(id), "{typo} misses {id}");
        }
        assert!(r.items.iter().all(|i| i.typos == edits));
    }
    // Below the thresholds nothing is corrected: 4 letters allow no typo,
    // 8 letters allow one, not two.
    assert!(search(&e, "yoge").query.corrections.is_empty());
    assert!(search(&e, "smrtphne")
        .items
        .iter()
        .all(|i| i.source != "match" || i.typos < 2));
}

/// A tiny store where "charger" and "charged" are one edit apart.
fn tiny_store(rules: &str) -> Engine {
    let dir = tempfile::tempdir().unwrap();
    let product = |id: &str, title: &str| {
        format!(
            r#"{{"id":"{id}","title":"{title}","category":["Power"],"price":20,"currency":"GBP","inventory":[{{"location":"a","available":50}}],"created_at":"2026-01-01T00:00:00Z"}}"#
        )
    };
    let catalog = [
        product("P-1", "Charged Battery Pack"),
        product("P-2", "Fast Charger"),
        product("P-3", "Desk Lamp"),
    ]
    .join("\n");
    std::fs::write(dir.path().join("catalog.ndjson"), catalog).unwrap();
    std::fs::write(dir.path().join("events.ndjson"), "").unwrap();
    std::fs::write(dir.path().join("rules.toml"), rules).unwrap();
    let inputs = load(&InputPaths::in_dir(dir.path())).unwrap();
    let key = SigningKey::from_bytes(&[3; 32]);
    let opts = BuildOptions {
        now: NOW,
        ttl_days: 1,
        progress: false,
        rules_file: "rules.toml".into(),
        shard: false,
    };
    let bytes = build(&inputs, &key, &opts).unwrap().0;
    Engine::open(&bytes, &key.verifying_key(), NOW).unwrap()
}

#[test]
fn typos_rank_below_exact_matches_and_thresholds_are_the_merchants() {
    let e = tiny_store("");
    let r = search(&e, "charger ");
    let got: Vec<(&str, u8)> = r.items.iter().map(|i| (i.id.as_str(), i.typos)).collect();
    assert_eq!(got, [("P-2", 0), ("P-1", 1)]);

    let strict = tiny_store("[search]\ntypo_one_from = 8\ntypo_two_from = 10\n");
    let r = search(&strict, "charger ");
    let got: Vec<&str> = r.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(got, ["P-2"]);
}

#[test]
fn last_word_completes_as_a_prefix() {
    let e = fixtures_engine();
    let r = search(&e, "wireless charg");
    assert_eq!(r.outcome, SearchOutcome::Matched);
    let top = titles(&e, &r);
    assert!(top[0].contains("Wireless Charger"), "{top:?}");
    assert_eq!(r.items[0].matched, 2);
    // With a trailing space the word is finished: no completion.
    let r = search(&e, "wireless charg ");
    assert!(r.items.iter().all(|i| i.matched < 2));
}

#[test]
fn synonyms_work_both_ways_or_one_way_as_written() {
    let e = fixtures_engine();
    // Two-way: tee <-> t-shirt.
    for q in ["tee", "t-shirt", "tshirt"] {
        let r = search(&e, q);
        // "tshirt" is also one typo from "shirt": shirt dresses follow, typo'd.
        let leaves: Vec<String> = r
            .items
            .iter()
            .filter(|i| i.typos == 0)
            .map(|i| leaf(&e, &i.id))
            .collect();
        assert!(
            leaves.iter().all(|l| l == "Fashion/T-Shirts"),
            "{q}: {leaves:?}"
        );
        assert!(r.total >= 15, "{q}: {}", r.total);
    }
    let r = search(&e, "tee");
    assert_eq!(
        r.query.synonyms,
        [("tee".to_string(), vec!["tshirt".to_string()])]
    );
    // One-way: laptop -> notebook, ultrabook, chromebook; not the reverse.
    let laptop = titles(&e, &search(&e, "laptop"));
    assert!(laptop.iter().any(|t| t.contains("Ultrabook")), "{laptop:?}");
    assert!(
        laptop.iter().any(|t| t.contains("Chromebook")),
        "{laptop:?}"
    );
    let chromebook = search(&e, "chromebook");
    assert!(chromebook.query.synonyms.is_empty());
    assert!(titles(&e, &chromebook)
        .iter()
        .all(|t| t.contains("Chromebook")));
}

#[test]
fn attribute_and_brand_words_bias_the_order() {
    let e = fixtures_engine();
    let r = search(&e, "red sneakers");
    assert!(
        r.query.attributes.contains(&"colour=red".to_string()),
        "{:?}",
        r.query
    );
    let top = titles(&e, &r);
    // Red sneakers (and, by the synonym, red running shoes) first, then the
    // other sneakers ahead of other red things.
    let red_sneaker = |t: &String| {
        t.ends_with(", Red") && (t.contains("Sneakers") || t.contains("Running Shoes"))
    };
    let n = top.iter().take_while(|t| red_sneaker(t)).count();
    assert!(n >= 2, "{top:?}");
    assert!(top.iter().skip(n).all(|t| !red_sneaker(t)), "{top:?}");
    assert!(
        top[n].contains("Sneakers") || top[n].contains("Running Shoes"),
        "{top:?}"
    );

    let r = search(&e, "pixelon phone");
    assert!(r.query.attributes.contains(&"brand=Pixelon".to_string()));
    for item in r.items.iter().take(5) {
        assert_eq!(e.store().product(&item.id).unwrap().brand(), "Pixelon");
        assert!(item
            .reasons
            .iter()
            .any(|x| x.signal == "attribute" && x.value > 0.0));
    }
}

#[test]
fn filters_from_the_query_string_are_hard() {
    let e = fixtures_engine();
    let mut req = SearchRequest::new("charger");
    req.per_page = 48;
    req.filters.category = Some("chargers".into());
    req.filters.price_max = Some(40.0);
    req.filters.in_stock = true;
    let r = e.search(&req).unwrap();
    assert!(!r.items.is_empty());
    for i in &r.items {
        let p = e.store().product(&i.id).unwrap();
        assert_eq!(leaf(&e, &i.id), "Electronics/Chargers");
        assert!(p.price() <= 40.0 && p.available() >= 2, "{p:?}");
    }
    req.filters.category = Some("No Such Category".into());
    assert_eq!(e.search(&req).unwrap().total, 0);
}

#[test]
fn guardrails_bound_search_and_out_of_stock_ranks_last() {
    let e = fixtures_engine();
    // Wine is regulated; fuel is an excluded category.
    for q in ["wine", "fuel tablets"] {
        let r = search(&e, q);
        for i in &r.items {
            let p = e.store().product(&i.id).unwrap();
            assert!(
                !p.regulated() && !leaf(&e, &i.id).ends_with("Camping Fuel"),
                "{q}: {p:?}"
            );
        }
    }
    let mut req = SearchRequest::new("wine");
    req.explain = true;
    let r = e.search(&req).unwrap();
    assert!(
        r.removed.iter().any(|x| x.rule.contains("regulated")),
        "{:?}",
        r.removed
    );
    // Within a bucket, in-stock products come first.
    let r = search(&e, "phone case");
    let stocked: Vec<bool> = r
        .items
        .iter()
        .filter(|i| i.matched == 2 && i.source == "match")
        .map(|i| e.store().product(&i.id).unwrap().available() >= 2)
        .collect();
    let first_out = stocked.iter().position(|&s| !s).unwrap_or(stocked.len());
    assert!(stocked[..first_out].iter().all(|&s| s), "{stocked:?}");
}

#[test]
fn merchant_pins_and_buries_apply_to_their_query_only() {
    let e = fixtures_engine();
    let pinned = e.store().rules().search.pins[0].clone();
    let id = e
        .store()
        .product_at(pinned.product)
        .unwrap()
        .id()
        .to_owned();
    let r = search(&e, "Chargers");
    assert_eq!(r.items[0].id, id);
    assert_eq!(r.items[0].source, "pin");
    let buried = e.store().rules().search.buries[0].clone();
    let buried_id = e
        .store()
        .product_at(buried.product)
        .unwrap()
        .id()
        .to_owned();
    let r = search(&e, "phone cases");
    assert_eq!(
        r.items.last().unwrap().id,
        buried_id,
        "{:?}",
        titles(&e, &r)
    );
    // Another query leaves both alone.
    let r = search(&e, "case");
    assert!(r.items.iter().all(|i| i.source != "pin"));
    assert_ne!(r.items.last().map(|i| i.id.clone()), Some(buried_id));
}

#[test]
fn the_session_reorders_within_a_bucket() {
    let e = fixtures_engine();
    let plain = search(&e, "dress");
    // A shopper who looked at the last dress of the list.
    let last = plain.items.last().unwrap().id.clone();
    let mut req = SearchRequest::new("dress");
    req.per_page = 48;
    req.visitor.viewed = vec![last.clone()];
    let personal = e.search(&req).unwrap();
    assert!(personal.personalized && !plain.personalized);
    let rank = |r: &SearchResults| r.items.iter().position(|i| i.id == last).unwrap();
    assert!(
        rank(&personal) < rank(&plain),
        "{} vs {}",
        rank(&personal),
        rank(&plain)
    );
    assert_eq!(personal.total, plain.total);
}

#[test]
fn pages_partition_the_results() {
    let e = fixtures_engine();
    let all = search(&e, "red");
    let mut seen = Vec::new();
    for page in 1..=3 {
        let mut req = SearchRequest::new("red");
        req.per_page = 10;
        req.page = page;
        let r = e.search(&req).unwrap();
        assert_eq!(r.total, all.total);
        seen.extend(r.items.into_iter().map(|i| i.id));
    }
    let expected: Vec<String> = all.items.iter().take(30).map(|i| i.id.clone()).collect();
    assert_eq!(seen, expected);
}

#[test]
fn no_match_is_rescued_by_meaning_or_reported_empty() {
    let e = fixtures_engine();
    // Words that are not in the catalog but whose letters are.
    let r = search(&e, "wirelesscharging");
    assert_eq!(r.outcome, SearchOutcome::Rescued, "{:?}", titles(&e, &r));
    assert!(r
        .items
        .iter()
        .all(|i| i.source == "rescue" && i.matched == 0));
    assert!(r
        .items
        .iter()
        .all(|i| e.store().product(&i.id).unwrap().available() >= 2));
    assert!(
        titles(&e, &r)[..3].iter().any(|t| t.contains("Charger")),
        "{:?}",
        titles(&e, &r)
    );
    // Nothing like it: empty, and said so.
    for q in ["xqzvwk", "", "!!!"] {
        let r = search(&e, q);
        assert_eq!(r.outcome, SearchOutcome::Empty, "{q}: {:?}", titles(&e, &r));
        assert_eq!(r.total, 0);
    }
}

#[test]
fn bad_requests_are_errors_not_panics() {
    let e = fixtures_engine();
    let long = "a".repeat(300);
    assert!(matches!(
        e.search(&SearchRequest::new(long)),
        Err(EngineError::QueryTooLong { got: 300, .. })
    ));
    let mut req = SearchRequest::new("dress");
    req.page = 0;
    assert!(matches!(
        e.search(&req),
        Err(EngineError::InvalidPage { .. })
    ));
    req.page = 1;
    req.per_page = 49;
    assert!(matches!(
        e.search(&req),
        Err(EngineError::InvalidPage { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn any_text_searches_without_panicking(q in "\\PC{0,80}") {
        let e = fixtures_engine();
        let r = e.search(&SearchRequest::new(q.clone()));
        if q.len() <= 256 {
            let r = r.unwrap();
            prop_assert!(r.items.len() <= r.per_page);
            prop_assert_eq!(r.outcome == SearchOutcome::Empty, r.total == 0);
        }
    }
}
