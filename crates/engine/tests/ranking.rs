//! Ranking on the hand-built store: what each slot is made of.
//!
//! Properties checked:
//! 1. Every item carries every score part of the blend, and its score is
//!    their sum.
//! 2. Home is the same without a session, and follows the session's
//!    department with one.
//! 3. The `next` slot leads with what shoppers opened after the session's
//!    products, follows on from a product page's product, and falls back
//!    to popular products without a session.
//! 4. A category slot lists only its category (named by path, leaf name
//!    or slug), what the shopper viewed first.
//! 5. `explain` lists what guardrails removed, each with a rule it breaks.
//! 6. Banners follow their conditions, priorities and per-visit caps.
//! 7. The fast-ship weight and a shopper's price band move rankings.
//! 8. The products priced within a range (the ladder's fill) are those a
//!    scan of the catalog in ordinal order finds first.
//! 9. Cart add-ons bring back what the shopper ordered before where its
//!    category's shoppers order again, and only there.
//! 10. `next` searches its fillers only when its own sources cannot fill
//!     the slot, and ranks as it would searching them every time.

mod support;

use firstpaint_contracts::Blend;
use firstpaint_engine::signals::price_band::MAX_EVIDENCE;
use firstpaint_engine::signals::sharing::SharingSessions;
use firstpaint_engine::signals::{neighbourhood, successors};
use firstpaint_engine::{BannerRule, Engine, PriceBand, RankedItem, Ranking, SlotKind, ViewCounts};
use proptest::prelude::*;
use support::{category, id, ordinal_in, request, NOW};

/// The department of product `item`: its leaf's first part.
fn department(engine: &Engine, item: &RankedItem) -> String {
    let leaf = leaf(engine, item);
    leaf.split('/').next().unwrap_or_default().to_owned()
}

/// The leaf category of product `item`.
fn leaf(engine: &Engine, item: &RankedItem) -> String {
    let p = engine
        .store()
        .product_at(item.ordinal)
        .expect("ranked products exist");
    engine
        .store()
        .category_name(p.leaf().expect("every product has a leaf"))
        .to_owned()
}

#[test]
fn every_item_carries_the_blends_parts_and_its_score_is_their_sum() {
    let engine = support::engine();
    let parts = Blend::default().weights().len();
    for kind in SlotKind::ALL {
        let mut req = request(kind);
        req.k = Some(24);
        req.visitor.viewed = vec![id(3), id(40)];
        for item in engine.rank(&req).expect("every slot ranks").items {
            assert_eq!(item.reasons.len(), parts, "{kind}: {item:?}");
            let sum: f32 = item.reasons.iter().map(|r| r.contribution()).sum();
            assert!((sum - item.score).abs() < 1e-4, "{kind}: {item:?}");
        }
    }
}

#[test]
fn home_follows_the_sessions_department() {
    let engine = support::engine();
    let home = |viewed: &[u32]| {
        let mut req = request(SlotKind::Home);
        req.visitor.viewed = viewed.iter().map(|&o| id(o)).collect();
        engine.rank(&req).expect("home ranks")
    };
    let anonymous = home(&[]);
    assert!(!anonymous.personalized);
    assert_eq!(anonymous, home(&[]), "deterministic");

    let phones = home(&[
        ordinal_in("Electronics/Phones", 0),
        ordinal_in("Electronics/Phones", 3),
    ]);
    let tea = home(&[ordinal_in("Kitchen/Tea", 1), ordinal_in("Kitchen/Tea", 2)]);
    assert!(phones.personalized && tea.personalized);
    assert_ne!(phones.items, tea.items);
    assert_ne!(phones.items, anonymous.items);
    assert_eq!(department(&engine, &phones.items[0]), "Electronics");
    assert_eq!(department(&engine, &tea.items[0]), "Kitchen");
    // Home never shows back what the session viewed.
    let viewed = [
        id(ordinal_in("Kitchen/Tea", 1)),
        id(ordinal_in("Kitchen/Tea", 2)),
    ];
    assert!(tea.items.iter().all(|i| !viewed.contains(&i.id)));
}

