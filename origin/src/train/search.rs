//! The lexical search index, built from the catalog and the synonyms file.

use firstpaint_contracts::{Product, SynonymRule};
use firstpaint_engine::search::{AnalyzedDoc, Field, IndexBuilder, SearchParts};

/// Products analyzed per batch: bounds the analyzed terms held at once.
const BATCH: usize = 4_096;

/// Indexes every product (in ordinal order) with its fields, records its
/// attribute values and brand for attribute bias, and compiles synonyms
/// (a two-way group becomes one rule per member). Products are analyzed
/// on every core, a batch at a time, and added in order.
pub fn build(products: &[Product], synonyms: &[SynonymRule]) -> Result<SearchParts, fst::Error> {
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
    index.finish()
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
        let parts = build(&[], &rules).unwrap();
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
        let got = build(&products, &[]).unwrap();
        assert_eq!(got.terms, expected.terms);
        assert_eq!(got.postings, expected.postings);
        assert_eq!(got.section, expected.section);
    }
}
