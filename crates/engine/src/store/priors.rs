//! Per-product and per-category priors (popularity, freshness, trending,
//! days of cover, deal, price level; top lists; price response, refill
//! intervals), read in place.
//!
//! Blocks of section `PRIO` (layout `PRI2`), `n` products, `c` categories:
//!
//! | block | content |
//! | --- | --- |
//! | 0-5 | popularity, freshness, trending, days of cover, deal, price level: `f32 x n` each |
//! | 6, 7 | most popular products per category: rows of `u32` ordinals, `c` rows |
//! | 8 | most popular products overall: `u32` ordinals |
//! | 9 | most trending products: `u32` ordinals |
//! | 10, 11 | price response, refill days: `f32 x c` each |

use firstpaint_bundle::{OwnedBytes, Tag};

use super::columns::{Blocks, Column, ColumnSlice, Rows, SectionWriter};
use crate::error::EngineError;
use crate::sections::PriorsSection;

const MAGIC: [u8; 4] = *b"PRI2";

/// The priors read in place; see [`PriorsSection`] for what each means.
#[derive(Debug, Clone)]
pub struct Priors {
    popularity: Column<f32>,
    freshness: Column<f32>,
    trending: Column<f32>,
    cover_days: Column<f32>,
    deal: Column<f32>,
    price_level: Column<f32>,
    top_by_category: Rows<u32>,
    top_overall: Column<u32>,
    top_trending: Column<u32>,
    price_response: Column<f32>,
    refill_days: Column<f32>,
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
        let b = Blocks::open(tag, bytes, MAGIC, 12)?;
        let (n, c) = (Some(products), Some(categories));
        Ok(Self {
            popularity: b.column(0, n)?,
            freshness: b.column(1, n)?,
            trending: b.column(2, n)?,
            cover_days: b.column(3, n)?,
            deal: b.column(4, n)?,
            price_level: b.column(5, n)?,
            top_by_category: b.rows(6, c)?,
            top_overall: b.column(8, None)?,
            top_trending: b.column(9, None)?,
            price_response: b.column(10, c)?,
            refill_days: b.column(11, c)?,
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

    /// Days until `ord` sells out at its recent rate (`f32::MAX` if it has
    /// not sold).
    pub fn cover_days(&self, ord: u32) -> f32 {
        self.cover_days.get(ord as usize).unwrap_or(f32::MAX)
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
    pub fn top_in_category(&self, c: u32) -> ColumnSlice<'_, u32> {
        self.top_by_category.row(c as usize)
    }

    /// The most popular products of the store, best first.
    pub fn top_overall(&self) -> ColumnSlice<'_, u32> {
        self.top_overall.iter()
    }

    /// The products trending most, best first.
    pub fn top_trending(&self) -> ColumnSlice<'_, u32> {
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
}

/// Writes `priors` in the layout above (the origin's side).
pub fn write(priors: &PriorsSection) -> Vec<u8> {
    let mut w = SectionWriter::new(MAGIC);
    for column in [
        &priors.popularity,
        &priors.freshness,
        &priors.trending,
        &priors.cover_days,
        &priors.deal,
        &priors.price_level,
    ] {
        w.column(column.iter().copied());
    }
    w.rows(priors.top_by_category.iter().map(|r| r.iter().copied()))
        .column(priors.top_overall.iter().copied())
        .column(priors.top_trending.iter().copied())
        .column(priors.price_response.iter().copied())
        .column(priors.refill_days.iter().copied());
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
            cover_days: vec![f32::MAX, 3.0],
            deal: vec![0.2, 0.0],
            price_level: vec![-0.5, 0.5],
            top_by_category: vec![vec![1, 0], vec![1]],
            top_overall: vec![1, 0],
            top_trending: vec![1],
            price_response: vec![0.0, 1.5],
            refill_days: vec![14.0, 0.0],
        };
        let tag = Tag(*b"PRIO");
        let p = Priors::open(tag, OwnedBytes::new(write(&source)), 2, 2).unwrap();
        assert_eq!(
            (p.popularity(1), p.freshness(0), p.trending(1)),
            (0.9, 1.0, 0.5)
        );
        assert_eq!((p.cover_days(0), p.cover_days(9)), (f32::MAX, f32::MAX));
        assert_eq!((p.deal(0), p.price_level(1)), (0.2, Some(0.5)));
        assert_eq!(p.top_in_category(0).collect::<Vec<_>>(), [1, 0]);
        assert_eq!(p.top_in_category(5).count(), 0);
        assert_eq!(p.top_overall().collect::<Vec<_>>(), [1, 0]);
        assert_eq!(p.top_trending().collect::<Vec<_>>(), [1]);
        assert_eq!((p.price_response(1), p.refill_days(0)), (1.5, 14.0));
        assert!(Priors::open(tag, OwnedBytes::new(write(&source)), 3, 2).is_err());
    }
}
