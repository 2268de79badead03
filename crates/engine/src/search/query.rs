//! Query understanding: from the shopper's words to groups of index terms.
//!
//! Each query word becomes a [`Group`]: the terms that may stand for it
//! (itself, its typo'd neighbours within the merchant's thresholds, words it
//! begins when it is the last word, and its synonyms). A product matches a
//! group through its best alternative; ranking counts matched groups first
//! and typos second, as the known engines do.

use std::cell::OnceCell;

use fst::{IntoStreamer, Streamer};
use levenshtein_automata::{Distance, LevenshteinAutomatonBuilder, DFA};
use serde::Serialize;

use crate::limits::{
    MAX_EXPANSIONS, MAX_PREFIX_EXPANSIONS, MIN_PREFIX_CHARS, MIN_SPLIT_CHARS, WELL_KNOWN_WORD,
};
use crate::order;
use crate::store::search_index::SearchIndex;
use crate::text::normalize::{self, Word};

/// How a term came to stand for a query word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The word itself (after normalization).
    Exact,
    /// A longer word the last query word begins ("charg" → "charger").
    Prefix,
    /// The indexed words a run-together word is made of ("yogamat" →
    /// "yoga mat").
    Split,
    /// A merchant synonym.
    Synonym,
    /// A word of related meaning the catalog uses ("skillet" → "frying
    /// pan"), from the bundle's related words; weighed by how close.
    Related,
    /// A word within the typo threshold.
    Typo,
}

impl Via {
    /// How much a match through this route counts against an exact one.
    fn factor(self) -> f32 {
        match self {
            Via::Exact => 1.0,
            Via::Prefix => 0.85,
            Via::Split => 0.9,
            Via::Synonym => 0.9,
            Via::Related => 0.9,
            Via::Typo => 0.8,
        }
    }
}

/// One way to match a group: every term of `terms` (a phrase when more than one).
#[derive(Debug, Clone, PartialEq)]
pub struct Alternative {
    /// Term ids, all required.
    pub terms: Vec<u32>,
    /// Edits from the query word.
    pub typos: u8,
    /// How it was found.
    pub via: Via,
    /// Score multiplier for the route.
    pub factor: f32,
}

/// The terms that may stand for one query word (or phrase).
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// What the shopper wrote.
    pub word: String,
    /// Ways to match, best first.
    pub alternatives: Vec<Alternative>,
    /// The word names an attribute value or brand ("red", "samsung").
    pub attribute: bool,
}

/// What the engine understood of a query, reported with its results.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueryReport {
    /// The query as received.
    pub original: String,
    /// Its normalized terms.
    pub terms: Vec<String>,
    /// Words not found as written, and the closest indexed words used instead.
    pub corrections: Vec<Correction>,
    /// Synonyms applied: (what the shopper wrote, what it also searched).
    pub synonyms: Vec<(String, Vec<String>)>,
    /// Words the catalog does not use, and the related words searched
    /// instead: (what the shopper wrote, what it searched).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<(String, Vec<String>)>,
    /// Attribute values and brands recognized (`colour=red`, `brand=Samsung`).
    pub attributes: Vec<String>,
    /// Words ignored (stop words, or past the word limit).
    pub ignored: Vec<String>,
}

impl QueryReport {
    /// The query as typed with each corrected word replaced by the word
    /// searched instead ("smartphne case" → "smartphone case", "yogamat"
    /// → "yoga mat") and each word the catalog does not use by its closest
    /// related words ("skillet" → "frying pan"); `None` when nothing was.
    pub fn corrected(&self) -> Option<String> {
        if self.corrections.is_empty() && self.related.is_empty() {
            return None;
        }
        let words: Vec<String> = self
            .original
            .split_whitespace()
            .map(|w| {
                let corrected = self.corrections.iter().find(|c| c.from == w);
                let related = self
                    .related
                    .iter()
                    .find(|(from, _)| from == w)
                    .and_then(|(_, to)| to.first());
                match (corrected, related) {
                    (Some(c), _) => spelled_like(w, &c.to),
                    (None, Some(to)) => normalize::inflect_like(w, to),
                    (None, None) => w.to_owned(),
                }
            })
            .collect();
        Some(words.join(" "))
    }
}

