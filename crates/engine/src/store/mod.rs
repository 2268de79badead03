//! Read-only views over the verified bundle bytes: each large section is a
//! fixed little-endian layout read in place (no decode step, no copy, no
//! per-item allocation); only small tables go through the codec. Nothing
//! here knows about ranking.

pub mod catalog;
pub mod columns;
pub mod lists;
pub mod priors;

pub use catalog::{Catalog, Product};
pub use lists::Lists;
pub use priors::Priors;
