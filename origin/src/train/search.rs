//! The lexical search index, built from the catalog, the synonyms file and
//! WordNet's related words; and the rescue floor, measured on words
//! unrelated to the catalog.

use firstpaint_contracts::{Product, SynonymRule};
use firstpaint_engine::search::{query_vector, AnalyzedDoc, Field, IndexBuilder, SearchParts};
use firstpaint_engine::text::normalize;
use firstpaint_engine::{Quantized, TextMapSection};

use crate::train::learned_queries::Learned;
use crate::wordnet::{self, WordNet};

/// Products analyzed per batch: bounds the analyzed terms held at once.
const BATCH: usize = 4_096;

/// Words unrelated to the catalog a rescue floor is measured on.
pub const UNRELATED_SAMPLE: usize = 500;
/// Share of those words a rescue must beat: a query unrelated to the
/// catalog is rescued (wrongly) one time in a hundred.
pub const FLOOR_QUANTILE: f32 = 0.99;

/// Indexes every product (in ordinal order) with its fields, records its
/// attribute values and brand for attribute bias, compiles synonyms
/// (a two-way group becomes one rule per member) and the store's
/// `related` words ([`crate::wordnet::related`]). Products are analyzed on
/// every core, a batch at a time, and added in order.
pub fn build(
    products: &[Product],
    synonyms: &[SynonymRule],
    related: &[wordnet::Related],
    learned: &[Learned],
) -> Result<SearchParts, fst::Error> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut index = IndexBuilder::default();
    for batch in products.chunks(BATCH) {
        let share = batch.len().div_ceil(threads).max(1);
        let analyzed: Vec<Vec<AnalyzedDoc>> = std::thread::scope(|scope| {
            let parts: Vec<_> = batch
                .chunks(share)
                .map(|part| scope.spawn(|| part.iter().map(analyze).collect::<Vec<_>>()))
                .collect();
            parts
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        for doc in analyzed.into_iter().flatten() {
            index.push(doc);
        }
    }
    for p in products {
        for (name, value) in &p.attributes {
            index.attribute(name, value);
        }
        if let Some(brand) = &p.brand {
            index.attribute("brand", brand);
        }
    }
    for rule in synonyms {
        let to: Vec<&str> = rule.to.iter().map(String::as_str).collect();
        for from in &rule.from {
            index.synonym(from, &to);
        }
    }
    for r in related {
        index.related(&r.word, &r.to);
    }
    for (query, products) in learned {
        index.learned(query, products);
    }
    index.finish()
}

/// How the build report's search line starts.
pub const SUMMARY: &str = "search: ";

/// Sets `parts`' rescue floor when there is WordNet to measure it with
/// ([`set_rescue_floor`]), and says in a line of the build report what
/// search knows beyond the catalog's words.
pub fn summary(
    parts: &mut SearchParts,
    wordnet: Option<&WordNet>,
    text_map: &TextMapSection,
    vectors: &[Quantized],
) -> String {
    let Some(wordnet) = wordnet else {
        return format!(
            "{SUMMARY}no WordNet (Debian: apt-get install wordnet-base), so no related words; \
             zero-result rescues need similarity {:.2}",
            firstpaint_engine::limits::RESCUE_MIN_SIMILARITY
        );
    };
    let related = related_words(parts).map_or(0, |m| m.len());
    match set_rescue_floor(parts, wordnet, text_map, vectors) {
        Some(floor) => format!(
            "{SUMMARY}{related} related words from WordNet ({}); zero-result rescues need \
             similarity {:.2}, what {:.0}% of {} unrelated words stay under",
            wordnet.dir.display(),
            floor
                .similarity
                .max(firstpaint_engine::limits::RESCUE_MIN_SIMILARITY),
            FLOOR_QUANTILE * 100.0,
            floor.words
        ),
        None => format!(
            "{SUMMARY}{related} related words from WordNet ({}); no rescue floor measured",
            wordnet.dir.display()
        ),
    }
}

/// The rescue floor that was set, and what it was measured on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RescueFloor {
    /// The similarity a rescue must reach.
    pub similarity: f32,
    /// Unrelated words measured.
    pub words: usize,
}

