//! Compiling the merchant's rules against the catalog.
//!
//! Category names in the rules must exist in the catalog: a misspelt
//! exclusion would otherwise exclude nothing, silently. Unknown tags and
//! safety flags are allowed (a rule may anticipate them) but reported.

use std::collections::HashMap;

use firstpaint_contracts::{did_you_mean, InputError, InputErrors, Rules, Window};
use firstpaint_engine::experiments::{self, ExperimentsSection};
use firstpaint_engine::store::sections::{BlendWeights, ConsentSection, SearchSettings};
use firstpaint_engine::text::normalize;
use firstpaint_engine::{
    BannerRule, BoostRule, PinRule, RegionRule, RulesSection, SearchBuryRule, SearchPinRule,
    SearchRulesSection, SlotKind,
};

/// What the rules are compiled against.
pub struct Catalog<'a> {
    /// Category paths, by index.
    pub categories: &'a [String],
    /// Product id -> ordinal.
    pub ordinal: &'a HashMap<&'a str, u32>,
    /// Tags in use.
    pub tags: &'a [&'a str],
    /// Safety flags in use.
    pub safety: &'a [&'a str],
    /// It is one shard of a store whose rules were checked whole: a rule
    /// naming a product or category outside it is left out, not refused.
    pub partial: bool,
}

/// Rules compiled to category indexes, plus warnings for the build log.
#[derive(Debug)]
pub struct Compiled {
    /// What goes into the bundle.
    pub section: RulesSection,
    /// Things worth a merchant's look that do not stop the build.
    pub warnings: Vec<String>,
}

/// Compiles `rules` (from `file`) against the catalog.
pub fn compile(file: &str, rules: &Rules, catalog: &Catalog<'_>) -> Result<Compiled, InputErrors> {
    let (categories, tags, safety) = (catalog.categories, catalog.tags, catalog.safety);
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
        if found.is_empty() && !catalog.partial {
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
    let margin_floors: Vec<(u32, f64)> = g
        .margin_floors
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            category(
                format!("guardrails.margin_floors[{i}].category"),
                &f.category,
            )
            .into_iter()
            .map(|c| (c, f64::from(f.min_margin)))
        })
        .collect();
    let mut regions = Vec::new();
    for (i, r) in g.regions.iter().enumerate() {
        let exclude_categories = r
            .exclude_categories
            .iter()
            .enumerate()
            .flat_map(|(j, c)| {
                category(
                    format!("guardrails.regions[{i}].exclude_categories[{j}]"),
                    c,
                )
            })
            .collect();
        regions.push(RegionRule {
            region: r.region.clone(),
            exclude_categories,
            exclude_tags: r.exclude_tags.clone(),
            exclude_regulated: r.exclude_regulated,
        });
    }
    let product = |errors: &mut Vec<InputError>, field: String, id: &str| -> Option<u32> {
        let found = catalog.ordinal.get(id).copied();
        if found.is_none() && !catalog.partial {
            errors.push(InputError::new(
                file,
                None,
                field,
                format!("no product has id {id:?}"),
            ));
        }
        found
    };
    let slot = |errors: &mut Vec<InputError>, field: String, name: &str| -> Option<SlotKind> {
        name.parse::<SlotKind>()
            .map_err(|e| errors.push(InputError::new(file, None, field, e.to_string())))
            .ok()
    };
    let unix = |w: Window| w.unix();
    let mut boosts = Vec::new();
    for (i, b) in rules.boosts.iter().enumerate() {
        let ord = product(&mut errors, format!("boosts[{i}].product"), &b.product);
        let kind = match &b.slot {
            Some(name) => slot(&mut errors, format!("boosts[{i}].slot"), name).map(Some),
            None => Some(None),
        };
        if let (Some(product), Some(slot)) = (ord, kind) {
            let (from, until) = unix(b.window());
            boosts.push(BoostRule {
                product,
                slot,
                weight: b.weight,
                from,
                until,
            });
        }
    }
    let mut pins = Vec::new();
    for (i, p) in rules.pins.iter().enumerate() {
        let ord = product(&mut errors, format!("pins[{i}].product"), &p.product);
        let kind = slot(&mut errors, format!("pins[{i}].slot"), &p.slot);
        if let (Some(product), Some(slot)) = (ord, kind) {
            let (from, until) = unix(p.window());
            pins.push(PinRule {
                product,
                slot,
                position: p.position,
                from,
                until,
            });
        }
    }
    let search = &rules.search;
    let query = |errors: &mut Vec<InputError>, field: String, q: &str| -> Option<String> {
        // Keyed as the edge keys a shopper's query, so it is found.
        let key = normalize::query_key(q);
        if key.is_empty() {
            errors.push(InputError::new(
                file,
                None,
                field,
                format!("{q:?} has no searchable words (only punctuation)"),
            ));
            return None;
        }
        Some(key)
    };
    let mut search_pins = Vec::new();
    for (i, p) in search.pins.iter().enumerate() {
        let ord = product(&mut errors, format!("search.pins[{i}].product"), &p.product);
        let q = query(&mut errors, format!("search.pins[{i}].query"), &p.query);
        if let (Some(product), Some(query)) = (ord, q) {
            search_pins.push(SearchPinRule {
                query,
                product,
                position: p.position,
            });
        }
    }
    let mut search_buries = Vec::new();
    for (i, b) in search.buries.iter().enumerate() {
        let ord = product(
            &mut errors,
            format!("search.buries[{i}].product"),
            &b.product,
        );
        let q = query(&mut errors, format!("search.buries[{i}].query"), &b.query);
        if let (Some(product), Some(query)) = (ord, q) {
            search_buries.push(SearchBuryRule { query, product });
        }
    }
    // The engine applies pins in this order, first position first.
    pins.sort_by_key(|p| p.position);
    search_pins.sort_by_key(|p| p.position);
    let mut banners: Vec<BannerRule> = rules
        .banners
        .iter()
        .map(|b| {
            let (from, until) = unix(b.window());
            BannerRule {
                id: b.id.clone(),
                text: b.text.clone(),
                link: b.link.clone().unwrap_or_default(),
                show: b.show,
                priority: b.priority,
                max_per_visit: b.max_per_visit,
                cutoff_hour: b.cutoff_hour.unwrap_or(0),
                low_stock_below: b.low_stock_below.unwrap_or(10),
                from,
                until,
            }
        })
        .collect();
    banners.sort_by_key(|b| std::cmp::Reverse(b.priority));
    let experiments = experiments(file, rules, &mut errors);
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
            min_cover_days: g.min_cover_days,
            exclude_regulated: g.exclude_regulated,
            exclude_safety: g.exclude_safety.clone(),
            exclude_categories,
            exclude_tags: g.exclude_tags.clone(),
            price_floors,
            margin_floors,
            max_per_brand: g.max_per_brand,
            max_per_category: g.max_per_category,
            new_arrival_share: g.new_arrival_share,
            new_arrival_seconds: i64::from(g.new_arrival_days) * 86_400,
            regions,
            boosts,
            pins,
            free_shipping_threshold: rules.shipping.free_threshold,
            fast_ship_days: rules.shipping.fast_ship_days,
            banners,
            blend: BlendWeights::from(&rules.blend),
            consent: ConsentSection::from(&rules.consent),
            search: SearchRulesSection {
                settings: SearchSettings::from(search),
                pins: search_pins,
                buries: search_buries,
            },
            experiments,
            event_retention_days: rules.events.retention_days,
        },
        warnings,
    })
}

