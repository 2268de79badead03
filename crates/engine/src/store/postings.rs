//! The search index's postings, read in place: per term, the products that
//! contain it, split into tiers by impact so a query can stop reading once
//! the best products are known.
//!
//! Section `SPST` (layout `PST2`), blocks: 0 where each term's list starts
//! in block 2 (bytes, `terms + 1` [`Offsets`]), 1 each term's document
//! frequency ([`Packed`]), 2 the lists.
//!
//! A term's list starts on a byte. Its postings are split into *tiers*:
//! every impact of a tier is above every impact of the next, and within a
//! tier the postings are by ascending product ordinal. Lists of at least
//! [`TIERED_FROM`] postings are split: the first tier holds about
//! [`FIRST_TIER`] postings, each next one [`TIER_GROWTH`] times more, at
//! most [`MAX_TIERS`], cut where the impact changes. So the products a
//! word ranks first are in its first tier: a query that needs the best
//! few hundred of a word found in half the catalog reads a thousand
//! postings, not half the catalog ([`crate::search`]).
//!
//! A shorter list is one tier and has no header; a split one starts with
//! one, least significant bit first ([`bits`]):
//!
//! | bits | what |
//! | --- | --- |
//! | 3 | tiers, less one |
//! | `width(df)` each | the length of every tier but the last (the last has the rest) |
//! | 8 + 5 each | each tier's largest impact and the union of its field masks |
//!
//! Then each tier's postings in runs of [`BLOCK`] (a tier's last run
//! shorter). A run starts with a header:
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
//! less the previous one's, less one; the first of a tier is the ordinal
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

const MAGIC: [u8; 4] = *b"PST2";

/// Postings per run: small enough that a rare mask or impact in one part
/// of a long list does not widen the rest.
pub const BLOCK: usize = 128;

/// The shortest list split into tiers. Stopping early saves reading the
/// tiers left, and costs a look at every product met (see
/// `search::retrieve`): below this, the tiers left are too short to pay
/// for the look, and every split costs a query of several words (which
/// reads every tier) a little.
pub const TIERED_FROM: usize = 4096;

/// Postings of a split list's first tier (about: a tier ends where the
/// impact changes). Twice the search's rerank
/// window, so a one-word query over an unfiltered catalog usually reads
/// only this tier of each of its terms, even with some of its products
/// held back by the guardrails.
pub const FIRST_TIER: usize = 1024;

/// How many times longer each tier is than the one before: the second
/// tier holds every window a search can ask for (50 pages of 48).
pub const TIER_GROWTH: usize = 8;

/// Most tiers of a list. A query of several words reads every tier into
/// per-product accumulators; each tier is a pass over them by ascending
/// product, and two short passes before the long one cost little, where
/// eight passes over a long list cost it a quarter more.
pub const MAX_TIERS: usize = 3;

/// Bits of a list's tier count.
const TIER_COUNT_BITS: u32 = 3;
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

/// One impact tier of a term's list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tier {
    /// Postings in it.
    pub len: u32,
    /// Its largest impact: no posting of a later tier reaches it.
    pub max_impact: u8,
    /// The union of its postings' field masks.
    pub fields: u8,
}

/// A term's tiers, highest impacts first (see [`PostingLists::tiers`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tiers {
    tiers: [Tier; MAX_TIERS],
    len: usize,
}

impl Tiers {
    /// The tiers, highest impacts first.
    pub fn as_slice(&self) -> &[Tier] {
        self.tiers.get(..self.len).unwrap_or_default()
    }
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

    /// Term `t`'s list: its bytes, its tiers (lengths only for a list
    /// without a header) and the bit its first run starts at. A damaged
    /// header gives no tiers.
    fn list(&self, t: u32) -> (&[u8], Tiers, u64) {
        let start = self.starts.get(t as usize).unwrap_or(0) as usize;
        let bytes = self.lists.as_slice().get(start..).unwrap_or_default();
        let df = self.doc_freq(t);
        let mut tiers = Tiers::default();
        if (df as usize) < TIERED_FROM {
            tiers.len = 1;
            tiers.tiers[0].len = df;
            return (bytes, tiers, 0);
        }
        let mut header = Reader { bytes, bit: 0 };
        match header.tiers(df) {
            Some(tiers) => (bytes, tiers, header.bit),
            None => (bytes, Tiers::default(), 0),
        }
    }

