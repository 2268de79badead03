//! The search index's postings, read in place: per term, the products that
//! contain it, in blocks of bit-packed numbers.
//!
//! Section `SPST` (layout `PST1`), blocks: 0 where each term's list starts
//! in block 2 (bytes, `terms + 1` [`Offsets`]), 1 each term's document
//! frequency ([`Packed`]), 2 the lists.
//!
//! A term's list starts on a byte and holds its postings in runs of
//! [`BLOCK`] (the last one shorter). A run starts with a header, least
//! significant bit first ([`bits`]):
//!
//! | bits | what |
//! | --- | --- |
//! | 6 | `g`: bits of each gap (0 to 32) |
//! | 8 | smallest impact in the run |
//! | 8 | largest impact in the run |
//! | 5 | distinct field masks in the run, less one |
//! | 5 each | those masks, in the order the codes name them |
//!
//! then each posting as one number: its gap (`g` bits: the product ordinal
//! less the previous one's, less one; the first of a list is the ordinal
//! itself), its mask's code (bits for the number of masks), and its impact
//! less the run's smallest (bits for the run's range). Most runs have a
//! handful of masks (title, description, both) and a narrow impact range,
//! so a posting costs ~11 bits where a byte-aligned one cost ~30.
//!
//! The impact is the term's BM25F weight in the product, quantized to
//! 1..=255 at the origin (see `search::index`).

use firstpaint_bundle::{OwnedBytes, Tag};

use super::bits;
#[cfg(feature = "build")]
use super::bits::BitWriter;
use super::columns::Blocks;
#[cfg(feature = "build")]
use super::columns::SectionWriter;
use super::packed::{Offsets, Packed};
use crate::error::EngineError;

const MAGIC: [u8; 4] = *b"PST1";

/// Postings per run: small enough that a rare mask or impact in one part
/// of a long list does not widen the rest.
pub const BLOCK: usize = 128;

/// Bits of a run's gap width.
const GAP_WIDTH_BITS: u32 = 6;
/// Bits of a field mask (one per field of `search::Field`).
const MASK_BITS: u32 = 5;

/// One product in a term's postings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    /// Product ordinal.
    pub doc: u32,
    /// Fields the term occurs in (`search::Field::bit`s).
    pub fields: u8,
    /// Quantized BM25F weight, 1..=255.
    pub impact: u8,
}

/// Every term's postings, read in place.
#[derive(Debug, Clone)]
pub struct PostingLists {
    starts: Offsets,
    doc_freq: Packed<u32>,
    lists: OwnedBytes,
}

impl PostingLists {
    /// Opens section `tag` over `bytes`, which must hold the lists of
    /// `terms` terms.
    pub fn open(tag: Tag, bytes: OwnedBytes, terms: usize) -> Result<Self, EngineError> {
        let b = Blocks::open(tag, bytes, MAGIC, 3)?;
        let starts: Offsets = b.view(0, Some(terms + 1))?;
        let lists = b.bytes(2);
        let end = starts.get(terms).unwrap_or(0) as usize;
        if end > lists.len() {
            return Err(EngineError::Inconsistent {
                section: tag,
                detail: format!(
                    "the lists end at byte {end}, past their block's {} bytes",
                    lists.len()
                ),
            });
        }
        Ok(Self {
            starts,
            doc_freq: b.view(1, Some(terms))?,
            lists,
        })
    }

    /// Products containing term `t` (0 for an unknown term).
    pub fn doc_freq(&self, t: u32) -> u32 {
        self.doc_freq.get(t as usize).unwrap_or(0)
    }

    /// Term `t`'s postings, by ascending product ordinal. A damaged list
    /// ends early; it never reads outside the section.
    pub fn postings(&self, t: u32) -> Postings<'_> {
        let start = self.starts.get(t as usize).unwrap_or(0) as usize;
        Postings {
            bytes: self.lists.as_slice().get(start..).unwrap_or_default(),
            bit: 0,
            left: self.doc_freq(t),
            in_run: 0,
            next: 0,
            run: Run::default(),
        }
    }

    /// Bytes of the lists.
    pub fn size_bytes(&self) -> usize {
        self.lists.len()
    }
}

/// The header of the run being read.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    gap_width: u32,
    mask_width: u32,
    impact_width: u32,
    min_impact: u8,
    masks: [u8; 32],
}