#[test]
fn next_follows_what_shoppers_opened_after_the_session() {
    let engine = support::engine();
    let tent = ordinal_in("Outdoors/Tents", 2);
    let after = id(ordinal_in("Outdoors/Tents", 3));
    let mut req = request(SlotKind::Next);
    req.product = None;
    req.visitor.viewed = vec![id(tent)];
    req.k = Some(12);
    let r = engine.rank(&req).expect("next ranks");
    assert!(r.personalized);
    // The strongest transition leads what the session has not seen (the
    // session neighbourhood may bring back what it has: shoppers return to
    // what they compare), with its sequence part.
    let unseen: Vec<&RankedItem> = r.items.iter().filter(|i| i.id != id(tent)).collect();
    assert_eq!(
        (unseen[0].id.as_str(), unseen[0].source),
        (after.as_str(), "next")
    );
    let sequence = |i: &RankedItem| part(i, "sequence");
    assert!(sequence(unseen[0]) > 0.0);
    // On a product page it follows on from the product shown, which is
    // context, not the shopper's history: not personalized.
    let mut page = request(SlotKind::Next);
    page.product = Some(id(tent));
    page.k = Some(12);
    let on_page = engine.rank(&page).expect("next ranks");
    assert!(!on_page.personalized);
    assert!(on_page.items.iter().all(|i| i.id != id(tent)));
    assert_eq!(
        (on_page.items[0].id.as_str(), on_page.items[0].source),
        (after.as_str(), "next")
    );
    // Without a session: the store's popular products, not personal.
    let mut plain = request(SlotKind::Next);
    plain.product = None;
    let plain = engine.rank(&plain).expect("next ranks");
    assert!(!plain.personalized);
    assert!(
        plain.items.iter().all(|i| i.source == "popular"),
        "{plain:?}"
    );
    // The slot may bring back what the session viewed (home never does).
    let session: Vec<String> = r.items.iter().take(3).map(|i| i.id.clone()).collect();
    let mut again = request(SlotKind::Next);
    again.product = None;
    again.visitor.viewed = session.clone();
    again.k = Some(24);
    let next = engine.rank(&again).expect("next ranks");
    assert!(
        next.items.iter().any(|i| session.contains(&i.id)),
        "{next:?}"
    );
}

#[test]
fn next_ranks_as_if_its_fillers_were_always_searched() {
    // Without a new-arrival share, and with shares the fillers may or may
    // not be needed for (the store's `k = 0` products are new arrivals);
    // the last also keeps three leaves out, so a pool can hold enough new
    // arrivals and still not give the share its places (it fails when the
    // selection's share is not checked).
    let engines = [
        support::engine(),
        support::engine_with(|r| r.new_arrival_share = 0.25),
        support::engine_with(|r| r.new_arrival_share = 0.5),
        support::engine_with(|r| {
            r.new_arrival_share = 0.5;
            r.exclude_categories = ["Electronics/Phones", "Kitchen/Coffee", "Outdoors/Tents"]
                .map(category)
                .to_vec();
        }),
    ];
    let (mut filled_by_own, mut filled_by_fillers, mut new_arrivals_taken) = (0, 0, 0);
    for engine in &engines {
        let products = engine.store().products().len() as u32;
        for first in 0..products {
            for (k, also) in [
                (4, None),
                (12, Some((first * 7 + 3) % products)),
                (48, None),
            ] {
                // The session's views, and on a product page the same
                // following on from the product shown.
                let mut on_history = request(SlotKind::Next);
                on_history.product = None;
                on_history.visitor.viewed = std::iter::once(first).chain(also).map(id).collect();
                let mut on_page = request(SlotKind::Next);
                on_page.product = Some(id(first));
                on_page.visitor.viewed = also.map(id).into_iter().collect();
                for mut req in [on_history, on_page] {
                    req.k = Some(k);
                    let got = engine.rank(&req).expect("next ranks");
                    let want = engine.rank_reading_every_source(&req).expect("next ranks");
                    let summary = |r: &Ranking| -> Vec<(String, &str, u32)> {
                        r.items
                            .iter()
                            .map(|i| (i.id.clone(), i.source, i.score.to_bits()))
                            .collect()
                    };
                    assert_eq!(summary(&got), summary(&want), "{req:?}");
                    if got
                        .items
                        .iter()
                        .any(|i| ["similar", "popular"].contains(&i.source))
                    {
                        filled_by_fillers += 1;
                    } else {
                        filled_by_own += 1;
                    }
                    let listed_lately = |i: &&RankedItem| {
                        let store = engine.store();
                        let window = store.rules().new_arrival_seconds;
                        store
                            .product_at(i.ordinal)
                            .is_some_and(|p| NOW - p.created_at() <= window)
                    };
                    new_arrivals_taken += got.items.iter().filter(listed_lately).count();
                }
            }
        }
    }
    // Both ways were taken, with new arrivals among the items.
    assert!(
        filled_by_own > 0 && filled_by_fillers > 0 && new_arrivals_taken > 0,
        "{filled_by_own} slots filled by next's own sources, {filled_by_fillers} with fillers, \
         {new_arrivals_taken} new arrivals"
    );
}

