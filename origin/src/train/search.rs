//! The lexical search index, built from the catalog and the synonyms file.

use firstpaint_contracts::{Product, SynonymRule};
use firstpaint_engine::search::{Field, IndexBuilder, SearchParts};

/// Indexes every product (in ordinal order) with its fields, records its
/// attribute values and brand for attribute bias, and compiles synonyms
/// (a two-way group becomes one rule per member).
pub fn build(products: &[Product], synonyms: &[SynonymRule]) -> Result<SearchParts, fst::Error> {
    let mut index = IndexBuilder::default();
    for p in products {
        let category = p.category.join(" ");
        let attributes: Vec<&str> = p.attributes.values().map(String::as_str).collect();
        let attributes = attributes.join(" ");
        index.add(&[
            (Field::Title, p.title.as_str()),
            (Field::Brand, p.brand.as_deref().unwrap_or_default()),
            (Field::Category, category.as_str()),
            (Field::Attribute, attributes.as_str()),
            (Field::Description, p.description.as_str()),
        ]);
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
}
