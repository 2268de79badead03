//! The byte layout every read-in-place section shares: a small directory of
//! blocks, each a column (fixed-width little-endian floats, or the
//! bit-packed numbers of [`super::packed`]), a string arena, or a
//! codec-encoded table, starting on a multiple of 8.
//!
//! ```text
//!  0        4          8                    8 + 8 * blocks
//!  +--------+----------+--------------------+--------------------------+
//!  | magic  | blocks n | (offset u32, len   | block 0 | pad | block 1 …|
//!  | [4]    | u32      |  u32) x n          |                          |
//!  +--------+----------+--------------------+--------------------------+
//! ```
//!
//! Offsets are from the start of the section. Reading a section costs a
//! look at its directory: no decode, no copy. Compressed rows and strings
//! are located by bit-packed offsets. A column reads one value with
//! `from_le_bytes` over a `get()`ed slice, so a malformed section yields
//! `None` (and the caller's neutral default), never a panic; the bundle's
//! signed digests make that a question of bugs, not of attacks.

use std::marker::PhantomData;
use std::ops::Range;

use firstpaint_bundle::{OwnedBytes, Tag};

#[cfg(feature = "build")]
use super::packed;
#[cfg(doc)]
use super::packed::{Decimals, Quantized};
use super::packed::{Int, Offsets, Packed, PackedSlice, View};
use super::u32_at;
use crate::error::EngineError;

#[cfg(feature = "build")]
/// Rounds `n` up to a multiple of 8.
fn align8(n: usize) -> usize {
    n.div_ceil(8).saturating_mul(8)
}

#[cfg(feature = "build")]
/// Builds a section out of blocks (the origin's side).
#[derive(Debug)]
pub struct SectionWriter {
    magic: [u8; 4],
    blocks: Vec<Vec<u8>>,
}

#[cfg(feature = "build")]
impl SectionWriter {
    /// A section whose first four bytes are `magic` (the layout's name and
    /// version, e.g. `b"CAT3"`).
    pub fn new(magic: [u8; 4]) -> Self {
        Self {
            magic,
            blocks: Vec::new(),
        }
    }

    /// Appends a block of raw bytes.
    pub fn bytes(&mut self, block: Vec<u8>) -> &mut Self {
        self.blocks.push(block);
        self
    }

    /// Appends a column of fixed-width values.
    pub fn column<T: Fixed>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self {
        let mut block = Vec::new();
        for v in values {
            v.write(&mut block);
        }
        self.bytes(block)
    }

    /// Appends bit-packed integers (see [`Packed`]).
    pub fn packed<T: Int>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self {
        self.bytes(packed::pack(values))
    }

    /// Appends decimals (see [`Decimals`]).
    pub fn decimals(&mut self, values: &[f64]) -> &mut Self {
        self.bytes(packed::decimals(values))
    }

    /// Appends scores as 8-bit codes (see [`Quantized`]).
    pub fn quantized(&mut self, values: impl IntoIterator<Item = f32>) -> &mut Self {
        self.bytes(packed::quantize(values))
    }

    /// Appends ascending offsets (see [`Offsets`]).
    pub fn offsets(&mut self, offsets: &[u32]) -> &mut Self {
        self.bytes(packed::offsets(offsets))
    }

    /// Appends compressed rows: `rows.len() + 1` offsets ([`Offsets`]), then
    /// the values, bit-packed (two blocks).
    pub fn rows<T: Int, R: IntoIterator<Item = T>>(
        &mut self,
        rows: impl IntoIterator<Item = R>,
    ) -> &mut Self {
        let mut offsets = vec![0u32];
        let mut values = Vec::new();
        for row in rows {
            values.extend(row);
            offsets.push(u32::try_from(values.len()).unwrap_or(u32::MAX));
        }
        self.offsets(&offsets).packed(values)
    }

    /// Appends strings (or any byte strings) as their offsets
    /// ([`Offsets`]) and an arena (two blocks).
    pub fn strings(&mut self, strings: impl IntoIterator<Item = impl AsRef<[u8]>>) -> &mut Self {
        let mut offsets = vec![0u32];
        let mut arena = Vec::new();
        for s in strings {
            arena.extend_from_slice(s.as_ref());
            offsets.push(u32::try_from(arena.len()).unwrap_or(u32::MAX));
        }
        self.offsets(&offsets).bytes(arena)
    }

