//! Compiling the merchant's rules against the catalog.
//!
//! Category names in the rules must exist in the catalog: a misspelt
//! exclusion would otherwise exclude nothing, silently. Unknown tags and
//! safety flags are allowed (a rule may anticipate them) but reported.

use firstpaint_contracts::{did_you_mean, InputError, InputErrors, Rules};
use firstpaint_engine::RulesSection;

/// Rules compiled to category indexes, plus warnings for the build log.
#[derive(Debug)]
pub struct Compiled {
    /// What goes into the bundle.
    pub section: RulesSection,
    /// Things worth a merchant's look that do not stop the build.
    pub warnings: Vec<String>,
}

/// Compiles `rules` (from `file`) against the catalog's `categories` paths,
/// `tags` and `safety` flags in use.
pub fn compile(
    file: &str,
    rules: &Rules,
    categories: &[String],
    tags: &[&str],
    safety: &[&str],
) -> Result<Compiled, InputErrors> {
    let g = &rules.guardrails;
    let mut errors = Vec::new();
    // A rule names a category by its full path ("Health/Pain Relief") or by
    // its own name ("Pain Relief"), which matches it wherever it sits.
    let leaf = |path: &str| path.rsplit('/').next().unwrap_or(path).to_owned();
    let mut category = |field: String, name: &str| -> Vec<u32> {
        let found: Vec<u32> = categories
            .iter()
            .enumerate()
            .filter(|(_, c)| *c == name || leaf(c) == name)
            .map(|(i, _)| i as u32)
            .collect();
        if found.is_empty() {
            let names: Vec<String> = categories.iter().map(|c| leaf(c)).collect();
            let hint = did_you_mean(name, names.iter().map(String::as_str))
                .map(|s| format!(" (did you mean {s:?}?)"))
                .unwrap_or_default();
            errors.push(InputError::new(
                file,
                None,
                field,
                format!("no product is in category {name:?}{hint}"),
            ));
        }
        found
    };
    let exclude_categories: Vec<u32> = g
        .exclude_categories
        .iter()
        .enumerate()
        .flat_map(|(i, c)| category(format!("guardrails.exclude_categories[{i}]"), c))
        .collect();
    let price_floors: Vec<(u32, f64)> = g
        .price_floors
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            category(
                format!("guardrails.price_floors[{i}].category"),
                &f.category,
            )
            .into_iter()
            .map(|c| (c, f.min_price))
        })
        .collect();
    if !errors.is_empty() {
        return Err(InputErrors(errors));
    }
    let mut warnings = Vec::new();
    for t in &g.exclude_tags {
        if !tags.contains(&t.as_str()) {
            warnings.push(format!(
                "{file}: guardrails.exclude_tags: no product has tag {t:?} yet"
            ));
        }
    }
    for f in &g.exclude_safety {
        if !safety.contains(&f.as_str()) {
            warnings.push(format!(
                "{file}: guardrails.exclude_safety: no product has flag {f:?} yet"
            ));
        }
    }
    Ok(Compiled {
        section: RulesSection {
            min_inventory: g.min_inventory,
            exclude_regulated: g.exclude_regulated,
            exclude_safety: g.exclude_safety.clone(),
            exclude_categories,
            exclude_tags: g.exclude_tags.clone(),
            price_floors,
            blend: rules.blend,
            consent: rules.consent.clone(),
        },
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use firstpaint_contracts::PriceFloor;

    #[test]
    fn misspelt_categories_are_errors_with_a_suggestion() {
        let mut rules = Rules::default();
        rules.guardrails.exclude_categories = vec!["Pharmcy".into()];
        rules.guardrails.price_floors = vec![PriceFloor {
            category: "Toys".into(),
            min_price: 2.0,
        }];
        let cats = vec![
            "Health".to_string(),
            "Health/Pharmacy".to_string(),
            "Toys".to_string(),
        ];
        let err = compile("rules.toml", &rules, &cats, &[], &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "rules.toml: field `guardrails.exclude_categories[0]`: no product is in category \"Pharmcy\" (did you mean \"Pharmacy\"?)"
        );
        rules.guardrails.exclude_categories = vec!["Pharmacy".into()];
        rules.guardrails.exclude_tags = vec!["gone".into()];
        let ok = compile("rules.toml", &rules, &cats, &[], &[]).unwrap();
        assert_eq!(ok.section.exclude_categories, vec![1]);
        assert_eq!(ok.section.price_floors, vec![(2, 2.0)]);
        assert_eq!(ok.warnings.len(), 1);
    }
}