/// Walks one term's postings (see [`PostingLists::postings`]).
#[derive(Debug, Clone)]
pub struct Postings<'a> {
    bytes: &'a [u8],
    bit: u64,
    /// Postings left in the list.
    left: u32,
    /// Postings left in the current run.
    in_run: usize,
    /// The smallest ordinal the next posting can have.
    next: u32,
    run: Run,
}

impl Postings<'_> {
    /// The next `width` bits.
    #[inline]
    fn take(&mut self, width: u32) -> Option<u64> {
        let v = bits::read(self.bytes, self.bit, width)?;
        self.bit += u64::from(width);
        Some(v)
    }

    /// Reads a run's header; `None` when it is malformed.
    fn start_run(&mut self) -> Option<()> {
        let gap_width = self.take(GAP_WIDTH_BITS)? as u32;
        let min_impact = self.take(8)? as u8;
        let max_impact = self.take(8)? as u8;
        let masks = self.take(MASK_BITS)? as usize + 1;
        if gap_width > 32 || max_impact < min_impact {
            return None;
        }
        let mut run = Run {
            gap_width,
            mask_width: bits::width(masks as u64 - 1),
            impact_width: bits::width(u64::from(max_impact - min_impact)),
            min_impact,
            masks: [0; 32],
        };
        for slot in run.masks.iter_mut().take(masks) {
            *slot = self.take(MASK_BITS)? as u8;
        }
        self.run = run;
        self.in_run = BLOCK;
        Some(())
    }
}