/// A typo'd word and the indexed word it most likely meant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Correction {
    /// As typed.
    pub from: String,
    /// The indexed term used.
    pub to: String,
    /// Edits between them.
    pub typos: u8,
}

/// Typo thresholds: words of at least `one` characters may have one typo,
/// of at least `two`, two.
#[derive(Debug, Clone, Copy)]
pub struct TypoPolicy {
    /// Shortest word allowed one typo.
    pub one: usize,
    /// Shortest word allowed two typos.
    pub two: usize,
}

impl TypoPolicy {
    fn allowed(self, chars: usize) -> u8 {
        if chars >= self.two {
            2
        } else if chars >= self.one {
            1
        } else {
            0
        }
    }
}

thread_local! {
    /// Levenshtein automaton builders for 0, 1 and 2 edits (transpositions
    /// count as one), built on first use: building the 2-edit one is the
    /// expensive part, each query's automaton is then cheap.
    static AUTOMATA: [OnceCell<LevenshteinAutomatonBuilder>; 3] = const {
        [OnceCell::new(), OnceCell::new(), OnceCell::new()]
    };
}

fn automaton(word: &str, typos: u8, prefix: bool) -> Option<DFA> {
    AUTOMATA.with(|builders| {
        let cell = builders.get(usize::from(typos))?;
        let builder = cell.get_or_init(|| LevenshteinAutomatonBuilder::new(typos, true));
        Some(if prefix {
            builder.build_prefix_dfa(word)
        } else {
            builder.build_dfa(word)
        })
    })
}

/// `term` (an index term, singular), or its plural when that is fewer
/// edits from `typed` (a misspelling of it, measured as its correction
/// was found): how a correction is shown to whoever typed "jeens" ("jeans",
/// not "jean") or "mattres" ("mattress").
fn spelled_like(typed: &str, term: &str) -> String {
    let typed = normalize::fold(typed);
    let edits = |word: &str| {
        automaton(word, 2, false).map(|dfa| match dfa.eval(&typed) {
            Distance::Exact(d) | Distance::AtLeast(d) => d,
        })
    };
    match normalize::plural(term) {
        Some(p) if edits(&p) < edits(term) => p,
        _ => term.to_owned(),
    }
}

/// Understands `query` against `index`.
pub fn parse(query: &str, index: &SearchIndex, typo: TypoPolicy) -> (Vec<Group>, QueryReport) {
    let mut report = QueryReport {
        original: query.to_owned(),
        ..QueryReport::default()
    };
    let (words, ignored) = normalize::query_words(query);
    report.ignored = ignored;
    // The last word may be unfinished when the query does not end in a space.
    let open_end = !query.ends_with(|c: char| c.is_whitespace());
    report.terms = words.iter().map(|w| w.term.clone()).collect();

    let mut groups = Vec::new();
    let mut i = 0;
    while let Some(word) = words.get(i) {
        // The longest synonym trigger starting here.
        let rest: Vec<&str> = words.iter().skip(i).map(|w| w.term.as_str()).collect();
        let synonym = index
            .synonyms_starting(&word.term)
            .filter(|s| s.from.len() <= rest.len() && s.from.iter().zip(&rest).all(|(a, b)| a == b))
            .max_by_key(|s| s.from.len());
        let span = synonym.map_or(1, |s| s.from.len());
        let last = i + span == words.len();
        let mut group = if span == 1 {
            single(word, index, typo, last && open_end, &mut report)
        } else {
            let written: Vec<&str> = words
                .iter()
                .skip(i)
                .take(span)
                .map(|w| w.original.as_str())
                .collect();
            Group {
                word: written.join(" "),
                alternatives: phrase(rest.get(..span).unwrap_or_default(), index, Via::Exact)
                    .into_iter()
                    .collect(),
                attribute: false,
            }
        };
        if let Some(s) = synonym {
            let mut used = Vec::new();
            for to in &s.to {
                let terms: Vec<&str> = to.iter().map(String::as_str).collect();
                if let Some(alt) = phrase(&terms, index, Via::Synonym) {
                    group.alternatives.push(alt);
                    used.push(to.join(" "));
                }
            }
            if !used.is_empty() {
                report.synonyms.push((group.word.clone(), used));
            }
        } else if span == 1 && !related(word, index, &mut group, &mut report) {
            split(word, index, &mut group, &mut report);
        }
        dedup(&mut group.alternatives);
        groups.push(group);
        i += span;
    }
    (groups, report)
}

