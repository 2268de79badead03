//! Per-product and per-category priors (popularity, freshness, trending,
//! daily sales, deal, price level; top lists; price response, refill
//! intervals, rebuy rates; how often next clicks go back), read in place.
//!
//! Blocks of section `PRIO` (layout `PRI6`), `n` products, `c` categories:
//!
//! | block | content |
//! | --- | --- |
//! | 0-2 | popularity, freshness, trending: 8-bit codes x `n` each ([`Quantized`]) |
//! | 3 | units sold per day lately: `f32 x n` (exact: the guardrails' days of cover divide the units available now by it; 0 for what has not sold) |
//! | 4, 5 | deal, price level: 8-bit codes x `n` each |
//! | 6, 7 | most popular products per category: rows of ordinals, `c` rows |
//! | 8 | most popular products overall: ordinals |
//! | 9 | most trending products: ordinals |
//! | 10, 11, 12 | price response, refill days, rebuy rate: `f32 x c` each |
//! | 13 | the share of next clicks that go back to the product viewed i views back: `f32`, i = 0.. (since `PRI6`) |
//! | 14 | how many moves of evidence the store's rate of going back is worth (the prior's strength): one `f32`, 0 when not fitted (since `PRI7`) |
//!
//! Ordinals and row offsets are bit-packed ([`Packed`]).

use firstpaint_bundle::{OwnedBytes, Tag};

#[cfg(feature = "build")]
use super::columns::SectionWriter;
use super::columns::{Blocks, Column, Rows};
use super::packed::{Packed, PackedSlice, Quantized};
use crate::error::EngineError;
use crate::limits::MAX_VIEWED;
use crate::signals::going_back::GoingBack;
#[cfg(feature = "build")]
use crate::store::sections::PriorsSection;

const MAGIC: [u8; 4] = *b"PRI7";

/// The priors read in place; see [`PriorsSection`] for what each means.
#[derive(Debug, Clone)]
pub struct Priors {
    popularity: Quantized,
    freshness: Quantized,
    trending: Quantized,
    daily_sales: Column<f32>,
    deal: Quantized,
    price_level: Quantized,
    top_by_category: Rows<u32>,
    top_overall: Packed<u32>,
    top_trending: Packed<u32>,
    price_response: Column<f32>,
    refill_days: Column<f32>,
    rebuy: Column<f32>,
    /// Block 13 relative to its largest share, at most [`MAX_VIEWED`]
    /// (what a session holds); a share that is no number counts 0.
    returns: Vec<f32>,
    /// Blocks 13 and 14 as the prior of [`GoingBack`].
    going_back: Option<GoingBack>,
}

impl Priors {
    /// Opens section `tag` over `bytes` for `products` products and
    /// `categories` categories.
    pub fn open(
        tag: Tag,
        bytes: OwnedBytes,
        products: usize,
        categories: usize,
    ) -> Result<Self, EngineError> {
        let b = Blocks::open(tag, bytes, MAGIC, 15)?;
        let (n, c) = (Some(products), Some(categories));
        let shares = b.column(13, None)?;
        let rate: f32 = usable(&shares).iter().sum();
        let strength = b.column(14, Some(1))?.get(0).unwrap_or(0.0);
        Ok(Self {
            popularity: b.view(0, n)?,
            freshness: b.view(1, n)?,
            trending: b.view(2, n)?,
            daily_sales: b.column(3, n)?,
            deal: b.view(4, n)?,
            price_level: b.view(5, n)?,
            top_by_category: b.rows(6, c)?,
            top_overall: b.view(8, None)?,
            top_trending: b.view(9, None)?,
            price_response: b.column(10, c)?,
            refill_days: b.column(11, c)?,
            rebuy: b.column(12, c)?,
            returns: relative(&shares),
            going_back: GoingBack::new(rate, strength),
        })
    }

    /// Popularity of `ord` within its leaf category, 0 to 1.
    pub fn popularity(&self, ord: u32) -> f32 {
        self.popularity.get(ord as usize).unwrap_or(0.0)
    }

    /// Freshness of `ord`: 1 when just listed, decaying towards 0.
    pub fn freshness(&self, ord: u32) -> f32 {
        self.freshness.get(ord as usize).unwrap_or(0.0)
    }

    /// How much `ord` is trending, 0 to 1.
    pub fn trending(&self, ord: u32) -> f32 {
        self.trending.get(ord as usize).unwrap_or(0.0)
    }

    /// Units of `ord` sold per day lately (0 if it has not sold): what
    /// its days of cover divide the units available now by.
    pub fn daily_sales(&self, ord: u32) -> f32 {
        self.daily_sales.get(ord as usize).unwrap_or(0.0)
    }

    /// How good a deal `ord` is for its category's shoppers, 0 to 1.
    pub fn deal(&self, ord: u32) -> f32 {
        self.deal.get(ord as usize).unwrap_or(0.0)
    }

    /// `ord`'s price level against its leaf's median (log, ±3).
    pub fn price_level(&self, ord: u32) -> Option<f32> {
        self.price_level.get(ord as usize)
    }

