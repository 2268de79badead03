//! Ranking on the fixtures store, through the engine the edge runs.
//!
//! Properties checked:
//! 1. No slot, for any session, shows a product the rules forbid: below the
//!    inventory threshold, regulated, with an excluded safety flag, category
//!    or tag, or under its category's price floor.
//! 2. Slots never repeat a product, never exceed k, and never show the
//!    product the page is about.
//! 3. Similar items to a product come mostly from its own category.
//! 4. The home slot changes with the session and is the same without one.
//! 5. Every item carries all four score parts, and its score is their sum.
//! 6. Bad requests are errors that name the problem, never panics.
//! 7. The `next` slot leads with what shoppers opened after the session's
//!    products, and falls back to popular products without a session.
//! 8. The products priced within a range (the ladder's fill) are those a
//!    scan of the catalog in ordinal order finds first, wide range or narrow.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::collections::HashSet;

use firstpaint_engine::{Engine, EngineError, SlotKind, SlotRequest};
use proptest::prelude::*;
use support::fixtures_engine;

fn allowed(engine: &Engine, id: &str) -> Result<(), String> {
    let p = engine.store().product(id).ok_or("unknown product")?;
    let names: Vec<&str> = p
        .category_path()
        .iter()
        .map(|&c| engine.store().category_name(c))
        .collect();
    let leaf_names: Vec<&str> = names
        .iter()
        .map(|n| n.rsplit('/').next().unwrap_or(n))
        .collect();
    if p.available() < 2 {
        return Err(format!("{id}: only {} in stock", p.available()));
    }
    if p.regulated() {
        return Err(format!("{id}: regulated"));
    }
    if p.safety().any(|s| s == "flammable") {
        return Err(format!("{id}: flammable"));
    }
    if leaf_names.contains(&"Camping Fuel") {
        return Err(format!("{id}: excluded category"));
    }
    if p.tags().any(|t| t == "discontinued") {
        return Err(format!("{id}: discontinued"));
    }
    if leaf_names.contains(&"Electronics") && p.price() < 12.0 {
        return Err(format!("{id}: under the Electronics floor"));
    }
    if leaf_names.contains(&"Fashion")
        && p.cost() > 0.0
        && (p.price() - p.cost()) / p.price() < 0.35
    {
        return Err(format!("{id}: under the Fashion margin floor"));
    }
    Ok(())
}

#[test]
fn the_fixture_rules_have_something_to_exclude() {
    // Without forbidden products of every kind, property 1 could not fail.
    // (The excluded category's products are all flammable too, so they count
    // under "flammable".)
    let engine = fixtures_engine();
    let reasons: Vec<String> = engine
        .store()
        .products()
        .filter_map(|p| allowed(&engine, p.id()).err())
        .map(|r| {
            r.split_once(": ")
                .map_or(r.clone(), |(_, why)| why.to_owned())
        })
        .collect();
    for kind in [
        "regulated",
        "flammable",
        "discontinued",
        "under the Electronics floor",
    ] {
        assert!(
            reasons.iter().any(|r| r == kind),
            "no product is forbidden as {kind}"
        );
    }
    assert!(
        reasons.iter().any(|r| r.ends_with("in stock")),
        "no product is forbidden for low stock"
    );
}

fn ids(engine: &Engine) -> Vec<String> {
    engine
        .store()
        .products()
        .map(|p| p.id().to_owned())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn no_slot_breaks_the_rules(
        anchor in 0usize..420,
        viewed in proptest::collection::vec(0usize..420, 0..8),
        similar in any::<bool>(),
        k in 1usize..=24,
    ) {
        let engine = fixtures_engine();
        let all = ids(&engine);
        let mut req = SlotRequest::new(if similar { SlotKind::Similar } else { SlotKind::Home });
        req.k = Some(k);
        req.visitor.viewed = viewed.iter().map(|&i| all[i % all.len()].clone()).collect();
        if similar {
            req.product = Some(all[anchor % all.len()].clone());
        }
        let ranking = engine.rank(&req).unwrap();
        prop_assert!(ranking.items.len() <= k);
        prop_assert!(!ranking.items.is_empty());
        let mut seen = HashSet::new();
        for item in &ranking.items {
            prop_assert!(seen.insert(item.id.clone()), "{} twice", item.id);
            if let Err(why) = allowed(&engine, &item.id) {
                prop_assert!(false, "{why}");
            }
            prop_assert!(req.product.as_ref() != Some(&item.id));
            let sum: f32 = item.reasons.iter().map(|r| r.contribution()).sum();
            prop_assert!((sum - item.score).abs() < 1e-4);
            prop_assert_eq!(item.reasons.len(), firstpaint_contracts::Blend::default().weights().len());
        }
    }
}

