//! The trained models as the edge uses them: the visit's intent switches
//! what slots and search lean towards, and a product nobody has seen yet
//! reaches similar-item lists through its text.

mod support;

use firstpaint_engine::{Engine, IntentSignals, Ranking, SearchRequest, SlotKind, SlotRequest};
use support::{engine_of, fixtures_engine, fixtures_inputs, NOW};

fn searched(query: &str) -> IntentSignals {
    IntentSignals {
        queries: vec![query.into()],
        ..IntentSignals::default()
    }
}

/// The top-level category name of product `id`.
fn top(engine: &Engine, id: &str) -> String {
    let p = engine.store().product(id).expect("ranked product exists");
    engine
        .store()
        .category_name(p.top().expect("fixture products have categories"))
        .to_owned()
}

/// Eight items of home for a new visitor whose visit showed `signals`.
fn new_visitor_home(engine: &Engine, signals: IntentSignals) -> Ranking {
    let mut req = SlotRequest::new(SlotKind::Home);
    req.visitor.signals = signals;
    req.k = Some(8);
    req.visitor.now = NOW;
    engine.rank(&req).expect("home ranks")
}

/// Home for a new visitor whose visit showed `signals`: the intent and the
/// top-level categories of the ranked (not pinned) items.
fn home(engine: &Engine, signals: IntentSignals) -> (Option<String>, Vec<String>, bool) {
    let ranking = new_visitor_home(engine, signals);
    let tops = ranking
        .items
        .iter()
        .filter(|i| i.source != "pin")
        .map(|i| top(engine, &i.id))
        .collect();
    (ranking.intent.map(|i| i.name), tops, ranking.personalized)
}

#[test]
fn the_visits_intent_switches_the_home_slots_category_bias() {
    let engine = fixtures_engine();
    let (intent, baseline, personalized) = home(&engine, IntentSignals::default());
    assert_eq!(intent, None, "nothing shown, nothing predicted");
    assert!(!personalized);
    for (query, mission) in [
        ("two-person tent", "Sports & Outdoors"),
        ("smartphone", "Electronics"),
    ] {
        let (intent, tops, personalized) = home(&engine, searched(query));
        assert_eq!(
            intent.as_deref(),
            Some(mission),
            "after searching {query:?}"
        );
        assert!(personalized, "an intent is personal");
        let on_mission = tops.iter().filter(|t| *t == mission).count();
        let before = baseline.iter().filter(|t| *t == mission).count();
        assert!(
            on_mission * 2 > tops.len() && on_mission > before,
            "{query:?}: {on_mission} of {tops:?} in {mission} (without intent: {before} of {baseline:?})"
        );
    }
}

#[test]
fn a_landing_category_page_and_viewed_products_give_an_intent_too() {
    let engine = fixtures_engine();
    let landing = IntentSignals {
        categories: vec!["Camping".into()],
        channel: Some("social".into()),
        ..IntentSignals::default()
    };
    let intent = engine.intent(&[], &landing).expect("an intent");
    assert_eq!(intent.name, "Sports & Outdoors");
    assert!(intent.probability > 0.5, "{intent:?}");
    let phone = engine
        .store()
        .products()
        .position(|p| p.title().contains("Phone") && top(&engine, p.id()) == "Electronics")
        .expect("a fixture phone") as u32;
    let viewed = engine.intent(&[phone], &IntentSignals::default());
    assert_eq!(viewed.map(|i| i.name).as_deref(), Some("Electronics"));
}