/// A group for one word: exact, typo'd and (for the last word) prefix terms.
fn single(
    word: &Word,
    index: &SearchIndex,
    typo: TypoPolicy,
    prefix: bool,
    report: &mut QueryReport,
) -> Group {
    let term = word.term.as_str();
    let mut alternatives = Vec::new();
    let exact = index.term_id(term);
    if let Some(id) = exact {
        alternatives.push(alt(vec![id], 0, Via::Exact));
    } else if word.parts.len() > 1 {
        // "t-shirt" against a catalog that writes "t shirt".
        let parts: Vec<&str> = word.parts.iter().map(String::as_str).collect();
        alternatives.extend(phrase(&parts, index, Via::Exact));
    }
    let chars = term.chars().count();
    // A word the catalog uses often is taken as meant: looking for its typo
    // neighbours ("shirt" -> "skirt", "short") would only add worse matches
    // and read their postings.
    let typos = if exact.is_some_and(|id| index.doc_freq(id) >= WELL_KNOWN_WORD) {
        0
    } else {
        typo.allowed(chars)
    };
    // Typo'd neighbours, fewest edits and most common first.
    let prefix = prefix && chars >= MIN_PREFIX_CHARS;
    let mut found: Vec<Found> = Vec::new();
    // The accepted terms' bytes, one after the other (one buffer for all
    // of them, not a string each: short prefixes accept hundreds).
    let mut spelled: Vec<u8> = Vec::new();
    // The last word's prefix automaton (below) also accepts every term
    // within its typos, so only other words need this one.
    if typos > 0 && !prefix {
        let mut forms = vec![term];
        if word.unstemmed != term {
            forms.push(word.unstemmed.as_str());
        }
        for form in forms {
            if let Some(dfa) = automaton(form, typos, false) {
                collect(index, &dfa, &mut found, &mut spelled);
            }
        }
    }
    let mut prefixed: Vec<Found> = Vec::new();
    if prefix {
        // A prefix automaton allows typos too: "chrag" still finds "charger".
        if let Some(dfa) = automaton(term, typos, true) {
            collect(index, &dfa, &mut prefixed, &mut spelled);
        }
    }
    let best = |v: &mut Vec<Found>, most: usize| {
        v.retain(|f| Some(f.id) != exact);
        // Fewest edits first, then the most common word, then term order.
        let mut keys: Vec<(u64, u32)> = (0u32..)
            .zip(v.iter())
            .map(|(i, f)| {
                (
                    u64::from(f.typos) << 32 | u64::from(u32::MAX - f.doc_freq),
                    i,
                )
            })
            .collect();
        order::sort(&mut keys);
        *v = order::permute(std::mem::take(v), &keys);
        // A term found from both forms keeps its fewest edits.
        let mut seen = std::collections::HashSet::new();
        v.retain(|f| seen.insert(f.id));
        v.truncate(most);
    };
    best(&mut found, MAX_EXPANSIONS);
    best(&mut prefixed, MAX_PREFIX_EXPANSIONS);
    for f in &found {
        alternatives.push(alt(vec![f.id], f.typos, Via::Typo));
    }
    for f in &prefixed {
        // A word the query begins exactly is a prefix match; with edits, a typo.
        let via = if f.typos == 0 { Via::Prefix } else { Via::Typo };
        alternatives.push(alt(vec![f.id], f.typos, via));
    }
    // Not indexed as written, and not the start of an indexed word: say
    // which word was used instead.
    if exact.is_none() && !prefixed.iter().any(|p| p.typos == 0) {
        let nearest = found
            .iter()
            .chain(&prefixed)
            .filter(|f| f.typos > 0)
            .min_by(|a, b| a.rank(b));
        if let Some(f) = nearest {
            report.corrections.push(Correction {
                from: word.original.clone(),
                to: f.spelled(&spelled),
                typos: f.typos,
            });
        }
    }
    let attribute = index.attribute(term);
    if let Some(a) = attribute {
        report.attributes.push(format!("{}={}", a.name, a.value));
    }
    Group {
        word: word.original.clone(),
        alternatives,
        attribute: attribute.is_some(),
    }
}

