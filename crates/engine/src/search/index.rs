//! The lexical index: an FST term dictionary and compressed postings.
//!
//! Three bundle sections hold it:
//! - `STRM`: the term dictionary, an `fst::Map` from normalized term to term
//!   id (ids follow the terms' byte order). Stored raw: fst's own format.
//! - `SPST`: the postings, read in place ([`crate::store::postings`]): per
//!   term, the products that contain it, the fields it is in and its
//!   impact, in bit-packed runs.
//! - `SRCH`: [`SearchSection`] through the codec: the product count,
//!   synonyms and attribute terms.
//!
//! The impact is the term's BM25F weight in the product (field-weighted
//! term frequency, length-normalized per field, saturated), quantized to
//! 1..=255 at the origin; the edge multiplies it by the term's IDF.

use std::collections::HashMap;

use fst::{IntoStreamer, Map, MapBuilder, Streamer};
use serde::{Deserialize, Serialize};

use firstpaint_bundle::{OwnedBytes, Tag};

use super::normalize;
use crate::error::EngineError;
use crate::store::postings::{self, PostingLists};
pub use crate::store::postings::{Posting, Postings};

/// Tag of [`SearchSection`].
pub const SEARCH: Tag = Tag(*b"SRCH");
/// Tag of the term dictionary (raw fst bytes).
pub const TERMS: Tag = Tag(*b"STRM");
/// Tag of the postings (raw bytes).
pub const POSTINGS: Tag = Tag(*b"SPST");

/// BM25 term-frequency saturation.
const K1: f32 = 1.2;
/// BM25 length normalization.
const B: f32 = 0.75;

/// A product field the index knows, with its BM25F weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The title: what the product is.
    Title,
    /// The brand.
    Brand,
    /// Category path names.
    Category,
    /// Attribute values (colour, material, size).
    Attribute,
    /// The long description.
    Description,
}

impl Field {
    /// Every field, in bit order.
    pub const ALL: [Field; 5] = [
        Field::Title,
        Field::Brand,
        Field::Category,
        Field::Attribute,
        Field::Description,
    ];

    /// Its bit in a posting's field mask.
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// How much a match here counts against a match in another field.
    fn weight(self) -> f32 {
        match self {
            Field::Title => 3.0,
            Field::Brand => 2.0,
            Field::Category => 2.0,
            Field::Attribute => 1.5,
            Field::Description => 0.5,
        }
    }

    /// The name reported in results.
    pub fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Brand => "brand",
            Field::Category => "category",
            Field::Attribute => "attribute",
            Field::Description => "description",
        }
    }

    /// The names of the fields in `mask`.
    pub fn names(mask: u8) -> Vec<&'static str> {
        Field::ALL
            .into_iter()
            .filter(|f| mask & f.bit() != 0)
            .map(Field::name)
            .collect()
    }
}

/// The structured part of the index (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchSection {
    /// Products indexed (the catalog's size).
    pub docs: u32,
    /// Synonyms, normalized.
    pub synonyms: Vec<Synonym>,
    /// Terms that are an attribute value or a brand somewhere in the catalog.
    pub attributes: Vec<AttributeTerm>,
}

/// A normalized synonym rule: a query containing `from` also searches each
/// phrase of `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Synonym {
    /// The trigger phrase's terms.
    pub from: Vec<String>,
    /// The phrases it expands to, each as terms.
    pub to: Vec<Vec<String>>,
}

/// A term that names an attribute value (`red` is a `colour`) or a brand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeTerm {
    /// The normalized term.
    pub term: String,
    /// The attribute (`colour`, or `brand`).
    pub name: String,
    /// The value as the catalog writes it (`Red`).
    pub value: String,
}

/// The three sections, ready for the bundle writer.
#[derive(Debug, Clone, Default)]
pub struct SearchParts {
    /// `SRCH`.
    pub section: SearchSection,
    /// `STRM`.
    pub terms: Vec<u8>,
    /// `SPST`.
    pub postings: Vec<u8>,
}

