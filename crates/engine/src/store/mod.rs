//! Sections the engine reads in place: fixed little-endian byte layouts,
//! checked once when opened and then read with no decoding, no copy and no
//! allocation per item (like `fst::Map<D: AsRef<[u8]>>`).
//!
//! - [`ann`]: the HNSW index over product embeddings.
//!
//! Every view is generic over `B: AsRef<[u8]>` (a borrowed slice of the
//! bundle, or an owned `Vec<u8>`), validates every count, offset and id in
//! its `open`, and never panics later: a malformed section is an error at
//! `open`. Sections start 8-byte aligned in the bundle, but nothing here
//! relies on alignment: every integer is read with `from_le_bytes`.

pub mod ann;

/// The little-endian `u32` at byte `at` of `bytes`, if all four are there.
#[inline]
fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    bytes.get(at..end)?.try_into().ok().map(u32::from_le_bytes)
}

/// The little-endian `f32` at byte `at` of `bytes`, if all four are there.
#[inline]
fn f32_at(bytes: &[u8], at: usize) -> Option<f32> {
    u32_at(bytes, at).map(f32::from_bits)
}
