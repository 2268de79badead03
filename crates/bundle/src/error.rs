//! Why a bundle was refused.

use crate::format::Tag;

/// Every way opening or writing a bundle can fail. Each names the part at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Shorter than its header says (or than any header): a cut-off download.
    #[error("bundle is truncated: {got} bytes, header says {expected}")]
    Truncated {
        /// Bytes the header announces.
        expected: u64,
        /// Bytes present.
        got: u64,
    },
    /// Longer than its header says.
    #[error("bundle has {got} bytes but its header says {expected}")]
    TrailingBytes {
        /// Bytes the header announces.
        expected: u64,
        /// Bytes present.
        got: u64,
    },
    /// Not a bundle at all.
    #[error("not a firstpaint bundle (bad magic at offset 0)")]
    BadMagic,
    /// Written by a format this reader does not read (an older release's,
    /// or a newer one's).
    #[error(
        "bundle format version {got} is not read by this release (it reads version {supported}): \
         rebuild the bundle with this release's `firstpaint build`"
    )]
    UnsupportedVersion {
        /// Version in the header.
        got: u16,
        /// The version this reader reads.
        supported: u16,
    },
    /// Signed by a key other than the one we trust.
    #[error("bundle is signed by key {got}, expected key {expected}")]
    WrongKey {
        /// Id of the trusted key.
        expected: String,
        /// Id in the bundle's header.
        got: String,
    },
    /// The signature does not match the content: the bytes were changed.
    #[error("bundle signature does not verify: content was modified after signing")]
    BadSignature,
    /// Past its expiry time.
    #[error("bundle expired at {expires_at} (now {now})")]
    Expired {
        /// Expiry, unix seconds.
        expires_at: i64,
        /// The time it was checked at, unix seconds.
        now: i64,
    },
    /// A section's table entry points outside the content or overlaps another.
    #[error("section {tag} at offset {offset} (length {len}) is out of bounds")]
    SectionBounds {
        /// The section.
        tag: Tag,
        /// Its offset.
        offset: u64,
        /// Its length.
        len: u64,
    },
    /// A section's SHA-256 is not the one the signed table names: its
    /// bytes were changed after signing.
    #[error("section {tag} at offset {offset} was modified (its SHA-256 is not the signed one)")]
    SectionDigest {
        /// The section.
        tag: Tag,
        /// Its offset.
        offset: u64,
    },
    /// A padding byte between sections is not zero.
    #[error("bundle was modified: padding at offset {offset} is not zero")]
    Padding {
        /// Where the padding starts.
        offset: u64,
    },
    /// A section the reader needs is not in the bundle.
    #[error("section {0} is missing")]
    MissingSection(Tag),
    /// The writer was given the same section twice.
    #[error("section {0} was added twice")]
    DuplicateSection(Tag),
    /// A section's bytes do not decode as the expected type.
    #[error("section {tag} does not decode: {reason}")]
    Decode {
        /// The section.
        tag: Tag,
        /// What the codec said.
        reason: String,
    },
}
