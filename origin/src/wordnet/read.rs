//! Reading WordNet's noun database (`data.noun`, `index.noun`, as Debian's
//! `wordnet-base` installs them in `/usr/share/wordnet`).
//!
//! Only what related words need is kept: each noun synset's lexicographer
//! file (what kind of thing it is), its lemmas, and its hypernym and
//! hyponym links; each lemma's synsets, most frequent sense first. The
//! format is `wndb(5WN)`: one synset per line, fields separated by spaces,
//! the gloss after ` | `; lines starting with two spaces are the licence.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use anyhow::{bail, Context};

/// Where Debian's `wordnet-base` puts the database.
pub const DEBIAN_DIR: &str = "/usr/share/wordnet";

/// A noun synset: one meaning, and the lemmas that say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synset {
    /// Its lexicographer file (`6` is `noun.artifact`, `13` `noun.food`).
    pub lexfile: u8,
    /// Its lemmas, lower-cased, words separated by spaces.
    pub lemmas: Vec<String>,
    /// More general synsets (hypernyms and instance hypernyms), by index.
    pub hypernyms: Vec<u32>,
    /// More specific synsets (hyponyms and instances), by index.
    pub hyponyms: Vec<u32>,
}

/// WordNet's nouns, read once per build.
#[derive(Debug, Clone, Default)]
pub struct WordNet {
    /// Every noun synset; links refer to these by index.
    pub synsets: Vec<Synset>,
    /// Lemma -> its synsets, most frequent sense first.
    pub senses: HashMap<String, Vec<u32>>,
    /// Per synset, how many synsets are below it (its hyponyms, theirs,
    /// and so on; one reached twice counts twice): how general it is.
    pub below: Vec<u32>,
    /// The directory read, for messages.
    pub dir: PathBuf,
    /// SHA-256 of `data.noun`, for the bundle's lineage.
    pub sha256: [u8; 32],
    /// Size of `data.noun`.
    pub bytes: u64,
}

/// The WordNet last read by [`WordNet::read_shared`], with the directory,
/// and the modification time and size of its two files then.
type Shared = (PathBuf, Vec<(Option<SystemTime>, u64)>, Arc<WordNet>);

static SHARED: Mutex<Option<Shared>> = Mutex::new(None);

impl WordNet {
    /// [`WordNet::read`] once per process while `dir`'s files keep their
    /// modification time and size: `firstpaint serve` and `watch` rebuild
    /// on every input change, and reading WordNet again took 0.3 s each
    /// time.
    pub fn read_shared(dir: &Path) -> anyhow::Result<Arc<WordNet>> {
        let stamp: Vec<(Option<SystemTime>, u64)> = ["data.noun", "index.noun"]
            .iter()
            .map(|f| match std::fs::metadata(dir.join(f)) {
                Ok(m) => (m.modified().ok(), m.len()),
                Err(_) => (None, 0),
            })
            .collect();
        let mut shared = SHARED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((d, s, wordnet)) = shared.as_ref() {
            if d == dir && *s == stamp && stamp.iter().all(|(t, _)| t.is_some()) {
                return Ok(Arc::clone(wordnet));
            }
        }
        let wordnet = Arc::new(WordNet::read(dir)?);
        *shared = Some((dir.to_owned(), stamp, Arc::clone(&wordnet)));
        Ok(wordnet)
    }

    /// Reads `dir/data.noun` and `dir/index.noun`; a malformed line is an
    /// error naming the file and the line.
    pub fn read(dir: &Path) -> anyhow::Result<WordNet> {
        let data_path = dir.join("data.noun");
        let data = std::fs::read(&data_path)
            .with_context(|| format!("{}: failed to read", data_path.display()))?;
        let sha256 = firstpaint_bundle::sha256(&data);
        let bytes = data.len() as u64;
        let data = latin1(&data);
        let mut synsets = Vec::new();
        let mut at_offset: HashMap<u64, u32> = HashMap::new();
        let mut links: Vec<Vec<Pointer>> = Vec::new();
        for (n, line) in data.lines().enumerate() {
            if line.starts_with("  ") || line.trim().is_empty() {
                continue;
            }
            let (offset, synset, pointers) =
                parse_synset(line).with_context(|| format!("{}:{}", data_path.display(), n + 1))?;
            at_offset.insert(offset, synsets.len() as u32);
            synsets.push(synset);
            links.push(pointers);
        }
        for (i, pointers) in links.into_iter().enumerate() {
            for (up, offset) in pointers {
                let Some(&to) = at_offset.get(&offset) else {
                    bail!(
                        "{}: synset {i} points to offset {offset:08}, which is not in the file",
                        data_path.display()
                    );
                };
                let Some(s) = synsets.get_mut(i) else {
                    continue;
                };
                if up {
                    s.hypernyms.push(to);
                } else {
                    s.hyponyms.push(to);
                }
            }
        }

        let index_path = dir.join("index.noun");
        let index = std::fs::read(&index_path)
            .with_context(|| format!("{}: failed to read", index_path.display()))?;
        let index = latin1(&index);
        let mut senses = HashMap::new();
        for (n, line) in index.lines().enumerate() {
            if line.starts_with("  ") || line.trim().is_empty() {
                continue;
            }
            let (lemma, offsets) =
                parse_index(line).with_context(|| format!("{}:{}", index_path.display(), n + 1))?;
            let mut found = Vec::with_capacity(offsets.len());
            for offset in offsets {
                match at_offset.get(&offset) {
                    Some(&s) => found.push(s),
                    None => bail!(
                        "{}:{}: sense at offset {offset:08} is not in data.noun",
                        index_path.display(),
                        n + 1
                    ),
                }
            }
            senses.insert(lemma, found);
        }
        let below = count_below(&synsets);
        Ok(WordNet {
            synsets,
            senses,
            below,
            dir: dir.to_owned(),
            sha256,
            bytes,
        })
    }