    /// Term `t`'s tiers, highest impacts first, with their largest impact
    /// and fields (for a short list, read from its run headers). Empty for
    /// an unknown term or a damaged list.
    pub fn tiers(&self, t: u32) -> Tiers {
        let (bytes, mut tiers, bit) = self.list(t);
        if self.doc_freq(t) as usize >= TIERED_FROM {
            return tiers;
        }
        let mut reader = Reader { bytes, bit };
        match reader.summarize(tiers.tiers[0].len) {
            Some((max_impact, fields)) => {
                tiers.tiers[0].max_impact = max_impact;
                tiers.tiers[0].fields = fields;
                tiers
            }
            None => Tiers::default(),
        }
    }

    /// Term `t`'s postings, tier after tier (each by ascending product
    /// ordinal). A damaged list ends early; it never reads outside the
    /// section.
    pub fn postings(&self, t: u32) -> Postings<'_> {
        let (bytes, tiers, bit) = self.list(t);
        let mut lens = [0; MAX_TIERS];
        for (len, tier) in lens.iter_mut().zip(tiers.as_slice()) {
            *len = tier.len;
        }
        Postings {
            reader: Reader { bytes, bit },
            left: lens.iter().sum(),
            in_tier: lens.first().copied().unwrap_or(0),
            lens,
            tier: 0,
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
    max_impact: u8,
    masks: [u8; 32],
    mask_count: usize,
}

impl Run {
    /// Bits of each posting.
    fn posting_width(&self) -> u32 {
        self.gap_width + self.mask_width + self.impact_width
    }
}

/// A position in a list's bits.
#[derive(Debug, Clone)]
struct Reader<'a> {
    bytes: &'a [u8],
    bit: u64,
}

impl Reader<'_> {
    /// The next `width` bits.
    #[inline]
    fn take(&mut self, width: u32) -> Option<u64> {
        let v = bits::read(self.bytes, self.bit, width)?;
        self.bit += u64::from(width);
        Some(v)
    }

    /// Reads a list's tier header; `None` when its lengths do not add up
    /// to `df` or a tier is empty.
    fn tiers(&mut self, df: u32) -> Option<Tiers> {
        let mut tiers = Tiers {
            len: self.take(TIER_COUNT_BITS)? as usize + 1,
            ..Tiers::default()
        };
        let width = bits::width(u64::from(df));
        let mut rest = df;
        let (last, init) = tiers.tiers.get_mut(..tiers.len)?.split_last_mut()?;
        for tier in init {
            tier.len = u32::try_from(self.take(width)?).ok()?;
            rest = rest.checked_sub(tier.len).filter(|_| tier.len > 0)?;
        }
        last.len = rest;
        if rest == 0 {
            return None;
        }
        for tier in tiers.tiers.iter_mut().take(tiers.len) {
            tier.max_impact = self.take(8)? as u8;
            tier.fields = self.take(MASK_BITS)? as u8;
        }
        Some(tiers)
    }

    /// Reads a run's header; `None` when it is malformed.
    fn run(&mut self) -> Option<Run> {
        let gap_width = self.take(GAP_WIDTH_BITS)? as u32;
        let min_impact = self.take(8)? as u8;
        let max_impact = self.take(8)? as u8;
        let mask_count = self.take(MASK_BITS)? as usize + 1;
        if gap_width > 32 || max_impact < min_impact {
            return None;
        }
        let mut run = Run {
            gap_width,
            mask_width: bits::width(mask_count as u64 - 1),
            impact_width: bits::width(u64::from(max_impact - min_impact)),
            min_impact,
            max_impact,
            masks: [0; 32],
            mask_count,
        };
        for slot in run.masks.iter_mut().take(mask_count) {
            *slot = self.take(MASK_BITS)? as u8;
        }
        Some(run)
    }

    /// The largest impact and the union of the field masks of the `len`
    /// postings from here, from their run headers alone.
    fn summarize(&mut self, len: u32) -> Option<(u8, u8)> {
        let (mut max_impact, mut fields) = (0, 0);
        let mut left = len as usize;
        while left > 0 {
            let run = self.run()?;
            let n = left.min(BLOCK);
            max_impact = max_impact.max(run.max_impact);
            for &mask in run.masks.iter().take(run.mask_count) {
                fields |= mask;
            }
            self.bit = self
                .bit
                .checked_add(n as u64 * u64::from(run.posting_width()))?;
            left -= n;
        }
        Some((max_impact, fields))
    }
}