/// Builds the index at the origin, one product at a time in ordinal order.
#[derive(Debug, Default)]
pub struct IndexBuilder {
    term_ids: HashMap<String, u32>,
    /// Per product: (term id, term frequency per field).
    docs: Vec<Vec<(u32, [u16; 5])>>,
    /// Per product: words per field.
    lengths: Vec<[u32; 5]>,
    attributes: HashMap<String, (String, String)>,
    synonyms: Vec<Synonym>,
}

impl IndexBuilder {
    /// Adds the next product (ordinal = products added so far) with its
    /// fields' texts.
    pub fn add(&mut self, fields: &[(Field, &str)]) {
        let mut terms: Vec<(u32, [u16; 5])> = Vec::new();
        let mut lengths = [0u32; 5];
        for &(field, text) in fields {
            let f = field as usize;
            for word in normalize::words(text).into_iter().filter(|w| !w.stop) {
                if let Some(l) = lengths.get_mut(f) {
                    *l += 1;
                }
                // A compound is findable by its joined form and by its parts.
                for term in std::iter::once(word.term).chain(word.parts) {
                    let next = self.term_ids.len() as u32;
                    let id = *self.term_ids.entry(term).or_insert(next);
                    let at = match terms.iter().position(|(t, _)| *t == id) {
                        Some(at) => at,
                        None => {
                            terms.push((id, [0; 5]));
                            terms.len() - 1
                        }
                    };
                    if let Some(tf) = terms.get_mut(at).and_then(|(_, tf)| tf.get_mut(f)) {
                        *tf = tf.saturating_add(1);
                    }
                }
            }
        }
        self.docs.push(terms);
        self.lengths.push(lengths);
    }

    /// Records that `value` is the product's `name` attribute (or brand), so
    /// a query naming it can prefer products that have it.
    pub fn attribute(&mut self, name: &str, value: &str) {
        let terms = normalize::terms(value);
        // Only single-word values: "red" is a colour; "and" in "black and
        // white" is not.
        if let [term] = terms.as_slice() {
            self.attributes
                .entry(term.clone())
                .or_insert_with(|| (name.to_owned(), value.to_owned()));
        }
    }

    /// Adds a synonym rule (terms as the merchant wrote them). Two-way groups
    /// come as one rule per member.
    pub fn synonym(&mut self, from: &str, to: &[&str]) {
        let from = normalize::terms(from);
        let mut to: Vec<Vec<String>> = to
            .iter()
            .map(|t| normalize::terms(t))
            .filter(|t| !t.is_empty() && *t != from)
            .collect();
        // "t-shirt" and "tshirt" are one term once normalized.
        to.sort();
        to.dedup();
        if from.is_empty() || to.is_empty() {
            return;
        }
        match self.synonyms.iter_mut().find(|s| s.from == from) {
            Some(s) => {
                for t in to {
                    if !s.to.contains(&t) {
                        s.to.push(t);
                    }
                }
            }
            None => self.synonyms.push(Synonym { from, to }),
        }
    }