#[test]
fn transitions_read_from_the_neighbourhood_s_sessions_are_the_ones_decoded() {
    // The transitions of a product read the sessions the neighbourhood
    // already read where it can, and decode the others: the sample of
    // sharing sessions may hold all, some or one of them.
    let engine = support::engine();
    let store = engine.store();
    let products = store.products().len() as u32;
    let mut partly_read = 0;
    for p in 0..products {
        let decoded = successors::after(store, p, None);
        let holding = store.sessions().sessions_with(p).len();
        for sample in [neighbourhood::SAMPLE, 3, 1] {
            let viewed = [p, (p * 7 + 3) % products];
            let read = SharingSessions::read(store.sessions(), &viewed, sample);
            partly_read += usize::from(read.len() < holding);
            let bits = |row: &[(u32, f32)]| -> Vec<(u32, u32)> {
                row.iter().map(|&(q, w)| (q, w.to_bits())).collect()
            };
            let got = successors::after(store, p, Some(&read));
            assert_eq!(bits(&got), bits(&decoded), "product {p}, sample {sample}");
        }
        assert!(!decoded.is_empty() || holding == 0, "product {p}");
    }
    assert!(partly_read > 0);
}

#[test]
fn next_brings_back_what_the_store_s_shoppers_return_to() {
    // The session viewed four products the slot may show, the latest
    // first; the store's next clicks go back to the latest (1), the one
    // before (0.4) and the third (0.1), never further.
    let mut req = request(SlotKind::Next);
    req.product = None;
    req.visitor.viewed = vec![id(ordinal_in("Outdoors/Tents", 2))];
    let shown = support::engine().rank(&req).expect("next ranks");
    let viewed: Vec<String> = shown.items.iter().take(4).map(|i| i.id.clone()).collect();
    req.visitor.viewed = viewed.clone();
    req.k = Some(24);
    let returns = |i: &RankedItem| part(i, "returns");
    let on = support::engine_with(|rules| rules.blend.returns = 5.0)
        .rank(&req)
        .expect("next ranks");
    let value = |r: &Ranking, at: usize| {
        r.items
            .iter()
            .find(|i| i.id == viewed[at])
            .map_or(-1.0, returns)
    };
    assert_eq!(on.items[0].id, viewed[0], "{on:?}");
    assert!((value(&on, 0) - 1.0).abs() < 1e-6, "{on:?}");
    assert!((value(&on, 1) - 0.4).abs() < 1e-6, "{on:?}");
    assert!((value(&on, 2) - 0.1).abs() < 1e-6, "{on:?}");
    assert!(value(&on, 3) <= 0.0, "{on:?}");
    // At the default weight of 0 the part is 0 and proposes nothing.
    let off = support::engine().rank(&req).expect("next ranks");
    assert!(off.items.iter().all(|i| returns(i) == 0.0), "{off:?}");
    assert!(off.items.iter().all(|i| i.source != "returns"), "{off:?}");
    // On a product page the product shown never comes back.
    let mut page = req.clone();
    page.product = Some(viewed[0].clone());
    let on_page = support::engine_with(|rules| rules.blend.returns = 5.0)
        .rank(&page)
        .expect("next ranks");
    assert!(
        on_page.items.iter().all(|i| i.id != viewed[0]),
        "{on_page:?}"
    );
}