    /// The section's bytes.
    pub fn finish(&self) -> Vec<u8> {
        let head = 8 + 8 * self.blocks.len();
        let mut at = align8(head);
        let mut out = Vec::with_capacity(at + self.blocks.iter().map(Vec::len).sum::<usize>());
        out.extend_from_slice(&self.magic);
        out.extend_from_slice(&(self.blocks.len() as u32).to_le_bytes());
        for b in &self.blocks {
            out.extend_from_slice(&(at as u32).to_le_bytes());
            out.extend_from_slice(&(b.len() as u32).to_le_bytes());
            at = align8(at + b.len());
        }
        for b in &self.blocks {
            out.resize(align8(out.len()), 0);
            out.extend_from_slice(b);
        }
        out
    }
}

/// A section's blocks, found through its directory.
#[derive(Debug, Clone)]
pub struct Blocks {
    tag: Tag,
    bytes: OwnedBytes,
    ranges: Vec<Range<usize>>,
}

impl Blocks {
    /// Reads the directory of section `tag`, which must start with `magic`
    /// and hold at least `min_blocks` blocks, each inside the section.
    pub fn open(
        tag: Tag,
        bytes: OwnedBytes,
        magic: [u8; 4],
        min_blocks: usize,
    ) -> Result<Self, EngineError> {
        let bad = |detail: String| EngineError::Inconsistent {
            section: tag,
            detail,
        };
        let b = bytes.as_slice();
        let found = b.get(..4).unwrap_or_default();
        if found != magic {
            return Err(bad(format!(
                "layout {:?}, this engine reads {:?}",
                String::from_utf8_lossy(found),
                String::from_utf8_lossy(&magic)
            )));
        }
        let count = u32_at(b, 4).unwrap_or(0) as usize;
        if count < min_blocks || count > b.len() / 8 {
            return Err(bad(format!(
                "{count} blocks, expected at least {min_blocks}"
            )));
        }
        let mut ranges = Vec::with_capacity(count);
        for i in 0..count {
            let at = 8 + 8 * i;
            let (Some(start), Some(len)) = (u32_at(b, at), u32_at(b, at + 4)) else {
                return Err(bad(format!("block {i}'s directory entry is cut off")));
            };
            let (start, len) = (start as usize, len as usize);
            let end = start.checked_add(len).filter(|&e| e <= b.len());
            let Some(end) = end else {
                return Err(bad(format!(
                    "block {i} at offset {start} (length {len}) is outside the section's {} bytes",
                    b.len()
                )));
            };
            ranges.push(start..end);
        }
        Ok(Self { tag, bytes, ranges })
    }

    /// The section's tag, for errors.
    pub fn tag(&self) -> Tag {
        self.tag
    }

    /// Number of blocks.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Whether there are no blocks.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Block `i`'s bytes, shared (empty when there is no block `i`).
    pub fn bytes(&self, i: usize) -> OwnedBytes {
        self.ranges
            .get(i)
            .and_then(|r| self.bytes.slice(r.clone()))
            .unwrap_or_else(|| OwnedBytes::new(Vec::new()))
    }

    /// Block `i` as a column of `T`, which must hold `expected` values when
    /// given (an error naming the section otherwise).
    pub fn column<T: Fixed>(
        &self,
        i: usize,
        expected: Option<usize>,
    ) -> Result<Column<T>, EngineError> {
        let column = Column::new(self.bytes(i));
        self.expect(i, column.len(), expected)?;
        Ok(column)
    }

    /// Block `i` as a packed view ([`Packed`], [`Decimals`],
    /// [`Quantized`], [`Offsets`]) of `expected` values when given; an error
    /// naming the section and block when it is malformed.
    pub fn view<V: View>(&self, i: usize, expected: Option<usize>) -> Result<V, EngineError> {
        let view = V::open(self.bytes(i)).ok_or_else(|| self.malformed(i))?;
        self.expect(i, view.values(), expected)?;
        Ok(view)
    }

