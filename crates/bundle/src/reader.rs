//! Opening a bundle: verify the signed head, then every section's digest,
//! then hand out section bytes.

use std::ops::Range;

use ed25519_dalek::{Signature, Verifier, VerifyingKey};

use crate::error::BundleError;
use crate::format::{
    align, Entry, Header, Tag, ENTRY_LEN, FORMAT_VERSION, HEADER_LEN, MAGIC, SIGNATURE_LEN,
};
use crate::keys::key_id;

/// A verified bundle over bytes the caller owns (`Vec<u8>`, `&[u8]`,
/// [`crate::OwnedBytes`], ...).
#[derive(Debug)]
pub struct Bundle<B> {
    bytes: B,
    header: Header,
    entries: Vec<Entry>,
}

impl<B: AsRef<[u8]>> Bundle<B> {
    /// Verifies `bytes` against the trusted `key` at time `now` (unix
    /// seconds) and opens it, hashing each section here (SHA-256 in Rust).
    /// Checks, in order: length and magic, format version, key id, the
    /// signature over the header and the section table, expiry, the layout
    /// (sections back to back, zero padding, nothing after them), then each
    /// section's digest, so the error says which one failed.
    pub fn open(bytes: B, key: &VerifyingKey, now: i64) -> Result<Self, BundleError> {
        let (header, entries) = read_signed_head(bytes.as_ref(), key, now)?;
        let digests: Vec<[u8; 32]> = entries
            .iter()
            .map(|e| crate::sha256(slice(bytes.as_ref(), e).unwrap_or_default()))
            .collect();
        accept(bytes, header, entries, &digests)
    }

    /// As [`Bundle::open`], with the sections' SHA-256 digests computed by
    /// the caller over [`section_ranges`], in that order: the edge hashes
    /// with the runtime's native `crypto.subtle`, several times faster than
    /// SHA-256 in wasm. The digests are compared with the signed table, so a
    /// wrong one refuses the bundle like a modified section.
    pub fn open_with_digests(
        bytes: B,
        key: &VerifyingKey,
        now: i64,
        digests: &[[u8; 32]],
    ) -> Result<Self, BundleError> {
        let (header, entries) = read_signed_head(bytes.as_ref(), key, now)?;
        accept(bytes, header, entries, digests)
    }

    /// The verified header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Tags of all sections, in file order.
    pub fn tags(&self) -> impl Iterator<Item = Tag> + '_ {
        self.entries.iter().map(|e| e.tag)
    }

    /// Whether the bundle has section `tag`.
    pub fn has(&self, tag: Tag) -> bool {
        self.entries.iter().any(|e| e.tag == tag)
    }

    /// Length of every section, in file order, for reports.
    pub fn section_sizes(&self) -> impl Iterator<Item = (Tag, u64)> + '_ {
        self.entries.iter().map(|e| (e.tag, e.len))
    }

    /// Where section `tag` lies in the bundle's bytes.
    pub fn section_range(&self, tag: Tag) -> Result<Range<usize>, BundleError> {
        let entry = self
            .entries
            .iter()
            .find(|e| e.tag == tag)
            .ok_or(BundleError::MissingSection(tag))?;
        range(entry)
    }

    /// The bytes of section `tag`.
    pub fn section(&self, tag: Tag) -> Result<&[u8], BundleError> {
        let range = self.section_range(tag)?;
        let tag_bounds = || BundleError::MissingSection(tag);
        self.bytes.as_ref().get(range).ok_or_else(tag_bounds)
    }

    /// The bytes the bundle was opened over.
    pub fn bytes(&self) -> &B {
        &self.bytes
    }
}

/// The id of the key `bytes` says signed it, read from the header before
/// anything is verified: which of several trusted keys to verify with.
pub fn signer_key_id(bytes: &[u8]) -> Result<[u8; 8], BundleError> {
    read_header(bytes).map(|(header, _)| header.key_id)
}

