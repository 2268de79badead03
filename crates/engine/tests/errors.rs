//! Bad requests are errors that name what is wrong, never panics.
//!
//! 1. An unknown slot kind lists the valid ones and suggests the nearest.
//! 2. A slot without the product, cart or category it needs, or naming
//!    one the catalog does not have, says which.
//! 3. `k` of 0 or above the limit, a query too long, a page or page size
//!    out of range: each says the limit.
//! 4. Random strings as slot kinds, product ids, cart ids, categories,
//!    viewed ids and queries never panic; unknown ids a shopper carries
//!    (from an older bundle's cookie) are skipped, not errors.

mod support;

use firstpaint_engine::limits::{MAX_K, MAX_PAGE, MAX_PER_PAGE, MAX_QUERY_BYTES};
use firstpaint_engine::{EngineError, SearchOutcome, SearchRequest, SlotKind};
use proptest::prelude::*;
use proptest::sample::select;
use support::request;

#[test]
fn an_unknown_slot_kind_lists_the_valid_ones_and_suggests_the_nearest() {
    let err = "simlar".parse::<SlotKind>().expect_err("not a slot kind");
    let EngineError::UnknownSlot {
        got,
        valid,
        did_you_mean,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(got, "simlar");
    assert_eq!(did_you_mean.as_deref(), Some("similar"));
    for kind in SlotKind::ALL {
        assert!(valid.contains(kind.as_str()), "{valid} misses {kind}");
    }
    assert!(
        err.to_string().contains("did you mean \"similar\""),
        "{err}"
    );
    let far = "zzzzzzzzzz"
        .parse::<SlotKind>()
        .expect_err("not a slot kind");
    assert!(!far.to_string().contains("did you mean"), "{far}");
}

#[test]
fn a_slot_without_what_it_needs_says_which() {
    let engine = support::engine();
    for kind in SlotKind::ALL {
        let mut req = request(kind);
        req.product = None;
        req.cart.clear();
        req.category = None;
        let got = engine.rank(&req);
        let slot = kind.as_str();
        if kind.needs_product() {
            assert_eq!(got, Err(EngineError::MissingProduct { slot }));
        } else if kind.needs_cart() {
            assert_eq!(got, Err(EngineError::MissingCart { slot }));
        } else if kind.needs_category() {
            let err = got.expect_err("a category slot needs one");
            assert_eq!(err, EngineError::MissingCategory { slot });
            assert!(err.to_string().contains("needs a category"), "{err}");
        } else {
            assert!(got.is_ok(), "{kind}: {got:?}");
        }
    }
    // A cart of unknown products is no cart.
    let mut req = request(SlotKind::CartAddons);
    req.cart = vec!["NOPE".into()];
    assert_eq!(
        engine.rank(&req),
        Err(EngineError::MissingCart {
            slot: "cart-addons"
        })
    );
}

#[test]
fn an_unknown_product_or_category_is_named() {
    let engine = support::engine();
    let mut req = request(SlotKind::Similar);
    req.product = Some("NOPE".into());
    assert_eq!(
        engine.rank(&req),
        Err(EngineError::UnknownProduct("NOPE".into()))
    );
    let mut req = request(SlotKind::Category);
    req.category = Some("no-such-aisle".into());
    let err = engine.rank(&req).expect_err("no such category");
    assert_eq!(err, EngineError::UnknownCategory("no-such-aisle".into()));
    assert!(err.to_string().contains("not in the catalog"), "{err}");
}

#[test]
fn k_outside_its_range_says_the_limit() {
    let engine = support::engine();
    for k in [0, MAX_K + 1, 10_000] {
        let mut req = request(SlotKind::Home);
        req.k = Some(k);
        let err = engine.rank(&req).expect_err("k out of range");
        assert_eq!(err, EngineError::InvalidK { got: k, max: MAX_K });
        assert!(err.to_string().contains(&MAX_K.to_string()), "{err}");
    }
}

#[test]
fn a_query_too_long_or_a_page_out_of_range_says_the_limit() {
    let engine = support::engine();
    let long = "a".repeat(MAX_QUERY_BYTES + 44);
    assert_eq!(
        engine.search(&SearchRequest::new(long)),
        Err(EngineError::QueryTooLong {
            got: MAX_QUERY_BYTES + 44,
            max: MAX_QUERY_BYTES
        })
    );
    for (page, per_page) in [(0, 10), (MAX_PAGE + 1, 10), (1, MAX_PER_PAGE + 1)] {
        let mut req = SearchRequest::new("tea");
        req.page = page;
        req.per_page = per_page;
        assert_eq!(
            engine.search(&req),
            Err(EngineError::InvalidPage {
                page,
                per_page,
                max_page: MAX_PAGE,
                max_per_page: MAX_PER_PAGE
            })
        );
    }
}

#[test]
fn unknown_ids_a_shopper_carries_are_skipped() {
    let engine = support::engine();
    let anonymous = engine.rank(&request(SlotKind::Home)).expect("home ranks");
    let mut req = request(SlotKind::Home);
    req.visitor.viewed = vec!["NOT-A-PRODUCT".into()];
    req.visitor.wanted = vec!["GONE".into()];
    req.visitor.ordered = vec![("GONE".into(), support::NOW)];
    assert_eq!(engine.rank(&req), Ok(anonymous));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_text_as_a_slot_id_category_or_query_never_panics(
        text in "\\PC{0,80}",
        kind in select(SlotKind::ALL.to_vec()),
        k in 0usize..60,
    ) {
        let engine = support::engine();
        let _ = text.parse::<SlotKind>();
        let mut req = request(kind);
        req.k = Some(k);
        req.product = Some(text.clone());
        req.cart = vec![text.clone()];
        req.category = Some(text.clone());
        req.visitor.viewed = vec![text.clone()];
        req.visitor.signals.queries = vec![text.clone()];
        req.visitor.signals.categories = vec![text.clone()];
        req.visitor.region = Some(text.clone());
        if let Ok(ranking) = engine.rank(&req) {
            prop_assert!(ranking.items.len() <= k);
        }
        let mut search = SearchRequest::new(text.clone());
        search.filters.category = Some(text.clone());
        search.filters.brand = Some(text.clone());
        search.visitor = req.visitor.clone();
        let found = engine.search(&search);
        if text.len() <= MAX_QUERY_BYTES {
            let r = found.expect("a short query answers");
            prop_assert!(r.items.len() <= r.per_page);
            prop_assert_eq!(r.outcome == SearchOutcome::Empty, r.total == 0);
        }
    }
}
