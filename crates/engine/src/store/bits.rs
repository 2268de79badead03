//! Integers packed in as few bits as their range needs: least significant
//! bit first, one after another, so value `i` of width `w` starts at bit
//! `i * w`. The packed bytes end with eight zero bytes, so any value of up
//! to 56 bits is one unaligned 8-byte load (wider ones are two).

/// Bits needed to hold `max` (0 for 0).
pub fn width(max: u64) -> u32 {
    u64::BITS - max.leading_zeros()
}

/// The low `width` bits set.
#[inline]
fn mask(width: u32) -> u64 {
    u64::MAX
        .checked_shr(u64::BITS.saturating_sub(width))
        .unwrap_or(0)
}

/// The value of `width` bits starting at bit `bit` of `bytes`; `None` when
/// the bytes (with their padding) do not reach it, or `width` is over 64.
///
/// Not recursive (the wide case reads two halves through [`read_narrow`]),
/// so it inlines into every column read.
#[inline]
pub fn read(bytes: &[u8], bit: u64, width: u32) -> Option<u64> {
    if width <= 56 {
        return read_narrow(bytes, bit, width);
    }
    if width > 64 {
        return None;
    }
    let low = read_narrow(bytes, bit, 32)?;
    let high = read_narrow(bytes, bit.checked_add(32)?, width - 32)?;
    Some(low | high << 32)
}

/// As [`read`], for `width` at most 56: one unaligned 8-byte load.
#[inline]
fn read_narrow(bytes: &[u8], bit: u64, width: u32) -> Option<u64> {
    let at = usize::try_from(bit / 8).ok()?;
    let word = bytes.get(at..)?.first_chunk::<8>()?;
    Some((u64::from_le_bytes(*word) >> (bit % 8)) & mask(width))
}

#[cfg(feature = "build")]
/// Packs values one after another (the origin's side).
#[derive(Debug, Default)]
pub struct BitWriter {
    out: Vec<u8>,
    pending: u64,
    filled: u32,
}

#[cfg(feature = "build")]
impl BitWriter {
    /// An empty stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the low `width` bits of `value` (`width` at most 64).
    pub fn push(&mut self, value: u64, width: u32) {
        if width > 32 {
            self.push(value & mask(32), 32);
            self.push(value >> 32, width.min(64) - 32);
            return;
        }
        // `filled` < 8 here, so the pending bits fit in 40.
        self.pending |= (value & mask(width)) << self.filled;
        self.filled += width;
        while self.filled >= 8 {
            self.out.push(self.pending as u8);
            self.pending >>= 8;
            self.filled -= 8;
        }
    }

    /// Pads with zero bits to the next byte, where the next value will
    /// start; returns the bytes written so far.
    pub fn align(&mut self) -> usize {
        if self.filled > 0 {
            self.push(0, 8 - self.filled);
        }
        self.out.len()
    }

    /// Bits written so far.
    pub fn len(&self) -> u64 {
        self.out.len() as u64 * 8 + u64::from(self.filled)
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes the bits fill, the last one completed with zero bits and
    /// no padding after it (for layouts that pad their own way).
    pub fn into_bytes(mut self) -> Vec<u8> {
        self.align();
        self.out
    }

    /// The packed bytes, with the trailing eight zero bytes [`read`] needs.
    pub fn finish(self) -> Vec<u8> {
        let mut out = self.into_bytes();
        out.extend_from_slice(&[0; 8]);
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn values_of_every_width_read_back() {
        for w in 0..=64u32 {
            let values: Vec<u64> = (0..40u64)
                .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) & mask(w))
                .collect();
            let mut writer = BitWriter::new();
            for &v in &values {
                writer.push(v, w);
            }
            let bytes = writer.finish();
            for (i, &v) in (0u64..).zip(&values) {
                assert_eq!(read(&bytes, i * u64::from(w), w), Some(v), "width {w}");
            }
            assert_eq!(read(&bytes, u64::MAX - 3, w.max(1)), None);
            assert_eq!(read(&bytes, 0, 65), None);
        }
        assert_eq!((width(0), width(1), width(255), width(256)), (0, 1, 8, 9));
    }
}