/// Where each section lies in `bytes`, in table order, read from the
/// table before anything is verified: what a caller of
/// [`Bundle::open_with_digests`] hashes.
pub fn section_ranges(bytes: &[u8]) -> Result<Vec<Range<usize>>, BundleError> {
    let (_, count) = read_header(bytes)?;
    read_entries(bytes, count)?.iter().map(range).collect()
}

/// Where the bundle's head lies in `bytes`: the header, the section table
/// and the signature, everything before the first section. The head holds
/// every section's digest and opening checks the padding is zero, so the
/// head's SHA-256 pins every byte of the file: a release names it
/// ([`crate::Manifest::head_sha256`]) and the edge checks the head and then
/// the sections, one pass over the bytes, instead of hashing the whole file
/// against the release first.
pub fn head_range(bytes: &[u8]) -> Result<Range<usize>, BundleError> {
    let (_, count) = read_header(bytes)?;
    Ok(0..head_end(bytes, count)?)
}

/// SHA-256 of the bundle's head ([`head_range`]): what a release names.
pub fn head_sha256(bytes: &[u8]) -> Result<[u8; 32], BundleError> {
    let head = head_range(bytes)?;
    Ok(crate::sha256(bytes.get(head).unwrap_or_default()))
}

fn accept<B: AsRef<[u8]>>(
    bytes: B,
    header: Header,
    entries: Vec<Entry>,
    digests: &[[u8; 32]],
) -> Result<Bundle<B>, BundleError> {
    for (i, e) in entries.iter().enumerate() {
        if digests.get(i) != Some(&e.sha256) {
            return Err(BundleError::SectionDigest {
                tag: e.tag,
                offset: e.offset,
            });
        }
    }
    Ok(Bundle {
        bytes,
        header,
        entries,
    })
}

/// How long the head of the bundle that starts with `header` (its first
/// [`HEADER_BYTES`] bytes, or more) is: magic and version checked, the
/// section count read. What a caller hashes against the release before it
/// copies the rest of the bundle anywhere (the head's end is checked
/// against the bundle's length by [`head_range`], when it is opened).
pub fn head_len(header: &[u8]) -> Result<usize, BundleError> {
    let (_, count) = read_fixed(header)?;
    first_section_at(count).ok_or_else(|| truncated_head(count, header.len()))
}

/// The length of the fixed header, from which [`head_len`] reads.
pub const HEADER_BYTES: usize = HEADER_LEN;

fn read_header(b: &[u8]) -> Result<(Header, u32), BundleError> {
    let (header, count) = read_fixed(b)?;
    let got = b.len() as u64;
    if got < header.total_len {
        return Err(BundleError::Truncated {
            expected: header.total_len,
            got,
        });
    }
    if got > header.total_len {
        return Err(BundleError::TrailingBytes {
            expected: header.total_len,
            got,
        });
    }
    Ok((header, count))
}

/// The fixed header: magic and format version checked.
fn read_fixed(b: &[u8]) -> Result<(Header, u32), BundleError> {
    let got = b.len() as u64;
    let fixed: &[u8; HEADER_LEN] =
        b.get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(BundleError::Truncated {
                expected: (HEADER_LEN + SIGNATURE_LEN) as u64,
                got,
            })?;
    if fixed.get(..MAGIC.len()) != Some(&MAGIC[..]) {
        return Err(BundleError::BadMagic);
    }
    let (header, count) = Header::read(fixed);
    if header.format_version != FORMAT_VERSION {
        return Err(BundleError::UnsupportedVersion {
            got: header.format_version,
            supported: FORMAT_VERSION,
        });
    }
    Ok((header, count))
}

/// Where the signature starts: the first aligned offset after the table.
fn signature_at(count: usize) -> Option<usize> {
    count
        .checked_mul(ENTRY_LEN)
        .and_then(|n| n.checked_add(HEADER_LEN))
        .map(align)
}

/// Where the head of a bundle of `count` sections ends (the first section
/// starts): right after the signature, which must lie inside `b`.
fn head_end(b: &[u8], count: u32) -> Result<usize, BundleError> {
    first_section_at(count)
        .filter(|&end| end <= b.len())
        .ok_or_else(|| truncated_head(count, b.len()))
}

