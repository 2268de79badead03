//! What the store's own shoppers found for a query: after a search, the
//! products the same session viewed, put in the cart or ordered, before
//! its next search and within half an hour, are evidence that the query
//! meant them.
//!
//! A session counts once per (query, product), with its strongest action
//! (view 1, cart 3, order 5). A query is learned once at least
//! [`MIN_SESSIONS`] sessions searched it, and a product for it once at least
//! [`MIN_PRODUCT_SESSIONS`] of those engaged with it: what a single shopper
//! did says nothing of the query, and is not kept. The edge blends the
//! strength into the query's results (the `learned` search weight) and,
//! when the words match nothing, shows the learned products rather than
//! nothing.

use std::collections::HashMap;

use firstpaint_contracts::{Event, EventKind, Product};
use firstpaint_engine::text::normalize;

/// Sessions that searched a query before it is learned.
pub const MIN_SESSIONS: usize = 3;
/// Sessions that engaged with a product after the query before it counts.
pub const MIN_PRODUCT_SESSIONS: usize = 2;
/// Products kept per query, the strongest first.
pub const MAX_PRODUCTS: usize = 8;
/// How long after a search what the session does still answers it.
const WINDOW_SECONDS: i64 = 30 * 60;

/// A learned query: its normalized terms (space-separated) and products
/// (ordinals) with a strength in (0, 1], strongest first.
pub type Learned = (String, Vec<(u32, f32)>);

/// A learned query with product ids for ordinals: what a build's state
/// keeps, as ordinals change with the catalog.
pub type LearnedById = (String, Vec<(String, f32)>);

/// `learned` with each ordinal replaced by the id of `products` there.
pub fn to_ids(learned: &[Learned], products: &[Product]) -> Vec<LearnedById> {
    learned
        .iter()
        .map(|(query, found)| {
            let ids = found
                .iter()
                .filter_map(|&(p, s)| Some((products.get(p as usize)?.id.clone(), s)))
                .collect();
            (query.clone(), ids)
        })
        .collect()
}

/// `learned` with each id replaced by its ordinal in `ordinal` (products
/// no longer in the catalog are left out).
pub fn to_ordinals(learned: &[LearnedById], ordinal: &HashMap<&str, u32>) -> Vec<Learned> {
    learned
        .iter()
        .map(|(query, found)| {
            let ords = found
                .iter()
                .filter_map(|(id, s)| Some((*ordinal.get(id.as_str())?, *s)))
                .collect();
            (query.clone(), ords)
        })
        .collect()
}

/// What one session did after one query: its normalized terms
/// (space-separated) and the products it engaged with in the window, each
/// with its strongest action (view 1, cart 3, order 5).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The query's normalized terms, space-separated.
    pub query: String,
    /// The query as the session first typed it.
    pub typed: String,
    /// When the session first searched it (unix seconds).
    pub at: i64,
    /// Products (ordinals in `ordinal`) with the strongest action on each.
    pub engaged: HashMap<u32, f32>,
}

/// Each session's answers to its queries in `events` (in file order), a
/// query once per session however often it searched it, sessions in id
/// order and each session's queries in the order first searched.
pub fn answers(events: &[Event], ordinal: &HashMap<&str, u32>) -> Vec<Answer> {
    let mut by_session: HashMap<&str, Vec<&Event>> = HashMap::new();
    for e in events {
        by_session.entry(e.session.as_str()).or_default().push(e);
    }
    let mut sessions: Vec<(&str, Vec<&Event>)> = by_session.into_iter().collect();
    sessions.sort_unstable_by_key(|(s, _)| *s);
    let mut out = Vec::new();
    for (_, mut events) in sessions {
        events.sort_by_key(|e| e.ts);
        // Where each of this session's queries is in `out`.
        let mut at: HashMap<String, usize> = HashMap::new();
        let mut searched: Option<Answer> = None;
        let mut close = |open: Option<Answer>, out: &mut Vec<Answer>| {
            let Some(open) = open else { return };
            match at.get(&open.query).and_then(|&i| out.get_mut(i)) {
                Some(seen) => {
                    for (product, weight) in open.engaged {
                        let w = seen.engaged.entry(product).or_insert(0.0);
                        *w = w.max(weight);
                    }
                }
                None => {
                    at.insert(open.query.clone(), out.len());
                    out.push(open);
                }
            }
        };
        for e in events {
            let at = e.ts.unix_timestamp();
            if let EventKind::Search { query, .. } = &e.kind {
                close(searched.take(), &mut out);
                let terms = normalize::query_key(query);
                if !terms.is_empty() {
                    searched = Some(Answer {
                        query: terms,
                        typed: query.clone(),
                        at,
                        engaged: HashMap::new(),
                    });
                }
                continue;
            }
            let Some(open) = searched.as_mut() else {
                continue;
            };
            if at - open.at > WINDOW_SECONDS {
                close(searched.take(), &mut out);
                continue;
            }
            let mut engage = |id: &str, weight: f32| {
                if let Some(&p) = ordinal.get(id) {
                    let w = open.engaged.entry(p).or_insert(0.0);
                    *w = w.max(weight);
                }
            };
            match &e.kind {
                EventKind::PageView {
                    product: Some(id), ..
                } => engage(id, 1.0),
                EventKind::AddToCart { product, .. } => engage(product, 3.0),
                EventKind::Order { items, .. } => {
                    for line in items {
                        engage(&line.product, 5.0);
                    }
                }
                _ => {}
            }
        }
        close(searched.take(), &mut out);
    }
    out
}

