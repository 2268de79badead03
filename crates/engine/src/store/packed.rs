//! Numbers stored in as few bits as their values need: bit-packed integers
//! ([`Packed`]), prices and other decimals as scaled integers
//! ([`Decimals`]), and scores as 8-bit codes over their range
//! ([`Quantized`]). Each is one block of a section (see [`super::columns`]).
//!
//! ```text
//! Packed:     len u32 | width u8 | 0 u8 x 3 | base u64 | bits (see store::bits)
//! Decimals:   decimals u8 | 0 u8 x 7 | Packed of i64 (value x 10^decimals,
//!             or the f64's bits when decimals is 255)
//! Quantized:  min f32 | step f32 | Packed of codes (value = min + code x step)
//! Offsets:    Packed of every 16th offset | Packed of each offset minus
//!             the 16th before it (or itself)
//! ```
//!
//! A packed value is `base + ` its `width` bits, so a column of ordinals
//! below 100,000 takes 17 bits a value, and a column of listing times
//! spanning three years 27.

use std::marker::PhantomData;
use std::ops::Range;

use firstpaint_bundle::OwnedBytes;

use super::bits;
#[cfg(feature = "build")]
use super::bits::BitWriter;
use super::{f32_at, u32_at};

/// Bytes before a packed column's bits.
const HEADER: usize = 16;
/// The `decimals` of a [`Decimals`] column that holds raw `f64` bits.
const FLOAT: u8 = u8::MAX;
/// The most decimals a [`Decimals`] column scales by.
const MAX_DECIMALS: u8 = 6;
/// Offsets per sampled base in [`Offsets`].
const OFFSETS_PER_BASE: usize = 16;

/// A packed block read in place: opened over its bytes (`None` when
/// malformed), with a number of values.
pub trait View: Sized {
    /// The view over a block's `bytes`.
    fn open(bytes: OwnedBytes) -> Option<Self>;
    /// Number of values.
    fn values(&self) -> usize;
}

macro_rules! view {
    ($($t:ty),*) => {$(
        impl View for $t {
            fn open(bytes: OwnedBytes) -> Option<Self> {
                <$t>::open(bytes)
            }
            fn values(&self) -> usize {
                <$t>::len(self)
            }
        }
    )*};
}
view!(Decimals, Quantized, Offsets);

impl<T: Int> View for Packed<T> {
    fn open(bytes: OwnedBytes) -> Option<Self> {
        Packed::open(bytes)
    }
    fn values(&self) -> usize {
        Packed::len(self)
    }
}

/// An integer type a [`Packed`] column holds.
pub trait Int: Copy {
    /// The value as an unsigned key that sorts as the values do.
    fn key(self) -> u64;
    /// The value of a key (truncated when it does not fit: only a
    /// malformed column holds such keys).
    fn from_key(key: u64) -> Self;
}

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl Int for $t {
            fn key(self) -> u64 {
                self as u64
            }
            fn from_key(key: u64) -> Self {
                key as $t
            }
        }
    )*};
}
unsigned!(u8, u16, u32, u64);

impl Int for i64 {
    fn key(self) -> u64 {
        (self as u64) ^ (1 << 63)
    }
    fn from_key(key: u64) -> Self {
        (key ^ (1 << 63)) as i64
    }
}