impl Iterator for Postings<'_> {
    type Item = Posting;

    #[inline]
    fn next(&mut self) -> Option<Posting> {
        if self.left == 0 {
            return None;
        }
        if self.in_run == 0 && self.start_run().is_none() {
            self.left = 0;
            return None;
        }
        let Run {
            gap_width: g,
            mask_width: m,
            impact_width: i,
            min_impact,
            ..
        } = self.run;
        let Some(v) = self.take(g + m + i) else {
            self.left = 0;
            return None;
        };
        let low = |v: u64, w: u32| v & ((1u64 << w) - 1);
        let gap = low(v, g) as u32;
        let code = low(v >> g, m) as usize;
        let impact = u64::from(min_impact) + (v >> (g + m));
        let (Some(doc), Some(&fields), Ok(impact)) = (
            self.next.checked_add(gap),
            self.run.masks.get(code),
            u8::try_from(impact),
        ) else {
            self.left = 0;
            return None;
        };
        self.left -= 1;
        self.in_run -= 1;
        // The last product ordinal ends the list, whatever it claims.
        match doc.checked_add(1) {
            Some(next) => self.next = next,
            None => self.left = 0,
        }
        Some(Posting {
            doc,
            fields,
            impact,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}

#[cfg(feature = "build")]
/// Writes every term's postings (each ascending by product, term ids in
/// order) in the layout above (the origin's side).
pub fn write(lists: &[Vec<Posting>]) -> Vec<u8> {
    let mut out = BitWriter::new();
    let mut starts = Vec::with_capacity(lists.len() + 1);
    let mut bytes = 0u32;
    for list in lists {
        starts.push(bytes);
        let mut next = 0u32;
        for run in list.chunks(BLOCK) {
            let mut masks: Vec<u8> = run.iter().map(|p| p.fields & 0x1f).collect();
            masks.sort_unstable();
            masks.dedup();
            let (lo, hi) = run.iter().fold((u8::MAX, 0), |(lo, hi), p| {
                (lo.min(p.impact), hi.max(p.impact))
            });
            let gaps: Vec<u32> = run
                .iter()
                .map(|p| {
                    let gap = p.doc - next;
                    next = p.doc.wrapping_add(1);
                    gap
                })
                .collect();
            let g = bits::width(u64::from(gaps.iter().copied().max().unwrap_or(0)));
            let m = bits::width(masks.len() as u64 - 1);
            let i = bits::width(u64::from(hi - lo));
            out.push(u64::from(g), GAP_WIDTH_BITS);
            out.push(u64::from(lo), 8);
            out.push(u64::from(hi), 8);
            out.push(masks.len() as u64 - 1, MASK_BITS);
            for &mask in &masks {
                out.push(u64::from(mask), MASK_BITS);
            }
            for (p, gap) in run.iter().zip(gaps) {
                let code = masks.binary_search(&(p.fields & 0x1f)).unwrap_or(0) as u64;
                let impact = u64::from(p.impact - lo);
                out.push(u64::from(gap) | code << g | impact << (g + m), g + m + i);
            }
        }
        bytes = out.align() as u32;
    }
    starts.push(bytes);
    let doc_freq = lists.iter().map(|l| l.len() as u32);
    let mut w = SectionWriter::new(MAGIC);
    w.offsets(&starts).packed(doc_freq).bytes(out.finish());
    w.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    const TAG: Tag = Tag(*b"SPST");

    fn posting(doc: u32, fields: u8, impact: u8) -> Posting {
        Posting {
            doc,
            fields,
            impact,
        }
    }

    /// Lists of every shape: empty, one posting, ordinal 0, the largest
    /// ordinal, runs that span blocks with many masks and impacts.
    fn lists() -> Vec<Vec<Posting>> {
        let long: Vec<Posting> = (0..1000u32)
            .map(|i| posting(i * 7 + i % 3, 1 + (i % 31) as u8, 1 + (i * 37 % 255) as u8))
            .collect();
        vec![
            vec![],
            vec![posting(0, 1, 255)],
            vec![
                posting(5, 16, 1),
                posting(6, 16, 1),
                posting(u32::MAX, 3, 9),
            ],
            long,
            (0..300).map(|i| posting(i, 1, 200)).collect(),
        ]
    }

    #[test]
    fn every_list_reads_back() {
        let lists = lists();
        let read = PostingLists::open(TAG, OwnedBytes::new(write(&lists)), lists.len()).unwrap();
        for (t, list) in (0u32..).zip(&lists) {
            assert_eq!(read.doc_freq(t), list.len() as u32);
            assert_eq!(read.postings(t).collect::<Vec<_>>(), *list, "term {t}");
        }
        assert_eq!(read.postings(99).count(), 0);
        assert_eq!(read.doc_freq(99), 0);
    }

    #[test]
    fn a_run_of_one_mask_and_impact_costs_only_its_gaps() {
        let list: Vec<Posting> = (0..BLOCK as u32).map(|i| posting(i, 1, 7)).collect();
        let bytes = write(&[list]);
        let read = PostingLists::open(TAG, OwnedBytes::new(bytes), 1).unwrap();
        // Header (6 + 8 + 8 + 5 + 5 bits) and a zero-width gap each: 4
        // bytes, then the 8 bytes of padding.
        assert_eq!(read.size_bytes(), 4 + 8);
    }

    #[test]
    fn a_wrong_term_count_or_short_lists_are_refused() {
        let lists = lists();
        let bytes = write(&lists);
        assert!(PostingLists::open(TAG, OwnedBytes::new(bytes.clone()), 4).is_err());
        assert!(
            PostingLists::open(TAG, OwnedBytes::new(bytes[..bytes.len() / 2].to_vec()), 5).is_err()
        );
    }

    #[test]
    fn damaged_lists_end_early_and_never_panic() {
        let lists = lists();
        let good = write(&lists);
        for at in (0..good.len()).step_by(3) {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bytes = good.clone();
                bytes[at] ^= flip;
                let Ok(read) = PostingLists::open(TAG, OwnedBytes::new(bytes), lists.len()) else {
                    continue;
                };
                for t in 0..lists.len() as u32 {
                    let got: Vec<Posting> = read.postings(t).collect();
                    assert!(got.len() <= read.doc_freq(t) as usize);
                    assert!(got.windows(2).all(|w| w[0].doc < w[1].doc), "ascending");
                }
            }
        }
    }

    /// A term's postings: ascending distinct ordinals, each with a field
    /// mask (1 to 31) and an impact (1 to 255).
    fn arb_list() -> impl Strategy<Value = Vec<Posting>> {
        proptest::collection::btree_set(any::<u32>(), 0..400).prop_flat_map(|docs| {
            let n = docs.len();
            (
                Just(docs),
                proptest::collection::vec((1u8..32, 1u8..=255), n),
            )
                .prop_map(|(docs, attrs)| {
                    docs.into_iter()
                        .zip(attrs)
                        .map(|(doc, (fields, impact))| posting(doc, fields, impact))
                        .collect()
                })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the lists, they read back as written.
        #[test]
        fn any_lists_read_back(lists in proptest::collection::vec(arb_list(), 0..6)) {
            let read = PostingLists::open(TAG, OwnedBytes::new(write(&lists)), lists.len()).unwrap();
            for (t, list) in (0u32..).zip(&lists) {
                prop_assert_eq!(read.postings(t).collect::<Vec<_>>(), list.clone());
            }
        }
    }
}
