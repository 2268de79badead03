//! WordNet at the origin: the words of a language the catalog does not
//! use, related to the ones it does, for search to understand them.
//!
//! - [`read`]: Debian's `wordnet-base` noun database, read.
//! - [`related`]: the related words of a catalog, for the bundle.

pub mod read;
pub mod related;

pub use read::{WordNet, DEBIAN_DIR};
pub use related::Related;
