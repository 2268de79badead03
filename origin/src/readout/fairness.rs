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
use super::stats::{ratio_lift, Pairs};
use super::visitors::{Visitor, Visitors, Window};

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
    /// one arm showed it [`MIN_SHOWN`] times and both arms showed
    /// something.
    pub ratio: Option<f64>,
    /// The ratio's 95% interval (the delta method over visitors).
    pub ratio_ci: Option<(f64, f64)>,
    /// The ratio is outside 0.8 to 1.25, and surely so.
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

/// What one visitor was shown in one arm (a visitor in treatment of one
/// module and the holdout of another has one of each), by brand: the
/// unit the shares are compared over, since one visitor's slots are not
/// independent of each other.
#[derive(Debug, Default)]
struct Cluster<'a> {
    /// Items shown, by brand.
    brands: HashMap<&'a str, u64>,
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
    // By (visitor, in treatment): their items by brand, and their slots.
    let mut items: HashMap<(&str, bool), Cluster<'_>> = HashMap::new();
    let mut slots: HashMap<(&str, bool), u64> = HashMap::new();
    for e in events {
        let at = e.ts.unix_timestamp();
        let (
            Some(visitor),
            EventKind::Exposure {
                arm, items: shown, ..
            },
        ) = (&e.visitor, &e.kind)
        else {
            continue;
        };
        if !visitors.by_id.contains_key(visitor) || at < window.from || at > window.to {
            continue;
        }
        let key = (visitor.as_str(), arm == "treatment");
        *slots.entry(key).or_default() += 1;
        if !catalog.is_empty() {
            let cluster = items.entry(key).or_default();
            for item in shown {
                let brand = brand_of
                    .get(item.as_str())
                    .copied()
                    .unwrap_or("(not in catalog)");
                *cluster.brands.entry(brand).or_default() += 1;
            }
        }
    }
    let mut findings = Vec::new();
    let brand_shares = brand_shares(&items, catalog);
    findings.push(if catalog.is_empty() {
        "Brands were not audited: no catalog was given (--catalog).".to_owned()
    } else {
        judged("brand", &brand_shares, "of the products shown")
    });
    let mut segment_shares = Vec::new();
    type Key = fn(&Visitor) -> String;
    let dimensions: [(&str, Key); 3] = [
        ("device", |v| v.segment.device.clone()),
        ("region", |v| v.segment.region.clone()),
        ("visit", |v| v.segment.visit.to_owned()),
    ];
    for (dimension, key) in dimensions {
        let mut traffic: BTreeMap<String, u64> = BTreeMap::new();
        for v in visitors.by_id.values() {
            *traffic.entry(key(v)).or_default() += 1;
        }
        let total = visitors.by_id.len().max(1) as f64;
        let names: Vec<String> = traffic.keys().cloned().collect();
        let values: Vec<(bool, String, u64)> = slots
            .iter()
            .map(|(&(id, treated), &n)| {
                let value = visitors.by_id.get(id).map(key).unwrap_or_default();
                (treated, value, n)
            })
            .collect();
        let clusters: Vec<(bool, Vec<(&str, u64)>)> = values
            .iter()
            .map(|(treated, value, n)| (*treated, vec![(value.as_str(), *n)]))
            .collect();
        let shares = shares(
            &names,
            &clusters,
            |value, name| value == name,
            |name| {
                (
                    None,
                    Some(traffic.get(name).copied().unwrap_or(0) as f64 / total),
                )
            },
        );
        findings.push(judged(dimension, &shares, "of the slots shown"));
        segment_shares.push((dimension.to_owned(), shares));
    }
    findings.push(effects(overall));
    Fairness {
        rule: format!(
            "Shares are compared per visitor (a visitor's slots go together): a share under personalization below {FOUR_FIFTHS} or above {:.2} times its share under the rules (the holdout) is named when the ratio's 95% interval leaves out 1 (or the one arm never showed what the other showed {MIN_SHOWN} times or more); effects by segment are tested against the rest at 0.05 over the number of tests (Bonferroni).",
            1.0 / FOUR_FIFTHS
        ),
        brands: brand_shares,
        segments: segment_shares,
        findings,
    }
}

