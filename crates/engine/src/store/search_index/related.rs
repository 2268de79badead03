//! Related words, packed: what a word the catalog does not use stands for
//! there (`skillet` → `frying pan`, `pan`), as the origin found them in
//! WordNet.
//!
//! Thousands of words point at a few hundred of the catalog's phrases, so
//! each phrase is written once and words refer to it by index:
//!
//! - `words`: an `fst::Map` from the word to the offset of its entry;
//! - `entries`: per word, its phrase count, then per phrase its index
//!   (`u16`, little-endian) and weight (`u8`, 1..=255 for (0, 1]);
//! - `phrases`: the phrases, normalized terms separated by spaces, one per
//!   line.
//!
//! About 15 bytes a word, where one string and list per word and phrase
//! took 68 through the codec (its lengths are 8 bytes each).

use std::ops::Range;

use fst::Map;
use serde::{Deserialize, Serialize};

/// The related words of a bundle, as stored (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelatedWords {
    /// `fst::Map` bytes: word → offset in `entries`.
    pub words: Vec<u8>,
    /// Per word: its phrase count, then (phrase index u16 LE, weight u8)s.
    pub entries: Vec<u8>,
    /// The phrases, one per line.
    pub phrases: String,
}

impl RelatedWords {
    /// Packs `related`: each word (normalized, any order, each once) with
    /// its phrases (normalized terms, space-separated) and their weights in
    /// (0, 1], heaviest first; at most 255 phrases a word and 65,536 in
    /// all (more are left out).
    #[cfg(feature = "build")]
    pub fn pack(mut related: Vec<(String, Vec<(String, f32)>)>) -> Result<Self, fst::Error> {
        related.sort_by(|a, b| a.0.cmp(&b.0));
        related.dedup_by(|a, b| a.0 == b.0);
        let mut phrases: Vec<String> = Vec::new();
        let mut index: std::collections::HashMap<String, u16> = std::collections::HashMap::new();
        let mut entries = Vec::new();
        let mut words = fst::MapBuilder::memory();
        for (word, to) in related {
            let mut packed = Vec::new();
            for (phrase, weight) in to.into_iter().take(usize::from(u8::MAX)) {
                let next = phrases.len();
                let i = match index.get(&phrase) {
                    Some(&i) => i,
                    None => {
                        let Ok(i) = u16::try_from(next) else { continue };
                        index.insert(phrase.clone(), i);
                        phrases.push(phrase);
                        i
                    }
                };
                packed.extend_from_slice(&i.to_le_bytes());
                packed.push((weight.clamp(0.0, 1.0) * 255.0).round().max(1.0) as u8);
            }
            if packed.is_empty() {
                continue;
            }
            words.insert(word.as_bytes(), entries.len() as u64)?;
            entries.push((packed.len() / 3) as u8);
            entries.extend_from_slice(&packed);
        }
        Ok(Self {
            words: words.into_inner()?,
            entries,
            phrases: phrases.join("\n"),
        })
    }
}

/// [`RelatedWords`] opened for lookups.
pub struct Related {
    words: Map<Vec<u8>>,
    entries: Vec<u8>,
    phrases: String,
    /// Where each phrase is in `phrases`.
    lines: Vec<Range<usize>>,
}

impl Related {
    /// Opens `packed`, checking the word map's checksum (a damaged one is
    /// refused, never walked); the error says what is wrong.
    pub fn open(packed: RelatedWords) -> Result<Self, String> {
        let words = if packed.words.is_empty() {
            Map::default()
        } else {
            Map::new(packed.words)
                .and_then(|map| map.as_fst().verify().map(|()| map))
                .map_err(|e| format!("related words: {e}"))?
        };
        let mut lines = Vec::new();
        let mut at = 0;
        for line in packed.phrases.split('\n') {
            lines.push(at..at + line.len());
            at += line.len() + 1;
        }
        Ok(Self {
            words,
            entries: packed.entries,
            phrases: packed.phrases,
            lines,
        })
    }

    /// Words held.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The phrases `word` stands for with their weights in (0, 1],
    /// heaviest first; empty for a word not held. Entries past the end of
    /// the section (a damaged bundle) are skipped.
    pub fn of(&self, word: &str) -> Vec<(&str, f32)> {
        let Some(at) = self.words.get(word).and_then(|v| usize::try_from(v).ok()) else {
            return Vec::new();
        };
        let count = usize::from(self.entries.get(at).copied().unwrap_or(0));
        let body = self
            .entries
            .get(at + 1..at + 1 + 3 * count)
            .unwrap_or_default();
        body.chunks_exact(3)
            .filter_map(|e| {
                let [lo, hi, weight] = *e else { return None };
                let line = self.lines.get(usize::from(u16::from_le_bytes([lo, hi])))?;
                let phrase = self.phrases.get(line.clone())?;
                Some((phrase, f32::from(weight.max(1)) / 255.0))
            })
            .collect()
    }
}

#[cfg(all(test, feature = "build"))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn words_share_their_phrases_and_keep_their_weights() {
        let packed = RelatedWords::pack(vec![
            (
                "skillet".into(),
                vec![("frying pan".into(), 1.0), ("pan".into(), 0.75)],
            ),
            ("stockpot".into(), vec![("pan".into(), 0.5)]),
            ("nothing".into(), Vec::new()),
        ])
        .unwrap();
        assert_eq!(packed.phrases, "frying pan\npan");
        let related = Related::open(packed).unwrap();
        assert_eq!(related.len(), 2);
        let skillet = related.of("skillet");
        assert_eq!(skillet.len(), 2);
        assert_eq!(skillet[0], ("frying pan", 1.0));
        assert_eq!(skillet[1].0, "pan");
        assert!((skillet[1].1 - 191.0 / 255.0).abs() < 1e-6);
        assert_eq!(related.of("stockpot")[0].0, "pan");
        assert!(related.of("nothing").is_empty() && related.of("pan").is_empty());
    }

    #[test]
    fn damaged_sections_are_refused_or_read_short() {
        let mut packed =
            RelatedWords::pack(vec![("gown".into(), vec![("dress".into(), 1.0)])]).unwrap();
        let mut bad = packed.clone();
        let last = bad.words.len() - 1;
        bad.words[last] ^= 0xff;
        assert!(Related::open(bad).is_err());
        // An entry pointing past the phrases, or cut short, yields nothing.
        packed.entries = vec![2, 9, 0, 255];
        assert!(Related::open(packed).unwrap().of("gown").is_empty());
    }
}
