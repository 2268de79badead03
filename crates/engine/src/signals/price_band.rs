//! The shopper's price band: where, relative to each category's median
//! price, the products they look at and buy sit.
//!
//! Prices are compared on one scale across categories, the natural log of
//! a product's price over its leaf category's median
//! ([`crate::store::sections::PriorsSection::price_level`]): a shopper who views
//! the dearer half of phones and of headphones is at about +0.4 whatever
//! either costs. The edge keeps the band in the profile cookie and moves it
//! with every product viewed (and, more, ordered); slots then lift
//! candidates near it by the blend's `price_fit` weight.

/// How far (in log price) from the band a candidate still fits half: about
/// a third cheaper or dearer.
const HALF_FIT_DISTANCE: f32 = 0.35;
/// Evidence at which the band counts half; one view is a weak hint.
const HALF_CONFIDENCE: f32 = 3.0;
/// The most evidence a band keeps, so it follows a shopper whose taste
/// moves rather than averaging their whole history.
pub const MAX_EVIDENCE: f32 = 12.0;
/// Evidence a product view adds.
pub const VIEW_EVIDENCE: f32 = 1.0;
/// Evidence an ordered product adds: buying says more than looking.
pub const ORDER_EVIDENCE: f32 = 3.0;

/// A shopper's price band.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceBand {
    /// The centre, a log price relative to the category median.
    pub level: f32,
    /// How much behaviour it rests on (views count 1, orders 3), capped at
    /// [`MAX_EVIDENCE`].
    pub evidence: f32,
}

impl PriceBand {
    /// Moves the band towards `level` (a product's price level) with
    /// `weight` evidence; non-finite input is ignored.
    pub fn record(&mut self, level: f32, weight: f32) {
        if !level.is_finite() || !weight.is_finite() || weight <= 0.0 {
            return;
        }
        let evidence = self.evidence.clamp(0.0, MAX_EVIDENCE);
        self.level = (self.level * evidence + level * weight) / (evidence + weight);
        self.evidence = (evidence + weight).min(MAX_EVIDENCE);
    }

    /// How well a product at `level` fits, 0 to 1: near 1 at the centre of
    /// a well-supported band, half at [`HALF_FIT_DISTANCE`] from it, and
    /// scaled down while the band rests on little evidence.
    pub fn fit(&self, level: f32) -> f32 {
        if !self.level.is_finite() || !level.is_finite() || self.evidence <= 0.0 {
            return 0.0;
        }
        let evidence = self.evidence.min(MAX_EVIDENCE);
        let confidence = evidence / (evidence + HALF_CONFIDENCE);
        let d = (level - self.level) / HALF_FIT_DISTANCE;
        confidence * (-std::f32::consts::LN_2 * d * d).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_band_follows_what_is_viewed_and_bought() {
        let mut band = PriceBand::default();
        band.record(0.6, VIEW_EVIDENCE);
        assert!((band.level - 0.6).abs() < 1e-6);
        band.record(0.0, ORDER_EVIDENCE);
        assert!((band.level - 0.15).abs() < 1e-6, "{band:?}");
        for _ in 0..100 {
            band.record(-0.5, VIEW_EVIDENCE);
        }
        assert_eq!(band.evidence, MAX_EVIDENCE);
        assert!((band.level + 0.5).abs() < 0.01, "it moves with the shopper");
        band.record(f32::NAN, 1.0);
        band.record(0.3, f32::INFINITY);
        assert!(band.level.is_finite());
    }

    #[test]
    fn fit_is_highest_at_the_centre_and_grows_with_evidence() {
        let mut band = PriceBand::default();
        assert_eq!(band.fit(0.0), 0.0, "no evidence, no fit");
        band.record(0.4, VIEW_EVIDENCE);
        let weak = band.fit(0.4);
        for _ in 0..11 {
            band.record(0.4, VIEW_EVIDENCE);
        }
        let strong = band.fit(0.4);
        assert!(weak > 0.0 && strong > weak && strong <= 1.0);
        let half = band.fit(0.4 + HALF_FIT_DISTANCE);
        assert!((half - strong / 2.0).abs() < 1e-4);
        assert!(band.fit(-1.0) < 0.01, "far cheaper than the band");
        assert_eq!(band.fit(f32::NAN), 0.0);
    }
}
