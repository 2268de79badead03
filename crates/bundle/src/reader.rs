//! Opening a bundle: verify everything, then hand out section bytes.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};

use crate::error::BundleError;
use crate::format::{
    Entry, Header, Tag, ENTRY_LEN, FORMAT_VERSION, HEADER_LEN, MAGIC, SIGNATURE_LEN,
};
use crate::keys::key_id;

/// A verified bundle over bytes the caller owns (`Vec<u8>`, `&[u8]`, ...).
#[derive(Debug)]
pub struct Bundle<B> {
    bytes: B,
    header: Header,
    entries: Vec<Entry>,
}

impl<B: AsRef<[u8]>> Bundle<B> {
    /// Verifies `bytes` against the trusted `key` at time `now` (unix
    /// seconds) and opens it. Checks, in order: length and magic, format
    /// version, key id, signature, expiry, then each section's bounds and
    /// checksum, so the error says which one failed.
    pub fn open(bytes: B, key: &VerifyingKey, now: i64) -> Result<Self, BundleError> {
        let b = bytes.as_ref();
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
                supported: "1",
            });
        }
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
        let expected_id = key_id(key);
        if header.key_id != expected_id {
            return Err(BundleError::WrongKey {
                expected: crate::hex(&expected_id),
                got: crate::hex(&header.key_id),
            });
        }
        let signed_len = b
            .len()
            .checked_sub(SIGNATURE_LEN)
            .ok_or(BundleError::Truncated {
                expected: header.total_len,
                got,
            })?;
        let (content, signature) = b
            .split_at_checked(signed_len)
            .ok_or(BundleError::BadSignature)?;
        let signature = Signature::from_slice(signature).map_err(|_| BundleError::BadSignature)?;
        key.verify(content, &signature)
            .map_err(|_| BundleError::BadSignature)?;
        if now > header.expires_at {
            return Err(BundleError::Expired {
                expires_at: header.expires_at,
                now,
            });
        }
        let entries = read_table(content, count)?;
        Ok(Self {
            bytes,
            header,
            entries,
        })
    }

    /// The verified header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Tags of all sections, in file order.
    pub fn tags(&self) -> impl Iterator<Item = Tag> + '_ {
        self.entries.iter().map(|e| e.tag)
    }

    /// Length of every section, in file order, for reports.
    pub fn section_sizes(&self) -> impl Iterator<Item = (Tag, u64)> + '_ {
        self.entries.iter().map(|e| (e.tag, e.len))
    }

    /// The bytes of section `tag`.
    pub fn section(&self, tag: Tag) -> Result<&[u8], BundleError> {
        let entry = self
            .entries
            .iter()
            .find(|e| e.tag == tag)
            .ok_or(BundleError::MissingSection(tag))?;
        slice(self.bytes.as_ref(), entry)
    }
}

fn slice<'a>(content: &'a [u8], e: &Entry) -> Result<&'a [u8], BundleError> {
    let bounds = || BundleError::SectionBounds {
        tag: e.tag,
        offset: e.offset,
        len: e.len,
    };
    let start = usize::try_from(e.offset).map_err(|_| bounds())?;
    let len = usize::try_from(e.len).map_err(|_| bounds())?;
    let end = start.checked_add(len).ok_or_else(bounds)?;
    content.get(start..end).ok_or_else(bounds)
}

fn read_table(content: &[u8], count: u32) -> Result<Vec<Entry>, BundleError> {
    let count = count as usize;
    let table_end = count
        .checked_mul(ENTRY_LEN)
        .and_then(|n| n.checked_add(HEADER_LEN))
        .filter(|&end| end <= content.len())
        .ok_or(BundleError::Truncated {
            expected: (HEADER_LEN + count.saturating_mul(ENTRY_LEN)) as u64,
            got: content.len() as u64,
        })?;
    let table = content.get(HEADER_LEN..table_end).unwrap_or_default();
    let mut entries: Vec<Entry> = table
        .chunks_exact(ENTRY_LEN)
        .filter_map(|c| c.try_into().ok().map(Entry::read))
        .collect();
    let mut previous_end = table_end as u64;
    entries.sort_by_key(|e| e.offset);
    for e in &entries {
        if e.offset < previous_end {
            return Err(BundleError::SectionBounds {
                tag: e.tag,
                offset: e.offset,
                len: e.len,
            });
        }
        let bytes = slice(content, e)?;
        let got = crc32fast::hash(bytes);
        if got != e.crc32 {
            return Err(BundleError::SectionChecksum {
                tag: e.tag,
                offset: e.offset,
                expected: e.crc32,
                got,
            });
        }
        previous_end = e.offset + e.len;
    }
    Ok(entries)
}