/// For a word the catalog does not use (no exact term, not the start of
/// one), the related words it stands for, weighed by how close they are,
/// in place of its typo'd neighbours: a word the language knows was meant
/// as written ("quilt" is not a typo of "built"). All of them are
/// reported, also those this index lacks (another shard of the store may
/// hold them). A merchant's synonym for the word wins: this is not asked
/// then. Whether the word had related words.
fn related(word: &Word, index: &SearchIndex, group: &mut Group, report: &mut QueryReport) -> bool {
    if found_as_written(group) {
        return false;
    }
    // Keys are normalized as the term is (stemmed).
    let related = index.related(&word.term);
    if related.is_empty() {
        return false;
    }
    let mut used = Vec::with_capacity(related.len());
    group.alternatives.clear();
    for (to, weight) in related {
        let terms: Vec<&str> = to.split(' ').collect();
        if let Some(mut alt) = phrase(&terms, index, Via::Related) {
            alt.factor *= weight;
            group.alternatives.push(alt);
        }
        used.push(to.to_owned());
    }
    report.corrections.retain(|c| c.from != word.original);
    report.related.push((group.word.clone(), used));
    true
}

/// Whether `group` matches the word as written (or as the start of a word).
fn found_as_written(group: &Group) -> bool {
    group
        .alternatives
        .iter()
        .any(|a| matches!(a.via, Via::Exact | Via::Prefix))
}

/// A word the index lacks that is two or three indexed words run together
/// ("wirelesscharging", "yogamat"): the group also matches them all, and
/// the report corrects it to them, spaced. Each part has at least
/// [`MIN_SPLIT_CHARS`] characters; of several splits, the one whose
/// shortest part is longest.
fn split(word: &Word, index: &SearchIndex, group: &mut Group, report: &mut QueryReport) {
    if found_as_written(group) {
        return;
    }
    let Some(parts) = split_parts(&word.unstemmed, index, 3) else {
        return;
    };
    let terms: Vec<String> = parts.iter().flat_map(|p| normalize::terms(p)).collect();
    let terms: Vec<&str> = terms.iter().map(String::as_str).collect();
    let Some(alt) = phrase(&terms, index, Via::Split) else {
        return;
    };
    group.alternatives.insert(0, alt);
    report.corrections.retain(|c| c.from != word.original);
    report.corrections.push(Correction {
        from: word.original.clone(),
        to: parts.join(" "),
        typos: 0,
    });
}

