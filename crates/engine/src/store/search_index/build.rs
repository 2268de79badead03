//! Building the lexical index at the origin (behind the `build` feature):
//! terms, BM25F impacts and the three sections of [`crate::store::search_index`].

use std::collections::HashMap;

use fst::MapBuilder;

use crate::store::postings;
use crate::store::search_index::{
    AttributeTerm, Field, LearnedQueries, Posting, RelatedWords, SearchSection, Synonym,
};
use crate::text::normalize;

/// BM25 term-frequency saturation.
const K1: f32 = 1.2;
/// BM25 length normalization.
const B: f32 = 0.75;

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

#[cfg(test)]
impl SearchParts {
    /// The index these parts make, read back as the edge reads it.
    pub(crate) fn open(
        &self,
    ) -> Result<crate::store::search_index::SearchIndex, crate::error::EngineError> {
        crate::store::search_index::SearchIndex::new(
            self.section.clone(),
            (&self.terms).into(),
            (&self.postings).into(),
        )
    }
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
    /// (word, [(phrase, weight)]).
    related: Vec<(String, Vec<(String, f32)>)>,
    /// (query, [(ordinal, strength)]).
    learned: Vec<(String, Vec<(u32, f32)>)>,
}

/// One product's fields analyzed into terms: the costly part of adding it,
/// done apart from the builder so several products can be analyzed at
/// once (the origin does it on every core) and added in ordinal order.
#[derive(Debug, Clone, Default)]
pub struct AnalyzedDoc {
    /// Each distinct term with its frequency per field.
    terms: Vec<(String, [u16; 5])>,
    /// Words per field.
    lengths: [u32; 5],
}

impl AnalyzedDoc {
    /// Analyzes a product's fields' texts.
    pub fn new(fields: &[(Field, &str)]) -> Self {
        let mut doc = AnalyzedDoc::default();
        for &(field, text) in fields {
            let f = field as usize;
            for (term, parts) in normalize::index_terms(text) {
                if let Some(l) = doc.lengths.get_mut(f) {
                    *l += 1;
                }
                // A compound is findable by its joined form and by its parts.
                for term in std::iter::once(term).chain(parts) {
                    let at = match doc.terms.iter().position(|(t, _)| *t == term) {
                        Some(at) => at,
                        None => {
                            doc.terms.push((term, [0; 5]));
                            doc.terms.len() - 1
                        }
                    };
                    if let Some(tf) = doc.terms.get_mut(at).and_then(|(_, tf)| tf.get_mut(f)) {
                        *tf = tf.saturating_add(1);
                    }
                }
            }
        }
        doc
    }
}

impl IndexBuilder {
    /// Adds the next product (ordinal = products added so far) with its
    /// fields' texts.
    pub fn add(&mut self, fields: &[(Field, &str)]) {
        self.push(AnalyzedDoc::new(fields));
    }

    /// Adds the next product, analyzed.
    pub fn push(&mut self, doc: AnalyzedDoc) {
        let terms = doc
            .terms
            .into_iter()
            .map(|(term, tf)| {
                let next = self.term_ids.len() as u32;
                let id = match self.term_ids.get(&term) {
                    Some(&id) => id,
                    None => {
                        self.term_ids.insert(term, next);
                        next
                    }
                };
                (id, tf)
            })
            .collect();
        self.docs.push(terms);
        self.lengths.push(doc.lengths);
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

    /// Adds a related word: `word` (normalized) stands for each phrase of
    /// normalized terms in `to`, with a weight in (0, 1]. A word this
    /// index holds, or a one-word synonym rule triggers on, is left out
    /// when the index is finished; a phrase it lacks is kept (a shard's
    /// index keeps its store's related words, for routing).
    pub fn related(&mut self, word: &str, to: &[(Vec<String>, f32)]) {
        let to = to
            .iter()
            .filter(|(terms, w)| !terms.is_empty() && *w > 0.0)
            .map(|(terms, w)| (terms.join(" "), *w))
            .collect();
        self.related.push((word.to_owned(), to));
    }

    /// Adds a learned query: `query` (normalized terms, space-separated)
    /// meant the products at `products` (ordinals), with strengths in
    /// (0, 1], strongest first.
    pub fn learned(&mut self, query: &str, products: &[(u32, f32)]) {
        self.learned.push((query.to_owned(), products.to_vec()));
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
        let related: Vec<(String, Vec<(String, f32)>)> = self
            .related
            .into_iter()
            .filter(|(word, to)| {
                !to.is_empty()
                    && !self.term_ids.contains_key(word)
                    && !self
                        .synonyms
                        .iter()
                        .any(|s| s.from.as_slice() == std::slice::from_ref(word))
            })
            .collect();
        let related = RelatedWords::pack(related)?;
        let docs = self.docs.len() as u32;
        let learned: Vec<(String, Vec<(u32, f32)>)> = self
            .learned
            .into_iter()
            .map(|(query, products)| {
                let products = products.into_iter().filter(|&(p, _)| p < docs).collect();
                (query, products)
            })
            .collect();
        let learned = LearnedQueries::pack(learned)?;
        Ok(SearchParts {
            section: SearchSection {
                docs: self.docs.len() as u32,
                synonyms: self.synonyms,
                attributes,
                related,
                learned,
                rescue_floor: 0.0,
            },
            terms,
            postings,
        })
    }
}