#[cfg(feature = "build")]
/// Packs `values` in the [`Packed`] layout (the origin's side).
pub fn pack<T: Int>(values: impl IntoIterator<Item = T>) -> Vec<u8> {
    let keys: Vec<u64> = values.into_iter().map(Int::key).collect();
    let base = keys.iter().copied().min().unwrap_or(0);
    let width = bits::width(keys.iter().map(|k| k - base).max().unwrap_or(0));
    let mut out = Vec::with_capacity(HEADER + keys.len() * width as usize / 8 + 9);
    out.extend_from_slice(&u32::try_from(keys.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(&[width as u8, 0, 0, 0]);
    out.extend_from_slice(&base.to_le_bytes());
    let mut writer = BitWriter::new();
    for k in keys {
        writer.push(k - base, width);
    }
    out.extend(writer.finish());
    out
}

/// Bit-packed integers read in place.
#[derive(Debug, Clone)]
pub struct Packed<T> {
    bits: OwnedBytes,
    len: usize,
    width: u32,
    base: u64,
    _t: PhantomData<T>,
}

impl<T: Int> Packed<T> {
    /// No values.
    pub fn empty() -> Self {
        Self {
            bits: OwnedBytes::new(Vec::new()),
            len: 0,
            width: 0,
            base: 0,
            _t: PhantomData,
        }
    }

    /// The column over a block's `bytes`; `None` when its header is cut
    /// off, its width is over 64 bits or its bits are shorter than its
    /// length needs (so every value below the length can be read).
    pub fn open(bytes: OwnedBytes) -> Option<Self> {
        let b = bytes.as_slice();
        let len = u32_at(b, 0)? as usize;
        let width = u32::from(*b.get(4)?);
        let base = u64::from_le_bytes(b.get(8..16)?.try_into().ok()?);
        let end = packed_len(len, width)?;
        let bits = bytes.slice(HEADER..b.len())?;
        (width <= 64 && b.len() >= end).then_some(Self {
            bits,
            len,
            width,
            base,
            _t: PhantomData,
        })
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Value `i`, `None` past the end.
    #[inline]
    pub fn get(&self, i: usize) -> Option<T> {
        if i >= self.len {
            return None;
        }
        let v = bits::read(
            self.bits.as_slice(),
            i as u64 * u64::from(self.width),
            self.width,
        )?;
        Some(T::from_key(self.base.wrapping_add(v)))
    }

    /// Values `range`, iterated in order; empty when the range runs past
    /// the end (offsets a malformed section gives).
    pub fn slice(&self, range: Range<usize>) -> PackedSlice<'_, T> {
        let range = if range.end <= self.len { range } else { 0..0 };
        PackedSlice {
            packed: self,
            range,
        }
    }

    /// Every value, in order.
    pub fn iter(&self) -> PackedSlice<'_, T> {
        self.slice(0..self.len)
    }
}

/// Some values of a [`Packed`] column, borrowed; iterates them in order.
#[derive(Debug, Clone)]
pub struct PackedSlice<'a, T> {
    packed: &'a Packed<T>,
    range: Range<usize>,
}

impl<T: Int> PackedSlice<'_, T> {
    /// Number of values left.
    pub fn len(&self) -> usize {
        self.range.len()
    }

    /// Whether no values are left.
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    /// Value `i` of the slice, `None` past its end.
    pub fn get(&self, i: usize) -> Option<T> {
        (i < self.len())
            .then(|| self.packed.get(self.range.start + i))
            .flatten()
    }

    /// Appends the first `n` of the values left (all, when fewer) to
    /// `out`, with room made once: how a row is copied into a buffer.
    pub fn append_to(&self, out: &mut Vec<T>, n: usize) {
        let start = self.range.start;
        let end = start + self.len().min(n);
        out.reserve(end - start);
        out.extend((start..end).map_while(|i| self.packed.get(i)));
    }

    /// Whether `value` is among the values.
    pub fn contains(&self, value: T) -> bool
    where
        T: PartialEq,
    {
        self.clone().any(|v| v == value)
    }
}

impl<T: Int> Iterator for PackedSlice<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        let i = self.range.next()?;
        self.packed.get(i)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl<T: Int> DoubleEndedIterator for PackedSlice<'_, T> {
    #[inline]
    fn next_back(&mut self) -> Option<T> {
        let i = self.range.next_back()?;
        self.packed.get(i)
    }
}

impl<T: Int> ExactSizeIterator for PackedSlice<'_, T> {}

/// Bytes a [`Packed`] block of `len` values `width` bits wide takes.
fn packed_len(len: usize, width: u32) -> Option<usize> {
    let bits = (len as u64).checked_mul(u64::from(width))?;
    usize::try_from(bits.div_ceil(8))
        .ok()?
        .checked_add(HEADER + 8)
}

