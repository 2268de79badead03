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

/// Each session's events in time order (ties in input order), sessions in
/// first-seen order.
pub fn by_session(events: &[Event]) -> Vec<Vec<&Event>> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut sessions: Vec<Vec<&Event>> = Vec::new();
    for e in events {
        let slot = *index.entry(e.session.as_str()).or_insert_with(|| {
            sessions.push(Vec::new());
            sessions.len() - 1
        });
        if let Some(session) = sessions.get_mut(slot) {
            session.push(e);
        }
    }
    for s in &mut sessions {
        s.sort_by_key(|e| e.ts);
    }
    sessions
}

/// Each session's product touches in time order, sessions in first-seen
/// order; sessions without a page view, cart or order event are left out
/// (one with only category pages or unknown products is kept, empty).
/// Events about unknown products are skipped.
pub fn group(events: &[Event], ordinal: &HashMap<&str, u32>) -> Vec<Vec<Touch>> {
    let touching = |e: &&Event| {
        matches!(
            e.kind,
            EventKind::PageView { .. } | EventKind::AddToCart { .. } | EventKind::Order { .. }
        )
    };
    by_session(events)
        .into_iter()
        .filter(|session| session.iter().any(touching))
        .map(|session| {
            let mut touches = Vec::new();
            for e in session {
                let signal = match &e.kind {
                    EventKind::PageView { .. } => Signal::View,
                    EventKind::AddToCart { .. } => Signal::Cart,
                    EventKind::Order { .. } => Signal::Order,
                    _ => continue,
                };
                let ts = e.ts.unix_timestamp();
                touches.extend(e.kind.products().into_iter().filter_map(|id| {
                    ordinal.get(id).map(|&product| Touch {
                        product,
                        signal,
                        ts,
                    })
                }));
            }
            touches
        })
        .collect()
}

/// A session that viewed `products` in order, all at once (for tests).
#[cfg(test)]
pub(crate) fn views(products: &[u32]) -> Vec<Touch> {
    views_from(products, 0, 0)
}

/// A session that viewed `products` in order, the first at `start` (unix
/// seconds), one every `every` seconds (for tests).
#[cfg(test)]
pub(crate) fn views_from(products: &[u32], start: i64, every: i64) -> Vec<Touch> {
    (0..)
        .zip(products)
        .map(|(i, &product)| Touch {
            product,
            signal: Signal::View,
            ts: start + every * i,
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
