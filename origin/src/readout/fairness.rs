//! The fairness audit: whom personalization shows what, against what
//! the merchant's own rules show (the holdout), the catalog and the
//! traffic, and whether its effect differs by segment, written down as
//! findings a merchant can file.
//!
//! Shares are compared by the four-fifths rule of thumb: a brand or a
//! segment whose share under personalization is below 0.8 or above 1.25
//! times its share under the rules is named, when either arm showed it
//! often enough for the share to mean something.

use std::collections::{BTreeMap, HashMap};

use firstpaint_contracts::{Event, EventKind, Product};
use serde::Serialize;

use super::comparison::Comparison;
use super::visitors::{Visitors, Window};

/// Below this share ratio (treatment over holdout), or above its
/// inverse, a share is named.
const FOUR_FIFTHS: f64 = 0.8;
/// Slots (brands) or exposures (segments) in one arm or the other needed
/// before a share is judged.
const MIN_SHOWN: u64 = 30;
/// Brands listed by name; the rest are summed as `other brands`.
const MAX_BRANDS: usize = 12;

/// One brand's or segment's shares.
#[derive(Debug, Clone, Serialize)]
pub struct Share {
    /// The brand, or the segment's value.
    pub name: String,
    /// Its share of the catalog's products (brands).
    pub catalog: Option<f64>,
    /// Its share of the visitors (segments).
    pub traffic: Option<f64>,
    /// Its share of what personalization showed.
    pub treatment: f64,
    /// Its share of what the holdout (the rules and priors) showed.
    pub holdout: f64,
    /// Treatment's share over the holdout's (each count given half a
    /// slot, so a brand the rules never show still has a ratio), once
    /// one arm showed it [`MIN_SHOWN`] times.
    pub ratio: Option<f64>,
    /// The ratio is outside 0.8 to 1.25.
    pub flagged: bool,
}

/// The audit.
#[derive(Debug, Clone, Serialize)]
pub struct Fairness {
    /// How shares are judged.
    pub rule: String,
    /// Shares of the products shown, by brand.
    pub brands: Vec<Share>,
    /// Shares of exposures, by segment: (dimension, shares).
    pub segments: Vec<(String, Vec<Share>)>,
    /// What the audit found, in sentences.
    pub findings: Vec<String>,
}

/// Counts per arm.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    treatment: u64,
    holdout: u64,
}

impl Counts {
    fn add(&mut self, arm: &str, by: u64) {
        match arm {
            "treatment" => self.treatment += by,
            _ => self.holdout += by,
        }
    }
}

/// The audit of the exposures in `window` of the folded `visitors`;
/// `catalog` names brands (none: brands are not audited); `overall`'s
/// segments give the effects by segment.
pub fn audit(
    events: &[Event],
    window: Window,
    visitors: &Visitors,
    catalog: &[Product],
    overall: &Comparison,
) -> Fairness {
    let brand_of: HashMap<&str, &str> = catalog
        .iter()
        .map(|p| (p.id.as_str(), p.brand.as_deref().unwrap_or("(no brand)")))
        .collect();
    let mut brands: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut segments: [BTreeMap<String, Counts>; 3] = Default::default();
    for e in events {
        let at = e.ts.unix_timestamp();
        let (Some(visitor), EventKind::Exposure { arm, items, .. }) = (&e.visitor, &e.kind) else {
            continue;
        };
        let Some(v) = visitors.by_id.get(visitor) else {
            continue;
        };
        if at < window.from || at > window.to {
            continue;
        }
        if !catalog.is_empty() {
            for item in items {
                let brand = brand_of
                    .get(item.as_str())
                    .copied()
                    .unwrap_or("(not in catalog)");
                brands.entry(brand).or_default().add(arm, 1);
            }
        }
        let keys = [
            v.segment.device.clone(),
            v.segment.region.clone(),
            v.segment.visit.to_owned(),
        ];
        for (map, key) in segments.iter_mut().zip(keys) {
            map.entry(key).or_default().add(arm, 1);
        }
    }
    let mut findings = Vec::new();
    let brand_shares = brand_shares(&brands, catalog);
    findings.push(if catalog.is_empty() {
        "Brands were not audited: no catalog was given (--catalog).".to_owned()
    } else {
        judged("brand", &brand_shares, "of the products shown")
    });
    let mut segment_shares = Vec::new();
    let traffic = [
        count(visitors, |v| v.segment.device.clone()),
        count(visitors, |v| v.segment.region.clone()),
        count(visitors, |v| v.segment.visit.to_owned()),
    ];
    for ((dimension, counts), traffic) in ["device", "region", "visit"]
        .into_iter()
        .zip(&segments)
        .zip(&traffic)
    {
        let total: u64 = traffic.values().sum();
        let shares = shares(counts, |name| {
            (
                None,
                Some(*traffic.get(name).unwrap_or(&0) as f64 / total.max(1) as f64),
            )
        });
        findings.push(judged(dimension, &shares, "of the slots shown"));
        segment_shares.push((dimension.to_owned(), shares));
    }
    findings.push(effects(overall));
    Fairness {
        rule: format!(
            "A share under personalization below {FOUR_FIFTHS} or above {:.2} times its share under the rules (the holdout) is named, once either arm showed it {MIN_SHOWN} times; effects by segment are tested against the rest at 0.05 over the number of tests (Bonferroni).",
            1.0 / FOUR_FIFTHS
        ),
        brands: brand_shares,
        segments: segment_shares,
        findings,
    }
}

