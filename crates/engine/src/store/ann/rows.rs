//! One layer's links: a row of `stride` slots per point on the layer, each
//! slot a point id packed in `width` bits, rows shorter than the stride
//! ended by the empty value `2^width - 1`.
//!
//! Fixed-stride rows need no offsets column (one memory access per row, not
//! two), and every row of an instant-distance graph is full, so the stride
//! wastes nothing. Packing ids in as few bits as the layer's size needs
//! (17 for 100k points) takes them from 4 bytes to ~2.
//!
//! Bits are packed least significant first into little-endian `u32` words;
//! the column is the words the bits fill, plus one, so that any id can be
//! read with one 8-byte load.

use super::AnnError;

/// Bits per id on a layer of `size` points: enough to hold `size` itself,
/// so the empty value (all ones) is above every id.
pub(super) fn width(size: u32) -> u32 {
    (u32::BITS - size.leading_zeros()).max(1)
}

/// Bytes of the column of `size` rows of `stride` slots, if addressable.
pub(super) fn column_bytes(size: u32, stride: u32) -> Option<u64> {
    let bits = u64::from(size)
        .checked_mul(u64::from(stride))?
        .checked_mul(u64::from(width(size)))?;
    bits.div_ceil(32).checked_add(1)?.checked_mul(4)
}

/// Where one layer's rows are, and their geometry.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rows {
    /// Points on the layer (`0..size`), one row each.
    pub(super) size: u32,
    /// Slots per row: the most links a point has on the layer.
    pub(super) stride: u32,
    width: u32,
    /// The value of an empty slot, `2^width - 1`; also the mask of a slot.
    empty: u32,
    /// Byte position of the column in the section.
    at: usize,
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
        }
    }

    /// The value in `slot` (counted over all rows): an id, or `empty`.
    #[inline]
    fn slot(&self, b: &[u8], slot: u64) -> Option<u32> {
        let bit = slot * u64::from(self.width);
        let at = self.at + 4 * (bit / 32) as usize;
        let word: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
        Some((u64::from_le_bytes(word) >> (bit % 32)) as u32 & self.empty)
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
        match self.rows.slot(self.b, self.slot) {
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
    let mut word = 0u64;
    let mut bits = 0u32;
    for (node, row) in (0u32..).zip(rows) {
        if row.len() > stride as usize {
            return Err(AnnError::TooLarge {
                what: "a row over its stride",
            });
        }
        for s in 0..stride {
            let value = match row.get(s as usize) {
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
            };
            word |= u64::from(value) << bits;
            bits += width;
            if bits >= 32 {
                out.extend_from_slice(&(word as u32).to_le_bytes());
                word >>= 32;
                bits -= 32;
            }
        }
    }
    if bits > 0 {
        out.extend_from_slice(&(word as u32).to_le_bytes());
    }
    // The word that lets the last id be read with one 8-byte load.
    out.extend_from_slice(&0u32.to_le_bytes());
    Ok(())
}
