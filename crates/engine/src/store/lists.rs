//! Per-product lists (viewed together, bought together, what was opened
//! next), read in place: compressed rows of neighbour ordinals with a score
//! each.
//!
//! Blocks of sections `COVW`, `BTOG` and `SEQT` (layout `LST2`): 0 row
//! offsets `u32 x (n + 1)`, 1 neighbour ordinals `u32`, 2 scores `f32`
//! (0 to 1), strongest first within a row.

use firstpaint_bundle::{OwnedBytes, Tag};

use super::columns::{Blocks, Column, Rows, SectionWriter};
use crate::error::EngineError;
use crate::sections::CoViewSection;

const MAGIC: [u8; 4] = *b"LST2";

/// One kind of per-product list, read in place.
#[derive(Debug, Clone)]
pub struct Lists {
    neighbors: Rows<u32>,
    /// Parallel to the neighbours.
    scores: Column<f32>,
}

impl Lists {
    /// No lists: every row is empty (a bundle without the section).
    pub fn empty() -> Self {
        Self {
            neighbors: Rows::empty(),
            scores: Column::empty(),
        }
    }

    /// Opens section `tag` over `bytes`, which must have a row for each of
    /// `products`.
    pub fn open(tag: Tag, bytes: OwnedBytes, products: usize) -> Result<Self, EngineError> {
        let b = Blocks::open(tag, bytes, MAGIC, 3)?;
        let neighbors = b.rows(0, Some(products))?;
        let values = b.column::<u32>(1, None)?.len();
        Ok(Self {
            neighbors,
            scores: b.column(2, Some(values))?,
        })
    }

    /// Product `i`'s row as (ordinal, score) pairs, strongest first.
    pub fn row(&self, i: u32) -> impl Iterator<Item = (u32, f32)> + '_ {
        let i = i as usize;
        let scores = self.scores.slice(self.neighbors.span(i));
        self.neighbors.row(i).zip(scores)
    }
}

/// Writes `lists` in the layout above (the origin's side).
pub fn write(lists: &CoViewSection) -> Vec<u8> {
    let mut w = SectionWriter::new(MAGIC);
    w.column(lists.offsets.iter().copied())
        .column(lists.neighbors.iter().copied())
        .column(lists.scores.iter().copied());
    w.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rows_read_back_and_bad_rows_are_empty() {
        let source = CoViewSection {
            offsets: vec![0, 2, 2, 3],
            neighbors: vec![1, 2, 0],
            scores: vec![0.9, 0.5, 0.1],
        };
        let tag = Tag(*b"COVW");
        let lists = Lists::open(tag, OwnedBytes::new(write(&source)), 3).unwrap();
        for i in 0..3 {
            assert_eq!(
                lists.row(i).collect::<Vec<_>>(),
                source.row(i).collect::<Vec<_>>()
            );
        }
        assert_eq!(lists.row(7).count(), 0);
        assert!(Lists::open(tag, OwnedBytes::new(write(&source)), 4).is_err());
        assert_eq!(Lists::empty().row(0).count(), 0);
    }
}