fn count(
    visitors: &Visitors,
    key: impl Fn(&super::visitors::Visitor) -> String,
) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for v in visitors.by_id.values() {
        *out.entry(key(v)).or_default() += 1;
    }
    out
}

fn brand_shares(brands: &BTreeMap<&str, Counts>, catalog: &[Product]) -> Vec<Share> {
    let mut in_catalog: HashMap<&str, u64> = HashMap::new();
    for p in catalog {
        *in_catalog
            .entry(p.brand.as_deref().unwrap_or("(no brand)"))
            .or_default() += 1;
    }
    let mut ranked: Vec<(&str, Counts)> = brands.iter().map(|(b, c)| (*b, *c)).collect();
    ranked.sort_by(|a, b| {
        (b.1.treatment + b.1.holdout)
            .cmp(&(a.1.treatment + a.1.holdout))
            .then(a.0.cmp(b.0))
    });
    let mut kept: BTreeMap<String, Counts> = BTreeMap::new();
    let mut other_products = 0;
    for (i, (brand, counts)) in ranked.into_iter().enumerate() {
        if i < MAX_BRANDS {
            kept.insert(brand.to_owned(), counts);
        } else {
            let other = kept.entry(OTHER_BRANDS.to_owned()).or_default();
            other.treatment += counts.treatment;
            other.holdout += counts.holdout;
            other_products += in_catalog.get(brand).copied().unwrap_or(0);
        }
    }
    let products = catalog.len().max(1) as f64;
    shares(&kept, |name| {
        let n = if name == OTHER_BRANDS {
            other_products
        } else {
            in_catalog.get(name).copied().unwrap_or(0)
        };
        (Some(n as f64 / products), None)
    })
}

const OTHER_BRANDS: &str = "other brands";

/// Each name's shares of the two arms' counts; `base` gives its catalog
/// and traffic shares.
fn shares(
    counts: &BTreeMap<impl AsRef<str> + Ord, Counts>,
    base: impl Fn(&str) -> (Option<f64>, Option<f64>),
) -> Vec<Share> {
    let t: u64 = counts.values().map(|c| c.treatment).sum();
    let h: u64 = counts.values().map(|c| c.holdout).sum();
    counts
        .iter()
        .map(|(name, c)| {
            let name = name.as_ref();
            let treatment = c.treatment as f64 / t.max(1) as f64;
            let holdout = c.holdout as f64 / h.max(1) as f64;
            let smoothed = |k: u64, all: u64| (k as f64 + 0.5) / (all as f64 + 0.5);
            let ratio = (c.treatment.max(c.holdout) >= MIN_SHOWN)
                .then(|| smoothed(c.treatment, t) / smoothed(c.holdout, h));
            let (catalog, traffic) = base(name);
            Share {
                name: name.to_owned(),
                catalog,
                traffic,
                treatment,
                holdout,
                ratio,
                flagged: ratio.is_some_and(|r| !(FOUR_FIFTHS..=1.0 / FOUR_FIFTHS).contains(&r)),
            }
        })
        .collect()
}

/// One sentence on the shares of `what`.
fn judged(what: &str, shares: &[Share], of: &str) -> String {
    let judged = shares.iter().filter(|s| s.ratio.is_some()).count();
    let named: Vec<String> = shares
        .iter()
        .filter(|s| s.flagged)
        .map(|s| {
            format!(
                "{} ({:.1}% {of} under personalization against {:.1}% under the rules, {:.2}x{})",
                s.name,
                100.0 * s.treatment,
                100.0 * s.holdout,
                s.ratio.unwrap_or(0.0),
                s.catalog
                    .or(s.traffic)
                    .map(|b| format!(
                        "; {:.1}% of the {}",
                        100.0 * b,
                        if s.catalog.is_some() {
                            "catalog"
                        } else {
                            "visitors"
                        }
                    ))
                    .unwrap_or_default()
            )
        })
        .collect();
    if judged == 0 {
        format!("By {what}: too few exposures to judge any share.")
    } else if named.is_empty() {
        format!("By {what}: no share under personalization is outside 0.8-1.25x its share under the rules ({judged} judged).")
    } else {
        format!("By {what}, outside 0.8-1.25x: {}.", named.join("; "))
    }
}

/// One sentence on the effects by segment.
fn effects(overall: &Comparison) -> String {
    let tested = overall
        .segments
        .iter()
        .filter(|s| s.p_value.is_some())
        .count();
    let differ: Vec<String> = overall
        .segments
        .iter()
        .filter(|s| s.differs)
        .map(|s| {
            format!(
                "{} = {} (p = {:.2e})",
                s.dimension,
                s.value,
                s.p_value.unwrap_or(1.0)
            )
        })
        .collect();
    let harmed: Vec<String> = overall
        .segments
        .iter()
        .filter(|s| s.revenue_per_visitor.is_some_and(|l| l.absolute_ci.1 < 0.0))
        .map(|s| format!("{} = {}", s.dimension, s.value))
        .collect();
    let mut out = if tested == 0 {
        "Effects by segment: too few visitors per segment to test.".to_owned()
    } else if differ.is_empty() {
        format!("Effects by segment: none differs significantly from the rest ({tested} segments tested on conversion and revenue per visitor, Bonferroni).")
    } else {
        format!(
            "Effects by segment that differ significantly from the rest: {}.",
            differ.join("; ")
        )
    };
    if harmed.is_empty() {
        out.push_str(
            " No segment's revenue per visitor is significantly lower under personalization.",
        );
    } else {
        out.push_str(&format!(
            " Revenue per visitor is significantly lower under personalization for: {}.",
            harmed.join("; ")
        ));
    }
    out
}
