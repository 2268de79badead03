//! Where a bundle came from: the inputs it was built from (with their
//! SHA-256), the schema and the builder, what each model learned, and the
//! bundle an incremental build started from. Section `LINE`, through the
//! codec; `firstpaint inspect` prints it. The header's input hashes stay
//! (older bundles have only those); the lineage adds the rest.

use serde::{Deserialize, Serialize};

use crate::format::Tag;
use crate::{codec, Bundle, BundleError};

/// Tag of the lineage section.
pub const LINEAGE: Tag = Tag(*b"LINE");

/// Where a bundle came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lineage {
    /// The program that built it, with its version (`firstpaint 0.1.0`).
    pub builder: String,
    /// The engine schema its sections were written with.
    pub schema: u32,
    /// Each input file: what it is, its name, SHA-256 and size.
    pub inputs: Vec<InputFile>,
    /// What each model learned, in words (one line each).
    pub models: Vec<String>,
    /// SHA-256 of the bundle an incremental build started from (`None`
    /// for a full build).
    pub parent: Option<String>,
}

/// One input of a build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// What it is: `catalog`, `events`, `rules`, `synonyms`.
    pub role: String,
    /// Its file name as given to the build.
    pub file: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
}

impl Lineage {
    /// As the lineage section's payload.
    pub fn encode(&self) -> Result<Vec<u8>, BundleError> {
        codec::encode(LINEAGE, self)
    }

    /// The lineage of `bundle`; `None` for bundles built before it was
    /// recorded.
    pub fn of<B: AsRef<[u8]>>(bundle: &Bundle<B>) -> Result<Option<Self>, BundleError> {
        if !bundle.has(LINEAGE) {
            return Ok(None);
        }
        codec::decode(LINEAGE, bundle.section(LINEAGE)?).map(Some)
    }
}