/// Where the first section of a bundle of `count` sections starts: right
/// after the signature.
fn first_section_at(count: u32) -> Option<usize> {
    signature_at(count as usize).and_then(|sig| sig.checked_add(SIGNATURE_LEN))
}

/// `got` bytes are too few for the head of a bundle of `count` sections.
fn truncated_head(count: u32, got: usize) -> BundleError {
    BundleError::Truncated {
        expected: (HEADER_LEN as u64)
            .saturating_add(u64::from(count).saturating_mul(ENTRY_LEN as u64))
            .saturating_add(SIGNATURE_LEN as u64),
        got: got as u64,
    }
}

/// The table's entries, checked to lie back to back after the signature,
/// each inside the file, with the file ending at the last one's padding.
fn read_entries(b: &[u8], count: u32) -> Result<Vec<Entry>, BundleError> {
    let first = head_end(b, count)?;
    let table = b
        .get(HEADER_LEN..HEADER_LEN + ENTRY_LEN * count as usize)
        .unwrap_or_default();
    let entries: Vec<Entry> = table
        .chunks_exact(ENTRY_LEN)
        .filter_map(|c| c.try_into().ok().map(Entry::read))
        .collect();
    let mut expected_at = first as u64;
    for e in &entries {
        let bounds = BundleError::SectionBounds {
            tag: e.tag,
            offset: e.offset,
            len: e.len,
        };
        let end = e.offset.checked_add(e.len).ok_or(bounds.clone())?;
        if e.offset != expected_at || e.flags != 0 || end > b.len() as u64 {
            return Err(bounds);
        }
        expected_at = align(end as usize) as u64;
    }
    if expected_at != b.len() as u64 {
        return Err(BundleError::TrailingBytes {
            expected: expected_at,
            got: b.len() as u64,
        });
    }
    Ok(entries)
}

fn read_signed_head(
    b: &[u8],
    key: &VerifyingKey,
    now: i64,
) -> Result<(Header, Vec<Entry>), BundleError> {
    let (header, count) = read_header(b)?;
    let expected_id = key_id(key);
    if header.key_id != expected_id {
        return Err(BundleError::WrongKey {
            expected: crate::hex(&expected_id),
            got: crate::hex(&header.key_id),
        });
    }
    let entries = read_entries(b, count)?;
    let sig = signature_at(count as usize).unwrap_or(usize::MAX);
    let signed = b.get(..sig).ok_or(BundleError::BadSignature)?;
    let signature = b
        .get(sig..sig.saturating_add(SIGNATURE_LEN))
        .and_then(|s| Signature::from_slice(s).ok())
        .ok_or(BundleError::BadSignature)?;
    key.verify(signed, &signature)
        .map_err(|_| BundleError::BadSignature)?;
    if now > header.expires_at {
        return Err(BundleError::Expired {
            expires_at: header.expires_at,
            now,
        });
    }
    // Padding after each section is outside its digest: it must be zero, so
    // no byte of the file can change unnoticed.
    for e in &entries {
        let end = (e.offset + e.len) as usize;
        let padding = b.get(end..align(end)).unwrap_or_default();
        if padding.iter().any(|&x| x != 0) {
            return Err(BundleError::Padding { offset: end as u64 });
        }
    }
    Ok((header, entries))
}

fn range(e: &Entry) -> Result<Range<usize>, BundleError> {
    let bounds = || BundleError::SectionBounds {
        tag: e.tag,
        offset: e.offset,
        len: e.len,
    };
    let start = usize::try_from(e.offset).map_err(|_| bounds())?;
    let len = usize::try_from(e.len).map_err(|_| bounds())?;
    let end = start.checked_add(len).ok_or_else(bounds)?;
    Ok(start..end)
}

fn slice<'a>(bytes: &'a [u8], e: &Entry) -> Result<&'a [u8], BundleError> {
    let r = range(e)?;
    bytes.get(r).ok_or(BundleError::SectionBounds {
        tag: e.tag,
        offset: e.offset,
        len: e.len,
    })
}
