//! An upper layer's links: a row of `stride` slots per node on the layer,
//! each slot a node id packed in `width` bits, rows shorter than the stride
//! ended by the empty value `2^width - 1`; and the bit-packed column
//! ([`Packed`]) those rows and layer 0's offsets are stored in.
//!
//! Fixed-stride rows need no offsets column (one memory access per row, not
//! two), and every row of an instant-distance graph is full, so the stride
//! wastes nothing. The upper layers hold 1/32 of the points, so coding
//! their links as layer 0's are would save little; their ids are in the
//! upper layers' own numbering, which has no locality to code anyway.
//!
//! Bits are packed least significant first into little-endian `u32` words;
//! the column is the words the bits fill, plus one, so that any id can be
//! read with one 8-byte load.

use super::AnnError;
#[cfg(feature = "build")]
use crate::store::bits::BitWriter;

/// Bits per id on a layer of `size` points: enough to hold `size` itself,
/// so the empty value (all ones) is above every id.
pub(super) fn width(size: u32) -> u32 {
    (u32::BITS - size.leading_zeros()).max(1)
}

/// Bytes of the column of `size` rows of `stride` slots, if addressable.
pub(super) fn column_bytes(size: u32, stride: u32) -> Option<u64> {
    Packed::column_bytes(u64::from(size).checked_mul(u64::from(stride))?, width(size))
}

/// A column of numbers `width` (1 to 32) bits wide, bit-packed least
/// significant bit first into little-endian `u32` words, plus one word so
/// that any number is one 8-byte load.
#[derive(Debug, Clone, Copy)]
pub(super) struct Packed {
    width: u32,
    /// `2^width - 1`.
    mask: u32,
    /// Byte position of the column in the section.
    at: usize,
}

impl Packed {
    /// The column of `width`-bit numbers at byte `at`.
    pub(super) fn new(width: u32, at: usize) -> Self {
        Self {
            width,
            mask: u32::MAX >> (u32::BITS - width),
            at,
        }
    }

    /// Bytes of a column of `count` numbers `width` bits wide, if
    /// addressable.
    pub(super) fn column_bytes(count: u64, width: u32) -> Option<u64> {
        let bits = count.checked_mul(u64::from(width))?;
        bits.div_ceil(32).checked_add(1)?.checked_mul(4)
    }

    /// Number `index`, if the column holds its bits.
    #[inline]
    pub(super) fn get(&self, b: &[u8], index: u64) -> Option<u32> {
        let bit = index.checked_mul(u64::from(self.width))?;
        let at = self
            .at
            .checked_add(usize::try_from(bit / 32).ok()?.checked_mul(4)?)?;
        let word: [u8; 8] = b.get(at..at.checked_add(8)?)?.try_into().ok()?;
        Some((u64::from_le_bytes(word) >> (bit % 32)) as u32 & self.mask)
    }
}

#[cfg(feature = "build")]
/// Appends `values` as a [`Packed`] column `width` bits wide (each value
/// cut to its low `width` bits).
pub(super) fn pack(out: &mut Vec<u8>, values: impl IntoIterator<Item = u32>, width: u32) {
    let mut bits = BitWriter::new();
    for value in values {
        bits.push(u64::from(value), width);
    }
    out.extend(words(bits));
    // The word that lets the last number be read with one 8-byte load.
    out.extend_from_slice(&0u32.to_le_bytes());
}

#[cfg(feature = "build")]
/// The bits as whole little-endian `u32` words, the last one completed
/// with zero bits.
pub(super) fn words(bits: BitWriter) -> Vec<u8> {
    let mut bytes = bits.into_bytes();
    bytes.resize(bytes.len().next_multiple_of(4), 0);
    bytes
}

/// Where one layer's rows are, and their geometry.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rows {
    /// Points on the layer (`0..size`), one row each.
    pub(super) size: u32,
    /// Slots per row: the most links a point has on the layer.
    pub(super) stride: u32,
    width: u32,
    /// The value of an empty slot, `2^width - 1`.
    empty: u32,
    /// Byte position of the column in the section.
    at: usize,
    /// The slots, read one at a time.
    slots: Packed,
}

