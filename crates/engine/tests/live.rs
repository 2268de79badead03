//! Live data over a bundle: what an overlay changes, what it leaves, and
//! what it reports. (That every guardrail sees live values, on every
//! surface, is `guardrails.rs`'s property.)

mod support;

use firstpaint_bundle::LiveHeader;
use firstpaint_contracts::{LiveUpdate, Stock};
use firstpaint_engine::{decode_updates, encode_updates, SlotKind, Template};
use support::{engine, id, ordinal_in, request, NOW};

const HEADER: LiveHeader = LiveHeader {
    sequence: 4,
    created_at: NOW,
    expires_at: NOW + 60,
};

fn update(ord: u32) -> LiveUpdate {
    LiveUpdate {
        id: id(ord),
        price: None,
        buyable: None,
        inventory: None,
    }
}

#[test]
fn prices_and_stock_are_the_overlays_where_it_has_them_and_the_bundles_elsewhere() {
    let bundle = engine();
    let (changed, kept) = (
        ordinal_in("Kitchen/Coffee", 1),
        ordinal_in("Kitchen/Coffee", 2),
    );
    let updates = [
        LiveUpdate {
            price: Some(3.5),
            inventory: Some(vec![
                Stock {
                    location: "south".into(),
                    available: 7,
                    lead_days: 2,
                },
                Stock {
                    location: "a new warehouse".into(),
                    available: 4,
                    lead_days: 1,
                },
            ]),
            ..update(changed)
        },
        LiveUpdate {
            id: "NOT-IN-THIS-BUNDLE".into(),
            ..update(0)
        },
    ];
    let live = bundle.with_live(&HEADER, &updates);
    let (before, after) = (bundle.store(), live.store());
    let p = after.product_at(changed).unwrap();
    assert_eq!((p.price(), p.available()), (3.5, 11));
    let stock: Vec<_> = p.stock().map(|s| (s.location, s.available)).collect();
    assert_eq!(
        stock,
        [(1, 7), (2, 4)],
        "the new location gets the next index"
    );
    // The bundle's engine is untouched; a product without an update reads
    // the bundle's columns.
    let q = before.product_at(changed).unwrap();
    assert_ne!(q.price(), 3.5);
    let (x, y) = (
        before.product_at(kept).unwrap(),
        after.product_at(kept).unwrap(),
    );
    assert_eq!((x.price(), x.available()), (y.price(), y.available()));
    assert_eq!(x.stock().count(), y.stock().count());
    let report = live.live().unwrap();
    assert_eq!(
        (
            report.sequence,
            report.updates,
            report.applied,
            report.unknown_products,
            report.new_locations
        ),
        (4, 2, 1, 1, 1)
    );
    assert!(bundle.live().is_none());
    // What a page renders is the live price.
    let template = Template::parse("{{price}}").unwrap();
    let mut out = String::new();
    template.render(p, 1, "home", &mut out);
    assert_eq!(out, "£3.50");
}

#[test]
fn a_product_taken_off_sale_leaves_every_slot_and_search_until_it_is_back() {
    let bundle = engine();
    let listed = |engine: &firstpaint_engine::Engine| -> Vec<String> {
        let mut req = request(SlotKind::Category);
        req.category = Some("Electronics/Phones".into());
        req.k = Some(24);
        engine
            .rank(&req)
            .unwrap()
            .items
            .into_iter()
            .map(|i| i.id)
            .collect()
    };
    // The phone the category page lists first.
    let first = listed(&bundle)
        .first()
        .cloned()
        .expect("the category lists phones");
    let phone = bundle.store().ordinal(&first).unwrap();
    let shown = |engine: &firstpaint_engine::Engine| {
        let mut search = firstpaint_engine::SearchRequest::new("smartphone");
        search.per_page = 48;
        let found = engine
            .search(&search)
            .unwrap()
            .items
            .iter()
            .any(|i| i.id == first);
        (listed(engine).contains(&first), found)
    };
    assert_eq!(shown(&bundle), (true, true));
    let off = [LiveUpdate {
        buyable: Some(false),
        ..update(phone)
    }];
    let off_sale = bundle.with_live(&HEADER, &off);
    assert_eq!(shown(&off_sale), (false, false));
    let mut again = off.to_vec();
    again.push(LiveUpdate {
        buyable: Some(true),
        ..update(phone)
    });
    assert_eq!(shown(&bundle.with_live(&HEADER, &again)), (true, true));
}

#[test]
fn out_of_stock_now_is_out_of_the_slots_and_days_of_cover_follow_the_units() {
    let bundle = engine_with_cover();
    // A product that sells: its cover is its units over its daily sales.
    let store = bundle.store();
    let ord = (0..store.catalog().len() as u32)
        .find(|&o| store.cover_days(o) < f32::MAX && store.product_at(o).unwrap().available() > 4)
        .expect("the store has products that sell");
    let units = store.product_at(ord).unwrap().available();
    let cover = store.cover_days(ord);
    let half = [LiveUpdate {
        inventory: Some(vec![Stock {
            location: "north".into(),
            available: units / 2,
            lead_days: 1,
        }]),
        ..update(ord)
    }];
    let live = bundle.with_live(&HEADER, &half);
    let expected = cover * (units / 2) as f32 / units as f32;
    assert!((live.store().cover_days(ord) - expected).abs() < 1e-3 * cover.max(1.0));
    // None left: no slot shows it.
    let gone = [LiveUpdate {
        inventory: Some(Vec::new()),
        ..update(ord)
    }];
    let live = bundle.with_live(&HEADER, &gone);
    for kind in SlotKind::ALL {
        let mut req = request(kind);
        req.k = Some(24);
        let items = live.rank(&req).unwrap().items;
        assert!(items.iter().all(|i| i.id != id(ord)), "{kind} shows it");
    }
}

fn engine_with_cover() -> firstpaint_engine::Engine {
    support::engine_with(|r| r.min_inventory = 1)
}

#[test]
fn updates_survive_the_payload_codec() {
    let updates = vec![
        LiveUpdate {
            price: Some(9.99),
            buyable: Some(false),
            inventory: Some(vec![Stock {
                location: "north".into(),
                available: 3,
                lead_days: 0,
            }]),
            ..update(3)
        },
        update(4),
    ];
    let payload = encode_updates(&updates).unwrap();
    assert_eq!(decode_updates(&payload).unwrap(), updates);
    let err = decode_updates(&payload[..payload.len() - 1]).unwrap_err();
    assert!(err.to_string().contains("LIVE"), "{err}");
}
