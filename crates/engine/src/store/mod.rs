//! Read-only views over the verified bundle bytes: each large section is a
//! fixed little-endian layout read in place, checked once when opened and
//! then read with no decode step, no copy and no allocation per item (like
//! `fst::Map<D: AsRef<[u8]>>`); only small tables go through the codec.
//! Nothing here knows about ranking.
//!
//! - [`Store`]: all of them, opened from one bundle and checked together.
//! - [`catalog`]: products as columns, [`priors`], [`lists`] (viewed and
//!   bought together), all on [`columns`]' block directory.
//! - [`ann`]: the HNSW index over product embeddings.
//! - [`search_index`]: the search index (term dictionary, synonyms,
//!   attribute terms) over [`postings`], its posting lists.
//! - [`session_index`]: recent sessions and the sessions of each product.
//! - [`live`]: stock, prices and availability pushed since the build,
//!   laid over the catalog.
//! - [`text_map`]: text features -> embedding space; [`intent_model`]: the
//!   session-intent model.
//! - [`sections`]: every section's tag, the schema number and the small
//!   sections' wire types; [`slot_kind`]: the slot vocabulary the rules use.
//! - [`packed`] and [`bits`]: numbers in as few bits as their values need;
//!   [`symbols`]: short strings compressed with a static symbol table.
//!
//! Views never panic: a malformed section is an error at `open`, or reads
//! as empty. Sections start 8-byte aligned in the bundle, but nothing here
//! relies on alignment: every number is read with `from_le_bytes`.

pub mod ann;
pub mod bits;
pub mod catalog;
pub mod columns;
pub mod intent_model;
pub mod lists;
pub mod live;
pub mod packed;
pub mod postings;
pub mod priors;
pub mod search_index;
pub mod sections;
pub mod session_index;
pub mod slot_kind;
pub mod symbols;
pub mod text_map;

mod open;

pub use catalog::{Catalog, Product};
pub use lists::Lists;
pub use open::Store;
pub use priors::Priors;

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
