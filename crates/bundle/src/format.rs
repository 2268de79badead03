//! The fixed binary layout: header fields, section table entries, constants.
//!
//! All integers are little-endian. See `FORMAT.md` for the picture.

use std::fmt;

/// First eight bytes of every bundle.
pub const MAGIC: [u8; 8] = *b"FPBUNDLE";
/// Format version this crate writes and reads. Bump it when the layout or the
/// section codec changes; keep a reader per old version that must stay readable.
///
/// Version 2 signs the header and a table of per-section SHA-256 digests
/// (not every byte), so the large sections can be checked by whatever hashes
/// fastest where the bundle is opened (the runtime's native `crypto.subtle`
/// at the edge) and read in place. Version 1 bundles (one signature over
/// everything, CRC-32 per section) are refused with a "rebuild" message: the
/// engine's sections changed layout with it, so an old bundle could not be
/// read anyway.
pub const FORMAT_VERSION: u16 = 2;
/// Bytes of the fixed header, before the section table.
pub(crate) const HEADER_LEN: usize = 152;
/// Bytes of one section table entry.
pub(crate) const ENTRY_LEN: usize = 56;
/// Bytes of the trailing ed25519 signature.
pub(crate) const SIGNATURE_LEN: usize = 64;
/// Sections start on multiples of this.
pub(crate) const ALIGN: usize = 8;

/// `n` rounded up to the next multiple of [`ALIGN`].
pub(crate) fn align(n: usize) -> usize {
    n.div_ceil(ALIGN).saturating_mul(ALIGN)
}

/// A section's name: four ASCII bytes, readable in a hex dump and in errors.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(pub [u8; 4]);

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in &self.0 {
            if b.is_ascii_graphic() {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({self})")
    }
}

/// The bundle's header: what it is, when it was made, from what, by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Layout version ([`FORMAT_VERSION`] when written by this crate).
    pub format_version: u16,
    /// Reserved flag bits, zero today.
    pub flags: u16,
    /// Whole file length, signature included.
    pub total_len: u64,
    /// The merchant-visible bundle version (monotonic, e.g. a timestamp).
    pub bundle_version: u64,
    /// Build time, unix seconds.
    pub created_at: i64,
    /// After this the edge refuses the bundle, unix seconds.
    pub expires_at: i64,
    /// SHA-256 of the catalog it was built from.
    pub catalog_sha256: [u8; 32],
    /// SHA-256 of the events it was built from.
    pub events_sha256: [u8; 32],
    /// SHA-256 of the rules it was built from.
    pub rules_sha256: [u8; 32],
    /// First 8 bytes of SHA-256 of the signing public key.
    pub key_id: [u8; 8],
}

/// One entry of the section table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub tag: Tag,
    /// Reserved, zero.
    pub flags: u32,
    pub offset: u64,
    pub len: u64,
    /// SHA-256 of the section's `len` bytes.
    pub sha256: [u8; 32],
}

impl Header {
    /// Writes the fixed header for `sections` table entries.
    pub(crate) fn write(&self, sections: u32, out: &mut Vec<u8>) {
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.format_version.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&sections.to_le_bytes());
        out.extend_from_slice(&self.total_len.to_le_bytes());
        out.extend_from_slice(&self.bundle_version.to_le_bytes());
        out.extend_from_slice(&self.created_at.to_le_bytes());
        out.extend_from_slice(&self.expires_at.to_le_bytes());
        out.extend_from_slice(&self.catalog_sha256);
        out.extend_from_slice(&self.events_sha256);
        out.extend_from_slice(&self.rules_sha256);
        out.extend_from_slice(&self.key_id);
    }

    /// Reads the fixed header and the section count from at least
    /// [`HEADER_LEN`] bytes (the caller checks the length and magic).
    pub(crate) fn read(b: &[u8; HEADER_LEN]) -> (Self, u32) {
        let mut r = Cursor { b, at: 8 };
        let format_version = u16::from_le_bytes(r.take());
        let flags = u16::from_le_bytes(r.take());
        let sections = u32::from_le_bytes(r.take());
        let header = Header {
            format_version,
            flags,
            total_len: u64::from_le_bytes(r.take()),
            bundle_version: u64::from_le_bytes(r.take()),
            created_at: i64::from_le_bytes(r.take()),
            expires_at: i64::from_le_bytes(r.take()),
            catalog_sha256: r.take(),
            events_sha256: r.take(),
            rules_sha256: r.take(),
            key_id: r.take(),
        };
        (header, sections)
    }
}

impl Entry {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.tag.0);
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.len.to_le_bytes());
        out.extend_from_slice(&self.sha256);
    }

    pub(crate) fn read(b: &[u8; ENTRY_LEN]) -> Self {
        let mut r = Cursor { b, at: 0 };
        Entry {
            tag: Tag(r.take()),
            flags: u32::from_le_bytes(r.take()),
            offset: u64::from_le_bytes(r.take()),
            len: u64::from_le_bytes(r.take()),
            sha256: r.take(),
        }
    }
}

/// Reads fixed-size fields from a fixed-size array; the layout above fits
/// the arrays by construction, and a short read yields zeros rather than a panic.
struct Cursor<'a, const N: usize> {
    b: &'a [u8; N],
    at: usize,
}

impl<const N: usize> Cursor<'_, N> {
    fn take<const K: usize>(&mut self) -> [u8; K] {
        let mut out = [0; K];
        if let Some(src) = self.b.get(self.at..self.at + K) {
            out.copy_from_slice(src);
        }
        self.at += K;
        out
    }
}