#[test]
fn next_weighs_the_visits_own_products_by_its_habit_of_going_back() {
    // The store's next clicks go back at a rate of 0.375, worth three
    // moves of a visit's own (tests/support); four viewed products.
    let engine = support::engine_with(|rules| rules.blend.returns = 5.0);
    let mut req = request(SlotKind::Next);
    req.product = None;
    req.visitor.viewed = vec![id(ordinal_in("Outdoors/Tents", 2))];
    let shown = engine.rank(&req).expect("next ranks");
    let viewed: Vec<String> = shown.items.iter().take(4).map(|i| i.id.clone()).collect();
    req.visitor.viewed = viewed.clone();
    req.k = Some(24);
    let counted = |views, returns| {
        let mut r = req.clone();
        r.visitor.view_counts = ViewCounts { views, returns };
        engine.rank(&r).expect("next ranks")
    };
    let score = |r: &Ranking, id: &str| r.items.iter().find(|i| i.id == id).map(|i| i.score);
    let rank_of = |r: &Ranking, id: &str| r.items.iter().position(|i| i.id == id);
    let uncounted = engine.rank(&req).expect("next ranks");
    // Not counted, or one view (no move yet): the store's rate, no part.
    for r in [&uncounted, &counted(1, 0)] {
        assert!(
            r.items.iter().all(|i| part(i, "going_back") == 0.0),
            "{r:?}"
        );
    }
    assert_eq!(counted(1, 0).items, uncounted.items);
    let moving_on = counted(8, 0);
    let going_back = counted(8, 7);
    for r in [&moving_on, &going_back] {
        for item in &r.items {
            let sum: f32 = item.reasons.iter().map(|r| r.contribution()).sum();
            assert!((sum - item.score).abs() < 1e-4, "{item:?}");
            // Only the visit's own products are weighed.
            let own = viewed.contains(&item.id);
            assert_eq!(own, part(item, "going_back") != 0.0, "{item:?}");
            if !own {
                assert_eq!(score(&uncounted, &item.id), Some(item.score), "{item:?}");
            }
        }
    }
    // Seven moves and none back: a chance of (0 + 0.375 x 3) / (7 + 3),
    // 0.1125, odds of 0.1268 against the store's 0.6: 0.211 of each score;
    // seven of seven back: (7 + 1.125) / 10, odds of 4.33, 7.22 times.
    let odds = |p: f32| p / (1.0 - p) / 0.6;
    for (r, factor) in [(&moving_on, odds(0.1125)), (&going_back, odds(0.8125))] {
        for v in &viewed {
            let (Some(before), Some(after)) = (score(&uncounted, v), score(r, v)) else {
                continue;
            };
            assert!(
                (after - before * factor).abs() < 1e-3,
                "{v}: {before} -> {after}"
            );
        }
    }
    // A visit that keeps moving on sees its own products lower among new
    // ones (none higher), one that keeps going back higher (none lower).
    let place = |r: &Ranking, v: &String| rank_of(r, v).unwrap_or(usize::MAX);
    assert!(
        viewed
            .iter()
            .all(|v| place(&moving_on, v) >= place(&uncounted, v)),
        "{moving_on:?}"
    );
    assert!(
        viewed
            .iter()
            .any(|v| place(&moving_on, v) > place(&uncounted, v)),
        "{moving_on:?}"
    );
    assert!(
        viewed
            .iter()
            .all(|v| place(&going_back, v) <= place(&uncounted, v)),
        "{going_back:?}"
    );
    assert_eq!(rank_of(&going_back, &viewed[0]), Some(0), "{going_back:?}");
    // A merchant who weighs going back at 0 has no part of it.
    let unweighed = support::engine();
    let mut counted_visit = req.clone();
    counted_visit.visitor.view_counts = ViewCounts {
        views: 8,
        returns: 0,
    };
    assert_eq!(
        unweighed.rank(&counted_visit).expect("next ranks").items,
        unweighed.rank(&req).expect("next ranks").items
    );
}

