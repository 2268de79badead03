//! How often a session's next click goes back to a product it viewed
//! before: the `returns` signal of the engine's `next` slot.
//!
//! The edge knows a session as its viewed products, each once at its latest
//! view, most recent first. For every view after a session's first, this
//! counts where the product stood in that list (0: it repeats the latest
//! view; 1: it goes back to the one before; none: a product the session had
//! not viewed). On YOOCHOOSE's clicks a quarter of next clicks repeat the
//! latest product and a sixteenth go back one further; where shoppers never
//! go back, every share is 0 and the signal is silent.
//!
//! Shoppers differ in that habit: some compare, going back and forth, and
//! some move on. [`strength`] fits how much the store's rate is worth
//! against a visit's own moves (the engine's `GoingBack`).

use std::collections::HashMap;

use firstpaint_engine::limits::MAX_VIEWED;
use firstpaint_engine::{GoingBack, ViewCounts};

use super::sessions::{Signal, Touch};

/// Per position back (0 up to [`MAX_VIEWED`] - 1): the share of the
/// sessions' next views (every view after a session's first) that went
/// back to the product viewed that many products back.
pub fn shares(sessions: &[Vec<Touch>]) -> Vec<f32> {
    let mut back = [0u64; MAX_VIEWED];
    let mut next_views = 0u64;
    for_each_move(sessions, |_, at| {
        next_views += 1;
        if let Some(count) = at.and_then(|at| back.get_mut(at)) {
            *count += 1;
        }
    });
    if next_views == 0 {
        return Vec::new();
    }
    back.iter()
        .map(|&n| (n as f64 / next_views as f64) as f32)
        .collect()
}

/// A visit's views as the edge keeps them: its [`MAX_VIEWED`] latest
/// products, each once, and its [`ViewCounts`].
#[derive(Debug, Default)]
pub struct VisitViews {
    recent: Vec<u32>,
    /// The views so far, and how many went back.
    pub counts: ViewCounts,
}

impl VisitViews {
    /// Records a view of `product`: where it stood among the latest
    /// products before (0: it repeats the latest; `None`: not among them).
    pub fn view(&mut self, product: u32) -> Option<usize> {
        let at = self.recent.iter().position(|&p| p == product);
        if let Some(at) = at {
            self.recent.remove(at);
        }
        self.recent.insert(0, product);
        self.recent.truncate(MAX_VIEWED);
        self.counts = self.counts.after_view(at.is_some());
        at
    }
}

/// Calls `f` for every view after a session's first (a move), with the
/// visit's counts before it and where the product stood among the
/// session's latest products (see [`VisitViews::view`]).
fn for_each_move(sessions: &[Vec<Touch>], mut f: impl FnMut(ViewCounts, Option<usize>)) {
    for session in sessions {
        let mut visit = VisitViews::default();
        for t in session.iter().filter(|t| t.signal == Signal::View) {
            let before = visit.counts;
            let at = visit.view(t.product);
            if before.views > 0 {
                f(before, at);
            }
        }
    }
}

/// Strengths tried by [`strength`]: 1/8 to 64 moves, by quarters of a
/// power of two.
const STRENGTHS: std::ops::RangeInclusive<i32> = -12..=24;

/// How many moves of evidence the store's rate of going back (`rate`, the
/// sum of [`shares`]) is worth against a visit's own: the prior strength
/// under which the sessions' moves are likeliest, each predicted from the
/// moves of its visit before it (`GoingBack::chance`). 0 when
/// there is nothing to fit (no moves, or a rate of 0 or 1).
pub fn strength(sessions: &[Vec<Touch>], rate: f32) -> f32 {
    if !(rate > 0.0 && rate < 1.0) {
        return 0.0;
    }
    // The moves by (views, returns, went back): the fit reads each class once.
    let mut classes: HashMap<(ViewCounts, bool), u64> = HashMap::new();
    for_each_move(sessions, |counts, at| {
        *classes.entry((counts, at.is_some())).or_default() += 1;
    });
    if classes.is_empty() {
        return 0.0;
    }
    let likelihood = |strength: f32| -> f64 {
        let Some(prior) = GoingBack::new(rate, strength) else {
            return f64::NEG_INFINITY;
        };
        classes
            .iter()
            .map(|(&(counts, back), &n)| {
                let p = f64::from(prior.chance(counts)).clamp(1e-9, 1.0 - 1e-9);
                n as f64 * if back { p.ln() } else { (1.0 - p).ln() }
            })
            .sum()
    };
    STRENGTHS
        .map(|q| 2f32.powf(q as f32 / 4.0))
        .map(|s| (s, likelihood(s)))
        .filter(|(_, l)| l.is_finite())
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(0.0, |(s, _)| s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::sessions::views;

    #[test]
    fn shares_count_where_next_views_went_back_to() {
        // Next views: 2 (new), 2 (repeat, 0 back), 1 (1 back), 3 (new),
        // 2 (2 back); and 5 (new). Six in all.
        let sessions = vec![views(&[1, 2, 2, 1, 3, 2]), views(&[4, 5]), views(&[7])];
        let s = shares(&sessions);
        assert_eq!(s.len(), MAX_VIEWED);
        let sixth = 1.0 / 6.0;
        assert!(s[..3].iter().all(|&x| (x - sixth).abs() < 1e-6), "{s:?}");
        assert!(s[3..].iter().all(|&x| x == 0.0), "{s:?}");
        // Carts and orders are not views; sessions of one view say nothing.
        assert!(shares(&[views(&[9])]).is_empty());
    }

    #[test]
    fn strength_is_weak_where_shoppers_keep_their_habit() {
        // Half the shoppers go back and forth between two products, half
        // never go back: a visit's own moves say much, the store's rate
        // little.
        let mut habits = Vec::new();
        for i in 0..50 {
            habits.push(views(&[1, 2, 1, 2, 1, 2, 1, 2]));
            habits.push(views(&(10 + i * 8..18 + i * 8).collect::<Vec<_>>()));
        }
        // Every shopper goes back now and then, a quarter of their moves
        // spread evenly: a visit's own moves say little.
        let mut same = Vec::new();
        for i in 0..100u32 {
            let mut products = vec![1000 * (i + 1)];
            for m in 1..8u32 {
                let last = products[products.len() - 1];
                let again = (i + m) % 4 == 0;
                products.push(if again { last } else { 1000 * (i + 1) + m });
            }
            same.push(views(&products));
        }
        let rate = |s: &[Vec<Touch>]| shares(s).iter().sum::<f32>();
        let (habit, random) = (
            strength(&habits, rate(&habits)),
            strength(&same, rate(&same)),
        );
        assert!(habit > 0.0 && habit < 1.0, "{habit}");
        assert!(random > 8.0 * habit, "{random} vs {habit}");
        // Nothing to fit: no moves, or no shopper ever goes back.
        assert_eq!(strength(&[views(&[9])], 0.3), 0.0);
        assert_eq!(strength(&habits, 0.0), 0.0);
    }
}
