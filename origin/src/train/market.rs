//! What the market says about each product beyond its popularity: whether
//! interest in it is rising (trending), how fast it sells (daily sales:
//! the edge divides the units available now by it for the days of cover
//! `min_cover_days` reads), whether its category's shoppers respond to
//! price (deal), and how often shoppers buy it again (refill days) and
//! how many of them do (rebuy rate).
//!
//! Each is written into the priors as per-product values the ranker blends
//! (`trending`, `deal`) and the guardrails read.

use std::collections::HashMap;

use firstpaint_contracts::{Event, EventKind};
use firstpaint_engine::ProductRecord;

use super::sessions::{Signal, Touch};

/// Days of the recent window, and of the baseline before it.
const RECENT_DAYS: f64 = 7.0;
const BASELINE_DAYS: f64 = 28.0;
/// Fewest interactions a week is expected to bring, whatever the baseline
/// (a product with no history needs several to trend).
const MIN_EXPECTED: f64 = 2.0;
/// Poisson z-scores where trending starts, and where it is full.
const TREND_FROM_Z: f64 = 3.0;
const FULL_TREND_Z: f64 = 7.0;
/// Days of sales the sales rate is measured over.
const SALES_DAYS: f64 = 28.0;
/// A category's price response is shrunk by `products / (products + this)`.
const RESPONSE_SHRINK: f64 = 5.0;
/// Slope of log conversion on log relative price that counts as fully
/// price-responsive (conversion halves as price rises by ~40%).
const FULL_RESPONSE: f64 = 2.0;

/// Per product, 0 to 1: how far the week before `now` (the build time)
/// exceeds what the four weeks before it predict, as a Poisson z-score
/// (counts, so chance swings of a few views do not trend): 0 up to z = 3,
/// 1 from z = 7. Measured against the build time, not the newest event, so
/// a store whose events stopped arriving shows no stale trends.
pub fn trending(n: usize, sessions: &[Vec<Touch>], now: i64) -> Vec<f32> {
    let recent_from = now - (RECENT_DAYS * 86_400.0) as i64;
    let baseline_from = recent_from - (BASELINE_DAYS * 86_400.0) as i64;
    let mut recent = vec![0.0f64; n];
    let mut baseline = vec![0.0f64; n];
    for t in sessions.iter().flatten() {
        let window = if t.ts > recent_from {
            &mut recent
        } else if t.ts > baseline_from {
            &mut baseline
        } else {
            continue;
        };
        if let Some(w) = window.get_mut(t.product as usize) {
            *w += 1.0;
        }
    }
    recent
        .iter()
        .zip(&baseline)
        .map(|(r, b)| {
            let expected = (b * RECENT_DAYS / BASELINE_DAYS).max(MIN_EXPECTED);
            let z = (r - expected) / expected.sqrt();
            ((z - TREND_FROM_Z) / (FULL_TREND_Z - TREND_FROM_Z)).clamp(0.0, 1.0) as f32
        })
        .collect()
}

/// Per product: units sold per day over the last [`SALES_DAYS`] days of
/// orders; 0 for what has not sold.
pub fn daily_sales(
    products: &[ProductRecord],
    events: &[Event],
    ordinal: &HashMap<&str, u32>,
) -> Vec<f32> {
    let newest = events
        .iter()
        .map(|e| e.ts.unix_timestamp())
        .max()
        .unwrap_or(0);
    let from = newest - (SALES_DAYS * 86_400.0) as i64;
    let mut units = vec![0u64; products.len()];
    for e in events.iter().filter(|e| e.ts.unix_timestamp() > from) {
        let EventKind::Order { items, .. } = &e.kind else {
            continue;
        };
        for line in items {
            if let Some(u) = ordinal
                .get(line.product.as_str())
                .and_then(|&i| units.get_mut(i as usize))
            {
                *u += u64::from(line.qty);
            }
        }
    }
    units
        .iter()
        .map(|&sold| (sold as f64 / SALES_DAYS) as f32)
        .collect()
}