    /// Blocks `i` (offsets) and `i + 1` (values) as compressed rows; there
    /// must be `rows` rows when given.
    pub fn rows<T: Int>(&self, i: usize, rows: Option<usize>) -> Result<Rows<T>, EngineError> {
        Ok(Rows {
            offsets: self.view(i, rows.map(|n| n + 1))?,
            values: self.view(i + 1, None)?,
        })
    }

    /// Blocks `i` (offsets) and `i + 1` (the arena) as strings; there must
    /// be `count` strings when given.
    pub fn strings(&self, i: usize, count: Option<usize>) -> Result<Strings, EngineError> {
        Ok(Strings {
            offsets: self.view(i, count.map(|n| n + 1))?,
            arena: self.bytes(i + 1),
        })
    }

    fn malformed(&self, i: usize) -> EngineError {
        EngineError::Inconsistent {
            section: self.tag,
            detail: format!("block {i} is cut off or its header is malformed"),
        }
    }

    fn expect(&self, i: usize, len: usize, expected: Option<usize>) -> Result<(), EngineError> {
        match expected {
            Some(n) if len != n => Err(EngineError::Inconsistent {
                section: self.tag,
                detail: format!("block {i} holds {len} values, expected {n}"),
            }),
            _ => Ok(()),
        }
    }
}

/// A float stored at its full width, little-endian (integers and scores
/// are bit-packed: [`Packed`], [`Quantized`]).
pub trait Fixed: Copy {
    /// Bytes per value.
    const WIDTH: usize;
    /// Reads one value from exactly [`Fixed::WIDTH`] bytes.
    fn read(b: &[u8]) -> Option<Self>;
    /// Appends the value's bytes.
    fn write(self, out: &mut Vec<u8>);
}