#[test]
fn a_landing_leaf_category_page_leads_home_to_that_leaf_not_only_its_department() {
    let engine = fixtures_engine();
    let c = engine
        .store()
        .category_by_slug("food-drink/coffee-beans")
        .expect("the page's address names the category");
    assert_eq!(engine.store().category_name(c), "Food & Drink/Coffee Beans");
    assert_eq!(engine.store().category_by_slug("food-drink/no-such"), None);
    let leaf_count = |signals: IntentSignals, leaf: &str| {
        let ranking = new_visitor_home(&engine, signals);
        let n = ranking
            .items
            .iter()
            .filter_map(|i| engine.store().product(&i.id)?.leaf())
            .filter(|&l| engine.store().category_name(l).ends_with(leaf))
            .count();
        (n, ranking.personalized)
    };
    let landed = IntentSignals {
        categories: vec![engine.store().category_name(c).to_owned()],
        ..IntentSignals::default()
    };
    let (beans, personalized) = leaf_count(landed.clone(), "/Coffee Beans");
    let (tea, _) = leaf_count(landed, "/Tea");
    let (before, _) = leaf_count(IntentSignals::default(), "/Coffee Beans");
    assert!(personalized, "a category page is personal");
    assert!(
        beans >= 4 && beans > tea && beans > before,
        "coffee beans {beans} (tea {tea}, without the page {before})"
    );
}

#[test]
fn search_leans_towards_the_intent_for_an_ambiguous_query() {
    let engine = fixtures_engine();
    // A colour matches products of every category.
    let share = |signals: IntentSignals, mission: &str| {
        let mut req = SearchRequest::new("black");
        req.per_page = 10;
        req.visitor.signals = signals;
        let results = engine.search(&req).expect("search");
        assert!(results.total > 20, "an ambiguous query: {}", results.total);
        let on = results
            .items
            .iter()
            .filter(|h| top(&engine, &h.id) == mission)
            .count();
        (on, results.intent.map(|i| i.name))
    };
    for (query, mission) in [
        ("sleeping bag", "Sports & Outdoors"),
        ("smartphone", "Electronics"),
    ] {
        let (without, _) = share(IntentSignals::default(), mission);
        let (with, intent) = share(searched(query), mission);
        assert_eq!(intent.as_deref(), Some(mission));
        assert!(
            with > without,
            "{mission}: {with} of 10 with the intent, {without} without"
        );
    }
}

#[test]
fn a_brand_new_product_reaches_similar_lists_through_its_text() {
    let mut inputs = fixtures_inputs();
    // A new brand's tent: no events mention it; its words are a tent's
    // words. (A new brand, so the similar slot's brand cap does not apply.)
    let template = inputs
        .products
        .iter()
        .find(|p| p.title.contains("Two-Person Tent"))
        .expect("a fixture tent")
        .clone();
    let old_brand = template.brand.clone().unwrap_or_default();
    let mut fresh = template.clone();
    fresh.id = "NEW-TENT-1".into();
    fresh.brand = Some("Summitline".into());
    fresh.title = format!(
        "{} Ultralight",
        template.title.replace(&old_brand, "Summitline")
    );
    fresh.created_at = time::OffsetDateTime::from_unix_timestamp(NOW - 86_400).expect("time");
    fresh.updated_at = None;
    inputs.products.push(fresh);
    let engine = engine_of(&inputs);

    let mut req = SlotRequest::new(SlotKind::Similar);
    req.product = Some(template.id.clone());
    req.k = Some(8);
    req.visitor.now = NOW;
    let similar: Vec<String> = engine
        .rank(&req)
        .expect("similar")
        .items
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert!(
        similar.iter().any(|id| id == "NEW-TENT-1"),
        "the new tent is not among {}'s similar items: {similar:?}",
        template.id
    );
    // And its own similar list is camping gear.
    req.product = Some("NEW-TENT-1".into());
    let own = engine.rank(&req).expect("similar to the new product").items;
    let camping = own
        .iter()
        .filter(|i| {
            let p = engine.store().product(&i.id).expect("exists");
            p.leaf().map(|l| engine.store().category_name(l)) == Some("Sports & Outdoors/Camping")
        })
        .count();
    assert!(
        camping * 2 > own.len(),
        "{camping} of {} are camping gear",
        own.len()
    );
}