/// Fewest repeat-purchase intervals a category needs before it counts as
/// something shoppers run out of and buy again.
const MIN_REPEATS: usize = 3;

/// Per (shopper, product): when the shopper ordered it, ascending. Orders
/// without a user id cannot be linked and are left out.
pub fn orders_by_shopper<'a>(
    events: &'a [Event],
    ordinal: &HashMap<&str, u32>,
) -> HashMap<(&'a str, u32), Vec<i64>> {
    let mut bought: HashMap<(&str, u32), Vec<i64>> = HashMap::new();
    for e in events {
        let (Some(user), EventKind::Order { items, .. }) = (e.user.as_deref(), &e.kind) else {
            continue;
        };
        for line in items {
            if let Some(&p) = ordinal.get(line.product.as_str()) {
                bought
                    .entry((user, p))
                    .or_default()
                    .push(e.ts.unix_timestamp());
            }
        }
    }
    for times in bought.values_mut() {
        times.sort_unstable();
    }
    bought
}

/// Days between two orders under which they are one purchase split, not
/// a purchase made again.
const SAME_PURCHASE_DAYS: f32 = 1.0;

/// Per category index: the median days between a shopper's repeat orders
/// of the same product in that leaf category (refills: coffee, vitamins,
/// filters), or 0 where fewer than [`MIN_REPEATS`] repeats were seen;
/// `bought` from [`orders_by_shopper`].
pub fn refill_days(
    products: &[ProductRecord],
    categories: usize,
    bought: &HashMap<(&str, u32), Vec<i64>>,
) -> Vec<f32> {
    let mut gaps: Vec<Vec<f32>> = vec![Vec::new(); categories];
    for (&(_, p), times) in bought {
        let Some(leaf) = products.get(p as usize).and_then(ProductRecord::leaf) else {
            continue;
        };
        for pair in times.windows(2) {
            let days = (pair[1] - pair[0]) as f32 / 86_400.0;
            if days >= SAME_PURCHASE_DAYS {
                if let Some(g) = gaps.get_mut(leaf as usize) {
                    g.push(days);
                }
            }
        }
    }
    gaps.into_iter()
        .map(|mut g| {
            if g.len() < MIN_REPEATS {
                return 0.0;
            }
            g.sort_by(f32::total_cmp);
            g[g.len() / 2]
        })
        .collect()
}

/// Pairs a category's rebuy rate is shrunk with towards the store's.
const REBUY_PRIOR_PAIRS: f32 = 20.0;

/// Per category index: of the products a returning shopper (one who
/// ordered on two days or more) ordered in that leaf category, the share
/// they ordered again on a later day, shrunk towards the store's share by
/// [`REBUY_PRIOR_PAIRS`]; 0 where no returning shopper ordered (and
/// everywhere when no shopper returned). A
/// grocery's staples score high, a phone shop's near 0. `bought` from
/// [`orders_by_shopper`].
pub fn rebuy(
    products: &[ProductRecord],
    categories: usize,
    bought: &HashMap<(&str, u32), Vec<i64>>,
) -> Vec<f32> {
    let mut span: HashMap<&str, (i64, i64)> = HashMap::new();
    for (&(user, _), times) in bought {
        if let (Some(&first), Some(&last)) = (times.first(), times.last()) {
            let s = span.entry(user).or_insert((first, last));
            *s = (s.0.min(first), s.1.max(last));
        }
    }
    let days = |from: i64, to: i64| (to - from) as f32 / 86_400.0;
    // Per category: (pairs, pairs ordered again).
    let mut counts = vec![(0u32, 0u32); categories];
    for (&(user, p), times) in bought {
        let returning = span
            .get(user)
            .is_some_and(|&(first, last)| days(first, last) >= SAME_PURCHASE_DAYS);
        let leaf = products.get(p as usize).and_then(ProductRecord::leaf);
        let (Some(c), true) = (leaf.and_then(|l| counts.get_mut(l as usize)), returning) else {
            continue;
        };
        c.0 += 1;
        if let (Some(&first), Some(&last)) = (times.first(), times.last()) {
            if days(first, last) >= SAME_PURCHASE_DAYS {
                c.1 += 1;
            }
        }
    }
    let (pairs, again) = counts
        .iter()
        .fold((0u32, 0u32), |t, c| (t.0 + c.0, t.1 + c.1));
    if pairs == 0 {
        return vec![0.0; categories];
    }
    let store = again as f32 / pairs as f32;
    // A category nobody returned to has no evidence: 0, in full and
    // incremental builds alike (an incremental build's new category has 0).
    counts
        .into_iter()
        .map(|(n, k)| match n {
            0 => 0.0,
            n => (k as f32 + REBUY_PRIOR_PAIRS * store) / (n as f32 + REBUY_PRIOR_PAIRS),
        })
        .collect()
}