/// Ascending offsets (where each row or string starts), stored in two
/// levels: every 16th offset, and each offset as its distance from that
/// one. Short rows then cost a few bits each instead of the bits of the
/// largest offset (stock rows of 1-3 entries: 7 bits, not 18).
#[derive(Debug, Clone)]
pub struct Offsets {
    bases: Packed<u32>,
    deltas: Packed<u32>,
}

#[cfg(feature = "build")]
/// `offsets` (ascending) in the [`Offsets`] layout (the origin's side).
pub fn offsets(offsets: &[u32]) -> Vec<u8> {
    let base = |i: usize| {
        offsets
            .get(i / OFFSETS_PER_BASE * OFFSETS_PER_BASE)
            .copied()
            .unwrap_or(0)
    };
    let mut out = pack(offsets.iter().step_by(OFFSETS_PER_BASE).copied());
    out.extend(pack(
        offsets
            .iter()
            .enumerate()
            .map(|(i, &o)| o.saturating_sub(base(i))),
    ));
    out
}

impl Offsets {
    /// No offsets.
    pub fn empty() -> Self {
        Self {
            bases: Packed::empty(),
            deltas: Packed::empty(),
        }
    }

    /// The offsets in a block's `bytes`; `None` when malformed, or when the
    /// two levels disagree on the count.
    pub fn open(bytes: OwnedBytes) -> Option<Self> {
        let bases = Packed::<u32>::open(bytes.clone())?;
        let split = packed_len(bases.len(), bases.width)?;
        let deltas = Packed::open(bytes.slice(split..bytes.len())?)?;
        (bases.len() == deltas.len().div_ceil(OFFSETS_PER_BASE)).then_some(Self { bases, deltas })
    }

    /// Number of offsets.
    pub fn len(&self) -> usize {
        self.deltas.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.deltas.is_empty()
    }

    /// Offset `i`, `None` past the end.
    #[inline]
    pub fn get(&self, i: usize) -> Option<u32> {
        let base = self.bases.get(i / OFFSETS_PER_BASE)?;
        Some(base.saturating_add(self.deltas.get(i)?))
    }

    /// Offsets `i` and `i + 1` (where entry `i` starts and ends), their
    /// base read once when they share it (15 times in 16): every row read
    /// asks for both.
    #[inline]
    pub fn pair(&self, i: usize) -> Option<(u32, u32)> {
        let block = i / OFFSETS_PER_BASE;
        let base = self.bases.get(block)?;
        let next = i + 1;
        let next_base = if next / OFFSETS_PER_BASE == block {
            base
        } else {
            self.bases.get(next / OFFSETS_PER_BASE)?
        };
        Some((
            base.saturating_add(self.deltas.get(i)?),
            next_base.saturating_add(self.deltas.get(next)?),
        ))
    }
}

/// Decimal numbers (prices) stored as integers scaled by a power of ten:
/// exact for every value with at most six decimals, and the raw `f64`
/// bits when some value has more.
#[derive(Debug, Clone)]
pub struct Decimals {
    values: Packed<i64>,
    decimals: u8,
    /// `10^decimals`, worked out once.
    scale: f64,
}

#[cfg(feature = "build")]
/// `values` in the [`Decimals`] layout, with the fewest decimals that give
/// every value back exactly (the origin's side).
pub fn decimals(values: &[f64]) -> Vec<u8> {
    let exact = |d: u8| {
        let scale = 10f64.powi(i32::from(d));
        values.iter().all(|&v| {
            let scaled = (v * scale).round();
            scaled.abs() < 2f64.powi(53) && scaled / scale == v
        })
    };
    let decimals = (0..=MAX_DECIMALS).find(|&d| exact(d)).unwrap_or(FLOAT);
    let mut out = vec![decimals, 0, 0, 0, 0, 0, 0, 0];
    let scale = 10f64.powi(i32::from(decimals));
    out.extend(pack(values.iter().map(|&v| {
        if decimals == FLOAT {
            v.to_bits() as i64
        } else {
            (v * scale).round() as i64
        }
    })));
    out
}

