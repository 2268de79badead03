//! The firstpaint bundle: everything the edge needs, in one signed file.
//!
//! A bundle is a header (magic, format version, bundle version, creation and
//! expiry times, hashes of the inputs, signing key id), a table of typed
//! sections with each one's SHA-256, an ed25519 signature over the header
//! and the table, then the sections themselves (8-byte aligned, so they can
//! be read in place). `FORMAT.md` beside this crate draws the layout.
//! The crate knows nothing about ranking: sections are opaque bytes named by a
//! four-letter [`Tag`]; [`codec`] turns serde types into section bytes.
//!
//! Opening is verification first: the length, the signing key, the signature,
//! the expiry, the layout, then each section's digest, each failure a
//! distinct [`BundleError`]. Nothing in a bundle is trusted before that. The
//! digests may be computed by the caller ([`Bundle::open_with_digests`]):
//! the edge uses the runtime's native SHA-256.
//!
//! ```
//! use firstpaint_bundle::{Bundle, BundleWriter, Inputs, SigningKey, Tag};
//!
//! let key = SigningKey::from_bytes(&[7; 32]);
//! let mut writer = BundleWriter::new(Inputs { bundle_version: 1, created_at: 100, expires_at: 200, ..Inputs::default() });
//! writer.add(Tag(*b"DEMO"), b"hello".to_vec()).unwrap();
//! let bytes = writer.finish(&key);
//!
//! let bundle = Bundle::open(&bytes[..], &key.verifying_key(), 150).unwrap();
//! assert_eq!(bundle.section(Tag(*b"DEMO")).unwrap(), b"hello");
//! assert!(Bundle::open(&bytes[..], &key.verifying_key(), 201).is_err()); // expired
//! ```
#![deny(missing_docs)]

mod bytes;
pub mod codec;
mod error;
mod format;
mod keys;
mod lineage;
mod live;
mod manifest;
mod reader;
mod release;
mod stale;
mod term_directory;
mod writer;

pub use bytes::OwnedBytes;
pub use ed25519_dalek::{SigningKey, VerifyingKey};
pub use error::BundleError;
pub use format::{Header, Tag, FORMAT_VERSION, MAGIC};
pub use keys::{key_id, parse_secret, parse_signing_key, parse_verifying_key, KeyError};
pub use lineage::{InputFile, Lineage, LINEAGE};
pub use live::{
    open_live, seal_live, LiveError, LiveHeader, LivePointer, LIVE_FORMAT, LIVE_KEY, LIVE_MAGIC,
    LIVE_PAYLOAD_AT,
};
pub use manifest::{Blob, Manifest, ShardRef, ShardSet};
pub use reader::{
    head_len, head_range, head_sha256, section_ranges, signer_key_id, Bundle, HEADER_BYTES,
};
pub use release::{Canary, Release, ReleaseError, SignedRelease, RELEASE_FORMAT};
pub use stale::Stale;
pub use term_directory::{
    DirectoryError, TermDirectory, TermDirectoryBuilder, DIRECTORY_MAGIC, DIRECTORY_VERSION,
};
pub use writer::{BundleWriter, Inputs};

/// SHA-256 of `bytes`; used for input hashes and content addresses.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