    /// Most popular products of category `c`, best first.
    pub fn top_in_category(&self, c: u32) -> PackedSlice<'_, u32> {
        self.top_by_category.row(c as usize)
    }

    /// The most popular products of the store, best first.
    pub fn top_overall(&self) -> PackedSlice<'_, u32> {
        self.top_overall.iter()
    }

    /// The products trending most, best first.
    pub fn top_trending(&self) -> PackedSlice<'_, u32> {
        self.top_trending.iter()
    }

    /// How strongly conversion in category `c` rises as price falls.
    pub fn price_response(&self, c: u32) -> f32 {
        self.price_response.get(c as usize).unwrap_or(0.0)
    }

    /// Median days between repeat orders in category `c`, 0 where shoppers
    /// do not rebuy.
    pub fn refill_days(&self, c: u32) -> f32 {
        self.refill_days.get(c as usize).unwrap_or(0.0)
    }

    /// The share of products ordered in category `c` that the same shopper
    /// ordered again (shrunk to the store's share), 0 to 1; 0 where no
    /// returning shopper ordered.
    pub fn rebuy(&self, c: u32) -> f32 {
        self.rebuy.get(c as usize).unwrap_or(0.0)
    }

    /// How likely the next click goes back to the product the session
    /// viewed `back` views ago (0: the latest), relative to the likeliest
    /// (1); 0 where the store's shoppers never do.
    pub fn returns(&self, back: usize) -> f32 {
        self.returns.get(back).copied().unwrap_or(0.0)
    }

    /// The store's prior on a visit going back to what it viewed; `None`
    /// where its shoppers never do or the bundle fitted none.
    pub fn going_back(&self) -> Option<GoingBack> {
        self.going_back
    }
}

/// The first [`MAX_VIEWED`] of `shares` (0 for anything that is not a
/// positive number): the positions back a session holds.
fn usable(shares: &Column<f32>) -> Vec<f32> {
    (0..shares.len().min(MAX_VIEWED))
        .map(|i| {
            shares
                .get(i)
                .filter(|s| s.is_finite() && *s > 0.0)
                .unwrap_or(0.0)
        })
        .collect()
}

/// [`usable`] `shares` over their largest.
fn relative(shares: &Column<f32>) -> Vec<f32> {
    let kept = usable(shares);
    let largest = kept.iter().copied().fold(0.0f32, f32::max);
    if largest > 0.0 {
        kept.iter().map(|s| s / largest).collect()
    } else {
        Vec::new()
    }
}

#[cfg(feature = "build")]
/// Writes `priors` in the layout above (the origin's side).
pub fn write(priors: &PriorsSection) -> Vec<u8> {
    let mut w = SectionWriter::new(MAGIC);
    w.quantized(priors.popularity.iter().copied())
        .quantized(priors.freshness.iter().copied())
        .quantized(priors.trending.iter().copied())
        .column(priors.daily_sales.iter().copied())
        .quantized(priors.deal.iter().copied())
        .quantized(priors.price_level.iter().copied())
        .rows(priors.top_by_category.iter().map(|r| r.iter().copied()))
        .packed(priors.top_overall.iter().copied())
        .packed(priors.top_trending.iter().copied())
        .column(priors.price_response.iter().copied())
        .column(priors.refill_days.iter().copied())
        .column(priors.rebuy.iter().copied())
        .column(priors.returns.iter().copied())
        .column([priors.going_back_strength]);
    w.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn priors_read_back() {
        let source = PriorsSection {
            popularity: vec![0.1, 0.9],
            freshness: vec![1.0, 0.0],
            trending: vec![0.0, 0.5],
            daily_sales: vec![0.0, 3.0],
            deal: vec![0.2, 0.0],
            price_level: vec![-0.5, 0.5],
            top_by_category: vec![vec![1, 0], vec![1]],
            top_overall: vec![1, 0],
            top_trending: vec![1],
            price_response: vec![0.0, 1.5],
            refill_days: vec![14.0, 0.0],
            rebuy: vec![0.4, 0.0],
            returns: vec![0.25, 0.1, f32::NAN, 0.05],
            going_back_strength: 2.5,
        };
        let tag = Tag(*b"PRIO");
        let p = Priors::open(tag, OwnedBytes::new(write(&source)), 2, 2).unwrap();
        let near = |a: f32, b: f32| (a - b).abs() < 1e-4;
        assert!(near(p.popularity(1), 0.9) && near(p.freshness(0), 1.0));
        assert!(near(p.trending(1), 0.5) && near(p.deal(0), 0.2));
        assert!(near(p.price_level(1).unwrap(), 0.5));
        assert_eq!((p.daily_sales(1), p.daily_sales(9)), (3.0, 0.0));
        assert_eq!(p.top_in_category(0).collect::<Vec<_>>(), [1, 0]);
        assert_eq!(p.top_in_category(5).count(), 0);
        assert_eq!(p.top_overall().collect::<Vec<_>>(), [1, 0]);
        assert_eq!(p.top_trending().collect::<Vec<_>>(), [1]);
        assert_eq!((p.price_response(1), p.refill_days(0)), (1.5, 14.0));
        assert_eq!((p.rebuy(0), p.rebuy(1), p.rebuy(9)), (0.4, 0.0, 0.0));
        let back: Vec<f32> = (0..5).map(|i| p.returns(i)).collect();
        assert_eq!(back, [1.0, 0.4, 0.0, 0.2, 0.0]);
        assert_eq!(p.going_back(), GoingBack::new(0.4, 2.5));
        let unfitted = PriorsSection {
            going_back_strength: 0.0,
            ..source.clone()
        };
        let p = Priors::open(tag, OwnedBytes::new(write(&unfitted)), 2, 2).unwrap();
        assert_eq!(p.going_back(), None);
        assert!(Priors::open(tag, OwnedBytes::new(write(&source)), 3, 2).is_err());
    }
}