macro_rules! fixed {
    ($($t:ty),*) => {$(
        impl Fixed for $t {
            const WIDTH: usize = std::mem::size_of::<$t>();
            fn read(b: &[u8]) -> Option<Self> {
                Some(<$t>::from_le_bytes(b.try_into().ok()?))
            }
            fn write(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
fixed!(f32, f64);

/// A column of fixed-width values read in place.
#[derive(Debug, Clone)]
pub struct Column<T> {
    bytes: OwnedBytes,
    _t: PhantomData<T>,
}

impl<T: Fixed> Column<T> {
    /// A column over `bytes` (a trailing partial value is ignored).
    pub fn new(bytes: OwnedBytes) -> Self {
        Self {
            bytes,
            _t: PhantomData,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.bytes.len() / T::WIDTH
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `i`, `None` past the end.
    pub fn get(&self, i: usize) -> Option<T> {
        read_at(self.bytes.as_slice(), i)
    }
}

fn read_at<T: Fixed>(b: &[u8], i: usize) -> Option<T> {
    let start = i.checked_mul(T::WIDTH)?;
    T::read(b.get(start..start.checked_add(T::WIDTH)?)?)
}

/// Compressed rows: row `i` is `values[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone)]
pub struct Rows<T> {
    offsets: Offsets,
    values: Packed<T>,
}

impl<T: Int> Rows<T> {
    /// No rows at all (every row reads empty).
    pub fn empty() -> Self {
        Self {
            offsets: Offsets::empty(),
            values: Packed::empty(),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i` (empty past the end or when its offsets are bad).
    pub fn row(&self, i: usize) -> PackedSlice<'_, T> {
        self.values.slice(self.span(i))
    }

    /// The last `n` values of row `i` (all of it when it is shorter).
    pub fn tail(&self, i: usize, n: usize) -> PackedSlice<'_, T> {
        let span = self.span(i);
        self.values
            .slice(span.end.saturating_sub(n).max(span.start)..span.end)
    }

    /// Where row `i` lies among the values: what a column kept parallel to
    /// them (a score per neighbour) is sliced by.
    pub fn span(&self, i: usize) -> Range<usize> {
        span(&self.offsets, i)
    }
}

/// Entry `i` of compressed offsets, `offsets[i]..offsets[i + 1]`; empty
/// past the end or when the offsets run backwards.
fn span(offsets: &Offsets, i: usize) -> Range<usize> {
    let (start, end) = offsets.pair(i).unwrap_or((0, 0));
    start as usize..end.max(start) as usize
}

/// Strings in an arena, read in place.
#[derive(Debug, Clone)]
pub struct Strings {
    offsets: Offsets,
    arena: OwnedBytes,
}

impl Strings {
    /// Number of strings.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// String `i` (empty past the end or when it is not UTF-8).
    pub fn get(&self, i: usize) -> &str {
        std::str::from_utf8(self.bytes(i)).unwrap_or_default()
    }

    /// String `i`'s bytes, unchecked for UTF-8 (comparisons: byte order is
    /// `str` order).
    pub fn bytes(&self, i: usize) -> &[u8] {
        let span = span(&self.offsets, i);
        self.arena.as_slice().get(span).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    const TAG: Tag = Tag(*b"TEST");

    fn sample() -> Vec<u8> {
        let mut w = SectionWriter::new(*b"TST1");
        w.column([1f32, 2.0, 3.0])
            .rows([vec![7u16, 8], vec![], vec![9]])
            .strings(["ab", "", "cdé"])
            .column([1.5f64]);
        w.finish()
    }

    #[test]
    fn what_is_written_reads_back_in_place() {
        let blocks = Blocks::open(TAG, OwnedBytes::new(sample()), *b"TST1", 6).unwrap();
        let c = blocks.column::<f32>(0, Some(3)).unwrap();
        assert!(
            blocks.view::<Packed<u32>>(0, None).is_err(),
            "not a packed block"
        );
        assert_eq!(
            (0..3).map(|i| c.get(i)).collect::<Vec<_>>(),
            [Some(1.0), Some(2.0), Some(3.0)]
        );
        assert_eq!(c.get(3), None);
        let rows = blocks.rows::<u16>(1, Some(3)).unwrap();
        assert_eq!(rows.row(0).collect::<Vec<_>>(), [7, 8]);
        assert!(rows.row(1).is_empty());
        assert!(rows.row(2).contains(9));
        assert!(rows.row(3).is_empty());
        let s = blocks.strings(3, Some(3)).unwrap();
        assert_eq!(
            (s.get(0), s.get(1), s.get(2), s.get(3)),
            ("ab", "", "cdé", "")
        );
        assert_eq!(blocks.column::<f64>(5, Some(1)).unwrap().get(0), Some(1.5));
        assert!(
            blocks.column::<f32>(0, Some(4)).is_err(),
            "wrong length named"
        );
    }

    #[test]
    fn malformed_directories_are_errors_and_bad_offsets_read_empty() {
        let good = sample();
        assert!(Blocks::open(TAG, OwnedBytes::new(good.clone()), *b"XXXX", 1).is_err());
        assert!(Blocks::open(TAG, OwnedBytes::new(good[..12].to_vec()), *b"TST1", 1).is_err());
        let mut far = good.clone();
        far[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Blocks::open(TAG, OwnedBytes::new(far), *b"TST1", 1).is_err());
        // Row offsets pointing past the values read as empty rows.
        let mut w = SectionWriter::new(*b"TST1");
        w.offsets(&[0, 50, 2]).packed([1u8, 2]);
        let blocks = Blocks::open(TAG, OwnedBytes::new(w.finish()), *b"TST1", 2).unwrap();
        let rows = blocks.rows::<u8>(0, None).unwrap();
        assert!(rows.row(0).is_empty());
        assert!(rows.row(1).is_empty(), "50..2 is backwards");
    }

    #[test]
    fn any_byte_change_or_cut_never_panics() {
        let good = sample();
        for i in 0..good.len() {
            for cut in [true, false] {
                let mut b = good.clone();
                if cut {
                    b.truncate(i);
                } else {
                    b[i] ^= 0xa5;
                }
                if let Ok(blocks) = Blocks::open(TAG, OwnedBytes::new(b), *b"TST1", 1) {
                    for k in 0..blocks.len() {
                        // A damaged count may claim billions of values: read a few.
                        let _ = blocks
                            .column::<f32>(k, None)
                            .map(|c| (0..c.len()).filter_map(|i| c.get(i)).count());
                        let _ = blocks
                            .view::<Packed<u64>>(k, None)
                            .map(|c| c.iter().take(64).count());
                        let _ = blocks
                            .rows::<u16>(k, None)
                            .map(|r| r.row(1).take(64).count());
                        let _ = blocks.strings(k, None).map(|s| s.get(2).len());
                    }
                }
            }
        }
    }
}
