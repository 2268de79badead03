//! The merchant's hard rules, applied after every model score.
//!
//! Every surface goes through [`Guardrails::check`], so no model and no
//! slot can show what the rules forbid.

use crate::sections::{ProductRecord, RulesSection};

/// Rules ready to check products against.
#[derive(Debug, Clone)]
pub struct Guardrails<'a> {
    rules: &'a RulesSection,
}

impl<'a> Guardrails<'a> {
    /// Wraps compiled rules.
    pub fn new(rules: &'a RulesSection) -> Self {
        Self { rules }
    }

    /// `None` when `p` may be shown; otherwise the rule it breaks, in words.
    pub fn check(
        &self,
        p: &ProductRecord,
        category_name: impl Fn(u32) -> String,
    ) -> Option<String> {
        let r = self.rules;
        if p.available < r.min_inventory {
            return Some(format!(
                "inventory {} below min_inventory {}",
                p.available, r.min_inventory
            ));
        }
        if r.exclude_regulated && p.regulated {
            return Some("regulated product (exclude_regulated)".into());
        }
        if let Some(flag) = p.safety.iter().find(|f| r.exclude_safety.contains(f)) {
            return Some(format!("safety flag {flag:?} excluded"));
        }
        if let Some(c) = p
            .category_path
            .iter()
            .find(|c| r.exclude_categories.contains(c))
        {
            return Some(format!("category {:?} excluded", category_name(*c)));
        }
        if let Some(tag) = p.tags.iter().find(|t| r.exclude_tags.contains(t)) {
            return Some(format!("tag {tag:?} excluded"));
        }
        for (category, floor) in &r.price_floors {
            if p.category_path.contains(category) && p.price < *floor {
                return Some(format!(
                    "price {:.2} below the {:?} floor {floor:.2}",
                    p.price,
                    category_name(*category)
                ));
            }
        }
        None
    }
}
