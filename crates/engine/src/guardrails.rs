//! The merchant's hard rules, applied after every model score.
//!
//! Every surface goes through [`Guardrails::check`] (and the caps in
//! `rank.rs`), so no model and no slot can show what the rules forbid.

use crate::sections::RulesSection;
use crate::slot::SlotKind;
use crate::store::Product;
use crate::Engine;

/// What a rule may need to know about the slot.
#[derive(Debug, Clone, Default)]
pub struct SlotContext {
    /// The slot kind (`None` for checks outside a slot).
    pub kind: Option<SlotKind>,
    /// The product a product-page slot is about.
    pub anchor: Option<u32>,
    /// For cart slots: (location, longest lead days) the cart ships from.
    pub ships_from: Vec<(u16, u16)>,
    /// The shopper's country, for regional exclusions.
    pub region: Option<String>,
    /// Search results: out-of-stock products may be listed (ranked lower),
    /// since a shopper looking for one wants to know it exists; every other
    /// rule applies.
    pub searching: bool,
}

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

    /// `None` when `p` (product `ord`) may be shown in the slot; otherwise
    /// the rule it breaks, in words.
    pub fn check(&self, p: Product<'_>, slot: &SlotContext, engine: &Engine) -> Option<String> {
        let r = self.rules;
        let name = |c: u32| engine.category_name(c).to_owned();
        if p.available() < r.min_inventory && !slot.searching {
            return Some(format!(
                "inventory {} below min_inventory {}",
                p.available(),
                r.min_inventory
            ));
        }
        if r.min_cover_days > 0.0 && !slot.searching {
            let cover = engine.cover_days(p.ordinal());
            if cover < r.min_cover_days {
                return Some(format!(
                    "sells out in {cover:.1} days at its recent rate, under min_cover_days {}",
                    r.min_cover_days
                ));
            }
        }
        if r.exclude_regulated && p.regulated() {
            return Some("regulated product (exclude_regulated)".into());
        }
        if let Some(flag) = p.safety().find(|f| r.exclude_safety.iter().any(|x| x == f)) {
            return Some(format!("safety flag {flag:?} excluded"));
        }
        if let Some(c) = p
            .category_path()
            .iter()
            .find(|c| r.exclude_categories.contains(c))
        {
            return Some(format!("category {:?} excluded", name(*c)));
        }
        if let Some(tag) = p.tags().find(|t| r.exclude_tags.iter().any(|x| x == t)) {
            return Some(format!("tag {tag:?} excluded"));
        }
        for (category, floor) in &r.price_floors {
            if p.category_path().contains(category) && p.price() < *floor {
                return Some(format!(
                    "price {:.2} below the {:?} floor {floor:.2}",
                    p.price(),
                    name(*category)
                ));
            }
        }
        if let Some(margin) = p.margin() {
            for (category, floor) in &r.margin_floors {
                if p.category_path().contains(category) && margin < *floor {
                    return Some(format!(
                        "margin {margin:.2} below the {:?} floor {floor:.2}",
                        name(*category)
                    ));
                }
            }
        }
        for rule in r
            .regions
            .iter()
            .filter(|x| slot.region.as_deref() == Some(x.region.as_str()))
        {
            if rule.exclude_regulated && p.regulated() {
                return Some(format!("regulated product excluded in {}", rule.region));
            }
            if let Some(c) = p
                .category_path()
                .iter()
                .find(|c| rule.exclude_categories.contains(c))
            {
                return Some(format!(
                    "category {:?} excluded in {}",
                    name(*c),
                    rule.region
                ));
            }
            if let Some(tag) = p.tags().find(|t| rule.exclude_tags.iter().any(|x| x == t)) {
                return Some(format!("tag {tag:?} excluded in {}", rule.region));
            }
        }
        match slot.kind {
            Some(SlotKind::Addons) => {
                let fits = slot.anchor.is_some_and(|a| p.compatible().contains(a));
                if !fits {
                    return Some("not compatible with the product (add-ons must be)".into());
                }
            }
            Some(SlotKind::CartAddons) => {
                let same_box = p.stock().any(|s| {
                    s.available >= r.min_inventory.max(1)
                        && slot
                            .ships_from
                            .iter()
                            .any(|&(l, lead)| l == s.location && s.lead_days <= lead)
                });
                if !same_box {
                    return Some("does not ship from the cart's location in its lead time".into());
                }
            }
            _ => {}
        }
        None
    }
}

/// The locations (with their longest lead) that hold every cart item, or,
/// when none does, those that hold the most.
pub(crate) fn cart_shipping(engine: &Engine, cart: &[u32]) -> Vec<(u16, u16)> {
    let mut coverage: Vec<(u16, usize, u16)> = Vec::new();
    for p in cart.iter().filter_map(|&o| engine.product_at(o)) {
        for s in p.stock().filter(|s| s.available > 0) {
            match coverage.iter_mut().find(|(l, _, _)| *l == s.location) {
                Some((_, n, lead)) => {
                    *n += 1;
                    *lead = (*lead).max(s.lead_days);
                }
                None => coverage.push((s.location, 1, s.lead_days)),
            }
        }
    }
    let best = coverage.iter().map(|(_, n, _)| *n).max().unwrap_or(0);
    coverage
        .into_iter()
        .filter(|(_, n, _)| *n == best)
        .map(|(l, _, lead)| (l, lead))
        .collect()
}