#[test]
fn next_brings_what_sessions_like_this_one_opened() {
    let engine = support::engine();
    let phone = ordinal_in("Electronics/Phones", 4);
    let tent = id(ordinal_in("Outdoors/Tents", 4));
    let neighbours = |i: &RankedItem| part(i, "neighbours");
    let mut req = request(SlotKind::Next);
    req.product = None;
    req.visitor.viewed = vec![id(phone)];
    req.k = Some(12);
    let r = engine.rank(&req).expect("next ranks");
    // Only the recent sessions link this phone to this tent: it comes from
    // them, scored by them, and no other tent does; the charger three
    // sessions opened after it scores more.
    let found = r.items.iter().find(|i| i.id == tent).expect("the tent");
    assert!(neighbours(found) > 0.0, "{found:?}");
    assert!(
        r.items
            .iter()
            .filter(|i| leaf(&engine, i) == "Outdoors/Tents")
            .all(|i| i.id == tent),
        "{r:?}"
    );
    let charger = id(ordinal_in("Electronics/Chargers", 4));
    let charger = r
        .items
        .iter()
        .find(|i| i.id == charger)
        .expect("the charger");
    assert!(neighbours(charger) > neighbours(found), "{r:?}");
    // The strongest neighbourhood score is 1; the session's own product
    // (the neighbours hold it too) scores as well.
    let best = r.items.iter().map(neighbours).fold(0.0, f32::max);
    assert!((best - 1.0).abs() < 1e-6, "{r:?}");
    let own = r.items.iter().find(|i| i.id == id(phone));
    assert!(own.is_some_and(|i| neighbours(i) > 0.0), "{r:?}");
    // Its weight is the merchant's: at 0 the neighbourhood proposes
    // nothing; the tent still follows the phone once in those sessions,
    // which the transitions read.
    let off = support::engine_with(|rules| rules.blend.neighbours = 0.0)
        .rank(&req)
        .expect("next ranks");
    assert!(
        off.items.iter().all(|i| i.source != "neighbours"),
        "{off:?}"
    );
    let found = off.items.iter().find(|i| i.id == tent).expect("the tent");
    assert_eq!(found.source, "next", "{found:?}");
}

#[test]
fn a_session_holding_a_product_the_catalog_lacks_takes_no_place() {
    let phone = ordinal_in("Electronics/Phones", 4);
    let mut sections = support::sections(support::default_rules());
    for _ in 0..5 {
        sections.sessions.products.push(vec![phone, 9_999]);
        sections.sessions.hours.push((support::NOW / 3_600) as u32);
    }
    let engine = support::open(support::bundle(&sections)).expect("opens");
    let mut req = request(SlotKind::Next);
    req.product = None;
    req.visitor.viewed = vec![id(phone)];
    req.k = Some(12);
    let r = engine.rank(&req).expect("next ranks");
    assert_eq!(r.items.len(), 12, "{r:?}");
    assert!(r.items.iter().all(|i| (i.ordinal as usize) < 54), "{r:?}");
}

#[test]
fn a_category_slot_lists_its_category_what_the_shopper_viewed_first() {
    let engine = support::engine();
    let list = |category: &str, viewed: &[u32]| {
        let mut req = request(SlotKind::Category);
        req.category = Some(category.into());
        req.visitor.viewed = viewed.iter().map(|&o| id(o)).collect();
        req.k = Some(8);
        engine.rank(&req).expect("the category ranks")
    };
    let plain = list("kitchen", &[]);
    assert!(!plain.personalized);
    assert_eq!(plain.items.len(), 8);
    assert!(plain
        .items
        .iter()
        .all(|i| department(&engine, i) == "Kitchen"));
    // By slug, path or leaf name alike.
    assert_eq!(list("Kitchen", &[]), plain);
    let tea = list("Tea", &[]);
    assert!(!tea.items.is_empty());
    assert!(tea.items.iter().all(|i| leaf(&engine, i) == "Kitchen/Tea"));
    assert_eq!(list("Kitchen/Tea", &[]), tea);
    // A shopper who viewed coffee sees coffee first on the department's page.
    let coffee_first = |r: &Ranking| {
        r.items
            .iter()
            .take(4)
            .filter(|i| leaf(&engine, i) == "Kitchen/Coffee")
            .count()
    };
    let shopper = list("kitchen", &[ordinal_in("Kitchen/Coffee", 1)]);
    assert!(shopper.personalized);
    assert!(
        coffee_first(&shopper) >= 3 && coffee_first(&shopper) > coffee_first(&plain),
        "{} coffees in the first four (without the view {})",
        coffee_first(&shopper),
        coffee_first(&plain)
    );
}

