//! How likely this shopper is to go back to a product the visit already
//! viewed: the store's rate, updated by the visit's own habit.
//!
//! Some shoppers compare, going back and forth between a few products;
//! others move on and never return. The store's next clicks go back to a
//! viewed product at a rate `m` (the sum of the `returns` shares), and a
//! visit that has made `n` moves, `r` of them back to a product it had
//! viewed, is expected to go back next with probability
//! `p = (r + m·s) / (n + s)`: the store's rate taken as `s` moves of
//! prior evidence (a beta prior; `s` is fitted by the origin to the
//! store's sessions, by likelihood). The blend's scores carry the store's
//! odds of going back; `next` moves them to the visit's by multiplying its
//! own products' scores by the odds ratio `p (1 - m) / (m (1 - p))` (the
//! same as its own products taking `p / m` and new ones `(1 - p) / (1 -
//! m)`): below 1 for a visit that keeps moving on (new products come
//! first), above it for one that keeps going back. A visit of one view, a
//! caller that does not count, or a merchant who weighs `returns` at 0
//! leaves the scores as they are.

use serde::Deserialize;

/// The most moves a visit's own evidence counts as (a chance of going
/// back stays strictly below 1 in `f32`).
const MAX_MOVES: f64 = 1000.0;

/// What a visit has done so far: its product views, and how many of them
/// went back to a product it had already viewed. The edge keeps both in
/// the profile for the current visit; all zero when not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewCounts {
    /// Product views of the visit, the latest included.
    #[serde(default)]
    pub views: u32,
    /// Of those, views of a product the visit had viewed before.
    #[serde(default)]
    pub returns: u32,
}

impl ViewCounts {
    /// The counts after one more view, `again` when it was of a product
    /// the visit had viewed before (saturating).
    pub fn after_view(self, again: bool) -> Self {
        Self {
            views: self.views.saturating_add(1),
            returns: self.returns.saturating_add(u32::from(again)),
        }
    }
}

/// The store's prior on going back: its rate and how many moves of
/// evidence that rate is worth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GoingBack {
    /// The share of the store's next clicks that go back to a viewed
    /// product, strictly between 0 and 1.
    pub rate: f32,
    /// The prior's weight in moves, positive.
    pub strength: f32,
}

impl GoingBack {
    /// The prior, when `rate` and `strength` make one (a store whose
    /// shoppers never go back, or a bundle that fitted no strength, has
    /// none).
    pub fn new(rate: f32, strength: f32) -> Option<Self> {
        let usable = rate.is_finite() && rate > 0.0 && rate < 1.0;
        (usable && strength.is_finite() && strength > 0.0).then_some(Self { rate, strength })
    }

    /// The chance that a visit that did `counts` goes back next: the
    /// store's rate for a visit of one view (no move yet), strictly
    /// between 0 and 1.
    pub fn chance(&self, counts: ViewCounts) -> f32 {
        let moves = counts.views.saturating_sub(1);
        let back = f64::from(counts.returns.min(moves));
        // Past `MAX_MOVES` the visit's share of moves back is what counts.
        let (moves, back) = match f64::from(moves) {
            m if m > MAX_MOVES => (MAX_MOVES, back * MAX_MOVES / m),
            m => (m, back),
        };
        let (rate, strength) = (f64::from(self.rate), f64::from(self.strength));
        ((back + rate * strength) / (moves + strength)) as f32
    }

    /// By how much `next` scales the scores of the visit's own products:
    /// the visit's odds of going back over the store's (1 for a visit of
    /// one view; positive and finite).
    pub fn factor(&self, counts: ViewCounts) -> f32 {
        let p = self.chance(counts);
        (p * (1.0 - self.rate)) / (self.rate * (1.0 - p))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn counts(views: u32, returns: u32) -> ViewCounts {
        ViewCounts { views, returns }
    }

    #[test]
    fn a_visit_that_moves_on_is_less_likely_to_go_back() {
        let prior = GoingBack::new(0.25, 3.0).unwrap();
        // No move yet: the store's rate, whatever was counted.
        assert_eq!(prior.factor(counts(0, 0)), 1.0);
        assert_eq!(prior.factor(counts(1, 1)), 1.0);
        // Three moves, none back: a chance of (0 + 0.75) / 6, odds of
        // 1 / 7 against the store's 1 / 3.
        assert!((prior.chance(counts(4, 0)) - 0.125).abs() < 1e-6);
        assert!((prior.factor(counts(4, 0)) - 3.0 / 7.0).abs() < 1e-6);
        // Three moves, all back: (3 + 0.75) / 6, odds of 5 / 3.
        assert!((prior.factor(counts(4, 3)) - 5.0).abs() < 1e-5);
        // More returns than moves (a miscounting caller) count as all.
        assert_eq!(prior.factor(counts(4, 9)), prior.factor(counts(4, 3)));
        // The more moves without going back, the lower.
        assert!(prior.factor(counts(9, 0)) < prior.factor(counts(4, 0)));
        for long in [counts(u32::MAX, 0), counts(u32::MAX, u32::MAX)] {
            let (p, f) = (prior.chance(long), prior.factor(long));
            assert!(p > 0.0 && p < 1.0 && f > 0.0 && f.is_finite(), "{p} {f}");
        }
    }

    #[test]
    fn no_prior_without_a_rate_and_a_strength() {
        for (rate, strength) in [
            (0.0, 3.0),
            (1.0, 3.0),
            (0.3, 0.0),
            (f32::NAN, 3.0),
            (0.3, f32::INFINITY),
        ] {
            assert_eq!(GoingBack::new(rate, strength), None, "{rate} {strength}");
        }
    }

    #[test]
    fn counts_grow_by_view() {
        let c = ViewCounts::default().after_view(false).after_view(true);
        assert_eq!(c, counts(2, 1));
        assert_eq!(
            counts(u32::MAX, u32::MAX).after_view(true),
            counts(u32::MAX, u32::MAX)
        );
    }
}
