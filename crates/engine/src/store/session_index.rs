//! Recent shopping sessions, read in place: each session's products, when
//! it ended, and for each product the sessions that hold it. The session
//! neighbourhood ([`crate::signals::neighbourhood`]) searches it.
//!
//! Section `SNBH` (layout `SNB1`), sessions numbered oldest first by their
//! last touch, so a higher number is a more recent session:
//! - blocks 0 and 1: per session, its products (each once, at its last
//!   touch, in touch order) as compressed rows;
//! - block 2: per session, its last touch in unix hours, bit-packed;
//! - blocks 3 and 4: per product, the sessions holding it, ascending.

use firstpaint_bundle::{OwnedBytes, Tag};

#[cfg(feature = "build")]
use super::columns::SectionWriter;
use super::columns::{Blocks, Rows};
use super::packed::{Packed, PackedSlice};
use crate::error::EngineError;
#[cfg(feature = "build")]
use crate::store::sections::SessionsSection;

const MAGIC: [u8; 4] = *b"SNB1";

/// Products held by up to this many sessions have their [`idf`]
/// worked out when the index opens.
///
/// [`idf`]: SessionIndex::idf
const IDF_TABLE: usize = 4_096;

/// Recent sessions and the product -> sessions index, read in place.
#[derive(Debug, Clone)]
pub struct SessionIndex {
    products: Rows<u32>,
    hours: Packed<u32>,
    sessions: Rows<u32>,
    /// [`idf`](Self::idf) by the number of sessions holding a product,
    /// from 1: the neighbourhood weighs hundreds of products a ranking,
    /// and a logarithm each was a twentieth of its time.
    idf: Vec<f32>,
}

impl SessionIndex {
    /// No sessions (a bundle built without them, or from no events).
    pub fn empty() -> Self {
        Self {
            products: Rows::empty(),
            hours: Packed::empty(),
            sessions: Rows::empty(),
            idf: Vec::new(),
        }
    }

    /// Opens section `tag` over `bytes`, which must have a row of sessions
    /// for each of `products` and a last touch for each session.
    pub fn open(tag: Tag, bytes: OwnedBytes, products: usize) -> Result<Self, EngineError> {
        let b = Blocks::open(tag, bytes, MAGIC, 5)?;
        let rows = b.rows(0, None)?;
        let sessions = rows.len();
        Ok(Self {
            hours: b.view(2, Some(sessions))?,
            products: rows,
            sessions: b.rows(3, Some(products))?,
            idf: (1..=sessions.min(IDF_TABLE))
                .map(|holding| idf(sessions, holding))
                .collect(),
        })
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.products.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Session `s`'s products, each once, in the order of their last touch
    /// (empty for an unknown session).
    pub fn products_of(&self, s: u32) -> PackedSlice<'_, u32> {
        self.products.row(s as usize)
    }

    /// Session `s`'s last touch, unix hours.
    pub fn hour(&self, s: u32) -> Option<u32> {
        self.hours.get(s as usize)
    }

    /// The sessions holding product `p`, ascending (so oldest first).
    pub fn sessions_with(&self, p: u32) -> PackedSlice<'_, u32> {
        self.sessions.row(p as usize)
    }

    /// How rare product `p` is among the sessions: ln(sessions / sessions
    /// holding it, counted as one when none does), never below 0 (so 0
    /// for a product every session holds, and in an index without
    /// sessions).
    pub fn idf(&self, p: u32) -> f32 {
        let holding = self.sessions_with(p).len().max(1);
        match self.idf.get(holding - 1) {
            Some(&idf) => idf,
            None => idf(self.len(), holding),
        }
    }

    /// The `n` most recent sessions holding product `p`, ascending.
    pub fn recent_with(&self, p: u32, n: usize) -> PackedSlice<'_, u32> {
        self.sessions.tail(p as usize, n)
    }

    /// Fills `out` with the `sample` most recent sessions holding any of
    /// `products`, most recent first, each once (in a well-formed index,
    /// whose rows ascend). The products' rows are merged from their most
    /// recent ends: a popular product costs what the sample takes, not
    /// its whole row, and nothing is sorted.
    pub fn recent_sharing(&self, products: &[u32], sample: usize, out: &mut Vec<u32>) {
        out.clear();
        // Each product's latest session not yet taken, and the ones before.
        let mut rows: Vec<(u32, PackedSlice<'_, u32>)> = products
            .iter()
            .filter_map(|&p| {
                let mut row = self.recent_with(p, sample);
                Some((row.next_back()?, row))
            })
            .collect();
        out.reserve(sample.min(rows.iter().map(|r| r.1.len() + 1).sum()));
        while out.len() < sample {
            let Some(latest) = rows.iter().map(|r| r.0).max() else {
                break;
            };
            out.push(latest);
            // Every row holding it moves past it (a session once).
            rows.retain_mut(|(head, before)| {
                if *head != latest {
                    return true;
                }
                before.next_back().map(|s| *head = s).is_some()
            });
        }
    }
}

