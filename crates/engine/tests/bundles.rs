//! Opening a bundle: what the engine refuses, and that it says why.
//!
//! 1. The hand-built store opens, with every product, category and list.
//! 2. A bundle of another schema (or of none, schema 1) is refused with
//!    the "rebuild" message, whatever else it holds.
//! 3. A bundle without a section the engine needs is refused, naming the
//!    section; one without an optional section (search, recent
//!    sessions, intent) opens, and only what needs it says so.

mod support;

use firstpaint_bundle::Tag;
use firstpaint_engine::search::{POSTINGS, SEARCH, TERMS};
use firstpaint_engine::signals::intent::INTENT;
use firstpaint_engine::store::sections::{
    ANN, BOUGHT, CATALOG, COVIEW, PRIORS, RULES, SCHEMA, SCHEMA_TAG, SESSIONS, TEXT_MAP,
};
use firstpaint_engine::{EngineError, SearchRequest, SlotKind};
use std::sync::OnceLock;
use support::{bundle, default_rules, open, request, rewrite, sections};

/// The default store's bundle, built once.
fn store_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| bundle(&sections(default_rules())))
}

/// The store's bundle without section `gone`.
fn without(gone: Tag) -> Vec<u8> {
    rewrite(store_bytes(), |tag, payload| {
        (tag != gone).then(|| payload.to_vec())
    })
}

#[test]
fn the_hand_built_store_opens_whole() {
    let engine = open(store_bytes().to_vec()).expect("the store opens");
    let store = engine.store();
    assert_eq!(engine.info().products, 54);
    assert_eq!(store.categories().len(), 12);
    assert_eq!(store.catalog().locations(), ["north", "south"]);
    let phone = store.product("P-000").expect("the first phone");
    assert_eq!(phone.title(), "Pixelon Smartphone, Red");
    assert_eq!(
        store.category_name(phone.top().expect("a department")),
        "Electronics"
    );
    assert!(store.search_index().is_some());
    assert_eq!(store.sessions().len(), 3 * 54 + 24);
}

#[test]
fn a_bundle_of_another_schema_is_refused_with_the_rebuild_message() {
    let older = rewrite(store_bytes(), |tag, payload| {
        Some(if tag == SCHEMA_TAG {
            (SCHEMA - 1).to_le_bytes().to_vec()
        } else {
            payload.to_vec()
        })
    });
    // A bundle from before the schema section is schema 1.
    for (bytes, found) in [(older, SCHEMA - 1), (without(SCHEMA_TAG), 1)] {
        let err = open(bytes).expect_err("another schema is refused");
        assert_eq!(
            err,
            EngineError::Schema {
                found,
                expected: SCHEMA
            }
        );
        assert!(err.to_string().contains("rebuild the bundle"), "{err}");
    }
}

#[test]
fn a_bundle_missing_a_required_section_is_refused_by_name() {
    for gone in [CATALOG, ANN, PRIORS, COVIEW, BOUGHT, RULES, TEXT_MAP] {
        let err = open(without(gone)).expect_err("a required section is missing");
        assert!(err.to_string().contains(&gone.to_string()), "{gone}: {err}");
    }
    // The search index's parts go together: its terms without its
    // postings is as broken as no terms.
    for gone in [TERMS, POSTINGS] {
        let err = open(without(gone)).expect_err("half a search index");
        assert!(err.to_string().contains(&gone.to_string()), "{gone}: {err}");
    }
}

#[test]
fn a_bundle_without_an_optional_section_opens_and_only_its_users_say_so() {
    let no_search = rewrite(store_bytes(), |tag, payload| {
        (![SEARCH, TERMS, POSTINGS].contains(&tag)).then(|| payload.to_vec())
    });
    let engine = open(no_search).expect("slots work without search");
    assert_eq!(
        engine.search(&SearchRequest::new("phone")),
        Err(EngineError::NoSearchIndex)
    );
    assert!(!engine
        .rank(&request(SlotKind::Home))
        .expect("home ranks")
        .items
        .is_empty());

    let engine = open(without(SESSIONS)).expect("opens without recent sessions");
    let mut req = request(SlotKind::Next);
    req.visitor.viewed = vec!["P-000".into()];
    let next = engine.rank(&req).expect("next ranks");
    assert!(
        next.items
            .iter()
            .all(|i| i.source != "neighbours" && i.source != "next"),
        "{next:?}"
    );

    let engine = open(without(INTENT)).expect("opens without an intent model");
    assert!(engine
        .rank(&request(SlotKind::Home))
        .expect("home ranks")
        .intent
        .is_none());
}

/// Every section the engine reads.
const READ: [Tag; 13] = [
    SCHEMA_TAG, CATALOG, ANN, PRIORS, COVIEW, RULES, BOUGHT, SESSIONS, INTENT, TEXT_MAP, SEARCH,
    TERMS, POSTINGS,
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// A bundle signed by a trusted key whose section was damaged before
    /// signing (a bad origin build, not an attacker: the signature holds)
    /// never panics the engine: it is refused, or it opens and every slot
    /// and a search answer or fail. The readers work in place, so the
    /// damage is also read by the calls, not only by opening.
    #[test]
    fn a_signed_but_damaged_section_never_panics(
        which in 0..READ.len(),
        edits in proptest::collection::vec((proptest::prelude::any::<u32>(), proptest::prelude::any::<u8>()), 1..12),
        cut in proptest::option::of(proptest::prelude::any::<u32>()),
    ) {
        let target = READ[which];
        let damaged = rewrite(store_bytes(), |tag, payload| {
            let mut payload = payload.to_vec();
            if tag == target && !payload.is_empty() {
                for &(at, byte) in &edits {
                    let at = at as usize % payload.len();
                    payload[at] = byte;
                }
                if let Some(cut) = cut {
                    payload.truncate(cut as usize % (payload.len() + 1));
                }
            }
            Some(payload)
        });
        if let Ok(engine) = open(damaged) {
            for kind in SlotKind::ALL {
                let _ = engine.rank(&request(kind));
            }
            let mut search = SearchRequest::new("red phone case");
            search.visitor.now = support::NOW;
            let _ = engine.search(&search);
            let _ = engine.store().nearest(&engine.store().embedding(0).unwrap_or(firstpaint_engine::Embedding::ZERO), 10);
        }
    }
}
