//! Popularity per category and freshness, the priors for cold starts,
//! with the market signals of [`super::market`].

use std::collections::HashMap;

use firstpaint_contracts::Event;
use firstpaint_engine::{PriorsSection, ProductRecord};
use serde::{Deserialize, Serialize};

use super::sessions::{Signal, Touch};
use super::{market, returns};

/// Candidates kept per category and overall.
const TOP_PER_CATEGORY: usize = 64;
const TOP_OVERALL: usize = 256;
/// Interest halves every this many days before the newest event.
const HALF_LIFE_DAYS: f64 = 14.0;
/// A product listed within this many days and not yet touched borrows
/// [`COLD_SHARE`] of its category's median popularity.
const NEW_DAYS: f64 = 30.0;
/// Share of the category's median popularity a new product starts with.
const COLD_SHARE: f32 = 0.5;
/// Freshness decays with this time constant, in days.
const FRESHNESS_DAYS: f64 = 30.0;

fn weight(signal: Signal) -> f64 {
    match signal {
        Signal::View => 1.0,
        Signal::Cart => 3.0,
        Signal::Order => 5.0,
    }
}

/// What the events say of each product and category, kept apart from the
/// catalog so an incremental build (`crate::incremental`) can carry it to
/// a changed catalog without reading the events again, and
/// [`Evidence::priors`] recomputes what follows from prices, categories
/// and listing dates. Per product vectors are indexed by ordinal; per
/// category ones by category index.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Per product: interest (views, carts and orders by weight), halving
    /// every [`HALF_LIFE_DAYS`] before the newest event.
    pub interest: Vec<f64>,
    /// Per product: see [`market::trending`].
    pub trending: Vec<f32>,
    /// Per product: see [`market::daily_sales`].
    pub daily_sales: Vec<f32>,
    /// Per product: see [`market::discounts`].
    pub discount: Vec<f64>,
    /// Per category: see [`market::price_response`].
    pub price_response: Vec<f32>,
    /// Per category: see [`market::refill_days`].
    pub refill_days: Vec<f32>,
    /// Per category: see [`market::rebuy`].
    pub rebuy: Vec<f32>,
    /// By position back: see [`returns::shares`].
    pub returns: Vec<f32>,
    /// See [`returns::strength`].
    pub going_back_strength: f32,
}

impl Evidence {
    /// Reads the evidence from the session touches and the raw `events`.
    pub fn gather(
        products: &[ProductRecord],
        categories: usize,
        sessions: &[Vec<Touch>],
        events: &[Event],
        ordinal: &HashMap<&str, u32>,
        now: i64,
    ) -> Evidence {
        let n = products.len();
        let newest = sessions.iter().flatten().map(|t| t.ts).max().unwrap_or(now);
        let mut interest = vec![0.0f64; n];
        for t in sessions.iter().flatten() {
            let age_days = (newest - t.ts).max(0) as f64 / 86_400.0;
            if let Some(r) = interest.get_mut(t.product as usize) {
                *r += weight(t.signal) * 0.5f64.powf(age_days / HALF_LIFE_DAYS);
            }
        }
        let discount = market::discounts(n, events, ordinal);
        let bought = market::orders_by_shopper(events, ordinal);
        let returns = returns::shares(sessions);
        let going_back_strength = returns::strength(sessions, returns.iter().sum());
        Evidence {
            interest,
            trending: market::trending(n, sessions, now),
            daily_sales: market::daily_sales(products, events, ordinal),
            price_response: market::price_response(products, categories, sessions, &discount),
            discount,
            refill_days: market::refill_days(products, categories, &bought),
            rebuy: market::rebuy(products, categories, &bought),
            returns,
            going_back_strength,
        }
    }

