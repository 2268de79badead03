//! The manifest: which bundle is live. Publishing writes the bundle under its
//! content address, then points the manifest at it; rolling back points the
//! manifest at an older address. The edge reads the manifest, then the bundle.

use serde::{Deserialize, Serialize};

/// Points the edge at the live bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Storage key of the bundle (`bundles/<sha256>`).
    pub bundle_key: String,
    /// SHA-256 of the bundle bytes, hex.
    pub sha256: String,
    /// Size of the bundle in bytes.
    pub bytes: u64,
    /// The bundle's own version, from its header.
    pub bundle_version: u64,
    /// Id of the key that signed it, hex.
    pub key_id: String,
    /// When it was published, unix seconds.
    pub published_at: i64,
}

impl Manifest {
    /// The storage key a bundle with this content hash lives under.
    pub fn key_for(sha256_hex: &str) -> String {
        format!("bundles/{sha256_hex}")
    }
}