/// The rules' holdout shares as the bundle carries them (basis points);
/// a module the engine does not have is an error naming the field.
pub fn experiments(file: &str, rules: &Rules, errors: &mut Vec<InputError>) -> ExperimentsSection {
    let ex = &rules.experiments;
    let bp = |share: f64| (share.clamp(0.0, 1.0) * 10_000.0).round() as u16;
    let known: Vec<&str> = experiments::modules().collect();
    for module in ex.holdouts.keys().filter(|m| !known.contains(&m.as_str())) {
        errors.push(InputError::new(
            file,
            None,
            format!("experiments.holdouts.{module}"),
            format!("no module {module:?}: modules are {}", known.join(", ")),
        ));
    }
    ExperimentsSection {
        holdout_bp: bp(ex.holdout),
        global_bp: bp(ex.global_holdout),
        modules: ex
            .holdouts
            .iter()
            .map(|(m, s)| (m.clone(), bp(*s)))
            .collect(),
        salt: ex.salt.clone(),
    }
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
        let ordinal = HashMap::from([("SKU-1", 0u32)]);
        let catalog = Catalog {
            categories: &cats,
            ordinal: &ordinal,
            tags: &[],
            safety: &[],
            partial: false,
        };
        let err = compile("rules.toml", &rules, &catalog).unwrap_err();
        assert_eq!(
            err.to_string(),
            "rules.toml: field `guardrails.exclude_categories[0]`: no product is in category \"Pharmcy\" (did you mean \"Pharmacy\"?)"
        );
        rules.guardrails.exclude_categories = vec!["Pharmacy".into()];
        rules.guardrails.exclude_tags = vec!["gone".into()];
        let ok = compile("rules.toml", &rules, &catalog).unwrap();
        assert_eq!(ok.section.exclude_categories, vec![1]);
        assert_eq!(ok.section.price_floors, vec![(2, 2.0)]);
        assert_eq!(ok.warnings.len(), 1);

        rules.pins = vec![firstpaint_contracts::Pin {
            product: "SKU-2".into(),
            slot: "hom".into(),
            position: 1,
            from: None,
            until: None,
        }];
        let err = compile("rules.toml", &rules, &catalog)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("pins[0].product`: no product has id \"SKU-2\""),
            "{err}"
        );
        assert!(
            err.contains("pins[0].slot`: unknown slot type \"hom\""),
            "{err}"
        );
        assert!(err.contains("did you mean \"home\""), "{err}");
    }
}