/// `word` cut into at most `most` pieces that are each an indexed term
/// (once normalized), the best cut as [`split`] says.
fn split_parts<'w>(word: &'w str, index: &SearchIndex, most: usize) -> Option<Vec<&'w str>> {
    let indexed = |piece: &str| match normalize::terms(piece).as_slice() {
        [term] => index.term_id(term).is_some(),
        _ => false,
    };
    if most < 2 || word.chars().count() < 2 * MIN_SPLIT_CHARS {
        return None;
    }
    let mut best: Option<(usize, Vec<&str>)> = None;
    for (at, _) in word.char_indices().skip(MIN_SPLIT_CHARS) {
        let (left, right) = word.split_at(at);
        if right.chars().count() < MIN_SPLIT_CHARS || !indexed(left) {
            continue;
        }
        let rest = if indexed(right) {
            Some(vec![right])
        } else {
            split_parts(right, index, most - 1)
        };
        let Some(rest) = rest else { continue };
        let shortest = rest
            .iter()
            .chain(std::iter::once(&left))
            .map(|p| p.chars().count())
            .min()
            .unwrap_or(0);
        if best.as_ref().is_none_or(|(s, _)| shortest > *s) {
            let mut parts = vec![left];
            parts.extend(rest);
            best = Some((shortest, parts));
        }
    }
    best.map(|(_, parts)| parts)
}

/// A term an automaton accepted.
struct Found {
    typos: u8,
    id: u32,
    doc_freq: u32,
    /// Where its bytes are in the buffer `collect` filled.
    at: std::ops::Range<usize>,
}

impl Found {
    /// The term as written, from the buffer `collect` filled.
    fn spelled(&self, buffer: &[u8]) -> String {
        String::from_utf8_lossy(buffer.get(self.at.clone()).unwrap_or_default()).into_owned()
    }

    /// Fewest edits first, then the most common word.
    fn rank(&self, other: &Found) -> std::cmp::Ordering {
        self.typos
            .cmp(&other.typos)
            .then(other.doc_freq.cmp(&self.doc_freq))
            .then(self.id.cmp(&other.id))
    }
}

/// Every term `dfa` accepts, their bytes appended to `spelled`.
fn collect(index: &SearchIndex, dfa: &DFA, out: &mut Vec<Found>, spelled: &mut Vec<u8>) {
    let mut stream = index.dictionary().search(dfa).into_stream();
    // Short prefixes can match thousands of terms; keep the most common.
    let mut seen = 0;
    while let Some((key, id)) = stream.next() {
        let Ok(id) = u32::try_from(id) else { continue };
        let start = spelled.len();
        spelled.extend_from_slice(key);
        out.push(Found {
            typos: dfa.eval(key).to_u8(),
            id,
            doc_freq: index.doc_freq(id),
            at: start..spelled.len(),
        });
        seen += 1;
        if seen >= MAX_EXPANSIONS * 16 {
            break;
        }
    }
}

/// An alternative requiring every term of `terms`, if all are indexed.
fn phrase(terms: &[&str], index: &SearchIndex, via: Via) -> Option<Alternative> {
    let ids: Option<Vec<u32>> = terms.iter().map(|t| index.term_id(t)).collect();
    ids.filter(|ids| !ids.is_empty())
        .map(|ids| alt(ids, 0, via))
}

fn alt(terms: Vec<u32>, typos: u8, via: Via) -> Alternative {
    Alternative {
        terms,
        typos,
        via,
        factor: via.factor(),
    }
}