/// Walks one term's postings (see [`PostingLists::postings`]).
#[derive(Debug, Clone)]
pub struct Postings<'a> {
    reader: Reader<'a>,
    /// Postings left in the list.
    left: u32,
    /// Each tier's length.
    lens: [u32; MAX_TIERS],
    /// The current tier.
    tier: usize,
    /// Postings left in the current tier.
    in_tier: u32,
    /// Postings left in the current run.
    in_run: u32,
    /// The smallest ordinal the next posting can have.
    next: u32,
    run: Run,
}

impl Postings<'_> {
    /// Stops the walk: what is left of the list is damaged.
    fn end(&mut self) -> Option<Posting> {
        self.left = 0;
        None
    }

    /// Reads the next run's header, first moving to the next tier when
    /// this one is done (a tier starts its ordinals afresh).
    #[cold]
    fn start_run(&mut self) -> Option<()> {
        while self.in_tier == 0 {
            self.tier += 1;
            self.in_tier = *self.lens.get(self.tier)?;
            self.next = 0;
        }
        self.run = self.reader.run()?;
        self.in_run = self.in_tier.min(BLOCK as u32);
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
            return self.end();
        }
        let Run {
            gap_width: g,
            mask_width: m,
            min_impact,
            ..
        } = self.run;
        let Some(v) = self.reader.take(self.run.posting_width()) else {
            return self.end();
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
            return self.end();
        };
        self.left -= 1;
        self.in_run -= 1;
        self.in_tier -= 1;
        // The last product ordinal ends its tier, whatever it claims.
        match doc.checked_add(1) {
            Some(next) => self.next = next,
            None => {
                self.left = self.left.saturating_sub(self.in_tier);
                self.in_tier = 0;
                self.in_run = 0;
            }
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
/// The lengths of a list's tiers, given its impacts from highest to
/// lowest (see the module's documentation).
fn tier_lens(impacts: &[u8]) -> Vec<usize> {
    let n = impacts.len();
    if n < TIERED_FROM {
        return vec![n];
    }
    let mut lens = Vec::new();
    let (mut start, mut target) = (0, FIRST_TIER);
    while start < n {
        let rest = n - start;
        // A tail of less than a quarter of the tier stays in it.
        if lens.len() + 1 == MAX_TIERS || rest <= target + target / 4 {
            lens.push(rest);
            break;
        }
        let tail = impacts.get(start..).unwrap_or_default();
        let cut = tail.get(target - 1).copied().unwrap_or(0);
        // Past every posting of the cut's impact, or before them all when
        // that would make the tier more than twice its size.
        let after = tail.partition_point(|&i| i >= cut);
        let before = tail.partition_point(|&i| i > cut);
        let len = if after <= 2 * target || before == 0 {
            after
        } else {
            before
        };
        lens.push(len);
        start += len;
        target *= TIER_GROWTH;
    }
    lens
}

#[cfg(feature = "build")]
/// Writes postings as runs of [`BLOCK`], the ordinals from 0.
fn write_runs(out: &mut BitWriter, postings: &[Posting]) {
    let mut next = 0u32;
    for run in postings.chunks(BLOCK) {
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
        let mut by_impact = list.clone();
        by_impact.sort_by(|a, b| b.impact.cmp(&a.impact).then(a.doc.cmp(&b.doc)));
        let impacts: Vec<u8> = by_impact.iter().map(|p| p.impact).collect();
        let mut tiers = Vec::new();
        let mut rest = by_impact.as_mut_slice();
        for len in tier_lens(&impacts) {
            let (tier, tail) = rest.split_at_mut(len);
            tier.sort_by_key(|p| p.doc);
            tiers.push(&*tier);
            rest = tail;
        }
        if list.len() >= TIERED_FROM {
            out.push(tiers.len() as u64 - 1, TIER_COUNT_BITS);
            let width = bits::width(list.len() as u64);
            for tier in tiers.iter().take(tiers.len() - 1) {
                out.push(tier.len() as u64, width);
            }
            for tier in &tiers {
                let max = tier.iter().map(|p| p.impact).max().unwrap_or(0);
                let fields = tier.iter().fold(0, |f, p| f | p.fields & 0x1f);
                out.push(u64::from(max), 8);
                out.push(u64::from(fields), MASK_BITS);
            }
        }
        for tier in tiers {
            write_runs(&mut out, tier);
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
    /// ordinal, runs that span blocks with many masks and impacts, tiers.
    fn lists() -> Vec<Vec<Posting>> {
        let long: Vec<Posting> = (0..5000u32)
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

    /// Reads term `t` back as `list` was written: the same postings, by
    /// ascending ordinal within each tier, each tier's impacts above the
    /// next one's, and the tiers' summaries true.
    fn reads_back(read: &PostingLists, t: u32, list: &[Posting]) {
        let got: Vec<Posting> = read.postings(t).collect();
        let mut sorted = got.clone();
        sorted.sort_by_key(|p| p.doc);
        assert_eq!(sorted, list, "term {t}");
        let tiers = read.tiers(t);
        let lens: Vec<usize> = tiers.as_slice().iter().map(|t| t.len as usize).collect();
        assert_eq!(lens.iter().sum::<usize>(), list.len(), "term {t}");
        let mut rest = got.as_slice();
        let mut floor = u16::MAX;
        for tier in tiers.as_slice() {
            let (these, tail) = rest.split_at(tier.len as usize);
            assert!(these.windows(2).all(|w| w[0].doc < w[1].doc), "term {t}");
            let max = these.iter().map(|p| p.impact).max().unwrap_or(0);
            let fields = these.iter().fold(0, |f, p| f | p.fields);
            assert_eq!((tier.max_impact, tier.fields), (max, fields), "term {t}");
            assert!(u16::from(max) < floor, "term {t}: tiers overlap");
            floor = u16::from(these.iter().map(|p| p.impact).min().unwrap_or(0));
            rest = tail;
        }
    }

    #[test]
    fn every_list_reads_back() {
        let lists = lists();
        let read = PostingLists::open(TAG, OwnedBytes::new(write(&lists)), lists.len()).unwrap();
        for (t, list) in (0u32..).zip(&lists) {
            assert_eq!(read.doc_freq(t), list.len() as u32);
            reads_back(&read, t, list);
        }
        assert_eq!(read.postings(99).count(), 0);
        assert_eq!(read.doc_freq(99), 0);
        assert!(read.tiers(99).as_slice().iter().all(|t| t.len == 0));
    }

    #[test]
    fn a_long_list_is_split_where_the_impact_changes() {
        // 6,000 postings over 10 impacts of 600 each: tiers of whole impacts.
        let list: Vec<Posting> = (0..6000u32)
            .map(|i| posting(i, 1, 10 + (i % 10) as u8))
            .collect();
        let read = PostingLists::open(TAG, OwnedBytes::new(write(std::slice::from_ref(&list))), 1)
            .unwrap();
        let lens: Vec<u32> = read.tiers(0).as_slice().iter().map(|t| t.len).collect();
        // 1,200 (two impacts, past the first 1,024), then 4,800 (the rest).
        assert_eq!(lens, [1200, 4800]);
        reads_back(&read, 0, &list);
        // Shorter than TIERED_FROM: one tier, however many impacts.
        let short = list.get(..TIERED_FROM - 1).unwrap().to_vec();
        let read = PostingLists::open(TAG, OwnedBytes::new(write(std::slice::from_ref(&short))), 1)
            .unwrap();
        assert_eq!(read.tiers(0).as_slice().len(), 1);
        reads_back(&read, 0, &short);
        // One impact throughout: one tier, however long.
        let flat: Vec<Posting> = (0..5000u32).map(|i| posting(i * 3, 2, 77)).collect();
        let read = PostingLists::open(TAG, OwnedBytes::new(write(std::slice::from_ref(&flat))), 1)
            .unwrap();
        assert_eq!(read.tiers(0).as_slice().len(), 1);
        reads_back(&read, 0, &flat);
        // Many impacts: tiers grow eight times, up to the limit.
        let wide: Vec<Posting> = (0..200_000u32)
            .map(|i| posting(i, 1, 1 + (i.wrapping_mul(2_654_435_761) % 255) as u8))
            .collect();
        let read = PostingLists::open(TAG, OwnedBytes::new(write(std::slice::from_ref(&wide))), 1)
            .unwrap();
        let tiers = read.tiers(0);
        assert_eq!(tiers.as_slice().len(), MAX_TIERS, "{tiers:?}");
        assert!(
            (1024..=2048).contains(&tiers.as_slice()[0].len),
            "{tiers:?}"
        );
        reads_back(&read, 0, &wide);
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
                    let tiers = read.tiers(t);
                    assert!(
                        tiers.as_slice().iter().map(|t| t.len).sum::<u32>() <= read.doc_freq(t)
                    );
                }
            }
        }
    }

    /// A term's postings: ascending distinct ordinals, each with a field
    /// mask (1 to 31) and an impact (1 to 255).
    fn arb_list() -> impl Strategy<Value = Vec<Posting>> {
        proptest::collection::btree_set(any::<u32>(), 0..6000).prop_flat_map(|docs| {
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
                reads_back(&read, t, list);
            }
        }
    }
}
