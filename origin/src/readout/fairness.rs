//! The fairness audit: whom personalization shows what, against what
//! the merchant's own rules show (the holdout), the catalog and the
//! traffic, and whether its effect differs by segment, written down as
//! findings a merchant can file.
//!
//! Shares are compared by the four-fifths rule of thumb: a brand or a
//! segment whose share under personalization is below 0.8 or above 1.25
//! times its share under the rules is named, when the difference is more
//! than chance (a test per share, Bonferroni over the shares of a table).
//! The unit is what one visitor was shown in one module and arm (a
//! visitor's slots go together), weighted by the inverse of the arm's
//! chance in that module, so both arms stand for the same mix of modules
//! however much each holds out.

use std::collections::{BTreeMap, HashMap};

use firstpaint_contracts::{Event, EventKind, Product};
use firstpaint_engine::experiments::ExperimentsSection;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

use super::comparison::Comparison;
use super::stats::{ratio_lift, Pairs, Z95};
use super::visitors::{Visitor, Visitors, Window};

/// Below this share ratio (treatment over holdout), or above its
/// inverse, a share is named.
const FOUR_FIFTHS: f64 = 0.8;
/// Slots (brands) or exposures (segments) in one arm or the other needed
/// before a share is judged.
const MIN_SHOWN: u64 = 30;
/// An arm that never showed a name is only telling when it would have
/// shown it this many times at the other arm's share.
const MIN_EXPECTED: f64 = 3.0;
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
    /// Treatment's share over the holdout's, once one arm showed it
    /// [`MIN_SHOWN`] times (none when the holdout never did).
    pub ratio: Option<f64>,
    /// The ratio's 95% interval (the delta method over visitors).
    pub ratio_ci: Option<(f64, f64)>,
    /// The p-value of "the same share in both arms".
    pub p_value: Option<f64>,
    /// Outside 0.8 to 1.25 times, and more than chance.
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

/// What one visitor was shown in one module and arm, by label (brand,
/// or segment value): the unit shares are compared over.
#[derive(Debug)]
struct Cluster {
    /// In treatment (else the holdout).
    treated: bool,
    /// The inverse of the chance of its arm in its module.
    weight: f64,
    /// Counts by label.
    parts: Vec<(String, u64)>,
}

/// The audit of the exposures in `window` of the folded `visitors`;
/// `catalog` names brands (none: brands are not audited); `rules` give
/// each module's holdout share; `overall`'s segments give the effects by
/// segment.
pub fn audit(
    events: &[Event],
    window: Window,
    visitors: &Visitors,
    catalog: &[Product],
    rules: &ExperimentsSection,
    overall: &Comparison,
) -> Fairness {
    let brand_of: HashMap<&str, &str> = catalog
        .iter()
        .map(|p| (p.id.as_str(), p.brand.as_deref().unwrap_or("(no brand)")))
        .collect();
    // By (visitor, module, in treatment): items by brand, and slots.
    let mut brands: HashMap<(&str, &str, bool), BTreeMap<&str, u64>> = HashMap::new();
    let mut slots: HashMap<(&str, &str, bool), u64> = HashMap::new();
    for e in events {
        let at = e.ts.unix_timestamp();
        let (
            Some(visitor),
            EventKind::Exposure {
                module,
                arm,
                items: shown,
                ..
            },
        ) = (&e.visitor, &e.kind)
        else {
            continue;
        };
        if !visitors.by_id.contains_key(visitor) || at < window.from || at > window.to {
            continue;
        }
        let key = (visitor.as_str(), module.as_str(), arm == "treatment");
        *slots.entry(key).or_default() += 1;
        if !catalog.is_empty() {
            let counts = brands.entry(key).or_default();
            for item in shown {
                let brand = brand_of
                    .get(item.as_str())
                    .copied()
                    .unwrap_or("(not in catalog)");
                *counts.entry(brand).or_default() += 1;
            }
        }
    }
    let weight = |module: &str, treated: bool| {
        let global = f64::from(rules.global_bp) / 10_000.0;
        let held = f64::from(rules.share_bp(module)) / 10_000.0;
        let p = (1.0 - global) * (1.0 - held);
        // A module that holds out nobody (or everybody) has nothing to compare.
        (p > 0.0 && p < 1.0).then(|| 1.0 / if treated { p } else { 1.0 - p })
    };
    let mut findings = Vec::new();
    let brand_clusters: Vec<Cluster> = brands
        .iter()
        .filter_map(|(&(_, module, treated), counts)| {
            Some(Cluster {
                treated,
                weight: weight(module, treated)?,
                parts: counts.iter().map(|(b, n)| ((*b).to_owned(), *n)).collect(),
            })
        })
        .collect();
    let brand_shares = brand_shares(&brand_clusters, catalog);
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
        let clusters: Vec<Cluster> = slots
            .iter()
            .filter_map(|(&(id, module, treated), &n)| {
                let value = visitors.by_id.get(id).map(key)?;
                Some(Cluster {
                    treated,
                    weight: weight(module, treated)?,
                    parts: vec![(value, n)],
                })
            })
            .collect();
        let shares = shares(
            &names,
            &clusters,
            |value, name| value == name,
            |name| {
                let visitors = traffic.get(name).copied().unwrap_or(0) as f64;
                (None, Some(visitors / total))
            },
        );
        findings.push(judged(dimension, &shares, "of the slots shown"));
        segment_shares.push((dimension.to_owned(), shares));
    }
    findings.push(effects(overall));
    Fairness {
        rule: format!(
            "Shares are compared over what each visitor was shown in each module and arm (weighted by the inverse of the arm's chance in the module, so both arms stand for the same mix of modules): a share under personalization below {FOUR_FIFTHS} or above {:.2} times its share under the rules (the holdout) is named when the difference is more than chance at 0.05 over the number of shares in its table (Bonferroni); effects by segment are tested against the rest the same way.",
            1.0 / FOUR_FIFTHS
        ),
        brands: brand_shares,
        segments: segment_shares,
        findings,
    }
}

