//! Layer 0's links, delta-coded: each point's neighbours sorted, the first
//! written as its signed distance from the point (zigzag), each next one as
//! its gap from the one before, less one; every number in an Exp-Golomb
//! code with a parameter `k` per row; rows found through bit-packed
//! offsets.
//!
//! It pays because neighbours have close ordinals: a catalog lists a
//! category's products together, and neighbours mostly share a category.
//! On the structured 100k store, with 16 links a point, 63% of the numbers
//! fit 8 bits and the links take 20.7 B/point plus 3.1 B of offsets,
//! against 34 B at a fixed 17 bits an id (in instant-distance's own
//! numbering, which has no locality, they would take 30 B). Rice codes
//! (`x >> k` in unary, then `k` bits) take 22.0 B: the numbers' tail is
//! long (the first link's distance, a neighbour in another category), and
//! an Exp-Golomb code's length grows with the log of the number, a Rice
//! code's with the number.
//!
//! The code of `x` with parameter `k`, least significant bit first: with
//! `y = x + 2^k` and `z` = bit length of `y` - `k` - 1, `z` zero bits, a
//! one bit, then the low `z + k` bits of `y`: `2z + k + 1` bits in all.
//! The writer picks each row's `k` to make the row shortest with no code
//! over [`MAX_CODE`] bits (`k` = 31 always qualifies), so one 8-byte load
//! from a code's byte reads it whole.

use super::rows::{self, Packed};
use super::AnnError;
#[cfg(feature = "build")]
use crate::store::bits::BitWriter;

/// The most bits one code takes: what an 8-byte load holds from any bit.
pub(super) const MAX_CODE: u32 = 56;
/// Bits of a row's parameter `k` (0 to 31).
const K_BITS: u32 = 5;
/// The most points the layout numbers: every zigzagged first neighbour
/// (below `2n`) then fits the 31 bits a `k` can cover.
pub(super) const MAX_POINTS: u32 = 1 << 30;

/// Bytes of the codes column of `bits` bits: its words, and two more so
/// that any code is one 8-byte load.
pub(super) fn codes_bytes(bits: u32) -> u64 {
    (u64::from(bits).div_ceil(32) + 2) * 4
}

/// Where layer 0's offsets and codes are, and their counts.
#[derive(Debug, Clone, Copy)]
pub(super) struct Coded {
    /// Points (rows).
    pub(super) n: u32,
    /// The most links a row holds.
    pub(super) degree: u32,
    /// `n + 1` row starts, in bits from the codes' start.
    offsets: Packed,
    /// Byte position of the codes.
    codes: usize,
    /// Bits of codes.
    bits: u32,
}

impl Coded {
    /// Layer 0 of `n` points at most `degree` links each, with `bits` bits
    /// of codes: its offsets at byte `offsets`, codes at byte `codes`.
    pub(super) fn new(n: u32, degree: u32, bits: u32, offsets: usize, codes: usize) -> Self {
        Self {
            n,
            degree,
            offsets: Packed::new(rows::width(bits), offsets),
            codes,
            bits,
        }
    }

    /// Bytes of the offsets column of `n` points and `bits` bits of codes.
    pub(super) fn offsets_bytes(n: u32, bits: u32) -> Option<u64> {
        Packed::column_bytes(u64::from(n) + 1, rows::width(bits))
    }

    /// The links of `point` (none if it is not one, or its row is damaged
    /// where it is: [`check`](Self::check) refuses that at `open`).
    #[inline]
    pub(super) fn links<'a>(&self, b: &'a [u8], point: u32) -> CodedLinks<'a> {
        let row = (point < self.n)
            .then(|| {
                let start = self.offsets.get(b, u64::from(point))?;
                let end = self.offsets.get(b, u64::from(point) + 1)?;
                (start <= end && end <= self.bits).then_some((start, end))
            })
            .flatten();
        let (start, end) = row.unwrap_or((0, 0));
        let mut links = CodedLinks {
            b,
            codes: self.codes,
            pos: u64::from(start),
            end: u64::from(end),
            k: 0,
            previous: None,
            point,
            n: self.n,
            failed: row.is_none(),
        };
        if start < end {
            match links
                .load()
                .filter(|_| links.pos + u64::from(K_BITS) <= links.end)
            {
                Some(word) => {
                    links.k = word as u32 & ((1 << K_BITS) - 1);
                    links.pos += u64::from(K_BITS);
                }
                None => links.failed = true,
            }
        }
        links
    }

    /// The offsets start at 0, never decrease and end at the codes' length;
    /// each row decodes to at most `degree` points below `n`, in increasing
    /// order, and ends exactly where the next starts.
    pub(super) fn check(&self, b: &[u8]) -> Result<(), AnnError> {
        let bad = |point: u32, bit: u64, why: &'static str| AnnError::Row { point, bit, why };
        let first = self.offsets.get(b, 0).unwrap_or(u32::MAX);
        if first != 0 {
            return Err(bad(
                0,
                u64::from(first),
                "the first row does not start at 0",
            ));
        }
        let last = self.offsets.get(b, u64::from(self.n)).unwrap_or(u32::MAX);
        if last != self.bits {
            return Err(bad(
                self.n,
                u64::from(last),
                "the rows do not end at the codes' end",
            ));
        }
        for point in 0..self.n {
            let mut links = self.links(b, point);
            let mut count = 0u32;
            for _ in links.by_ref() {
                count += 1;
            }
            if links.failed || links.pos != links.end {
                return Err(bad(point, links.pos, "a malformed row"));
            }
            if count > self.degree {
                return Err(bad(point, links.pos, "more links than the header's degree"));
            }
        }
        Ok(())
    }
}