/// The learned queries of `events` (in file order), products by their
/// ordinal in `ordinal`, sorted by query.
pub fn learn(events: &[Event], ordinal: &HashMap<&str, u32>) -> Vec<Learned> {
    // query -> (sessions that searched it, product -> (sessions, weight))
    type Evidence = (usize, HashMap<u32, (usize, f32)>);
    let mut queries: HashMap<String, Evidence> = HashMap::new();
    for answer in answers(events, ordinal) {
        let entry = queries.entry(answer.query).or_default();
        entry.0 += 1;
        for (product, weight) in answer.engaged {
            let p = entry.1.entry(product).or_default();
            p.0 += 1;
            p.1 += weight;
        }
    }
    let mut learned: Vec<Learned> = queries
        .into_iter()
        .filter(|(_, (n, _))| *n >= MIN_SESSIONS)
        .filter_map(|(query, (_, products))| {
            let mut products: Vec<(u32, f32)> = products
                .into_iter()
                .filter(|(_, (n, _))| *n >= MIN_PRODUCT_SESSIONS)
                .map(|(p, (_, w))| (p, w))
                .collect();
            products.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            products.truncate(MAX_PRODUCTS);
            let top = products.first()?.1;
            let products = products.into_iter().map(|(p, w)| (p, w / top)).collect();
            Some((query, products))
        })
        .collect();
    learned.sort_by(|a, b| a.0.cmp(&b.0));
    learned
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn event(session: &str, minute: i64, kind: &str) -> Event {
        let ts = time::OffsetDateTime::from_unix_timestamp(1_790_000_000 + minute * 60).unwrap();
        let json = format!(
            r#"{{"session":"{session}","ts":"{}","consent":{{"personalization":true,"analytics":true}},"region":"GB",{kind}}}"#,
            ts.format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        );
        serde_json::from_str(&json).unwrap()
    }

    fn search(session: &str, minute: i64, q: &str) -> Event {
        event(
            session,
            minute,
            &format!(r#""type":"search","query":"{q}","results":3"#),
        )
    }

    fn view(session: &str, minute: i64, p: &str) -> Event {
        event(
            session,
            minute,
            &format!(r#""type":"page_view","product":"{p}""#),
        )
    }

    fn cart(session: &str, minute: i64, p: &str) -> Event {
        event(
            session,
            minute,
            &format!(r#""type":"add_to_cart","product":"{p}","qty":1,"price":5.0"#),
        )
    }

    #[test]
    fn a_query_learns_what_several_sessions_engaged_with_after_it() {
        let ordinal: HashMap<&str, u32> = [("A", 0), ("B", 1), ("C", 2)].into();
        let mut events = Vec::new();
        for s in ["s1", "s2", "s3"] {
            events.push(search(s, 0, "Skillets"));
            events.push(view(s, 1, "A"));
        }
        // Two carts of B (stronger than views of A), one view of C (one
        // session only: not kept), and a view of B after the half hour.
        events.push(cart("s1", 2, "B"));
        events.push(cart("s2", 2, "B"));
        events.push(view("s3", 2, "C"));
        events.push(view("s3", 45, "B"));
        // Another query cuts the first one short: what follows is its.
        events.push(search("s4", 0, "skillet"));
        events.push(search("s4", 1, "kettle"));
        events.push(view("s4", 2, "A"));
        // One shopper searching again and again is one session.
        for minute in [3, 5, 7] {
            events.push(search("s5", minute, "lamp"));
            events.push(view("s5", minute + 1, "C"));
        }
        let learned = learn(&events, &ordinal);
        assert_eq!(learned.len(), 1, "{learned:?}");
        let (query, products) = &learned[0];
        assert_eq!(query, "skillet");
        assert_eq!(products, &[(1, 1.0), (0, 0.5)]);
    }
}