#[test]
fn explain_lists_what_guardrails_removed_and_why() {
    let engine = support::engine_with(|r| {
        r.min_inventory = 2;
        r.exclude_tags = vec!["discontinued".into()];
        r.max_per_brand = Some(2);
    });
    let mut req = request(SlotKind::Home);
    req.k = Some(24);
    req.explain = true;
    let ranking = engine.rank(&req).expect("home ranks");
    assert!(!ranking.removed.is_empty());
    for removed in &ranking.removed {
        let p = engine
            .store()
            .product(&removed.id)
            .expect("removed products exist");
        let why = &removed.rule;
        let holds = match why {
            w if w.starts_with("max_per_brand") => true,
            w if w.starts_with("inventory") => p.available() < 2,
            w if w.contains("discontinued") => p.tags().any(|t| t == "discontinued"),
            _ => false,
        };
        assert!(holds, "{} removed for {why}", removed.id);
    }
    // Without explain, nothing is kept.
    req.explain = false;
    assert!(engine.rank(&req).expect("home ranks").removed.is_empty());
}

#[test]
fn banners_follow_conditions_priorities_and_caps() {
    let engine = support::engine();
    let day = NOW - NOW.rem_euclid(86_400);
    let (morning, evening) = (day + 10 * 3600, day + 16 * 3600);
    let id = |b: Option<&BannerRule>| b.map(|b| b.id.clone());
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
        .find(|p| (1..10).contains(&p.available()))
        .expect("a product running low");
    assert_eq!(
        id(engine.choose_banner(evening, Some(low.id()), None)).as_deref(),
        Some("low-stock")
    );
    let plenty = engine
        .store()
        .products()
        .find(|p| p.available() > 50)
        .expect("a product in plenty");
    assert_eq!(
        id(engine.choose_banner(morning, Some(plenty.id()), None)).as_deref(),
        Some("dispatch")
    );
}

#[test]
fn fast_ship_and_the_price_band_move_rankings_by_their_weights() {
    let plain = support::engine();
    let fast_weighted = support::engine_with(|r| r.blend.fast_ship = 0.5);
    let fast = |engine: &Engine| {
        let mut req = request(SlotKind::Category);
        req.category = Some("Outdoors".into());
        req.k = Some(6);
        let ranking = engine.rank(&req).expect("the category ranks");
        ranking
            .items
            .iter()
            .filter(|i| {
                let p = engine
                    .store()
                    .product_at(i.ordinal)
                    .expect("ranked products exist");
                engine.store().is_fast_ship(p)
            })
            .count()
    };
    let (before, after) = (fast(&plain), fast(&fast_weighted));
    assert!(
        after > before,
        "fast-ship items: {after} weighted, {before} without"
    );

    // A shopper used to cheap products sees cheaper similar items than one
    // used to dear ones.
    let price_weighted = support::engine_with(|r| r.blend.price_fit = 0.5);
    let mean_level = |ratio: f32| {
        let mut req = request(SlotKind::Similar);
        req.product = Some(id(ordinal_in("Outdoors/Tents", 2)));
        req.k = Some(2);
        req.visitor.price_band = Some(PriceBand {
            level: ratio.ln(),
            evidence: MAX_EVIDENCE,
        });
        let ranking = price_weighted.rank(&req).expect("similar ranks");
        assert!(ranking.personalized, "a price band is personal");
        let levels: Vec<f32> = ranking
            .items
            .iter()
            .filter_map(|i| price_weighted.store().price_level(i.ordinal))
            .collect();
        levels.iter().sum::<f32>() / levels.len() as f32
    };
    let (cheap, dear) = (mean_level(0.5), mean_level(2.0));
    assert!(
        cheap + 0.1 < dear,
        "cheap band {cheap:.2}, dear band {dear:.2}"
    );
}

