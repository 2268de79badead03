//! Short lists of fixed-size records by string key, read in place: an
//! `fst::Map` from each key to the offset of its list, and the lists one
//! after the other, each a count byte then its records. Related words
//! ([`super::related`]) and learned queries ([`super::learned`]) are
//! stored this way: the codec would spend 8 bytes on every length.

use fst::Map;
use serde::{Deserialize, Serialize};

/// The stored form (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyedRecords {
    /// `fst::Map` bytes: key → offset of its list in `records`.
    pub keys: Vec<u8>,
    /// Per key: its record count (a byte), then its records.
    pub records: Vec<u8>,
}

impl KeyedRecords {
    /// Packs `lists` (key, records of `width` bytes each): keys sorted,
    /// the first of a repeated key kept, empty lists left out, at most 255
    /// records a key.
    #[cfg(feature = "build")]
    pub fn pack(width: usize, mut lists: Vec<(String, Vec<Vec<u8>>)>) -> Result<Self, fst::Error> {
        lists.sort_by(|a, b| a.0.cmp(&b.0));
        lists.dedup_by(|a, b| a.0 == b.0);
        let mut keys = fst::MapBuilder::memory();
        let mut records = Vec::new();
        for (key, list) in lists {
            let list: Vec<Vec<u8>> = list
                .into_iter()
                .filter(|r| r.len() == width)
                .take(usize::from(u8::MAX))
                .collect();
            if list.is_empty() {
                continue;
            }
            keys.insert(key.as_bytes(), records.len() as u64)?;
            records.push(list.len() as u8);
            records.extend(list.into_iter().flatten());
        }
        Ok(Self {
            keys: keys.into_inner()?,
            records,
        })
    }
}

/// [`KeyedRecords`] opened for lookups.
pub struct Keyed {
    keys: Map<Vec<u8>>,
    records: Vec<u8>,
    width: usize,
}

impl Keyed {
    /// Opens `stored`, records `width` bytes each, checking the key map's
    /// checksum (a damaged map is refused, never walked).
    pub fn open(stored: KeyedRecords, width: usize) -> Result<Self, String> {
        let keys = if stored.keys.is_empty() {
            Map::default()
        } else {
            Map::new(stored.keys)
                .and_then(|map| map.as_fst().verify().map(|()| map))
                .map_err(|e| e.to_string())?
        };
        Ok(Self {
            keys,
            records: stored.records,
            width: width.max(1),
        })
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The records of `key`, in order; none for a key not held, and only
    /// those inside the section for a damaged one.
    pub fn get(&self, key: &str) -> std::slice::ChunksExact<'_, u8> {
        let list = self
            .keys
            .get(key)
            .and_then(|v| usize::try_from(v).ok())
            .and_then(|at| {
                let count = usize::from(*self.records.get(at)?);
                self.records.get(at + 1..at + 1 + count * self.width)
            })
            .unwrap_or_default();
        list.chunks_exact(self.width)
    }
}