#[test]
fn a_surge_of_interest_makes_a_product_trend_into_the_home_slot() {
    let mut inputs = fixtures_inputs();
    let newest = inputs.events.iter().map(|e| e.ts).max().expect("events");
    // A quiet product (few events) suddenly viewed in 40 sessions in the
    // last two days.
    let quiet = inputs
        .products
        .iter()
        .filter(|p| p.available() > 50 && !p.regulated && p.safety.is_empty() && p.tags.is_empty())
        .min_by_key(|p| {
            inputs
                .events
                .iter()
                .filter(|e| e.kind.products().contains(&p.id.as_str()))
                .count()
        })
        .expect("a quiet product")
        .id
        .clone();
    let template = inputs.events.first().expect("an event").clone();
    for i in 0..40 {
        let mut e = template.clone();
        e.session = format!("surge-{i}");
        e.user = None;
        e.ts = newest - time::Duration::hours(i);
        e.kind = firstpaint_contracts::EventKind::PageView {
            product: Some(quiet.clone()),
            category: None,
            channel: None,
        };
        inputs.events.push(e);
    }
    let engine = engine_of(&inputs);
    let ord = engine.store().ordinal(&quiet).expect("known");
    assert!(
        engine.store().trending(ord) > 0.9,
        "trending {}",
        engine.store().trending(ord)
    );
    assert_eq!(engine.store().top_trending().next(), Some(ord));
    let mut req = SlotRequest::new(SlotKind::Home);
    req.k = Some(12);
    req.visitor.now = NOW;
    let home = engine.rank(&req).expect("home");
    let item = home.items.iter().find(|i| i.id == quiet);
    let item = item.unwrap_or_else(|| panic!("{quiet} is not on the home slot: {:?}", home.items));
    let trending = item
        .reasons
        .iter()
        .find(|r| r.signal == "trending")
        .expect("a trending part");
    assert!(trending.value > 0.9);
    // Steady products do not trend: most of the store is flat.
    let flat = (0..engine.store().products().len() as u32)
        .filter(|&o| engine.store().trending(o) == 0.0)
        .count();
    assert!(
        flat * 10 > engine.store().products().len() * 9,
        "{flat} flat"
    );
}

#[test]
fn an_order_comes_back_on_home_when_its_category_is_due_for_a_refill() {
    let engine = fixtures_engine();
    // The fixtures' shoppers rebuy coffee beans every two weeks.
    let beans = engine.store().product("SKU-00404").expect("fixture beans");
    let interval = engine.store().refill_days(beans.leaf().expect("a leaf"));
    assert!(
        (13.0..=15.0).contains(&interval),
        "coffee beans every {interval} days"
    );
    let phone = engine
        .store()
        .products()
        .find(|p| p.title().contains("Phone"))
        .expect("a phone");
    assert_eq!(
        engine.store().refill_days(phone.leaf().expect("a leaf")),
        0.0,
        "phones are not rebought"
    );
    // So the cart's rebuys bring back beans, hardly phones.
    let (beans_again, phones_again) = (
        engine.store().rebuy(beans.leaf().expect("a leaf")),
        engine.store().rebuy(phone.leaf().expect("a leaf")),
    );
    assert!(
        beans_again > 0.1 && beans_again > 2.0 * phones_again,
        "beans {beans_again}, phones {phones_again}"
    );
    let home = |days_ago: i64, id: &str| {
        let mut req = SlotRequest::new(SlotKind::Home);
        req.visitor.now = NOW;
        req.visitor.returning = true;
        req.visitor.ordered = vec![(id.to_owned(), NOW - days_ago * 86_400)];
        engine.rank(&req).expect("home").items
    };
    let due = home(13, "SKU-00404");
    let first_unpinned = due.iter().find(|i| i.source != "pin").expect("items");
    assert_eq!(
        (first_unpinned.id.as_str(), first_unpinned.source),
        ("SKU-00404", "refill-due")
    );
    for days in [3, 60] {
        assert!(
            home(days, "SKU-00404")
                .iter()
                .all(|i| i.source != "refill-due"),
            "not due {days} days after the order"
        );
    }
    assert!(home(13, phone.id())
        .iter()
        .all(|i| i.source != "refill-due"));
}