/// Per product: the mean discount per unit on its cart and order lines
/// (0 where there were none), which lowers its effective price in
/// [`price_response`] and [`deals`].
pub fn discounts(n: usize, events: &[Event], ordinal: &HashMap<&str, u32>) -> Vec<f64> {
    let mut sums = vec![(0.0f64, 0.0f64); n];
    let mut note = |id: &str, qty: u32, per_unit: f64| {
        if let Some(d) = ordinal.get(id).and_then(|&i| sums.get_mut(i as usize)) {
            d.0 += per_unit * f64::from(qty);
            d.1 += f64::from(qty);
        }
    };
    for e in events {
        match &e.kind {
            EventKind::AddToCart {
                product,
                qty,
                discount,
                ..
            } => note(product, *qty, *discount),
            EventKind::Order { items, .. } => {
                for l in items {
                    note(&l.product, l.qty, l.discount);
                }
            }
            _ => {}
        }
    }
    sums.into_iter()
        .map(|(sum, units)| if units > 0.0 { sum / units } else { 0.0 })
        .collect()
}

/// Per product: its price less its mean discount, never below 5% of it.
fn effective_prices(products: &[ProductRecord], discount: &[f64]) -> Vec<f64> {
    products
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let off = discount.get(i).copied().unwrap_or(0.0);
            (p.price - off).max(p.price * 0.05)
        })
        .collect()
}

/// Estimates, per leaf category, how conversion (orders per view) moves
/// with price relative to the category's median, by weighted least squares
/// of log conversion on log relative price over its products (weighted by
/// views); the slope, where negative, is the category's response (0 to 1),
/// shrunk for categories of few products. `discount` ([`discounts`])
/// lowers a product's effective price.
pub fn price_response(
    products: &[ProductRecord],
    categories: usize,
    sessions: &[Vec<Touch>],
    discount: &[f64],
) -> Vec<f32> {
    let n = products.len();
    let (mut views, mut orders) = (vec![0.0f64; n], vec![0.0f64; n]);
    for t in sessions.iter().flatten() {
        let counter = match t.signal {
            Signal::View => &mut views,
            Signal::Order => &mut orders,
            Signal::Cart => continue,
        };
        if let Some(c) = counter.get_mut(t.product as usize) {
            *c += 1.0;
        }
    }
    let price = effective_prices(products, discount);
    let mut by_category = vec![0.0; categories];
    for (c, list) in priced_leaf_members(products, categories).iter().enumerate() {
        let Some(median) = median(list.iter().map(|&i| price[i])) else {
            continue;
        };
        let points: Vec<(f64, f64, f64)> = list
            .iter()
            .filter(|&&i| views[i] > 0.0)
            .map(|&i| {
                let x = (price[i] / median).ln();
                let y = ((orders[i] + 0.5) / (views[i] + 1.0)).ln();
                (x, y, views[i])
            })
            .collect();
        let response = match slope(&points) {
            Some(b) if b < 0.0 => {
                let m = points.len() as f64;
                (-b / FULL_RESPONSE).min(1.0) * m / (m + RESPONSE_SHRINK)
            }
            _ => 0.0,
        };
        by_category[c] = response as f32;
    }
    by_category
}