    /// How specific synset `s` is, 0 (the root of everything) to 1 (a leaf):
    /// the intrinsic information content of Seco, Veale and Hayes (2004),
    /// `1 - ln(below + 1) / ln(synsets)`.
    pub fn specificity(&self, s: u32) -> f32 {
        let below = self.below.get(s as usize).copied().unwrap_or(0) as f32;
        let all = (self.synsets.len().max(2)) as f32;
        1.0 - (below + 1.0).ln() / all.ln()
    }

    /// Synset `s`, if it exists.
    pub fn synset(&self, s: u32) -> Option<&Synset> {
        self.synsets.get(s as usize)
    }
}

/// `bytes` as text: WordNet 3.0 is Latin-1 in places, every byte one char.
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// A link read from `data.noun` before every synset is known: whether it
/// points up (hypernym) or down (hyponym), and the target's offset.
type Pointer = (bool, u64);

/// One `data.noun` line: its offset, the synset, and its links.
fn parse_synset(line: &str) -> anyhow::Result<(u64, Synset, Vec<Pointer>)> {
    let fields = line.split(" | ").next().unwrap_or(line);
    let mut t = fields.split_ascii_whitespace();
    let mut next = |what: &str| t.next().with_context(|| format!("missing {what}"));
    let offset: u64 = next("synset offset")?
        .parse()
        .context("synset offset is not a number")?;
    let lexfile: u8 = next("lexicographer file")?
        .parse()
        .context("lexicographer file is not a number")?;
    let _pos = next("part of speech")?;
    let words = usize::from_str_radix(next("word count")?, 16).context("word count is not hex")?;
    let mut lemmas = Vec::with_capacity(words);
    for _ in 0..words {
        let word = next("word")?;
        let _lex_id = next("lex id")?;
        // Adjective markers such as "(p)" do not occur in nouns, but cost nothing to drop.
        let word = word.split('(').next().unwrap_or(word);
        lemmas.push(word.replace('_', " ").to_lowercase());
    }
    let count: usize = next("pointer count")?
        .parse()
        .context("pointer count is not a number")?;
    let mut pointers = Vec::new();
    for _ in 0..count {
        let symbol = next("pointer symbol")?;
        let target: u64 = next("pointer offset")?
            .parse()
            .context("pointer offset is not a number")?;
        let pos = next("pointer part of speech")?;
        let _source_target = next("pointer source/target")?;
        if pos != "n" {
            continue;
        }
        match symbol {
            "@" | "@i" => pointers.push((true, target)),
            "~" | "~i" => pointers.push((false, target)),
            _ => {}
        }
    }
    let synset = Synset {
        lexfile,
        lemmas,
        hypernyms: Vec::new(),
        hyponyms: Vec::new(),
    };
    Ok((offset, synset, pointers))
}

/// One `index.noun` line: the lemma and its senses' offsets, most
/// frequent first.
fn parse_index(line: &str) -> anyhow::Result<(String, Vec<u64>)> {
    let t: Vec<&str> = line.split_ascii_whitespace().collect();
    let lemma = t.first().context("missing lemma")?;
    let senses: usize = t
        .get(2)
        .context("missing sense count")?
        .parse()
        .context("sense count is not a number")?;
    let Some(first) = t.len().checked_sub(senses) else {
        bail!("{senses} senses announced, fewer fields on the line");
    };
    let offsets = t
        .get(first..)
        .unwrap_or_default()
        .iter()
        .map(|o| {
            o.parse::<u64>()
                .with_context(|| format!("sense offset {o:?}"))
        })
        .collect::<anyhow::Result<Vec<u64>>>()?;
    Ok((lemma.replace('_', " ").to_lowercase(), offsets))
}

