//! Search on the fixtures store, end to end: what the origin builds into
//! the index and the rules reaches the engine. The merchant's typo
//! thresholds, the synonyms file (two-way and one-way), the catalog's
//! attributes and brands, the compiled pins and buries, and the trained
//! text map's rescue of a query without matches. Search itself (exact,
//! typo'd, completed, filtered, guarded, paged, personalized queries) is
//! tested on a store built by hand in `crates/engine/tests/search.rs`.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use firstpaint_bundle::SigningKey;
use firstpaint_engine::{Engine, SearchOutcome, SearchRequest, SearchResults};
use firstpaint_origin::build::{build, BuildOptions};
use firstpaint_origin::inputs::{load, InputPaths};
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

/// A tiny store where "charger" and "charged" are one edit apart.
fn tiny_store(rules: &str) -> Engine {
    let titles = ["Charged Battery Pack", "Fast Charger", "Desk Lamp"];
    store_of(&titles.map(String::from), rules)
}

/// A store of one product per title (ids `P-1`, `P-2`, ...) under `rules`.
fn store_of(titles: &[String], rules: &str) -> Engine {
    let dir = tempfile::tempdir().unwrap();
    let catalog: Vec<String> = titles
        .iter()
        .enumerate()
        .map(|(i, title)| {
            format!(
                r#"{{"id":"P-{}","title":"{title}","category":["Power"],"price":20,"currency":"GBP","inventory":[{{"location":"a","available":50}}],"created_at":"2026-01-01T00:00:00Z"}}"#,
                i + 1
            )
        })
        .collect();
    std::fs::write(dir.path().join("catalog.ndjson"), catalog.join("\n")).unwrap();
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
