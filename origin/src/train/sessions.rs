//! Grouping events into sessions of product interactions.

use std::collections::HashMap;

use firstpaint_contracts::{Event, EventKind};

/// How strongly an event says "interested in this product".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Product page view.
    View,
    /// Added to cart.
    Cart,
    /// Ordered (per unit line).
    Order,
}

/// One product interaction inside a session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Touch {
    /// Product ordinal.
    pub product: u32,
    /// What happened.
    pub signal: Signal,
    /// Unix seconds.
    pub ts: i64,
}

/// Each session's product touches in time order, sessions in first-seen order.
/// Events about unknown products are skipped.
pub fn group(events: &[Event], ordinal: &HashMap<&str, u32>) -> Vec<Vec<Touch>> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut sessions: Vec<Vec<Touch>> = Vec::new();
    for e in events {
        let ts = e.ts.unix_timestamp();
        let signal = match &e.kind {
            EventKind::PageView { .. } => Signal::View,
            EventKind::AddToCart { .. } => Signal::Cart,
            EventKind::Order { .. } => Signal::Order,
            _ => continue,
        };
        let slot = *index.entry(e.session.as_str()).or_insert_with(|| {
            sessions.push(Vec::new());
            sessions.len() - 1
        });
        let Some(session) = sessions.get_mut(slot) else {
            continue;
        };
        for id in e.kind.products() {
            if let Some(&product) = ordinal.get(id) {
                session.push(Touch {
                    product,
                    signal,
                    ts,
                });
            }
        }
    }
    for s in &mut sessions {
        s.sort_by_key(|t| t.ts);
    }
    sessions
}

/// A session that viewed `products` in order (for tests).
#[cfg(test)]
pub(crate) fn views(products: &[u32]) -> Vec<Touch> {
    products
        .iter()
        .map(|&product| Touch {
            product,
            signal: Signal::View,
            ts: 0,
        })
        .collect()
}

/// Each order's products as one basket, for bought-together lists.
pub fn baskets(events: &[Event], ordinal: &HashMap<&str, u32>) -> Vec<Vec<Touch>> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Order { items, .. } => Some(
                items
                    .iter()
                    .filter_map(|line| ordinal.get(line.product.as_str()))
                    .map(|&product| Touch {
                        product,
                        signal: Signal::Order,
                        ts: e.ts.unix_timestamp(),
                    })
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}