impl Decimals {
    /// The column over a block's `bytes`; `None` when malformed.
    pub fn open(bytes: OwnedBytes) -> Option<Self> {
        let decimals = *bytes.as_slice().first()?;
        let values = Packed::open(bytes.slice(8..bytes.len())?)?;
        (decimals <= MAX_DECIMALS || decimals == FLOAT).then_some(Self {
            values,
            decimals,
            scale: 10f64.powi(i32::from(decimals)),
        })
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Value `i`, `None` past the end.
    #[inline]
    pub fn get(&self, i: usize) -> Option<f64> {
        let v = self.values.get(i)?;
        Some(if self.decimals == FLOAT {
            f64::from_bits(v as u64)
        } else {
            v as f64 / self.scale
        })
    }
}

/// Scores stored as 8-bit codes spread evenly over their range: within
/// half a step (1/510 of the range) of the value written. Scores order and
/// blend candidates; 1/510 moves no evaluation by more than 0.001.
#[derive(Debug, Clone)]
pub struct Quantized {
    min: f32,
    step: f32,
    codes: Packed<u8>,
}

#[cfg(feature = "build")]
/// `values` in the [`Quantized`] layout (the origin's side); a value that
/// is not finite is stored as the smallest.
pub fn quantize(values: impl IntoIterator<Item = f32>) -> Vec<u8> {
    let top = f32::from(u8::MAX);
    let values: Vec<f32> = values.into_iter().collect();
    let finite = || values.iter().copied().filter(|v| v.is_finite());
    let min = finite().fold(f32::INFINITY, f32::min);
    let max = finite().fold(f32::NEG_INFINITY, f32::max);
    let (min, max) = if min <= max { (min, max) } else { (0.0, 0.0) };
    let step = (max - min) / top;
    let mut out = Vec::with_capacity(8 + values.len() * 2 + 24);
    out.extend_from_slice(&min.to_le_bytes());
    out.extend_from_slice(&step.to_le_bytes());
    out.extend(pack(values.iter().map(|&v| {
        if step > 0.0 && v.is_finite() {
            ((v - min) / step).round().clamp(0.0, top) as u8
        } else {
            0
        }
    })));
    out
}

impl Quantized {
    /// The column over a block's `bytes`; `None` when malformed.
    pub fn open(bytes: OwnedBytes) -> Option<Self> {
        let b = bytes.as_slice();
        let (min, step) = (f32_at(b, 0)?, f32_at(b, 4)?);
        let codes = Packed::open(bytes.slice(8..b.len())?)?;
        (min.is_finite() && step.is_finite()).then_some(Self { min, step, codes })
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Value `i`, `None` past the end.
    #[inline]
    pub fn get(&self, i: usize) -> Option<f32> {
        self.codes
            .get(i)
            .map(|c| self.min + f32::from(c) * self.step)
    }

    /// Values `range`, in order.
    pub fn slice(&self, range: Range<usize>) -> impl Iterator<Item = f32> + '_ {
        self.codes
            .slice(range)
            .map(|c| self.min + f32::from(c) * self.step)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::float_cmp)]
    use super::*;

    fn open<T: Int>(bytes: Vec<u8>) -> Packed<T> {
        Packed::open(OwnedBytes::new(bytes)).unwrap()
    }

