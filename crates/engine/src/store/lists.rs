//! Per-product lists (viewed together, bought together, what was opened
//! next), read in place: compressed rows of neighbour ordinals with a score
//! each.
//!
//! Blocks of sections `COVW` and `BTOG` (layout `LST3`): 0 row
//! offsets (`n + 1`), 1 neighbour ordinals, both bit-packed ([`Packed`]),
//! 2 scores (0 to 1) as 8-bit codes ([`Quantized`]: they order and blend,
//! 1/510 does not move a ranking), strongest first within a row.
//!
//! [`Packed`]: super::packed::Packed

use firstpaint_bundle::{OwnedBytes, Tag};

#[cfg(feature = "build")]
use super::columns::SectionWriter;
use super::columns::{Blocks, Rows};
use super::packed::{Packed, Quantized};
use crate::error::EngineError;
#[cfg(feature = "build")]
use crate::store::sections::CoViewSection;

const MAGIC: [u8; 4] = *b"LST3";

/// One kind of per-product list, read in place.
#[derive(Debug, Clone)]
pub struct Lists {
    neighbors: Rows<u32>,
    /// Parallel to the neighbours.
    scores: Quantized,
}

impl Lists {
    /// Opens section `tag` over `bytes`, which must have a row for each of
    /// `products`.
    pub fn open(tag: Tag, bytes: OwnedBytes, products: usize) -> Result<Self, EngineError> {
        let b = Blocks::open(tag, bytes, MAGIC, 3)?;
        let neighbors = b.rows(0, Some(products))?;
        let values = b.view::<Packed<u32>>(1, None)?.len();
        Ok(Self {
            neighbors,
            scores: b.view(2, Some(values))?,
        })
    }

    /// Product `i`'s row as (ordinal, score) pairs, strongest first.
    pub fn row(&self, i: u32) -> impl Iterator<Item = (u32, f32)> + '_ {
        let i = i as usize;
        let scores = self.scores.slice(self.neighbors.span(i));
        self.neighbors.row(i).zip(scores)
    }
}

#[cfg(feature = "build")]
/// Writes `lists` in the layout above (the origin's side).
pub fn write(lists: &CoViewSection) -> Vec<u8> {
    let mut w = SectionWriter::new(MAGIC);
    w.offsets(&lists.offsets)
        .packed(lists.neighbors.iter().copied())
        .quantized(lists.scores.iter().copied());
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
            let (read, written): (Vec<_>, Vec<_>) =
                (lists.row(i).collect(), source.row(i).collect());
            assert_eq!(read.len(), written.len());
            for ((a, x), (b, y)) in read.into_iter().zip(written) {
                assert!(
                    a == b && (x - y).abs() < 2e-3,
                    "{a} {x} vs {b} {y}: within half an 8-bit step"
                );
            }
        }
        assert_eq!(lists.row(7).count(), 0);
        assert!(Lists::open(tag, OwnedBytes::new(write(&source)), 4).is_err());
    }
}
