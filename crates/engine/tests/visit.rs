//! A page's shared visit ranks as one request at a time does.
//!
//! For random shoppers (viewed, wanted and ordered products, region,
//! price band, intent signals) and every slot kind and search:
//! 1. `rank_in(&visit(&visitor), req)` equals `rank(req)` with that
//!    visitor, item for item, score for score;
//! 2. `search_in` equals `search` likewise;
//! 3. one visit serves every slot of a page in any order: ranking one slot
//!    first does not change the next.

mod support;

use firstpaint_engine::{PriceBand, SearchRequest, SlotKind, Visitor};
use proptest::prelude::*;
use proptest::sample::select;
use support::{id, request, NOW};

/// Products in the store.
const PRODUCTS: u32 = 54;

prop_compose! {
    fn visitor()(
        viewed in proptest::collection::vec(0..PRODUCTS, 0..6),
        wanted in proptest::collection::vec(0..PRODUCTS, 0..3),
        ordered in proptest::collection::vec((0..PRODUCTS, 0i64..90), 0..3),
        region in select(vec![None, Some("US"), Some("DE")]),
        returning in any::<bool>(),
        price_band in proptest::option::of((-1.5f32..1.5, 0.0f32..12.0)),
        categories in proptest::collection::vec(select(support::categories()), 0..2),
        queries in proptest::collection::vec(select(vec!["tent", "red phone", "tea"]), 0..2),
    ) -> Visitor {
        let mut visitor = Visitor {
            viewed: viewed.into_iter().map(id).collect(),
            wanted: wanted.into_iter().map(id).collect(),
            ordered: ordered.into_iter().map(|(o, days)| (id(o), NOW - days * 86_400)).collect(),
            region: region.map(str::to_owned),
            returning,
            price_band: price_band.map(|(level, evidence)| PriceBand { level, evidence }),
            now: NOW,
            ..Visitor::default()
        };
        visitor.signals.categories = categories;
        visitor.signals.queries = queries.into_iter().map(str::to_owned).collect();
        visitor
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn a_shared_visit_ranks_every_slot_and_search_as_one_request_does(
        visitor in visitor(),
        query in select(vec!["smartphone", "red", "tent lamp", "tea"]),
    ) {
        let engine = support::engine();
        let visit = engine.visit(&visitor);
        // In reverse too: a slot ranked first must not change the next.
        for kind in SlotKind::ALL.into_iter().chain(SlotKind::ALL.into_iter().rev()) {
            let mut req = request(kind);
            req.k = Some(12);
            req.visitor = visitor.clone();
            let shared = engine.rank_in(&visit, &req).expect("ranks in the visit");
            let alone = engine.rank(&req).expect("ranks alone");
            prop_assert_eq!(shared, alone, "{}", kind);
        }
        let mut req = SearchRequest::new(query);
        req.visitor = visitor.clone();
        let shared = engine.search_in(&visit, &req).expect("searches in the visit");
        prop_assert_eq!(shared, engine.search(&req).expect("searches alone"));
    }
}