    /// Computes impacts and writes the three sections.
    pub fn finish(self) -> Result<SearchParts, fst::Error> {
        let n = self.docs.len().max(1) as f32;
        let mut avg = [0f32; 5];
        for l in &self.lengths {
            for (a, &x) in avg.iter_mut().zip(l) {
                *a += x as f32 / n;
            }
        }
        // Terms in byte order get ids 0.. (the fst's values).
        let mut sorted: Vec<(&String, u32)> =
            self.term_ids.iter().map(|(t, &id)| (t, id)).collect();
        sorted.sort_unstable();
        let mut final_id = vec![0u32; sorted.len()];
        for (new, (_, old)) in sorted.iter().enumerate() {
            if let Some(slot) = final_id.get_mut(*old as usize) {
                *slot = new as u32;
            }
        }
        let mut lists: Vec<Vec<Posting>> = vec![Vec::new(); sorted.len()];
        for (doc, (terms, lengths)) in self.docs.iter().zip(&self.lengths).enumerate() {
            for (old, tf) in terms {
                let mut weighted = 0.0;
                let mut mask = 0u8;
                for field in Field::ALL {
                    let f = field as usize;
                    let (tf, len, avg) = (
                        f32::from(tf.get(f).copied().unwrap_or(0)),
                        lengths.get(f).copied().unwrap_or(0) as f32,
                        avg.get(f).copied().unwrap_or(1.0).max(1.0),
                    );
                    if tf > 0.0 {
                        mask |= field.bit();
                        weighted += field.weight() * tf / (1.0 - B + B * len / avg);
                    }
                }
                let impact = weighted * (K1 + 1.0) / (weighted + K1);
                let q = (impact / (K1 + 1.0) * 255.0).ceil().clamp(1.0, 255.0) as u8;
                if let Some(list) = final_id
                    .get(*old as usize)
                    .and_then(|&id| lists.get_mut(id as usize))
                {
                    list.push(Posting {
                        doc: doc as u32,
                        fields: mask,
                        impact: q,
                    });
                }
            }
        }
        let mut map = MapBuilder::memory();
        for (id, (term, _)) in sorted.iter().enumerate() {
            map.insert(term.as_bytes(), id as u64)?;
        }
        let terms = map.into_inner()?;
        let postings = postings::write(&lists);
        let mut attributes: Vec<AttributeTerm> = self
            .attributes
            .into_iter()
            .map(|(term, (name, value))| AttributeTerm { term, name, value })
            .collect();
        attributes.sort_by(|a, b| a.term.cmp(&b.term));
        Ok(SearchParts {
            section: SearchSection {
                docs: self.docs.len() as u32,
                synonyms: self.synonyms,
                attributes,
            },
            terms,
            postings,
        })
    }
}