/// Sets `parts`' rescue floor: the [`FLOOR_QUANTILE`] of the similarity
/// that words unrelated to the catalog (WordNet nouns neither indexed nor
/// related to an indexed word) reach to their nearest product, through
/// the same text map and vectors the edge's rescue uses. `None` (and the
/// floor left as it was) when no word could be measured.
pub fn set_rescue_floor(
    parts: &mut SearchParts,
    wordnet: &WordNet,
    text_map: &TextMapSection,
    vectors: &[Quantized],
) -> Option<RescueFloor> {
    let words = unrelated_words(parts, wordnet);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let share = words.len().div_ceil(threads).max(1);
    let mut nearest: Vec<f32> = std::thread::scope(|scope| {
        let parts: Vec<_> = words
            .chunks(share)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|w| {
                            let q = query_vector(text_map, w);
                            (!q.is_zero()).then(|| {
                                let q = Quantized::new(&q);
                                vectors.iter().map(|v| v.dot(&q)).fold(f32::MIN, f32::max)
                            })
                        })
                        .collect::<Vec<f32>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    if nearest.is_empty() || vectors.is_empty() {
        return None;
    }
    nearest.sort_by(f32::total_cmp);
    let at = ((nearest.len() as f32 * FLOOR_QUANTILE).ceil() as usize).clamp(1, nearest.len()) - 1;
    let similarity = nearest.get(at).copied()?;
    parts.section.rescue_floor = similarity;
    Some(RescueFloor {
        similarity,
        words: nearest.len(),
    })
}

/// Up to [`UNRELATED_SAMPLE`] one-word WordNet nouns (4 to 12 letters)
/// that are not indexed and not related to an indexed word, spread
/// evenly over the alphabet (the same ones every build).
fn unrelated_words(parts: &SearchParts, wordnet: &WordNet) -> Vec<String> {
    let indexed = fst::Map::new(parts.terms.as_slice()).ok();
    let related = related_words(parts);
    let mut candidates: Vec<String> = wordnet
        .senses
        .keys()
        .filter(|l| (4..=12).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_lowercase()))
        .filter_map(|l| {
            let [term] = normalize::terms(l).try_into().ok()?;
            let known = related.as_ref().is_some_and(|m| m.contains_key(&term))
                || indexed.as_ref().is_some_and(|m| m.contains_key(&term));
            (!known).then_some(term)
        })
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    let stride = candidates.len().div_ceil(UNRELATED_SAMPLE).max(1);
    candidates.into_iter().step_by(stride).collect()
}

/// The words `parts` holds related words for, read in place (their keys).
fn related_words(parts: &SearchParts) -> Option<fst::Map<&[u8]>> {
    fst::Map::new(parts.section.related.words.keys.as_slice()).ok()
}

/// One product's searchable fields, analyzed.
fn analyze(p: &Product) -> AnalyzedDoc {
    let category = p.category.join(" ");
    let attributes: Vec<&str> = p.attributes.values().map(String::as_str).collect();
    let attributes = attributes.join(" ");
    AnalyzedDoc::new(&[
        (Field::Title, p.title.as_str()),
        (Field::Brand, p.brand.as_deref().unwrap_or_default()),
        (Field::Category, category.as_str()),
        (Field::Attribute, attributes.as_str()),
        (Field::Description, p.description.as_str()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use firstpaint_contracts::read_synonyms;

    #[test]
    fn two_way_groups_expand_every_member_and_one_way_rules_do_not_reverse() {
        let rules = read_synonyms("s.txt", "tee, t-shirt\nlaptop => notebook\n").unwrap();
        let parts = build(&[], &rules, &[], &[]).unwrap();
        let syn = &parts.section.synonyms;
        let find = |t: &str| syn.iter().find(|s| s.from == [t]).map(|s| s.to.clone());
        assert_eq!(find("tee"), Some(vec![vec!["tshirt".to_string()]]));
        assert_eq!(find("tshirt"), Some(vec![vec!["tee".to_string()]]));
        assert_eq!(find("laptop"), Some(vec![vec!["notebook".to_string()]]));
        assert_eq!(find("notebook"), None);
    }

    /// The index of products analyzed in parallel batches is the one they
    /// make added one by one, in order (the generated store spans several
    /// batches).
    #[test]
    fn analyzing_on_every_core_builds_the_same_index() {
        let dir = tempfile::tempdir().unwrap();
        let spec = crate::generate::Spec {
            products: BATCH + 1_000,
            sessions: 10,
            seed: 3,
            now: time::macros::datetime!(2026-11-01 0:00 UTC),
            shape: crate::generate::Shape::Structured,
        };
        crate::generate::write(&spec, dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join("catalog.ndjson")).unwrap();
        let products = crate::inputs::check_catalog("catalog.ndjson", &text).unwrap();
        let mut one_by_one = IndexBuilder::default();
        for p in &products {
            one_by_one.push(analyze(p));
        }
        for p in &products {
            for (name, value) in &p.attributes {
                one_by_one.attribute(name, value);
            }
            if let Some(brand) = &p.brand {
                one_by_one.attribute("brand", brand);
            }
        }
        let expected = one_by_one.finish().unwrap();
        let got = build(&products, &[], &[], &[]).unwrap();
        assert_eq!(got.terms, expected.terms);
        assert_eq!(got.postings, expected.postings);
        assert_eq!(got.section, expected.section);
    }
}