/// Per product: how far below its leaf category's median effective price
/// it sells, times the category's `response` ([`price_response`]). Only
/// the catalog's prices and the discounts: an incremental build recomputes
/// it for changed prices without the events.
pub fn deals(
    products: &[ProductRecord],
    categories: usize,
    discount: &[f64],
    response: &[f32],
) -> Vec<f32> {
    let price = effective_prices(products, discount);
    let mut deal = vec![0.0; products.len()];
    for (c, list) in priced_leaf_members(products, categories).iter().enumerate() {
        let Some(median) = median(list.iter().map(|&i| price[i])) else {
            continue;
        };
        let response = f64::from(response.get(c).copied().unwrap_or(0.0));
        for &i in list {
            let below = (median / price[i]).ln().clamp(0.0, 1.0);
            deal[i] = (below * response) as f32;
        }
    }
    deal
}

/// Per product: its price relative to its leaf category's median, as a
/// natural log (0 at the median, -0.69 at half of it), clamped to ±3; 0
/// for a product without a price or category. The edge keeps a shopper's
/// price band on this scale, so it carries across categories.
pub fn price_levels(products: &[ProductRecord], categories: usize) -> Vec<f32> {
    let mut out = vec![0.0; products.len()];
    for list in priced_leaf_members(products, categories) {
        let Some(median) = median(list.iter().map(|&i| products[i].price)) else {
            continue;
        };
        for i in list {
            out[i] = ((products[i].price / median).ln() as f32).clamp(-3.0, 3.0);
        }
    }
    out
}

/// Per category index: the products with a price whose leaf it is.
fn priced_leaf_members(products: &[ProductRecord], categories: usize) -> Vec<Vec<usize>> {
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); categories];
    for (i, p) in products.iter().enumerate() {
        if let Some(list) = p.leaf().and_then(|c| members.get_mut(c as usize)) {
            if p.price > 0.0 {
                list.push(i);
            }
        }
    }
    members
}

/// The median (upper, for an even count) of `values`; `None` when empty.
fn median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut sorted: Vec<f64> = values.collect();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied()
}

/// The weighted least-squares slope of y on x over (x, y, weight) points;
/// `None` with fewer than three points or no spread in x.
fn slope(points: &[(f64, f64, f64)]) -> Option<f64> {
    if points.len() < 3 {
        return None;
    }
    let w: f64 = points.iter().map(|p| p.2).sum();
    let mx = points.iter().map(|p| p.0 * p.2).sum::<f64>() / w;
    let my = points.iter().map(|p| p.1 * p.2).sum::<f64>() / w;
    let sxx: f64 = points.iter().map(|p| p.2 * (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| p.2 * (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 1e-9).then(|| sxy / sxx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(product: u32, signal: Signal, day: i64) -> Touch {
        Touch {
            product,
            signal,
            ts: day * 86_400,
        }
    }

    #[test]
    fn rising_interest_trends_and_steady_interest_does_not() {
        let mut s = Vec::new();
        for day in 0..35 {
            s.push(touch(0, Signal::View, day)); // steady
            if day >= 29 {
                for _ in 0..10 {
                    s.push(touch(1, Signal::View, day)); // surging
                }
            }
        }
        s.push(touch(2, Signal::View, 34)); // one view
        let now = 35 * 86_400;
        let t = trending(3, &[s.clone()], now);
        assert_eq!(t[0], 0.0);
        assert!(t[1] > 0.9, "{t:?}");
        assert_eq!(t[2], 0.0, "one view is not a trend: {t:?}");
        // A month later, with no new events, nothing trends.
        let stale = trending(3, &[s], now + 30 * 86_400);
        assert!(stale.iter().all(|&x| x == 0.0), "{stale:?}");
    }

    #[test]
    fn the_slope_of_a_line_is_found() {
        let line: Vec<(f64, f64, f64)> = (0..5)
            .map(|i| (f64::from(i), 3.0 - 2.0 * f64::from(i), 1.0))
            .collect();
        assert!((slope(&line).unwrap() + 2.0).abs() < 1e-9);
        assert_eq!(slope(&line[..2]), None);
    }
}
