//! `terms.dir`: which category shards of a sharded store hold a search
//! term, and in how many of their products.
//!
//! The origin writes it beside the shards (`firstpaint build
//! --shard-products`), from each shard's own search index, so its terms
//! are exactly the ones the shards index (normalized, compounds and their
//! parts). The edge reads it to send a query to the one or two shards
//! where its words are, instead of loading every shard.
//!
//! ```text
//!  0       4        6        8          12         16
//!  +-------+--------+--------+----------+----------+------------------+----------------------+
//!  | FPTD  | ver u16| 0 u16  | shards   | fst_len  | fst map          | entries              |
//!  |       | = 1    |        | u32      | u32      | term -> (start   | (shard u16,          |
//!  |       |        |        |          |          | << 16 | count)   |  products u32) x n   |
//!  +-------+--------+--------+----------+----------+------------------+----------------------+
//! ```
//!
//! All integers little-endian. A term's value in the fst names a run of
//! `count` 6-byte entries starting at entry `start`, shards ascending.
//! Shards are numbered as `routes.fst` and the manifest number them.

use std::collections::BTreeMap;

use fst::{IntoStreamer, Streamer};

/// The file's first four bytes.
pub const DIRECTORY_MAGIC: [u8; 4] = *b"FPTD";
/// The layout this release writes and reads.
pub const DIRECTORY_VERSION: u16 = 1;
const HEADER: usize = 16;
const ENTRY: usize = 6;

/// Why a term directory was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryError {
    /// Not a term directory.
    #[error("not a term directory (bad magic at offset 0)")]
    BadMagic,
    /// Written by another release.
    #[error("term directory version {got} is not read by this release (it reads {supported}): rebuild the shards")]
    UnsupportedVersion {
        /// Version in the header.
        got: u16,
        /// The version this release reads.
        supported: u16,
    },
    /// Shorter than its header says.
    #[error("term directory is truncated: {got} bytes, its header needs {expected}")]
    Truncated {
        /// Bytes the header announces.
        expected: u64,
        /// Bytes present.
        got: u64,
    },
    /// The term map does not parse.
    #[error("term directory: the term map at offset {HEADER} does not parse: {0}")]
    Map(String),
    /// More shards than a directory numbers (65,536).
    #[error("term directory: {0} shards, at most 65536")]
    TooManyShards(usize),
}

/// Read side: a verified `terms.dir`, looked up in place.
#[derive(Clone)]
pub struct TermDirectory {
    map: fst::Map<Vec<u8>>,
    entries: Vec<u8>,
    shards: u32,
}

impl std::fmt::Debug for TermDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TermDirectory")
            .field("terms", &self.map.len())
            .field("shards", &self.shards)
            .finish_non_exhaustive()
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

impl TermDirectory {
    /// Checks the header and the term map of `bytes`.
    pub fn new(bytes: &[u8]) -> Result<Self, DirectoryError> {
        let truncated = |expected: usize| DirectoryError::Truncated {
            expected: expected as u64,
            got: bytes.len() as u64,
        };
        if bytes.get(..4) != Some(&DIRECTORY_MAGIC[..]) {
            return Err(if bytes.len() < 4 {
                truncated(HEADER)
            } else {
                DirectoryError::BadMagic
            });
        }
        let version = bytes
            .get(4..6)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_le_bytes)
            .ok_or_else(|| truncated(HEADER))?;
        if version != DIRECTORY_VERSION {
            return Err(DirectoryError::UnsupportedVersion {
                got: version,
                supported: DIRECTORY_VERSION,
            });
        }
        let shards = u32_at(bytes, 8).ok_or_else(|| truncated(HEADER))?;
        let fst_len = u32_at(bytes, 12).ok_or_else(|| truncated(HEADER))? as usize;
        let end = HEADER.saturating_add(fst_len);
        let map_bytes = bytes.get(HEADER..end).ok_or_else(|| truncated(end))?;
        // Checksummed before use: fst panics walking a damaged map.
        let map = fst::Map::new(map_bytes.to_vec())
            .and_then(|map| map.as_fst().verify().map(|()| map))
            .map_err(|e| DirectoryError::Map(e.to_string()))?;
        let entries = bytes.get(end..).unwrap_or_default().to_vec();
        Ok(TermDirectory {
            map,
            entries,
            shards,
        })
    }

    /// How many category shards it describes.
    pub fn shards(&self) -> u32 {
        self.shards
    }

    /// How many terms it holds.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether it holds no term.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The shards holding `term`, with how many of their products do, shards
    /// ascending; empty for a term no shard holds (or a damaged entry).
    pub fn lookup(&self, term: &str) -> Vec<(u16, u32)> {
        self.map
            .get(term)
            .map_or_else(Vec::new, |value| self.entries_of(value))
    }

    /// The shards holding a term that begins with `prefix` (as-you-type),
    /// summed over at most `max_terms` such terms in term order.
    pub fn lookup_prefix(&self, prefix: &str, max_terms: usize) -> Vec<(u16, u32)> {
        let mut sums: BTreeMap<u16, u32> = BTreeMap::new();
        let automaton = fst::Automaton::starts_with(fst::automaton::Str::new(prefix));
        let mut stream = self.map.search(automaton).into_stream();
        let mut seen = 0;
        while let Some((_, value)) = stream.next() {
            if seen == max_terms {
                break;
            }
            seen += 1;
            for (shard, count) in self.entries_of(value) {
                let sum = sums.entry(shard).or_default();
                *sum = sum.saturating_add(count);
            }
        }
        sums.into_iter().collect()
    }

    fn entries_of(&self, value: u64) -> Vec<(u16, u32)> {
        let start = (value >> 16) as usize;
        let count = (value & 0xffff) as usize;
        let Some(run) = start.checked_mul(ENTRY).and_then(|from| {
            self.entries
                .get(from..from.checked_add(count.checked_mul(ENTRY)?)?)
        }) else {
            return Vec::new();
        };
        run.chunks_exact(ENTRY)
            .filter_map(|e| {
                let shard = u16::from_le_bytes(e.get(..2)?.try_into().ok()?);
                let products = u32::from_le_bytes(e.get(2..6)?.try_into().ok()?);
                Some((shard, products))
            })
            .collect()
    }
}