/// ln(`sessions` / `holding`), not below 0.
fn idf(sessions: usize, holding: usize) -> f32 {
    (sessions as f32 / holding as f32).ln().max(0.0)
}

#[cfg(feature = "build")]
/// Writes `sessions` in the layout above, with the sessions of each of
/// `products` (the origin's side).
pub fn write(sessions: &SessionsSection, products: usize) -> Vec<u8> {
    let mut holding: Vec<Vec<u32>> = vec![Vec::new(); products];
    for (s, row) in (0u32..).zip(&sessions.products) {
        for &p in row {
            if let Some(h) = holding.get_mut(p as usize) {
                if h.last() != Some(&s) {
                    h.push(s);
                }
            }
        }
    }
    let mut w = SectionWriter::new(MAGIC);
    w.rows(sessions.products.iter().map(|r| r.iter().copied()))
        .packed(sessions.hours.iter().copied())
        .rows(holding);
    w.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn index() -> SessionIndex {
        let section = SessionsSection {
            products: vec![vec![0, 1], vec![2], vec![1, 2, 3], vec![3, 0]],
            hours: vec![10, 20, 30, 40],
        };
        SessionIndex::open(Tag(*b"SNBH"), OwnedBytes::new(write(&section, 5)), 5).unwrap()
    }

    #[test]
    fn sessions_read_back_with_their_products_and_times() {
        let ix = index();
        assert_eq!(ix.len(), 4);
        assert_eq!(ix.products_of(2).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(ix.hour(3), Some(40));
        assert_eq!(ix.sessions_with(1).collect::<Vec<_>>(), [0, 2]);
        assert_eq!(ix.sessions_with(4).count(), 0);
        assert_eq!(ix.products_of(9).count(), 0);
        assert_eq!(ix.hour(9), None);
    }

    #[test]
    fn the_most_recent_sharing_sessions_come_first_once_each() {
        let ix = index();
        let mut out = Vec::new();
        ix.recent_sharing(&[1, 3], 10, &mut out);
        assert_eq!(out, [3, 2, 0]);
        ix.recent_sharing(&[1, 3, 2], 2, &mut out);
        assert_eq!(out, [3, 2]);
        ix.recent_sharing(&[4, 99], 10, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn rarity_is_the_same_inside_and_past_the_table() {
        // Product 0 in every session, 1 just past the table, 2 at its end,
        // 3 in one session, 4 in none.
        let n = IDF_TABLE + 100;
        let products = (0..n)
            .map(|s| {
                let mut row = vec![0];
                row.extend((s <= IDF_TABLE).then_some(1));
                row.extend((s < IDF_TABLE).then_some(2));
                row.extend((s == 0).then_some(3));
                row
            })
            .collect();
        let section = SessionsSection {
            products,
            hours: vec![1; n],
        };
        let ix = SessionIndex::open(Tag(*b"SNBH"), OwnedBytes::new(write(&section, 5)), 5).unwrap();
        // Worked out at run time, as the index does: folded at compile
        // time, the logarithm can round differently.
        let expected = |holding: usize| (std::hint::black_box(n as f32) / holding as f32).ln();
        assert_eq!(ix.idf(0), 0.0);
        assert_eq!(ix.idf(1), expected(IDF_TABLE + 1));
        assert_eq!(ix.idf(2), expected(IDF_TABLE));
        assert_eq!(ix.idf(3), expected(1));
        assert_eq!(ix.idf(4), expected(1));
        assert_eq!(ix.idf(99), expected(1));
        assert_eq!(SessionIndex::empty().idf(0), 0.0);
    }

    #[test]
    fn a_section_for_another_catalog_is_refused() {
        let section = SessionsSection {
            products: vec![vec![0]],
            hours: vec![1],
        };
        let tag = Tag(*b"SNBH");
        assert!(SessionIndex::open(tag, OwnedBytes::new(write(&section, 2)), 3).is_err());
        let bad_times = SessionsSection {
            products: vec![vec![0], vec![1]],
            hours: vec![1],
        };
        assert!(SessionIndex::open(tag, OwnedBytes::new(write(&bad_times, 2)), 2).is_err());
        assert!(SessionIndex::empty().is_empty());
    }
}