/// Keeps the best route to each term set.
fn dedup(alts: &mut Vec<Alternative>) {
    let mut kept: Vec<Alternative> = Vec::with_capacity(alts.len());
    for a in alts.drain(..) {
        match kept.iter_mut().find(|k| k.terms == a.terms) {
            Some(k) if (a.typos, a.via) < (k.typos, k.via) => *k = a,
            Some(_) => {}
            None => kept.push(a),
        }
    }
    *alts = kept;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::search::{Field, IndexBuilder};

    const TYPO: TypoPolicy = TypoPolicy { one: 4, two: 8 };

    fn index(titles: &[&str], build: impl FnOnce(&mut IndexBuilder)) -> SearchIndex {
        let mut b = IndexBuilder::default();
        for t in titles {
            b.add(&[(Field::Title, t)]);
        }
        build(&mut b);
        b.finish().unwrap().open().unwrap()
    }

    fn terms(index: &SearchIndex, alt: &Alternative) -> Vec<String> {
        let all = index.terms();
        alt.terms.iter().map(|&t| all[t as usize].clone()).collect()
    }

    #[test]
    fn a_correction_is_spelled_as_close_to_the_typed_word_as_it_can() {
        assert_eq!(spelled_like("jeens", "jean"), "jeans");
        assert_eq!(spelled_like("mattres", "mattress"), "mattress");
        assert_eq!(spelled_like("batteres", "battery"), "batteries");
        assert_eq!(spelled_like("tois", "toy"), "toys");
        assert_eq!(spelled_like("lampp", "lamp"), "lamp");
    }

    #[test]
    fn a_related_word_searches_what_it_stands_for_instead_of_its_typos() {
        let idx = index(
            &["Frying Pan", "Built To Last Lamp", "Quilted Duvet"],
            |b| {
                b.related("skillet", &[(vec!["frying".into(), "pan".into()], 1.0)]);
                b.related("quilt", &[(vec!["duvet".into()], 0.75)]);
                // Left out: the catalog uses the word.
                b.related("lamp", &[(vec!["pan".into()], 0.5)]);
            },
        );
        let (groups, report) = parse("skillet", &idx, TYPO);
        assert_eq!(groups[0].alternatives.len(), 1);
        let alt = &groups[0].alternatives[0];
        assert_eq!(
            (alt.via, terms(&idx, alt)),
            (Via::Related, vec!["frying".into(), "pan".into()])
        );
        assert_eq!(
            report.related,
            [("skillet".into(), vec!["frying pan".into()])]
        );
        // "quilt" is one edit from "built", but a word the language knows
        // is meant as written.
        let (groups, report) = parse("quilt ", &idx, TYPO);
        assert!(groups[0].alternatives.iter().all(|a| a.via == Via::Related));
        assert!((groups[0].alternatives[0].factor - 0.9 * 191.0 / 255.0).abs() < 1e-6);
        assert!(report.corrections.is_empty(), "{report:?}");
        assert_eq!(report.corrected().as_deref(), Some("duvet"));
        let (groups, report) = parse("lamp", &idx, TYPO);
        assert_eq!(groups[0].alternatives[0].via, Via::Exact);
        assert!(report.related.is_empty());
    }

    #[test]
    fn a_merchant_synonym_wins_over_a_related_word() {
        let idx = index(&["Frying Pan", "Wok"], |b| {
            b.synonym("skillet", &["wok"]);
            b.related("skillet", &[(vec!["pan".into()], 1.0)]);
        });
        let (groups, report) = parse("skillet", &idx, TYPO);
        assert!(groups[0].alternatives.iter().all(|a| a.via == Via::Synonym));
        assert!(report.related.is_empty());
        assert_eq!(report.synonyms.len(), 1);
    }

    #[test]
    fn run_together_words_are_split_into_indexed_words() {
        let idx = index(
            &["Yoga Mat", "Wireless Charging Pad", "Tea Bags", "Mats"],
            |_| {},
        );
        let split = |q: &str| {
            let (groups, report) = parse(q, &idx, TYPO);
            let alt = groups[0].alternatives.first().cloned();
            (alt.map(|a| (a.via, terms(&idx, &a))), report.corrected())
        };
        let (alt, corrected) = split("yogamats ");
        assert_eq!(alt, Some((Via::Split, vec!["yoga".into(), "mat".into()])));
        assert_eq!(corrected.as_deref(), Some("yoga mats"));
        let (alt, _) = split("wirelesschargingpad ");
        assert_eq!(
            alt.map(|a| a.1),
            Some(vec!["wireless".into(), "charging".into(), "pad".into()])
        );
        assert_eq!(split("teabags").1.as_deref(), Some("tea bags"));
        // Parts under three letters do not count, and a word found as
        // written is not split.
        assert_eq!(split("yogaxy ").0, None);
        assert_eq!(split("mats").0.map(|a| a.0), Some(Via::Exact));
    }
}
