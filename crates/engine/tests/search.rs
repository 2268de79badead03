//! Search on the hand-built store: exact, typo'd (one and two edits),
//! completed, synonym, attribute-biased, filtered, guarded, pinned,
//! buried, personalized and paged queries.
//!
//! 1. Groups of matched words never rise and typos never fall down a page
//!    (pins and buries aside).
//! 2. A typo finds what the exact word finds, ranked below exact matches;
//!    the merchant's thresholds decide which words may have one.
//! 3. Filters are hard; out-of-stock products rank last in their bucket.
//! 4. Pins and buries apply to their query only.
//! 5. The session reorders within a bucket; pages partition the results.

mod support;

use firstpaint_engine::text::normalize::terms;
use firstpaint_engine::{
    Engine, SearchBuryRule, SearchOutcome, SearchPinRule, SearchRequest, SearchResults,
};
use support::{id, ordinal_in};

fn search(engine: &Engine, query: &str) -> SearchResults {
    let mut req = SearchRequest::new(query);
    req.per_page = 48;
    engine.search(&req).expect("search answers")
}

fn titles(engine: &Engine, r: &SearchResults) -> Vec<String> {
    r.items
        .iter()
        .map(|i| {
            let p = engine
                .store()
                .product_at(i.ordinal)
                .expect("found products exist");
            p.title().into_owned()
        })
        .collect()
}

fn leaf(engine: &Engine, ordinal: u32) -> String {
    let p = engine
        .store()
        .product_at(ordinal)
        .expect("found products exist");
    engine
        .store()
        .category_name(p.leaf().expect("every product has a leaf"))
        .to_owned()
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
    assert!(keys.is_sorted(), "{keys:?}");
}

#[test]
fn an_exact_query_finds_its_category_and_reports_its_terms() {
    let e = support::engine();
    let r = search(&e, "Smartphones");
    assert_eq!(r.outcome, SearchOutcome::Matched);
    assert_eq!(r.query.terms, ["smartphone"]);
    assert_eq!(r.total, 6);
    for item in &r.items {
        assert_eq!(leaf(&e, item.ordinal), "Electronics/Phones");
        assert_eq!((item.matched, item.typos), (1, 0));
        assert!(item.fields.contains(&"title"), "{:?}", item.fields);
    }
    assert_bucket_order(&search(&e, "red pixelon charger"));
}

#[test]
fn one_and_two_typos_find_what_the_exact_word_finds() {
    let e = support::engine();
    let exact: Vec<String> = search(&e, "smartphone")
        .items
        .into_iter()
        .map(|i| i.id)
        .collect();
    // One edit (a deletion) and two edits in a 10-letter word.
    for (typo, edits) in [("smartphne", 1), ("smrtphine", 2)] {
        let r = search(&e, typo);
        assert_eq!(r.outcome, SearchOutcome::Matched, "{typo}");
        assert_eq!(r.query.corrections.len(), 1, "{typo}");
        assert_eq!(r.query.corrections[0].to, "smartphone");
        assert_eq!(r.query.corrections[0].typos, edits);
        let ids: Vec<String> = r.items.iter().map(|i| i.id.clone()).collect();
        assert_eq!(ids.len(), exact.len(), "{typo}");
        assert!(exact.iter().all(|id| ids.contains(id)), "{typo}: {ids:?}");
        assert!(r.items.iter().all(|i| i.typos == edits));
    }
    // Below the thresholds nothing is corrected: 4 letters allow no typo.
    assert!(search(&e, "tenr").query.corrections.is_empty());
}

#[test]
fn typos_rank_below_exact_matches_and_thresholds_are_the_merchants() {
    // "lamsp" is one edit from "lamp": found, every result with its typo.
    let e = support::engine();
    let r = search(&e, "lamsp");
    assert!(
        r.total > 0 && r.items.iter().all(|i| i.typos == 1),
        "{:?}",
        titles(&e, &r)
    );
    let strict = support::engine_with(|r| {
        r.search.settings.typo_one_from = 8;
        r.search.settings.typo_two_from = 10;
    });
    assert_eq!(search(&strict, "lamsp").total, 0);
    assert_eq!(search(&strict, "lamp").total, search(&e, "lamp").total);
    // Fewer typos rank first within a group of matched words.
    assert_bucket_order(&search(&e, "grene tea"));
}

#[test]
fn the_last_word_completes_as_a_prefix() {
    let e = support::engine();
    let r = search(&e, "wireless charg");
    assert_eq!(r.outcome, SearchOutcome::Matched);
    assert!(
        titles(&e, &r)[0].contains("Wireless Charger"),
        "{:?}",
        titles(&e, &r)
    );
    assert_eq!(r.items[0].matched, 2);
    // With a trailing space the word is finished: no completion.
    let r = search(&e, "wireless charg ");
    assert!(r.items.iter().all(|i| i.matched < 2));
}

#[test]
fn a_one_way_synonym_finds_its_target_not_the_reverse() {
    let e = support::engine();
    let r = search(&e, "cellphone");
    assert_eq!(r.total, 6, "{:?}", titles(&e, &r));
    assert!(r
        .items
        .iter()
        .all(|i| leaf(&e, i.ordinal) == "Electronics/Phones"));
    assert!(search(&e, "smartphone").query.synonyms.is_empty());
}