/// The links of one row of layer 0, in increasing order.
pub(super) struct CodedLinks<'a> {
    b: &'a [u8],
    codes: usize,
    /// The next code's bit.
    pos: u64,
    /// The row's end bit.
    end: u64,
    k: u32,
    /// The last link read.
    previous: Option<u32>,
    point: u32,
    n: u32,
    /// A code was malformed (so the row stops early).
    failed: bool,
}

impl CodedLinks<'_> {
    /// The 57 or more bits from `pos`.
    #[inline]
    fn load(&self) -> Option<u64> {
        let at = self
            .codes
            .checked_add(usize::try_from(self.pos / 8).ok()?)?;
        let word: [u8; 8] = self.b.get(at..at.checked_add(8)?)?.try_into().ok()?;
        Some(u64::from_le_bytes(word) >> (self.pos % 8))
    }

    /// The next number, and the link it gives.
    #[inline]
    fn decode(&mut self) -> Option<u32> {
        let word = self.load()?;
        let z = word.trailing_zeros();
        let len = 2 * z + self.k + 1;
        if len > MAX_CODE || self.pos + u64::from(len) > self.end {
            return None;
        }
        // The low z + k bits of y, then its top bit; less 2^k.
        let high = 1u64 << (z + self.k);
        let x = (((word >> (z + 1)) & (high - 1)) | high) - (1u64 << self.k);
        let link = match self.previous {
            None => {
                let d = (x >> 1) as i64 ^ -((x & 1) as i64);
                i64::from(self.point) + d
            }
            Some(p) => i64::from(p) + 1 + x as i64,
        };
        let link = u32::try_from(link).ok().filter(|&l| l < self.n)?;
        self.pos += u64::from(len);
        self.previous = Some(link);
        Some(link)
    }
}

impl Iterator for CodedLinks<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        if self.failed || self.pos >= self.end {
            return None;
        }
        let link = self.decode();
        self.failed = link.is_none();
        link
    }
}

#[cfg(feature = "build")]
/// Layer 0's rows coded: the row starts (`n + 1`), the codes as whole
/// little-endian `u32` words and their length in bits, and the most links
/// a row holds.
pub(super) struct Encoded {
    pub(super) offsets: Vec<u32>,
    pub(super) words: Vec<u8>,
    pub(super) bits: u32,
    pub(super) degree: u32,
}

#[cfg(feature = "build")]
/// Bits written so far, if a `u32` holds the count.
fn bit_count(bits: &BitWriter) -> Result<u32, AnnError> {
    u32::try_from(bits.len()).map_err(|_| AnnError::TooLarge {
        what: "layer-0 codes",
    })
}

#[cfg(feature = "build")]
/// Bits of the code of `x` (below 2^32) with parameter `k` (below 32).
fn code_bits(x: u64, k: u32) -> u32 {
    let y = x + (1 << k);
    2 * (u64::BITS - y.leading_zeros() - k - 1) + k + 1
}

#[cfg(feature = "build")]
/// Codes `rows` (row `p` is point `p`'s links, each below `rows.len()`,
/// which is at most [`MAX_POINTS`]); duplicate links are kept once.
pub(super) fn encode(rows: &[Vec<u32>]) -> Result<Encoded, AnnError> {
    let mut bits = BitWriter::new();
    let mut offsets = Vec::with_capacity(rows.len() + 1);
    let mut degree = 0;
    for (point, row) in (0u32..).zip(rows) {
        offsets.push(bit_count(&bits)?);
        let mut sorted = row.clone();
        sorted.sort_unstable();
        sorted.dedup();
        degree = degree.max(sorted.len());
        // The first link's distance from the point (zigzag), then gaps.
        let first = sorted.first().map(|&l| {
            let d = i64::from(l) - i64::from(point);
            ((d << 1) ^ (d >> 63)) as u64
        });
        let numbers: Vec<u64> = first
            .into_iter()
            .chain(sorted.windows(2).map(|w| match w {
                [a, b] => u64::from(b - a - 1),
                _ => 0,
            }))
            .collect();
        let Some(&max) = numbers.iter().max() else {
            continue;
        };
        // k = 31 always qualifies: every number is below 2^31.
        let k = (0..32u32)
            .filter(|&k| code_bits(max, k) <= MAX_CODE)
            .min_by_key(|&k| {
                numbers
                    .iter()
                    .map(|&x| u64::from(code_bits(x, k)))
                    .sum::<u64>()
            })
            .ok_or(AnnError::TooLarge { what: "points" })?;
        bits.push(u64::from(k), K_BITS);
        for x in numbers {
            let y = x + (1 << k);
            let z = u64::BITS - y.leading_zeros() - k - 1;
            bits.push(1 << z, z + 1);
            bits.push(y, z + k);
        }
    }
    offsets.push(bit_count(&bits)?);
    let len = bit_count(&bits)?;
    Ok(Encoded {
        offsets,
        words: rows::words(bits),
        bits: len,
        degree: u32::try_from(degree).map_err(|_| AnnError::TooLarge { what: "degree" })?,
    })
}
