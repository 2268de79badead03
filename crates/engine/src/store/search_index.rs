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

use fst::{IntoStreamer, Map, Streamer};
use serde::{Deserialize, Serialize};

use firstpaint_bundle::{OwnedBytes, Tag};

#[cfg(feature = "build")]
pub mod build;
pub mod keyed;
pub mod learned;
pub mod related;

use crate::error::EngineError;
use crate::store::postings::PostingLists;
pub use crate::store::postings::{Posting, Postings, Tier, Tiers};
pub use learned::{Learned, LearnedQueries};
pub use related::{Related, RelatedWords};

/// Tag of [`SearchSection`].
pub const SEARCH: Tag = Tag(*b"SRCH");
/// Tag of the term dictionary (raw fst bytes).
pub const TERMS: Tag = Tag(*b"STRM");
/// Tag of the postings (raw bytes).
pub const POSTINGS: Tag = Tag(*b"SPST");

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
    pub const fn bit(self) -> u8 {
        1 << (self as u8)
    }

    #[cfg(feature = "build")]
    /// How much a match here counts against a match in another field.
    pub(super) fn weight(self) -> f32 {
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
    /// Words the catalog does not use and the phrases that mean nearly the
    /// same there (from a lexical resource at the origin).
    pub related: RelatedWords,
    /// Queries the store's shoppers searched often, and what they went on
    /// to view, cart or order (learned at the origin from the events).
    pub learned: LearnedQueries,
    /// Least similarity of a zero-result rescue, set at the origin above
    /// what queries unrelated to the catalog reach: below it the answer
    /// is empty rather than wrong.
    pub rescue_floor: f32,
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

/// The index as the engine reads it.
pub struct SearchIndex {
    section: SearchSection,
    terms: Map<OwnedBytes>,
    postings: PostingLists,
    /// First term of a synonym trigger -> indexes into `section.synonyms`.
    synonyms_by_first: HashMap<String, Vec<usize>>,
    related: Related,
    learned: Learned,
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
        mut section: SearchSection,
        terms: OwnedBytes,
        postings: OwnedBytes,
    ) -> Result<Self, EngineError> {
        let inconsistent = |detail| EngineError::Inconsistent {
            section: SEARCH,
            detail,
        };
        let related = Related::open(std::mem::take(&mut section.related)).map_err(inconsistent)?;
        let learned = Learned::open(std::mem::take(&mut section.learned)).map_err(inconsistent)?;
        // fst reads its nodes trusting them, and panics on a damaged one:
        // its checksum (CRC-32C, one pass over the dictionary: 131 KB for
        // the structured 100k store) is checked first, so a signed but
        // damaged dictionary is refused, never walked.
        let terms = Map::new(terms)
            .and_then(|map| map.as_fst().verify().map(|()| map))
            .map_err(|e| EngineError::Inconsistent {
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
            related,
            learned,
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

    /// Term `id`'s postings, a tier at a time (see [`PostingLists::postings`]).
    pub fn postings(&self, id: u32) -> Postings<'_> {
        self.postings.postings(id)
    }

    /// Term `id`'s tiers, highest impacts first (see [`PostingLists::tiers`]).
    pub fn tiers(&self, id: u32) -> Tiers {
        self.postings.tiers(id)
    }

    /// Synonym rules whose trigger starts with `term`.
    pub(crate) fn synonyms_starting(&self, term: &str) -> impl Iterator<Item = &Synonym> {
        self.synonyms_by_first
            .get(term)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.section.synonyms.get(i))
    }

    /// The phrases `word` (not itself indexed) stands for in the catalog,
    /// with their weights, heaviest first (none for most words).
    pub fn related(&self, word: &str) -> Vec<(&str, f32)> {
        self.related.of(word)
    }

    /// Related words held.
    pub fn related_words(&self) -> usize {
        self.related.len()
    }

    /// The products learned for `query` (normalized terms, space-separated)
    /// with their strengths in (0, 1], strongest first; ordinals past the
    /// catalog are left out.
    pub fn learned(&self, query: &str) -> Vec<(u32, f32)> {
        let docs = self.section.docs;
        self.learned
            .of(query)
            .into_iter()
            .filter(|&(ord, _)| ord < docs)
            .collect()
    }

    /// Learned queries held.
    pub fn learned_queries(&self) -> usize {
        self.learned.len()
    }

    /// Least similarity of a zero-result rescue (see [`SearchSection`]).
    pub fn rescue_floor(&self) -> f32 {
        self.section.rescue_floor
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
    use super::build::IndexBuilder;
    use super::*;

    fn index(docs: &[&[(Field, &str)]]) -> SearchIndex {
        let mut b = IndexBuilder::default();
        for d in docs {
            b.add(d);
        }
        b.finish().unwrap().open().unwrap()
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