/// The index as the engine reads it.
pub struct SearchIndex {
    section: SearchSection,
    terms: Map<OwnedBytes>,
    postings: PostingLists,
    /// First term of a synonym trigger -> indexes into `section.synonyms`.
    synonyms_by_first: HashMap<String, Vec<usize>>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("terms", &self.terms.len())
            .field("postings_bytes", &self.postings.size_bytes())
            .finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// Loads the three sections and checks they agree; the error names
    /// the section that does not. The dictionary and the postings are read
    /// in place.
    pub fn new(
        section: SearchSection,
        terms: OwnedBytes,
        postings: OwnedBytes,
    ) -> Result<Self, EngineError> {
        let terms = Map::new(terms).map_err(|e| EngineError::Inconsistent {
            section: TERMS,
            detail: format!("term dictionary: {e}"),
        })?;
        let postings = PostingLists::open(POSTINGS, postings, terms.len())?;
        let mut synonyms_by_first: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, s) in section.synonyms.iter().enumerate() {
            if let Some(first) = s.from.first() {
                synonyms_by_first.entry(first.clone()).or_default().push(i);
            }
        }
        Ok(Self {
            section,
            terms,
            postings,
            synonyms_by_first,
        })
    }

    /// Products indexed.
    pub fn docs(&self) -> u32 {
        self.section.docs
    }

    /// Distinct terms.
    pub fn term_count(&self) -> usize {
        self.terms.len()
    }

    /// Bytes of the dictionary and the posting lists.
    pub fn size_bytes(&self) -> usize {
        self.terms.as_fst().as_bytes().len() + self.postings.size_bytes()
    }

    /// The id of `term`, if indexed.
    pub fn term_id(&self, term: &str) -> Option<u32> {
        self.terms.get(term).and_then(|v| u32::try_from(v).ok())
    }

    /// The term dictionary.
    pub(crate) fn dictionary(&self) -> &Map<OwnedBytes> {
        &self.terms
    }

    /// Products containing term `id`.
    pub fn doc_freq(&self, id: u32) -> u32 {
        self.postings.doc_freq(id)
    }

    /// BM25's inverse document frequency of term `id`.
    pub fn idf(&self, id: u32) -> f32 {
        let n = self.section.docs as f32;
        let df = self.doc_freq(id) as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// Term `id`'s postings.
    pub fn postings(&self, id: u32) -> Postings<'_> {
        self.postings.postings(id)
    }

    /// Synonym rules whose trigger starts with `term`.
    pub(crate) fn synonyms_starting(&self, term: &str) -> impl Iterator<Item = &Synonym> {
        self.synonyms_by_first
            .get(term)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.section.synonyms.get(i))
    }

    /// The attribute `term` names, if any.
    pub fn attribute(&self, term: &str) -> Option<&AttributeTerm> {
        let attrs = &self.section.attributes;
        attrs
            .binary_search_by(|a| a.term.as_str().cmp(term))
            .ok()
            .and_then(|i| attrs.get(i))
    }

    /// Every term, in order (for tests and tools).
    pub fn terms(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut stream = self.terms.stream();
        while let Some((k, _)) = stream.next() {
            out.push(String::from_utf8_lossy(k).into_owned());
        }
        out
    }

    /// Terms starting with `prefix` (used by tests; queries use automata).
    pub fn terms_with_prefix(&self, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stream = self
            .terms
            .search(fst::Automaton::starts_with(fst::automaton::Str::new(
                prefix,
            )))
            .into_stream();
        while let Some((k, _)) = stream.next() {
            out.push(String::from_utf8_lossy(k).into_owned());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(docs: &[&[(Field, &str)]]) -> SearchIndex {
        let mut b = IndexBuilder::default();
        for d in docs {
            b.add(d);
        }
        let parts = b.finish().unwrap();
        SearchIndex::new(
            parts.section,
            (&parts.terms).into(),
            (&parts.postings).into(),
        )
        .unwrap()
    }

    #[test]
    fn postings_round_trip_with_fields_and_impacts() {
        let idx = index(&[
            &[(Field::Title, "Red Dress"), (Field::Attribute, "red")],
            &[(Field::Title, "Blue Dress")],
            &[(Field::Description, "a dress, red as a rose")],
        ]);
        assert_eq!(idx.docs(), 3);
        let red = idx.term_id("red").unwrap();
        let p: Vec<Posting> = idx.postings(red).collect();
        assert_eq!(p.iter().map(|p| p.doc).collect::<Vec<_>>(), [0, 2]);
        assert_eq!(p[0].fields, Field::Title.bit() | Field::Attribute.bit());
        assert_eq!(p[1].fields, Field::Description.bit());
        assert!(p[0].impact > p[1].impact, "title beats description");
        assert_eq!(idx.doc_freq(idx.term_id("dress").unwrap()), 3);
        assert!(idx.idf(red) > idx.idf(idx.term_id("dress").unwrap()));
        assert_eq!(idx.terms_with_prefix("dr"), ["dress"]);
    }

    #[test]
    fn compounds_are_indexed_joined_and_by_parts() {
        let idx = index(&[&[(Field::Title, "Cotton T-Shirt")]]);
        for t in ["tshirt", "t", "shirt", "cotton"] {
            assert!(idx.term_id(t).is_some(), "{t}: {:?}", idx.terms());
        }
    }

    #[test]
    fn rejects_sections_that_disagree() {
        let mut b = IndexBuilder::default();
        b.add(&[(Field::Title, "lamp")]);
        b.add(&[(Field::Title, "desk")]);
        let parts = b.finish().unwrap();
        let mut other = IndexBuilder::default();
        other.add(&[(Field::Title, "lamp")]);
        let other = other.finish().unwrap();
        // Postings of one term for a dictionary of two.
        assert!(SearchIndex::new(
            parts.section.clone(),
            (&parts.terms).into(),
            (&other.postings).into()
        )
        .is_err());
        assert!(SearchIndex::new(
            SearchSection::default(),
            b"not an fst"[..].into(),
            (&parts.postings).into()
        )
        .is_err());
    }
}