/// Synsets below each synset, counted down the hyponym links (iteratively:
/// the hierarchy is some twenty levels deep, but an input file decides).
fn count_below(synsets: &[Synset]) -> Vec<u32> {
    const UNSEEN: u32 = u32::MAX;
    let mut below = vec![UNSEEN; synsets.len()];
    for root in 0..synsets.len() {
        if below.get(root) != Some(&UNSEEN) {
            continue;
        }
        // (synset, whether its hyponyms are counted already)
        let mut stack = vec![(root as u32, false)];
        while let Some((s, children_done)) = stack.pop() {
            let Some(synset) = synsets.get(s as usize) else {
                continue;
            };
            if children_done {
                let sum: u64 = synset
                    .hyponyms
                    .iter()
                    .map(|&h| 1 + u64::from(below.get(h as usize).copied().unwrap_or(0)))
                    .sum();
                if let Some(b) = below.get_mut(s as usize) {
                    *b = u32::try_from(sum).unwrap_or(u32::MAX - 1);
                }
                continue;
            }
            if below.get(s as usize) != Some(&UNSEEN) {
                continue;
            }
            // Marked as in progress, so a (malformed) cycle ends.
            if let Some(b) = below.get_mut(s as usize) {
                *b = 0;
            }
            stack.push((s, true));
            for &h in &synset.hyponyms {
                if below.get(h as usize) == Some(&UNSEEN) {
                    stack.push((h, false));
                }
            }
        }
    }
    below
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: &str =
        "  1 This software and database is being provided to you, the LICENSEE, by\n\
00000001 03 n 01 entity 0 001 ~ 00000002 n 0000 | that which is\n\
00000002 06 n 02 wine 0 vino 0 002 @ 00000001 n 0000 ~ 00000003 n 0000 | fermented juice\n\
00000003 13 n 01 red_wine 0 001 @ 00000002 n 0000 | wine that is red\n";
    const INDEX: &str = "  1 licence\nentity n 1 1 ~ 1 0 00000001  \nwine n 1 2 @ ~ 1 0 00000002  \nred_wine n 1 1 @ 1 0 00000003  \nvino n 1 1 @ 1 0 00000002  \n";

    fn write(dir: &Path, data: &str, index: &str) {
        std::fs::write(dir.join("data.noun"), data).unwrap();
        std::fs::write(dir.join("index.noun"), index).unwrap();
    }

    #[test]
    fn reads_synsets_links_and_senses() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), DATA, INDEX);
        let wn = WordNet::read(dir.path()).unwrap();
        assert_eq!(wn.synsets.len(), 3);
        let wine = wn.senses["wine"][0];
        let s = wn.synset(wine).unwrap();
        assert_eq!(s.lemmas, ["wine", "vino"]);
        assert_eq!(s.lexfile, 6);
        assert_eq!(wn.senses["red wine"], [2]);
        assert_eq!(wn.synset(2).unwrap().hypernyms, [wine]);
        assert_eq!(wn.below, [2, 1, 0]);
        assert!(wn.specificity(2) > wn.specificity(1));
        assert!(wn.specificity(1) > wn.specificity(0));
    }

    #[test]
    fn a_shared_wordnet_is_read_again_when_its_files_change() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), DATA, INDEX);
        assert_eq!(WordNet::read_shared(dir.path()).unwrap().synsets.len(), 3);
        let fewer = DATA.replace(
            "00000003 13 n 01 red_wine 0 001 @ 00000002 n 0000 | wine that is red\n",
            "",
        );
        let fewer = fewer.replace(
            "002 @ 00000001 n 0000 ~ 00000003 n 0000",
            "001 @ 00000001 n 0000",
        );
        write(
            dir.path(),
            &fewer,
            INDEX
                .replace("red_wine n 1 1 @ 1 0 00000003  \n", "")
                .as_str(),
        );
        assert_eq!(WordNet::read_shared(dir.path()).unwrap().synsets.len(), 2);
        // A broken file is an error, not the copy read before it broke.
        write(dir.path(), &fewer.replace("001 @", "00x @"), INDEX);
        assert!(WordNet::read_shared(dir.path()).is_err());
    }

    #[test]
    fn a_malformed_line_is_named_by_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let broken = DATA.replace("002 @ 00000001", "00x @ 00000001");
        write(dir.path(), &broken, INDEX);
        let e = format!("{:#}", WordNet::read(dir.path()).unwrap_err());
        assert!(e.contains("data.noun:3"), "{e}");
        assert!(e.contains("pointer count"), "{e}");
        write(dir.path(), DATA, "wine n 1 1 @ 1 0 00000099  \n");
        let e = format!("{:#}", WordNet::read(dir.path()).unwrap_err());
        assert!(e.contains("index.noun:1"), "{e}");
    }
}
