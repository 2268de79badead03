//! Related words: what a word the catalog does not use stands for there
//! (`skillet` → `frying pan`, `pan`), as the origin found them in WordNet.
//!
//! Thousands of words point at a few hundred of the catalog's phrases, so
//! each phrase is written once (normalized terms separated by spaces, one
//! per line) and a word's records ([`super::keyed`]) are a phrase index
//! (`u16`, little-endian) and a weight (`u8`, 1..=255 for (0, 1]): about
//! 16 bytes a word, where a string and a list per word and phrase took 68
//! through the codec.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::keyed::{Keyed, KeyedRecords};

/// Bytes of a word's record: phrase index, weight.
const RECORD: usize = 3;

/// The related words of a bundle, as stored (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelatedWords {
    /// Word → its (phrase, weight) records.
    pub words: KeyedRecords,
    /// The phrases, one per line.
    pub phrases: String,
}

impl RelatedWords {
    /// Packs `related`: each word (normalized, any order, each once) with
    /// its phrases (normalized terms, space-separated) and their weights in
    /// (0, 1], heaviest first; at most 255 phrases a word and 65,536 in
    /// all (more are left out).
    #[cfg(feature = "build")]
    pub fn pack(related: Vec<(String, Vec<(String, f32)>)>) -> Result<Self, fst::Error> {
        let mut phrases: Vec<String> = Vec::new();
        let mut index: std::collections::HashMap<String, u16> = std::collections::HashMap::new();
        let mut lists = Vec::with_capacity(related.len());
        for (word, to) in related {
            let mut records = Vec::new();
            for (phrase, weight) in to {
                let i = match index.get(&phrase) {
                    Some(&i) => i,
                    None => {
                        let Ok(i) = u16::try_from(phrases.len()) else {
                            continue;
                        };
                        index.insert(phrase.clone(), i);
                        phrases.push(phrase);
                        i
                    }
                };
                let [lo, hi] = i.to_le_bytes();
                records.push(vec![lo, hi, super::learned::weight_byte(weight)]);
            }
            lists.push((word, records));
        }
        Ok(Self {
            words: KeyedRecords::pack(RECORD, lists)?,
            phrases: phrases.join("\n"),
        })
    }
}

/// [`RelatedWords`] opened for lookups.
pub struct Related {
    words: Keyed,
    phrases: String,
    /// Where each phrase is in `phrases`.
    lines: Vec<Range<usize>>,
}

impl Related {
    /// Opens `packed`; the error says what is wrong.
    pub fn open(packed: RelatedWords) -> Result<Self, String> {
        let words = Keyed::open(packed.words, RECORD).map_err(|e| format!("related words: {e}"))?;
        let mut lines = Vec::new();
        let mut at = 0;
        for line in packed.phrases.split('\n') {
            lines.push(at..at + line.len());
            at += line.len() + 1;
        }
        Ok(Self {
            words,
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
    /// heaviest first; empty for a word not held. Records past the
    /// phrases (a damaged bundle) are skipped.
    pub fn of(&self, word: &str) -> Vec<(&str, f32)> {
        self.words
            .get(word)
            .filter_map(|record| {
                let [lo, hi, weight] = *record else {
                    return None;
                };
                let line = self.lines.get(usize::from(u16::from_le_bytes([lo, hi])))?;
                let phrase = self.phrases.get(line.clone())?;
                Some((phrase, super::learned::weight_of(weight)))
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
        let last = bad.words.keys.len() - 1;
        bad.words.keys[last] ^= 0xff;
        assert!(Related::open(bad).is_err());
        // A record pointing past the phrases, or cut short, yields nothing.
        packed.words.records = vec![2, 9, 0, 255];
        assert!(Related::open(packed).unwrap().of("gown").is_empty());
    }
}