#[test]
fn attribute_and_brand_words_bias_the_order() {
    let e = support::engine();
    let r = search(&e, "red case");
    assert!(
        r.query.attributes.contains(&"colour=Red".to_string()),
        "{:?}",
        r.query
    );
    // The red case first; among the rest, what is red has the colour's
    // part and nothing else has.
    assert_eq!(titles(&e, &r)[0], "Pixelon Phone Case, Red");
    for (item, title) in r.items.iter().zip(titles(&e, &r)) {
        let attribute = item.reasons.iter().find(|x| x.signal == "attribute");
        let red = attribute.is_some_and(|x| x.value > 0.0);
        assert_eq!(red, title.ends_with(", Red"), "{title}: {:?}", item.reasons);
    }

    let r = search(&e, "pixelon phone");
    assert!(
        r.query.attributes.contains(&"brand=Pixelon".to_string()),
        "{:?}",
        r.query
    );
    let p = e
        .store()
        .product_at(r.items[0].ordinal)
        .expect("found products exist");
    assert_eq!(p.brand(), "Pixelon");
    assert!(r.items[0]
        .reasons
        .iter()
        .any(|x| x.signal == "attribute" && x.value > 0.0));
}

#[test]
fn filters_from_the_query_string_are_hard() {
    let e = support::engine();
    let mut req = SearchRequest::new("pixelon");
    req.per_page = 48;
    req.filters.category = Some("chargers".into());
    req.filters.price_max = Some(16.0);
    req.filters.in_stock = true;
    let r = e.search(&req).expect("search answers");
    assert!(!r.items.is_empty());
    for i in &r.items {
        let p = e
            .store()
            .product_at(i.ordinal)
            .expect("found products exist");
        assert_eq!(leaf(&e, i.ordinal), "Electronics/Chargers");
        assert!(p.price() <= 16.0 && p.available() >= 1, "{p:?}");
    }
    req.filters.category = Some("No Such Category".into());
    assert_eq!(e.search(&req).expect("search answers").total, 0);
}

#[test]
fn guardrails_bound_search_but_let_it_list_what_is_out_of_stock() {
    let e = support::engine_with(|r| {
        r.exclude_regulated = true;
        r.min_inventory = 2;
    });
    let r = search(&e, "wine");
    assert_eq!(r.total, 0, "{:?}", titles(&e, &r));
    let mut req = SearchRequest::new("wine");
    req.explain = true;
    let r = e.search(&req).expect("search answers");
    assert!(
        r.removed.iter().any(|x| x.rule.contains("regulated")),
        "{:?}",
        r.removed
    );
    let r = search(&e, "coffee beans");
    assert_eq!(
        r.total, 6,
        "a shopper looking for one wants to know it exists"
    );
}

/// Out-of-stock products are listed below the in-stock products that
/// match as well (same words, same typos), whatever their other scores.
#[test]
fn out_of_stock_ranks_below_the_rest_of_its_bucket() {
    let e = support::engine_with(|r| r.min_inventory = 2);
    let r = search(&e, "coffee beans");
    let stocked: Vec<bool> = r
        .items
        .iter()
        .filter(|i| i.matched == 2 && i.source == "match")
        .map(|i| e.store().product_at(i.ordinal).expect("exists").available() >= 2)
        .collect();
    assert!(stocked.contains(&false), "{stocked:?}");
    let first_out = stocked.iter().position(|&s| !s).unwrap_or(stocked.len());
    assert!(stocked[first_out..].iter().all(|&s| !s), "{stocked:?}");
}

#[test]
fn merchant_pins_and_buries_apply_to_their_query_only() {
    let pinned = ordinal_in("Electronics/Chargers", 5);
    let buried = ordinal_in("Electronics/Cases", 0);
    let e = support::engine_with(|r| {
        r.search.pins = vec![SearchPinRule {
            query: terms("Chargers").join(" "),
            product: pinned,
            position: 1,
        }];
        r.search.buries = vec![SearchBuryRule {
            query: terms("phone cases").join(" "),
            product: buried,
        }];
    });
    let r = search(&e, "chargers");
    assert_eq!(
        (r.items[0].id.clone(), r.items[0].source),
        (id(pinned), "pin")
    );
    let r = search(&e, "phone cases");
    assert_eq!(
        r.items.last().map(|i| i.id.clone()),
        Some(id(buried)),
        "{:?}",
        titles(&e, &r)
    );
    // Another query leaves both alone.
    let r = search(&e, "case");
    assert!(r.items.iter().all(|i| i.source != "pin"));
    assert_ne!(r.items.last().map(|i| i.id.clone()), Some(id(buried)));
}

#[test]
fn the_session_reorders_within_a_bucket() {
    let e = support::engine();
    let plain = search(&e, "red");
    // A shopper who looked at the department of the last red thing in
    // stock (those out of stock stay below it, whatever the session).
    let min = e.store().rules().min_inventory.max(1);
    let last = plain
        .items
        .iter()
        .rev()
        .find(|i| {
            e.store()
                .product_at(i.ordinal)
                .is_some_and(|p| p.available() >= min)
        })
        .expect("red things in stock")
        .clone();
    let mut req = SearchRequest::new("red");
    req.per_page = 48;
    req.visitor.viewed = vec![last.id.clone()];
    let personal = e.search(&req).expect("search answers");
    assert!(personal.personalized && !plain.personalized);
    let rank = |r: &SearchResults| r.items.iter().position(|i| i.id == last.id).expect("found");
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
    let e = support::engine();
    let all = search(&e, "electronics");
    assert_eq!(all.total, 18);
    let mut seen = Vec::new();
    for page in 1..=3 {
        let mut req = SearchRequest::new("electronics");
        req.per_page = 4;
        req.page = page;
        let r = e.search(&req).expect("search answers");
        assert_eq!(r.total, all.total);
        seen.extend(r.items.into_iter().map(|i| i.id));
    }
    let expected: Vec<String> = all.items.iter().take(12).map(|i| i.id.clone()).collect();
    assert_eq!(seen, expected);
}
