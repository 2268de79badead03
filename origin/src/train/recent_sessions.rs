//! The recent sessions the edge searches for the session neighbourhood
//! (`firstpaint_engine::signals::neighbourhood`): the most recent
//! [`MAX_SESSIONS`] sessions that touched at least two products, each as
//! its last [`MAX_PRODUCTS`] products (each once, at its last touch), oldest
//! session first.

use firstpaint_engine::SessionsSection;

use super::sessions::Touch;

/// Sessions kept: plenty for the neighbourhood's sample of the 2,500 most
/// recent sessions sharing a product, few enough for the store budget
/// (about 20 bytes a session at 100k products, see BENCHMARKS.md).
pub const MAX_SESSIONS: usize = 100_000;
/// Products kept per session, the latest: a neighbour's products far from
/// what it shares with the shopper count little (the edge reads no more).
pub const MAX_PRODUCTS: usize = firstpaint_engine::limits::MAX_SESSION_PRODUCTS;

/// The section from `sessions` (each one's touches in time order).
pub fn build(sessions: &[Vec<Touch>]) -> SessionsSection {
    let mut kept: Vec<(i64, Vec<u32>)> = sessions
        .iter()
        .filter_map(|touches| {
            let last = touches.last()?.ts;
            let products = last_touches(touches);
            (products.len() >= 2).then_some((last, products))
        })
        .collect();
    // Oldest first; a stable sort keeps sessions ending at the same second
    // in input order.
    kept.sort_by_key(|s| s.0);
    let skip = kept.len().saturating_sub(MAX_SESSIONS);
    let mut out = SessionsSection::default();
    for (last, products) in kept.into_iter().skip(skip) {
        out.hours
            .push(u32::try_from(last.div_euclid(3_600).max(0)).unwrap_or(u32::MAX));
        out.products.push(products);
    }
    out
}

/// A session's products, each once at its last touch, in touch order, the
/// latest [`MAX_PRODUCTS`] of them.
fn last_touches(touches: &[Touch]) -> Vec<u32> {
    let mut latest_first: Vec<u32> = Vec::new();
    for t in touches.iter().rev() {
        if !latest_first.contains(&t.product) {
            latest_first.push(t.product);
            if latest_first.len() == MAX_PRODUCTS {
                break;
            }
        }
    }
    latest_first.reverse();
    latest_first
}

#[cfg(test)]
mod tests {
    use super::super::sessions::views_from;
    use super::*;

    fn session(items: &[u32], start: i64) -> Vec<Touch> {
        views_from(items, start, 60)
    }

    #[test]
    fn sessions_are_kept_oldest_first_with_each_product_at_its_last_touch() {
        let sessions = vec![
            session(&[5, 6, 5, 7], 36_000),
            session(&[1], 0),
            session(&[2, 3], 3_600),
            session(&[4, 4], 7_200),
        ];
        let s = build(&sessions);
        assert_eq!(s.products, vec![vec![2, 3], vec![6, 5, 7]]);
        assert_eq!(s.hours, vec![1, 10]);
    }

    #[test]
    fn long_sessions_keep_their_latest_products() {
        let items: Vec<u32> = (0..100).collect();
        let s = build(&[session(&items, 0)]);
        assert_eq!(s.products[0].len(), MAX_PRODUCTS);
        assert_eq!(s.products[0].last(), Some(&99));
        assert_eq!(s.products[0].first(), Some(&(100 - MAX_PRODUCTS as u32)));
    }
}