#[test]
fn a_pin_leads_its_slot_in_its_window_only() {
    let tea = ordinal_in("Kitchen/Tea", 3);
    let engine = support::engine_with(|r| {
        r.pins = vec![firstpaint_engine::PinRule {
            product: tea,
            slot: SlotKind::Home,
            position: 1,
            from: NOW - 60,
            until: NOW + 60,
        }]
    });
    let home = |now: i64| {
        let mut req = request(SlotKind::Home);
        req.visitor.now = now;
        engine.rank(&req).expect("home ranks")
    };
    let pinned = home(NOW);
    assert_eq!(
        (pinned.items[0].id.clone(), pinned.items[0].source),
        (id(tea), "pin")
    );
    assert!(home(NOW + 3600).items.iter().all(|i| i.source != "pin"));
    let mut similar = request(SlotKind::Similar);
    similar.visitor.now = NOW;
    let similar = engine.rank(&similar).expect("similar ranks");
    assert!(similar.items.iter().all(|i| i.source != "pin"));
    // Not with a rule against it: an excluded category keeps it out.
    let guarded = support::engine_with(|r| {
        r.pins = engine.store().rules().pins.clone();
        r.exclude_categories = vec![category("Kitchen/Tea")];
    });
    let home = guarded.rank(&request(SlotKind::Home)).expect("home ranks");
    assert!(home.items.iter().all(|i| i.id != id(tea)), "{home:?}");
}

proptest! {
    #[test]
    fn prices_within_a_range_are_found_as_a_scan_finds_them(
        low in 0.0f64..400.0,
        width in prop_oneof![0.0f64..2.0, 0.0f64..600.0],
        first in 0usize..60,
    ) {
        let engine = support::engine();
        let high = low + width;
        let scan: Vec<u32> = engine
            .store()
            .products()
            .filter(|p| p.price() >= low && p.price() <= high)
            .map(|p| p.ordinal())
            .take(first)
            .collect();
        prop_assert_eq!(engine.store().priced_within(low, high, first), scan);
    }
}

#[test]
fn cart_addons_bring_back_what_the_shopper_orders_again() {
    // The store's shoppers order coffee again (rate 0.6), phones never.
    let coffee = id(ordinal_in("Kitchen/Coffee", 0));
    let phone = id(ordinal_in("Electronics/Phones", 0));
    let mut req = request(SlotKind::CartAddons);
    req.cart = vec![id(ordinal_in("Outdoors/Tents", 0))];
    req.visitor.ordered = vec![
        (coffee.clone(), NOW - 20 * 86_400),
        (phone.clone(), NOW - 30 * 86_400),
    ];
    req.k = Some(12);
    let rebuy = |i: &RankedItem| part(i, "rebuy");
    let r = support::engine().rank(&req).expect("cart add-ons rank");
    assert!(r.personalized, "the shopper's orders are their history");
    let found = r.items.iter().find(|i| i.id == coffee).expect("the coffee");
    assert_eq!(found.source, "ordered-before", "{found:?}");
    assert!((rebuy(found) - 0.6).abs() < 1e-6, "{found:?}");
    assert!(r.items.iter().all(|i| i.id != phone), "{r:?}");
    // What is in the cart already is not proposed again.
    let mut in_cart = req.clone();
    in_cart.cart.push(coffee.clone());
    let r = support::engine().rank(&in_cart).expect("cart add-ons rank");
    assert!(r.items.iter().all(|i| i.id != coffee), "{r:?}");
    // The merchant's weight: at 0 the earlier orders are not proposed.
    let off = support::engine_with(|rules| rules.blend.rebuy = 0.0)
        .rank(&req)
        .expect("cart add-ons rank");
    assert!(
        off.items.iter().all(|i| i.source != "ordered-before"),
        "{off:?}"
    );
}

/// The value of `signal` among `item`'s reasons (0 when it has none).
fn part(item: &RankedItem, signal: &str) -> f32 {
    item.reasons
        .iter()
        .find(|x| x.signal == signal)
        .map_or(0.0, |x| x.value)
}
