//! The merchant's hard rules, applied after every model score.
//!
//! Every surface goes through [`Guardrails::check`] (and the caps in
//! `rank.rs`), so no model and no slot can show what the rules forbid.

use std::fmt;

use crate::store::sections::RulesSection;
use crate::store::slot_kind::SlotKind;
use crate::store::Product;
use crate::store::Store;

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
    pub fn check(&self, p: Product<'_>, slot: &SlotContext, store: &Store) -> Option<String> {
        self.refusal(p, slot, store).map(|r| r.to_string())
    }

    /// As [`check`](Self::check), with the rule as a value: words are only
    /// built (`to_string`) when someone reads them, not for each of the
    /// candidates a slot turns away.
    pub fn refusal<'e>(
        &self,
        p: Product<'e>,
        slot: &'e SlotContext,
        store: &'e Store,
    ) -> Option<Refusal<'e>>
    where
        'a: 'e,
    {
        let r = self.rules;
        let name = |c: u32| store.category_name(c);
        if !p.buyable() {
            return Some(Refusal::NotForSale);
        }
        if p.available() < r.min_inventory && !slot.searching {
            return Some(Refusal::Inventory {
                available: p.available(),
                min: r.min_inventory,
            });
        }
        if r.min_cover_days > 0.0 && !slot.searching {
            let cover = store.cover_days(p.ordinal());
            if cover < r.min_cover_days {
                return Some(Refusal::Cover {
                    days: cover,
                    min: r.min_cover_days,
                });
            }
        }
        if r.exclude_regulated && p.regulated() {
            return Some(Refusal::Regulated);
        }
        if let Some(flag) = p.safety().find(|f| r.exclude_safety.iter().any(|x| x == f)) {
            return Some(Refusal::Safety(flag));
        }
        // Read once: several rules look at it.
        let path = p.category_path();
        if let Some(c) = path.iter().find(|c| r.exclude_categories.contains(c)) {
            return Some(Refusal::Category(name(*c)));
        }
        if let Some(tag) = p.tags().find(|t| r.exclude_tags.iter().any(|x| x == t)) {
            return Some(Refusal::Tag(tag));
        }
        for (category, floor) in &r.price_floors {
            if path.contains(category) && p.price() < *floor {
                return Some(Refusal::PriceFloor {
                    price: p.price(),
                    category: name(*category),
                    floor: *floor,
                });
            }
        }
        // The margin (price and cost) only when a floor may apply.
        let margin = (!r.margin_floors.is_empty()).then(|| p.margin()).flatten();
        if let Some(margin) = margin {
            for (category, floor) in &r.margin_floors {
                if path.contains(category) && margin < *floor {
                    return Some(Refusal::MarginFloor {
                        margin,
                        category: name(*category),
                        floor: *floor,
                    });
                }
            }
        }
        for rule in r
            .regions
            .iter()
            .filter(|x| slot.region.as_deref() == Some(x.region.as_str()))
        {
            let region = rule.region.as_str();
            if rule.exclude_regulated && p.regulated() {
                return Some(Refusal::RegionalRegulated { region });
            }
            if let Some(c) = path.iter().find(|c| rule.exclude_categories.contains(c)) {
                return Some(Refusal::RegionalCategory {
                    category: name(*c),
                    region,
                });
            }
            if let Some(tag) = p.tags().find(|t| rule.exclude_tags.iter().any(|x| x == t)) {
                return Some(Refusal::RegionalTag { tag, region });
            }
        }
        match slot.kind {
            Some(SlotKind::Addons) => {
                let fits = slot.anchor.is_some_and(|a| p.compatible().contains(a));
                if !fits {
                    return Some(Refusal::NotCompatible);
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
                    return Some(Refusal::NotSameBox);
                }
            }
            _ => {}
        }
        None
    }
}

/// The rule a product breaks, with the values involved; displayed, the
/// rule in words.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Refusal<'a> {
    /// Taken off sale by live data (`buyable: false`): no surface shows it.
    NotForSale,
    /// Fewer units than `min_inventory`.
    Inventory {
        /// Units available.
        available: u32,
        /// The rule's minimum.
        min: u32,
    },
    /// Sells out sooner than `min_cover_days` at its recent rate.
    Cover {
        /// Days of cover.
        days: f32,
        /// The rule's minimum.
        min: f32,
    },
    /// Regulated goods (`exclude_regulated`).
    Regulated,
    /// An excluded safety flag.
    Safety(&'a str),
    /// In an excluded category (named).
    Category(&'a str),
    /// An excluded tag.
    Tag(&'a str),
    /// Cheaper than its category's price floor.
    PriceFloor {
        /// The product's price.
        price: f64,
        /// The floor's category.
        category: &'a str,
        /// The floor.
        floor: f64,
    },
    /// A thinner margin than its category's floor.
    MarginFloor {
        /// The product's margin.
        margin: f64,
        /// The floor's category.
        category: &'a str,
        /// The floor.
        floor: f64,
    },
    /// Regulated goods, excluded in the shopper's region.
    RegionalRegulated {
        /// The region.
        region: &'a str,
    },
    /// In a category excluded in the shopper's region.
    RegionalCategory {
        /// The category.
        category: &'a str,
        /// The region.
        region: &'a str,
    },
    /// A tag excluded in the shopper's region.
    RegionalTag {
        /// The tag.
        tag: &'a str,
        /// The region.
        region: &'a str,
    },
    /// Not compatible with an add-on slot's product.
    NotCompatible,
    /// Does not ship with the cart.
    NotSameBox,
}

impl fmt::Display for Refusal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Refusal::NotForSale => f.write_str("not for sale now (live data: buyable false)"),
            Refusal::Inventory { available, min } => {
                write!(f, "inventory {available} below min_inventory {min}")
            }
            Refusal::Cover { days, min } => write!(
                f,
                "sells out in {days:.1} days at its recent rate, under min_cover_days {min}"
            ),
            Refusal::Regulated => f.write_str("regulated product (exclude_regulated)"),
            Refusal::Safety(flag) => write!(f, "safety flag {flag:?} excluded"),
            Refusal::Category(category) => write!(f, "category {category:?} excluded"),
            Refusal::Tag(tag) => write!(f, "tag {tag:?} excluded"),
            Refusal::PriceFloor {
                price,
                category,
                floor,
            } => write!(
                f,
                "price {price:.2} below the {category:?} floor {floor:.2}"
            ),
            Refusal::MarginFloor {
                margin,
                category,
                floor,
            } => write!(
                f,
                "margin {margin:.2} below the {category:?} floor {floor:.2}"
            ),
            Refusal::RegionalRegulated { region } => {
                write!(f, "regulated product excluded in {region}")
            }
            Refusal::RegionalCategory { category, region } => {
                write!(f, "category {category:?} excluded in {region}")
            }
            Refusal::RegionalTag { tag, region } => write!(f, "tag {tag:?} excluded in {region}"),
            Refusal::NotCompatible => {
                f.write_str("not compatible with the product (add-ons must be)")
            }
            Refusal::NotSameBox => {
                f.write_str("does not ship from the cart's location in its lead time")
            }
        }
    }
}

/// The locations (with their longest lead) that hold every cart item, or,
/// when none does, those that hold the most.
pub(crate) fn cart_shipping(store: &Store, cart: &[u32]) -> Vec<(u16, u16)> {
    let mut coverage: Vec<(u16, usize, u16)> = Vec::new();
    for p in cart.iter().filter_map(|&o| store.product_at(o)) {
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