/// Write side, at the origin: add each shard's terms, then
/// [`finish`](Self::finish).
#[derive(Debug, Default)]
pub struct TermDirectoryBuilder {
    terms: BTreeMap<String, Vec<(u16, u32)>>,
    shards: usize,
}

impl TermDirectoryBuilder {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that shard `shard` (its position in the manifest) holds each
    /// `(term, products holding it)`.
    pub fn add_shard(
        &mut self,
        shard: usize,
        terms: impl IntoIterator<Item = (String, u32)>,
    ) -> Result<(), DirectoryError> {
        let number = u16::try_from(shard).map_err(|_| DirectoryError::TooManyShards(shard + 1))?;
        self.shards = self.shards.max(shard + 1);
        for (term, products) in terms {
            if products > 0 {
                self.terms.entry(term).or_default().push((number, products));
            }
        }
        Ok(())
    }

    /// The file's bytes.
    pub fn finish(self) -> Result<Vec<u8>, DirectoryError> {
        let shards =
            u32::try_from(self.shards).map_err(|_| DirectoryError::TooManyShards(self.shards))?;
        let mut entries = Vec::new();
        let mut map = fst::MapBuilder::memory();
        let mut start = 0u64;
        for (term, mut holders) in self.terms {
            holders.sort_unstable();
            holders.dedup_by_key(|h| h.0);
            for (shard, products) in &holders {
                entries.extend_from_slice(&shard.to_le_bytes());
                entries.extend_from_slice(&products.to_le_bytes());
            }
            map.insert(&term, (start << 16) | holders.len() as u64)
                .map_err(|e| DirectoryError::Map(e.to_string()))?;
            start += holders.len() as u64;
        }
        let map = map
            .into_inner()
            .map_err(|e| DirectoryError::Map(e.to_string()))?;
        let fst_len = u32::try_from(map.len())
            .map_err(|_| DirectoryError::Map("term map over 4 GiB".into()))?;
        let mut out = Vec::with_capacity(HEADER + map.len() + entries.len());
        out.extend_from_slice(&DIRECTORY_MAGIC);
        out.extend_from_slice(&DIRECTORY_VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&shards.to_le_bytes());
        out.extend_from_slice(&fst_len.to_le_bytes());
        out.extend_from_slice(&map);
        out.extend_from_slice(&entries);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn sample() -> Vec<u8> {
        let mut b = TermDirectoryBuilder::new();
        let t = |s: &str, n: u32| (s.to_owned(), n);
        b.add_shard(0, [t("phone", 40), t("red", 3), t("charger", 9)])
            .unwrap();
        b.add_shard(2, [t("red", 30), t("dress", 25), t("phonecase", 1)])
            .unwrap();
        b.finish().unwrap()
    }

    #[test]
    fn looks_up_terms_and_prefixes() {
        let d = TermDirectory::new(&sample()).unwrap();
        assert_eq!(d.shards(), 3);
        assert_eq!(d.len(), 5);
        assert_eq!(d.lookup("red"), [(0, 3), (2, 30)]);
        assert_eq!(d.lookup("dress"), [(2, 25)]);
        assert_eq!(d.lookup("tent"), []);
        assert_eq!(d.lookup_prefix("phone", 10), [(0, 40), (2, 1)]);
        assert_eq!(d.lookup_prefix("phone", 1), [(0, 40)]);
        assert_eq!(d.lookup_prefix("zz", 10), []);
    }

    #[test]
    fn refuses_damaged_files_naming_why() {
        let bytes = sample();
        assert_eq!(
            TermDirectory::new(b"FPXD0000000000000000").unwrap_err(),
            DirectoryError::BadMagic
        );
        let mut newer = bytes.clone();
        newer[4] = 9;
        assert!(matches!(
            TermDirectory::new(&newer).unwrap_err(),
            DirectoryError::UnsupportedVersion { got: 9, .. }
        ));
        for cut in [0, 3, 10, 20] {
            assert!(TermDirectory::new(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        // A term whose entries were cut off reads as held by no shard.
        let fst_len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
        let d = TermDirectory::new(&bytes[..HEADER + fst_len]).unwrap();
        assert_eq!(d.lookup("red"), []);
    }
}