impl Rows {
    /// The rows of a layer of `size` points, `stride` slots each, at byte `at`.
    pub(super) fn new(size: u32, stride: u32, at: usize) -> Self {
        let width = width(size);
        Self {
            size,
            stride,
            width,
            empty: u32::MAX >> (u32::BITS - width),
            at,
            slots: Packed::new(width, at),
        }
    }

    /// The links of `node` on this layer (none if it is not on it).
    #[inline]
    pub(super) fn links<'a>(&self, b: &'a [u8], node: u32) -> Links<'a> {
        let (slot, end) = if node < self.size {
            let start = u64::from(node) * u64::from(self.stride);
            (start, start + u64::from(self.stride))
        } else {
            (0, 0)
        };
        Links {
            b,
            rows: *self,
            slot,
            end,
        }
    }

    /// Every slot holds an id below the layer's size, or is empty with only
    /// empty slots after it in its row. Reads the column in one pass (it is
    /// on the path of opening a bundle: ~3M slots at 100k points).
    pub(super) fn check(&self, b: &[u8], layer: u32) -> Result<(), AnnError> {
        let bytes = column_bytes(self.size, self.stride)
            .and_then(|len| usize::try_from(len).ok())
            .and_then(|len| b.get(self.at..self.at.checked_add(len)?))
            .ok_or(AnnError::TooLarge {
                what: "links column",
            })?;
        let mut words = bytes
            .chunks_exact(4)
            .filter_map(|w| w.try_into().ok().map(u32::from_le_bytes));
        let (mut buffer, mut buffered) = (0u64, 0u32);
        for node in 0..self.size {
            let mut ended = false;
            for slot in 0..self.stride {
                if buffered < self.width {
                    // Present: the column holds every slot's bits.
                    buffer |= u64::from(words.next().unwrap_or(0)) << buffered;
                    buffered += 32;
                }
                let value = buffer as u32 & self.empty;
                buffer >>= self.width;
                buffered -= self.width;
                let bad = if value == self.empty {
                    ended = true;
                    false
                } else {
                    ended || value >= self.size
                };
                if bad {
                    return Err(AnnError::Link {
                        layer,
                        node,
                        slot,
                        neighbour: value,
                        size: self.size,
                    });
                }
            }
        }
        Ok(())
    }
}

/// The links of one row, up to its first empty slot.
pub(super) struct Links<'a> {
    b: &'a [u8],
    rows: Rows,
    slot: u64,
    end: u64,
}

impl Iterator for Links<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        if self.slot >= self.end {
            return None;
        }
        match self.rows.slots.get(self.b, self.slot) {
            Some(id) if id != self.rows.empty => {
                self.slot += 1;
                Some(id)
            }
            _ => {
                self.slot = self.end;
                None
            }
        }
    }
}

#[cfg(feature = "build")]
/// Appends the column of layer `layer`'s `rows` to `out`: each row at most
/// `stride` long, every id below `rows.len()`.
pub(super) fn write(
    out: &mut Vec<u8>,
    layer: u32,
    rows: &[Vec<u32>],
    stride: u32,
) -> Result<(), AnnError> {
    let size = u32::try_from(rows.len()).map_err(|_| AnnError::TooLarge { what: "layer" })?;
    let width = width(size);
    let empty = u32::MAX >> (u32::BITS - width);
    let mut slots = Vec::with_capacity(rows.len() * stride as usize);
    for (node, row) in (0u32..).zip(rows) {
        if row.len() > stride as usize {
            return Err(AnnError::TooLarge {
                what: "a row over its stride",
            });
        }
        for s in 0..stride {
            slots.push(match row.get(s as usize) {
                Some(&id) if id < size => id,
                Some(&id) => {
                    return Err(AnnError::Link {
                        layer,
                        node,
                        slot: s,
                        neighbour: id,
                        size,
                    })
                }
                None => empty,
            });
        }
    }
    pack(out, slots, width);
    Ok(())
}