fn brand_shares(items: &HashMap<(&str, bool), Cluster<'_>>, catalog: &[Product]) -> Vec<Share> {
    let mut in_catalog: HashMap<&str, u64> = HashMap::new();
    for p in catalog {
        *in_catalog
            .entry(p.brand.as_deref().unwrap_or("(no brand)"))
            .or_default() += 1;
    }
    let mut shown: HashMap<&str, u64> = HashMap::new();
    for cluster in items.values() {
        for (brand, n) in &cluster.brands {
            *shown.entry(brand).or_default() += n;
        }
    }
    let mut ranked: Vec<(&str, u64)> = shown.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let named: Vec<&str> = ranked.iter().take(MAX_BRANDS).map(|(b, _)| *b).collect();
    let other_products: u64 = in_catalog
        .iter()
        .filter(|(b, _)| !named.contains(b))
        .map(|(_, n)| n)
        .sum();
    let mut names: Vec<String> = named.iter().map(|b| (*b).to_owned()).collect();
    if ranked.len() > MAX_BRANDS {
        names.push(OTHER_BRANDS.to_owned());
    }
    let products = catalog.len().max(1) as f64;
    let clusters: Vec<(bool, Vec<(&str, u64)>)> = items
        .iter()
        .map(|(&(_, treated), c)| (treated, c.brands.iter().map(|(b, n)| (*b, *n)).collect()))
        .collect();
    // A brand counts for its own name, or for "other brands" when not named.
    let mut out = shares(
        &names,
        &clusters,
        |brand, name| {
            if name == OTHER_BRANDS {
                !named.contains(&brand)
            } else {
                brand == name
            }
        },
        |name| {
            let n = if name == OTHER_BRANDS {
                other_products
            } else {
                in_catalog.get(name).copied().unwrap_or(0)
            };
            (Some(n as f64 / products), None)
        },
    );
    out.sort_by(|a, b| (b.treatment + b.holdout).total_cmp(&(a.treatment + a.holdout)));
    out
}

const OTHER_BRANDS: &str = "other brands";

/// Each of `names`' shares of what the two arms showed, compared per
/// cluster: `clusters` are (in treatment, what it showed as (label,
/// count) pairs); `is` says whether a label counts for a name; `base`
/// gives a name's catalog and traffic shares.
fn shares(
    names: &[String],
    clusters: &[(bool, Vec<(&str, u64)>)],
    is: impl Fn(&str, &str) -> bool,
    base: impl Fn(&str) -> (Option<f64>, Option<f64>),
) -> Vec<Share> {
    names
        .iter()
        .map(|name| {
            let mut arms = [Pairs::default(), Pairs::default()];
            for (treated, parts) in clusters {
                let n: u64 = parts.iter().map(|(_, c)| c).sum();
                if n == 0 {
                    continue;
                }
                let x: u64 = parts
                    .iter()
                    .filter(|(l, _)| is(l, name))
                    .map(|(_, c)| c)
                    .sum();
                arms[usize::from(!treated)].push(x as f64, n as f64);
            }
            let [t, h] = arms;
            share(name, &t, &h, base(name))
        })
        .collect()
}

/// One name's share under treatment and the holdout, judged.
fn share(
    name: &str,
    t: &Pairs,
    h: &Pairs,
    (catalog, traffic): (Option<f64>, Option<f64>),
) -> Share {
    let treatment = if t.b > 0.0 { t.a / t.b } else { 0.0 };
    let holdout = if h.b > 0.0 { h.a / h.b } else { 0.0 };
    let both = t.b > 0.0 && h.b > 0.0;
    let enough = t.a.max(h.a) >= MIN_SHOWN as f64;
    let smoothed = |p: &Pairs| (p.a + 0.5) / (p.b + 0.5);
    let ratio = (both && enough).then(|| smoothed(t) / smoothed(h));
    let interval = ratio_lift(t, h)
        .filter(|_| both && enough)
        .map(|l| (1.0 + l.relative_ci.0, 1.0 + l.relative_ci.1));
    let outside = ratio.is_some_and(|r| !(FOUR_FIFTHS..=1.0 / FOUR_FIFTHS).contains(&r));
    // Never shown by one arm, often by the other: no interval needed.
    let one_sided = both && enough && (t.a == 0.0 || h.a == 0.0);
    let certain = interval.is_some_and(|(lo, hi)| lo > 1.0 || hi < 1.0) || one_sided;
    Share {
        name: name.to_owned(),
        catalog,
        traffic,
        treatment,
        holdout,
        ratio,
        ratio_ci: interval,
        flagged: outside && certain,
    }
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
    // Lower under personalization, at 0.05 over the segments tested.
    let harmed: Vec<String> = overall
        .segments
        .iter()
        .filter(|s| {
            s.revenue_per_visitor
                .is_some_and(|l| l.absolute < 0.0 && l.p_value() < 0.05 / tested.max(1) as f64)
        })
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
            " No segment's revenue per visitor is significantly lower under personalization (Bonferroni).",
        );
    } else {
        out.push_str(&format!(
            " Revenue per visitor is significantly lower under personalization (Bonferroni) for: {}.",
            harmed.join("; ")
        ));
    }
    out
}
