//! Shoppers who reorder the same coffee every two weeks: the repeat orders
//! from which the origin learns a category's repurchase interval, and which
//! the home page's refill offers are tested against.

use firstpaint_contracts::{Consent, Event, EventKind, OrderLine};
use time::Duration;

use super::catalog::Generated;
use super::vocab::Leaf;
use super::Spec;

/// The leaf whose products are reordered.
const LEAF: &str = "Coffee Beans";
/// Shoppers who reorder, each one product.
const SHOPPERS: usize = 4;
/// Only products with this many units (over all locations) are reordered.
const MIN_AVAILABLE: u64 = 10;
/// Days of each order after the shopper's first.
const ORDER_DAYS: [i64; 3] = [0, 14, 27];
/// The first shopper's first order, in days before the store's "now".
const FIRST_ORDER_DAYS_AGO: i64 = 54;

/// The repeat orders: shopper `k` (user `u90{k+1}`) orders the `k`-th
/// well-stocked product of the leaf once, then again after two weeks and
/// after about four, one session per order.
pub fn generate(leaves: &[Leaf], products: &[Generated], spec: &Spec) -> Vec<Event> {
    let Some(leaf) = leaves.iter().position(|l| l.name == LEAF) else {
        return Vec::new();
    };
    let reordered = products
        .iter()
        .filter(|g| g.leaf == leaf && g.product.available() >= MIN_AVAILABLE)
        .take(SHOPPERS);
    let first = spec.now - Duration::days(FIRST_ORDER_DAYS_AGO) + Duration::minutes(9 * 60 + 30);
    let mut out = Vec::new();
    for (k, g) in reordered.enumerate() {
        let start = first + Duration::days(k as i64) + Duration::hours(k as i64);
        for (j, days) in ORDER_DAYS.iter().enumerate() {
            let n = 900 + 10 * k + j;
            out.push(Event {
                id: None,
                visitor: None,
                session: format!("s{n}"),
                user: Some(format!("u{}", 901 + k)),
                ts: start + Duration::days(*days),
                consent: Consent {
                    personalization: true,
                    analytics: true,
                },
                region: "GB".into(),
                kind: EventKind::Order {
                    order: format!("o{n}"),
                    items: vec![OrderLine {
                        product: g.product.id.clone(),
                        qty: 1,
                        price: g.product.price,
                        discount: 0.0,
                    }],
                    fulfilment: Some("delivered".into()),
                    returned: false,
                },
            });
        }
    }
    out
}