fn brand_shares(clusters: &[Cluster], catalog: &[Product]) -> Vec<Share> {
    let mut in_catalog: HashMap<&str, u64> = HashMap::new();
    for p in catalog {
        *in_catalog
            .entry(p.brand.as_deref().unwrap_or("(no brand)"))
            .or_default() += 1;
    }
    let mut shown: HashMap<&str, u64> = HashMap::new();
    for c in clusters {
        for (brand, n) in &c.parts {
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
    // A brand counts for its own name, or for "other brands" when not named.
    let mut out = shares(
        &names,
        clusters,
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

/// Each of `names`' shares of what the two arms showed, over
/// `clusters`; `is` says whether a label counts for a name; `base` gives
/// a name's catalog and traffic shares. Judged with Bonferroni over the
/// names.
fn shares(
    names: &[String],
    clusters: &[Cluster],
    is: impl Fn(&str, &str) -> bool,
    base: impl Fn(&str) -> (Option<f64>, Option<f64>),
) -> Vec<Share> {
    let mut out: Vec<Share> = names
        .iter()
        .map(|name| {
            // Weighted (name's count, cluster's count) per cluster by arm,
            // and the unweighted counts.
            let mut arms = [Pairs::default(), Pairs::default()];
            let mut counts = [(0u64, 0u64); 2];
            for c in clusters {
                let n: u64 = c.parts.iter().map(|(_, k)| k).sum();
                if n == 0 {
                    continue;
                }
                let x: u64 = c
                    .parts
                    .iter()
                    .filter(|(l, _)| is(l, name))
                    .map(|(_, k)| k)
                    .sum();
                let arm = usize::from(!c.treated);
                arms[arm].push(x as f64 * c.weight, n as f64 * c.weight);
                counts[arm].0 += x;
                counts[arm].1 += n;
            }
            let [t, h] = &arms;
            share(name, t, h, counts, base(name))
        })
        .collect();
    let tests = out.iter().filter(|s| s.p_value.is_some()).count().max(1) as f64;
    for s in &mut out {
        let outside = match s.ratio {
            Some(r) => !(FOUR_FIFTHS..=1.0 / FOUR_FIFTHS).contains(&r),
            None => s.p_value.is_some(),
        };
        s.flagged = outside && s.p_value.is_some_and(|p| p < 0.05 / tests);
    }
    out
}

/// One name's shares under treatment and the holdout, with the ratio's
/// interval and p-value (not yet judged). `counts` are the unweighted
/// (name's, all) counts of treatment and of the holdout.
fn share(
    name: &str,
    t: &Pairs,
    h: &Pairs,
    counts: [(u64, u64); 2],
    (catalog, traffic): (Option<f64>, Option<f64>),
) -> Share {
    let treatment = if t.b > 0.0 { t.a / t.b } else { 0.0 };
    let holdout = if h.b > 0.0 { h.a / h.b } else { 0.0 };
    let [(tx, tn), (hx, hn)] = counts;
    let judged = tn > 0 && hn > 0 && tx.max(hx) >= MIN_SHOWN;
    let ratio = (judged && holdout > 0.0).then(|| treatment / holdout);
    let lift = ratio_lift(t, h).filter(|_| judged && tx > 0 && hx > 0);
    let ratio_ci = lift.map(|l| (1.0 + l.relative_ci.0, 1.0 + l.relative_ci.1));
    let p_value = if !judged {
        None
    } else if let Some(l) = lift {
        let se = (l.relative_ci.1 - l.relative_ci.0) / (2.0 * Z95);
        (se > 0.0).then(|| 2.0 * Normal::standard().sf((l.relative / se).abs()))
    } else {
        // One arm never showed it: telling only if, at the other arm's
        // share, it would have shown it a few times (Poisson: e^-expected).
        let expected = if tx == 0 {
            holdout * tn as f64
        } else {
            treatment * hn as f64
        };
        (expected >= MIN_EXPECTED).then(|| (-expected).exp())
    };
    Share {
        name: name.to_owned(),
        catalog,
        traffic,
        treatment,
        holdout,
        ratio,
        ratio_ci,
        p_value,
        flagged: false,
    }
}

/// One sentence on the shares of `what`.
fn judged(what: &str, shares: &[Share], of: &str) -> String {
    let judged = shares.iter().filter(|s| s.p_value.is_some()).count();
    let named: Vec<String> = shares
        .iter()
        .filter(|s| s.flagged)
        .map(|s| {
            format!(
                "{} ({:.1}% {of} under personalization against {:.1}% under the rules, {}{})",
                s.name,
                100.0 * s.treatment,
                100.0 * s.holdout,
                s.ratio.map_or_else(
                    || "never under the rules".to_owned(),
                    |r| format!("{r:.2}x")
                ),
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