    /// The priors of `products` at time `now`, from this evidence (whose
    /// per-product vectors follow `products`).
    pub fn priors(&self, products: &[ProductRecord], categories: usize, now: i64) -> PriorsSection {
        let n = products.len();
        let raw = &self.interest;
        // Popularity within the leaf category, log-scaled to 0..1.
        let mut leaf_max = vec![0.0f64; categories];
        for (p, r) in products.iter().zip(raw) {
            if let Some(m) = p.leaf().and_then(|c| leaf_max.get_mut(c as usize)) {
                *m = m.max(r.ln_1p());
            }
        }
        let mut popularity: Vec<f32> = products
            .iter()
            .zip(raw)
            .map(|(p, r)| {
                let m = p
                    .leaf()
                    .and_then(|c| leaf_max.get(c as usize))
                    .copied()
                    .unwrap_or(0.0);
                if m > 0.0 {
                    (r.ln_1p() / m) as f32
                } else {
                    0.0
                }
            })
            .collect();
        // A product listed too recently to have been seen borrows a share of
        // its category's typical popularity instead of starting at zero (an
        // old product nobody touched keeps its zero: that is evidence).
        let mut touched: Vec<Vec<f32>> = vec![Vec::new(); categories];
        for ((p, r), &pop) in products.iter().zip(raw).zip(&popularity) {
            if let Some(list) = p.leaf().and_then(|c| touched.get_mut(c as usize)) {
                if *r > 0.0 {
                    list.push(pop);
                }
            }
        }
        let typical: Vec<f32> = touched
            .into_iter()
            .map(|mut list| {
                list.sort_by(f32::total_cmp);
                list.get(list.len() / 2).copied().unwrap_or(0.0)
            })
            .collect();
        for ((p, r), pop) in products.iter().zip(raw).zip(popularity.iter_mut()) {
            let new = now - p.created_at <= (NEW_DAYS * 86_400.0) as i64;
            if *r == 0.0 && new {
                let c = p.leaf().and_then(|c| typical.get(c as usize)).copied();
                *pop = COLD_SHARE * c.unwrap_or(0.0);
            }
        }
        let freshness: Vec<f32> = products
            .iter()
            .map(|p| {
                let age_days = (now - p.created_at).max(0) as f64 / 86_400.0;
                (-age_days / FRESHNESS_DAYS).exp() as f32
            })
            .collect();
        let score = |i: usize| {
            0.8 * f64::from(popularity.get(i).copied().unwrap_or(0.0))
                + 0.2 * f64::from(freshness.get(i).copied().unwrap_or(0.0))
        };
        let mut top_by_category: Vec<Vec<u32>> = vec![Vec::new(); categories];
        for (i, p) in products.iter().enumerate() {
            for &c in &p.category_path {
                if let Some(list) = top_by_category.get_mut(c as usize) {
                    list.push(i as u32);
                }
            }
        }
        for list in &mut top_by_category {
            list.sort_by(|&a, &b| {
                score(b as usize)
                    .total_cmp(&score(a as usize))
                    .then(a.cmp(&b))
            });
            list.truncate(TOP_PER_CATEGORY);
        }
        let mut top_overall: Vec<u32> = (0..n as u32).collect();
        top_overall.sort_by(|&a, &b| {
            let ra = raw.get(a as usize).copied().unwrap_or(0.0);
            let rb = raw.get(b as usize).copied().unwrap_or(0.0);
            rb.total_cmp(&ra).then(a.cmp(&b))
        });
        top_overall.truncate(TOP_OVERALL);
        let trending = self.trending.clone();
        let mut top_trending: Vec<u32> = (0..n as u32)
            .filter(|&i| trending.get(i as usize).is_some_and(|&t| t > 0.0))
            .collect();
        top_trending.sort_by(|&a, &b| {
            let (ta, tb) = (trending[a as usize], trending[b as usize]);
            tb.total_cmp(&ta).then(a.cmp(&b))
        });
        top_trending.truncate(TOP_OVERALL);
        PriorsSection {
            popularity,
            freshness,
            top_by_category,
            top_overall,
            trending,
            top_trending,
            daily_sales: self.daily_sales.clone(),
            deal: market::deals(products, categories, &self.discount, &self.price_response),
            price_level: market::price_levels(products, categories),
            price_response: self.price_response.clone(),
            refill_days: self.refill_days.clone(),
            rebuy: self.rebuy.clone(),
            returns: self.returns.clone(),
            going_back_strength: self.going_back_strength,
        }
    }
}