    #[test]
    fn integers_take_the_bits_their_range_needs() {
        let ords: Vec<u32> = (0..1000).map(|i| (i * 97) % 100_000).collect();
        let bytes = pack(ords.iter().copied());
        assert!(bytes.len() <= HEADER + 1000 * 17 / 8 + 9, "{}", bytes.len());
        let p = open::<u32>(bytes);
        assert_eq!(p.iter().collect::<Vec<_>>(), ords);
        assert_eq!(p.get(1000), None);
        assert_eq!(p.slice(998..1000).collect::<Vec<_>>(), &ords[998..]);
        assert_eq!(p.slice(998..1001).count(), 0, "past the end reads empty");
        let mut buffer = vec![7];
        p.slice(10..20).append_to(&mut buffer, 4);
        p.slice(995..1000).append_to(&mut buffer, 100);
        assert_eq!(buffer[..1], [7]);
        assert_eq!(buffer[1..5], ords[10..14]);
        assert_eq!(buffer[5..], ords[995..]);

        let times = [1_700_000_000i64, -5, i64::MIN, i64::MAX, 0];
        assert_eq!(open::<i64>(pack(times)).iter().collect::<Vec<_>>(), times);
        let same = open::<u16>(pack([7u16; 5]));
        assert_eq!((same.width, same.get(4)), (0, Some(7)));
        assert!(open::<u8>(pack::<u8>([])).is_empty());
    }

    #[test]
    fn a_short_or_malformed_block_is_refused() {
        let bytes = pack([1u32, 2, 3, 400]);
        for cut in 0..bytes.len() {
            assert!(Packed::<u32>::open(OwnedBytes::new(bytes[..cut].to_vec())).is_none());
        }
        let mut wide = bytes.clone();
        wide[4] = 65;
        assert!(Packed::<u32>::open(OwnedBytes::new(wide)).is_none());
        let mut long = bytes;
        long[0] = 200;
        assert!(Packed::<u32>::open(OwnedBytes::new(long)).is_none());
    }

    #[test]
    fn offsets_read_back_in_few_bits() {
        let mut at = 0u32;
        let offsets: Vec<u32> = std::iter::once(0)
            .chain((0..1000u32).map(|i| {
                at += i % 3;
                at
            }))
            .collect();
        let bytes = super::offsets(&offsets);
        assert!(bytes.len() < 1001 * 6 / 8 + 200, "{}", bytes.len());
        let o = Offsets::open(OwnedBytes::new(bytes.clone())).unwrap();
        assert_eq!(o.len(), 1001);
        assert_eq!(
            (0..1001).map(|i| o.get(i).unwrap()).collect::<Vec<_>>(),
            offsets
        );
        assert_eq!(o.get(1001), None);
        for i in 0..1000 {
            assert_eq!(o.pair(i), Some((offsets[i], offsets[i + 1])), "{i}");
        }
        assert_eq!(o.pair(1000), None);
        for cut in 0..bytes.len() {
            assert!(Offsets::open(OwnedBytes::new(bytes[..cut].to_vec())).is_none());
        }
        assert!(Offsets::open(OwnedBytes::new(super::offsets(&[])))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn prices_come_back_exactly() {
        let prices = [19.99, 0.0, 1234.5, 7.0, 0.05];
        let d = Decimals::open(OwnedBytes::new(decimals(&prices))).unwrap();
        assert_eq!(d.decimals, 2);
        assert_eq!(
            (0..5).map(|i| d.get(i).unwrap()).collect::<Vec<_>>(),
            prices
        );
        let odd = [1.0 / 3.0, -2.5, f64::MAX];
        let d = Decimals::open(OwnedBytes::new(decimals(&odd))).unwrap();
        assert_eq!(d.decimals, FLOAT);
        assert_eq!((0..3).map(|i| d.get(i).unwrap()).collect::<Vec<_>>(), odd);
        assert_eq!(d.get(3), None);
    }

    #[test]
    fn scores_stay_within_half_a_step() {
        let scores: Vec<f32> = (0..500).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
        let q = Quantized::open(OwnedBytes::new(quantize(scores.iter().copied()))).unwrap();
        for (i, &s) in scores.iter().enumerate() {
            assert!((q.get(i).unwrap() - s).abs() <= 3.01 / 255.0, "{s}");
        }
        let flat = quantize([2.5, 2.5, f32::NAN]);
        let flat = Quantized::open(OwnedBytes::new(flat)).unwrap();
        assert_eq!(flat.slice(0..3).collect::<Vec<_>>(), [2.5, 2.5, 2.5]);
        let empty = Quantized::open(OwnedBytes::new(quantize([]))).unwrap();
        assert!(empty.is_empty());
    }
}