proptest! {
    #[test]
    fn prices_within_a_range_are_found_as_a_scan_finds_them(
        low in 0.0f64..200.0,
        width in prop_oneof![0.0f64..2.0, 0.0f64..400.0],
        first in 0usize..300,
    ) {
        let engine = fixtures_engine();
        let high = low + width;
        let scan: Vec<u32> = engine
            .store().products()
            .filter(|p| p.price() >= low && p.price() <= high)
            .map(|p| p.ordinal())
            .take(first)
            .collect();
        prop_assert_eq!(engine.store().priced_within(low, high, first), scan);
    }
}

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
fn next_follows_what_shoppers_opened_after_the_session() {
    let engine = fixtures_engine();
    // A product that shoppers moved on from to several others.
    let popular_path = engine
        .store()
        .products()
        .map(|p| p.id().to_owned())
        .max_by_key(|id| {
            let mut req = SlotRequest::new(SlotKind::Next);
            req.visitor.viewed = vec![id.clone()];
            req.k = Some(12);
            let r = engine.rank(&req).unwrap();
            r.items.iter().filter(|i| i.source == "next").count()
        })
        .unwrap();
    let mut req = SlotRequest::new(SlotKind::Next);
    req.visitor.viewed = vec![popular_path.clone()];
    req.k = Some(12);
    let r = engine.rank(&req).unwrap();
    assert!(r.personalized);
    // Transition-led items come first, each with its sequence part.
    assert_eq!(r.items[0].source, "next", "{:?}", r.items[0]);
    let seq = |i: &firstpaint_engine::RankedItem| {
        i.reasons
            .iter()
            .find(|x| x.signal == "sequence")
            .map_or(0.0, |x| x.value)
    };
    assert!(seq(&r.items[0]) > 0.0);
    // On a product page it follows on from the product shown, which is
    // context, not the shopper's history: not personalized.
    let mut page = SlotRequest::new(SlotKind::Next);
    page.product = Some(popular_path.clone());
    page.k = Some(12);
    let on_page = engine.rank(&page).unwrap();
    assert!(!on_page.personalized);
    assert!(on_page.items.iter().all(|i| i.id != popular_path));
    assert_eq!(on_page.items[0].source, "next");
    // Without a session: the store's popular products, not personal.
    let plain = engine.rank(&SlotRequest::new(SlotKind::Next)).unwrap();
    assert!(!plain.personalized);
    assert!(plain.items.iter().all(|i| i.source == "popular"));
    // The slot may bring back what the session viewed (home never does).
    let session: Vec<String> = r.items.iter().take(3).map(|i| i.id.clone()).collect();
    let mut again = SlotRequest::new(SlotKind::Next);
    again.visitor.viewed = session.clone();
    again.k = Some(24);
    let next = engine.rank(&again).unwrap();
    let mut home = again.clone();
    home.kind = SlotKind::Home;
    let home = engine.rank(&home).unwrap();
    assert!(home.items.iter().all(|i| !session.contains(&i.id)));
    assert!(next.items.iter().all(|i| allowed(&engine, &i.id).is_ok()));
}

#[test]
fn bad_requests_name_the_problem() {
    let engine = fixtures_engine();
    let mut req = SlotRequest::new(SlotKind::Similar);
    assert_eq!(
        engine.rank(&req).unwrap_err(),
        EngineError::MissingProduct { slot: "similar" }
    );
    req.product = Some("NOPE".into());
    assert_eq!(
        engine.rank(&req).unwrap_err(),
        EngineError::UnknownProduct("NOPE".into())
    );
    let mut req = SlotRequest::new(SlotKind::Home);
    req.k = Some(0);
    assert!(matches!(
        engine.rank(&req),
        Err(EngineError::InvalidK { got: 0, .. })
    ));
    req.k = Some(10_000);
    assert!(matches!(
        engine.rank(&req),
        Err(EngineError::InvalidK { .. })
    ));
    let err = "simlar".parse::<SlotKind>().unwrap_err().to_string();
    assert!(err.contains("did you mean \"similar\""), "{err}");
}

#[test]
fn explain_lists_what_guardrails_removed() {
    let engine = fixtures_engine();
    let mut req = SlotRequest::new(SlotKind::Home);
    req.k = Some(24);
    req.explain = true;
    let ranking = engine.rank(&req).unwrap();
    assert!(!ranking.removed.is_empty());
    // Caps remove allowed products; every other removal names a broken rule.
    for removed in ranking
        .removed
        .iter()
        .filter(|r| !r.rule.starts_with("max_per_"))
    {
        assert!(
            allowed(&engine, &removed.id).is_err(),
            "{} removed for {} but allowed",
            removed.id,
            removed.rule
        );
    }
}

#[test]
fn banners_follow_conditions_priorities_and_caps() {
    let engine = fixtures_engine();
    let day = support::NOW - support::NOW.rem_euclid(86_400);
    let (morning, evening) = (day + 10 * 3600, day + 16 * 3600);
    let id = |b: Option<&firstpaint_engine::BannerRule>| b.map(|b| b.id.clone());
    let never: &dyn Fn(&str) -> u32 = &|_| 0;
    let thrice: &dyn Fn(&str) -> u32 = &|_| 3;
    // Before the cut-off the dispatch banner outranks free shipping.
    assert_eq!(
        id(engine.choose_banner(morning, None, Some(never))).as_deref(),
        Some("dispatch")
    );
    // After it, free shipping shows until its per-visit cap is reached...
    assert_eq!(
        id(engine.choose_banner(evening, None, Some(never))).as_deref(),
        Some("free-shipping")
    );
    assert_eq!(id(engine.choose_banner(evening, None, Some(thrice))), None);
    // ...and never when nothing can be counted (no consent).
    assert_eq!(id(engine.choose_banner(evening, None, None)), None);
    // A product running low gets the low-stock banner, whatever the hour.
    let low = engine
        .store()
        .products()
        .find(|p| (2..10).contains(&p.available()))
        .expect("a product running low");
    assert_eq!(
        id(engine.choose_banner(evening, Some(low.id()), None)).as_deref(),
        Some("low-stock")
    );
    let plenty = engine
        .store()
        .products()
        .find(|p| p.available() > 50)
        .unwrap();
    assert_eq!(
        id(engine.choose_banner(morning, Some(plenty.id()), None)).as_deref(),
        Some("dispatch")
    );
}
