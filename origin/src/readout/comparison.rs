//! One experiment's readout: treatment against holdout for a module (or
//! overall, the global holdout against everyone else), with its
//! sample-ratio check, its metrics, its segments, its bundle versions and
//! its lift day by day.
//!
//! A visitor counts from their first exposure to the module (both arms
//! render the module's slots, so who is exposed does not depend on the
//! arm); what they did before it is their pre-period, for CUPED.

use std::collections::BTreeMap;

use firstpaint_engine::experiments::Arm;
use serde::Serialize;

use super::stats::{
    cuped_lift, difference_p_value, mean_lift, ratio_lift, srm, Cuped, Interval, Lift, Moments,
    Pairs, Srm,
};
use super::visitors::{Entry, Outcome, Visitor};
use super::{iso, Analysis};

/// A count per arm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Arms {
    /// In treatment (personalized).
    pub treatment: u64,
    /// In the holdout (rules and priors only).
    pub holdout: u64,
}

/// One metric's lift.
#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    /// `conversion`, `add_to_cart`, `revenue_per_visitor`,
    /// `average_order_value` or `repeat_purchase`.
    pub name: &'static str,
    /// Visitors counted (for AOV: orders; for repeat purchase: visitors
    /// exposed long enough before the window's end).
    pub counted: Arms,
    /// Treatment against holdout with fixed-horizon 95% intervals; none
    /// with too few visitors or a holdout of 0.
    pub lift: Option<Lift>,
    /// The always-valid 95% intervals of the same estimates.
    pub always_valid: Option<Interval>,
    /// Adjusted by the visitor's pre-period, where there is one.
    pub cuped: Option<Cuped>,
    /// Whether the interval the analysis decides by leaves out 0 (never
    /// when the sample ratio is off).
    pub significant: bool,
    /// Why there is no estimate, or what limits it.
    pub note: Option<String>,
}

/// The lift in one segment, and whether it differs from the rest's.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentLift {
    /// `device`, `region`, `visit` or `entry_category`.
    pub dimension: &'static str,
    /// The segment (`mobile`, `DE`, `new`, `Kitchen`).
    pub value: String,
    /// Visitors per arm.
    pub visitors: Arms,
    /// Conversion's lift here.
    pub conversion: Option<Lift>,
    /// Revenue per visitor's lift here.
    pub revenue_per_visitor: Option<Lift>,
    /// The smaller p-value of "the same effect as in the rest", over the
    /// two metrics.
    pub p_value: Option<f64>,
    /// That p-value is below 0.05 over the number of tests made
    /// (Bonferroni): this segment's effect differs.
    pub differs: bool,
}

/// The lift among visitors who entered under one bundle version.
#[derive(Debug, Clone, Serialize)]
pub struct BundleLift {
    /// The bundle version.
    pub bundle: u64,
    /// Its first and last entry into this experiment.
    pub first_seen: String,
    /// See `first_seen`.
    pub last_seen: String,
    /// Visitors per arm.
    pub visitors: Arms,
    /// Conversion's lift.
    pub conversion: Option<Lift>,
    /// Revenue per visitor's lift.
    pub revenue_per_visitor: Option<Lift>,
    /// The publish log's lines that served it (`--releases`).
    pub releases: Vec<String>,
}

/// The cumulative lift at the end of one day (of one hour, while the
/// experiment is younger than three days).
#[derive(Debug, Clone, Serialize)]
pub struct Day {
    /// Up to when (RFC 3339, UTC): the day's or hour's last second, or
    /// the window's end.
    pub until: String,
    /// Visitors so far.
    pub visitors: Arms,
    /// Revenue per visitor's lift so far.
    pub revenue_per_visitor: Option<Lift>,
    /// Its always-valid interval.
    pub always_valid: Option<Interval>,
}

/// One experiment's readout.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The module, or `overall`.
    pub module: String,
    /// Exposed visitors per arm.
    pub visitors: Arms,
    /// The holdout's share that the rules set.
    pub holdout_share: f64,
    /// The sample-ratio check against it.
    pub srm: Option<Srm>,
    /// No sample-ratio mismatch: the metrics can be trusted.
    pub reliable: bool,
    /// Conversion, add-to-cart rate, revenue per visitor, AOV, repeat
    /// purchase.
    pub metrics: Vec<Metric>,
    /// By device, region, new or returning, entry category.
    pub segments: Vec<SegmentLift>,
    /// By the bundle version visitors entered under.
    pub bundles: Vec<BundleLift>,
    /// Revenue per visitor's lift, cumulative, day by day.
    pub days: Vec<Day>,
}

/// Regions beyond this many (by visitors) are counted as `other`.
const MAX_REGIONS: usize = 10;
/// Entry categories beyond this many are counted as `other`.
const MAX_CATEGORIES: usize = 10;
/// At most this many points in the day-by-day series.
const MAX_POINTS: i64 = 120;
const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// What one visitor counts for, from `start` (their entry) to `end`.
#[derive(Debug, Clone, Copy, Default)]
struct Values {
    converted: f64,
    carted: f64,
    revenue: f64,
    orders: f64,
    pre_converted: f64,
    pre_carted: f64,
    pre_revenue: f64,
    /// Two orders or more within the repeat window; `None` when the
    /// window's end comes before it closes.
    repeat: Option<f64>,
}

impl Values {
    fn of(outcomes: &[Outcome], start: i64, end: i64, repeat_secs: i64) -> Values {
        let mut v = Values::default();
        let mut repeat_orders = 0;
        for o in outcomes.iter().filter(|o| o.at() <= end) {
            let before = o.at() < start;
            match *o {
                Outcome::AddToCart { .. } if before => v.pre_carted = 1.0,
                Outcome::AddToCart { .. } => v.carted = 1.0,
                Outcome::Order { revenue, .. } if before => {
                    v.pre_converted = 1.0;
                    v.pre_revenue += revenue;
                }
                Outcome::Order { at, revenue } => {
                    v.converted = 1.0;
                    v.revenue += revenue;
                    v.orders += 1.0;
                    if at <= start + repeat_secs {
                        repeat_orders += 1;
                    }
                }
            }
        }
        if start + repeat_secs <= end {
            v.repeat = Some(f64::from(u8::from(repeat_orders >= 2)));
        }
        v
    }
}

/// The sums of one arm.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    conversion: Pairs,
    carts: Pairs,
    revenue: Pairs,
    /// Revenue and orders, of visitors with an order.
    order_value: Pairs,
    repeat: Moments,
}

impl Sums {
    fn push(&mut self, v: &Values) {
        self.conversion.push(v.converted, v.pre_converted);
        self.carts.push(v.carted, v.pre_carted);
        self.revenue.push(v.revenue, v.pre_revenue);
        if v.orders > 0.0 {
            self.order_value.push(v.revenue, v.orders);
        }
        if let Some(r) = v.repeat {
            self.repeat.push(r);
        }
    }

    fn visitors(&self) -> u64 {
        self.conversion.n as u64
    }
}

/// Treatment's and holdout's sums.
#[derive(Debug, Clone, Copy, Default)]
struct Both {
    treatment: Sums,
    holdout: Sums,
}

impl Both {
    fn push(&mut self, arm: Arm, v: &Values) {
        match arm {
            Arm::Treatment => self.treatment.push(v),
            Arm::Holdout => self.holdout.push(v),
        }
    }

    fn visitors(&self) -> Arms {
        Arms {
            treatment: self.treatment.visitors(),
            holdout: self.holdout.visitors(),
        }
    }

    fn conversion(&self) -> Option<Lift> {
        mean_lift(
            &self.treatment.conversion.first(),
            &self.holdout.conversion.first(),
        )
    }

    fn revenue(&self) -> Option<Lift> {
        mean_lift(
            &self.treatment.revenue.first(),
            &self.holdout.revenue.first(),
        )
    }
}

/// A visitor of one experiment: where they entered it, and who they are.
pub struct Member<'a> {
    /// The visitor.
    pub visitor: &'a Visitor,
    /// Their entry into this experiment.
    pub entry: Entry,
}

impl Comparison {
    /// The readout of one experiment over its `members`, whose holdout
    /// the rules set at `holdout_share`, up to `end`.
    pub fn of(
        module: &str,
        members: &[Member<'_>],
        holdout_share: f64,
        end: i64,
        analysis: &Analysis,
    ) -> Comparison {
        let repeat_secs = i64::from(analysis.repeat_days) * DAY;
        let values: Vec<(Arm, Values)> = members
            .iter()
            .map(|m| {
                let v = Values::of(&m.visitor.outcomes, m.entry.at, end, repeat_secs);
                (m.entry.arm, v)
            })
            .collect();
        let mut all = Both::default();
        for (arm, v) in &values {
            all.push(*arm, v);
        }
        let visitors = all.visitors();
        let srm = srm(
            &[visitors.treatment, visitors.holdout],
            &[1.0 - holdout_share, holdout_share],
        );
        let reliable = !srm.is_some_and(|s| s.mismatch);
        let metrics = metrics(&all, reliable, analysis);
        Comparison {
            module: module.to_owned(),
            visitors,
            holdout_share,
            srm,
            reliable,
            metrics,
            segments: segments(members, &values, &all),
            bundles: bundles(members, &values),
            days: days(members, end, repeat_secs, analysis),
        }
    }

    /// The metric named `name`.
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }
}

fn metrics(all: &Both, reliable: bool, analysis: &Analysis) -> Vec<Metric> {
    let (t, h) = (&all.treatment, &all.holdout);
    let metric = |name, counted: Arms, lift: Option<Lift>, cuped: Option<Cuped>| {
        // Each metric's own sample: orders for AOV, visitors whose
        // repeat window closed for repeat purchase.
        let n = (counted.treatment + counted.holdout) as f64;
        let always_valid = lift.map(|l| l.always_valid(n, analysis.planned_visitors));
        let decides = if analysis.fixed_horizon() {
            lift.map(|l| l.fixed())
        } else {
            always_valid
        };
        let mut note = None;
        if lift.is_none() {
            note = Some(format!(
                "no estimate: {} treatment and {} holdout counted, or nothing in the holdout",
                counted.treatment, counted.holdout
            ));
        } else if !reliable {
            note = Some("sample ratio mismatch: not to be trusted".to_owned());
        }
        Metric {
            name,
            counted,
            lift,
            always_valid,
            cuped,
            significant: reliable && decides.is_some_and(|i| i.excludes_zero()),
            note,
        }
    };
    let visitors = all.visitors();
    let mut out = vec![
        metric(
            "conversion",
            visitors,
            all.conversion(),
            cuped_lift(&t.conversion, &h.conversion),
        ),
        metric(
            "add_to_cart",
            visitors,
            mean_lift(&t.carts.first(), &h.carts.first()),
            cuped_lift(&t.carts, &h.carts),
        ),
        metric(
            "revenue_per_visitor",
            visitors,
            all.revenue(),
            cuped_lift(&t.revenue, &h.revenue),
        ),
        metric(
            "average_order_value",
            Arms {
                treatment: t.order_value.n as u64,
                holdout: h.order_value.n as u64,
            },
            ratio_lift(&t.order_value, &h.order_value),
            None,
        ),
    ];
    let counted = Arms {
        treatment: t.repeat.n as u64,
        holdout: h.repeat.n as u64,
    };
    let mut repeat = metric(
        "repeat_purchase",
        counted,
        mean_lift(&t.repeat, &h.repeat),
        None,
    );
    if counted.treatment + counted.holdout == 0 {
        repeat.note = Some(format!(
            "the window ends before any visitor's {} days after exposure are over",
            analysis.repeat_days
        ));
    }
    out.push(repeat);
    out
}

fn segments(members: &[Member<'_>], values: &[(Arm, Values)], all: &Both) -> Vec<SegmentLift> {
    type Key = fn(&Visitor) -> String;
    let dimensions: [(&'static str, Key, usize); 4] = [
        ("device", |v| v.segment.device.clone(), usize::MAX),
        ("region", |v| v.segment.region.clone(), MAX_REGIONS),
        ("visit", |v| v.segment.visit.to_owned(), usize::MAX),
        (
            "entry_category",
            |v| v.segment.entry.clone(),
            MAX_CATEGORIES,
        ),
    ];
    let mut out = Vec::new();
    for (dimension, key, keep) in dimensions {
        let keys: Vec<String> = members.iter().map(|m| key(m.visitor)).collect();
        let kept = largest(&keys, keep);
        let mut groups: BTreeMap<String, Both> = BTreeMap::new();
        for (k, (arm, v)) in keys.iter().zip(values) {
            let name = if kept.contains(k) {
                k.clone()
            } else {
                "other".to_owned()
            };
            groups.entry(name).or_default().push(*arm, v);
        }
        if groups.len() < 2 {
            continue;
        }
        for (value, both) in groups {
            let rest = all.without(&both);
            let conversion = both.conversion();
            let revenue = both.revenue();
            let p = |a: Option<Lift>, b: Option<Lift>| {
                a.zip(b).and_then(|(a, b)| difference_p_value(&a, &b))
            };
            let p_value = [p(conversion, rest.conversion()), p(revenue, rest.revenue())]
                .into_iter()
                .flatten()
                .reduce(f64::min);
            out.push(SegmentLift {
                dimension,
                value,
                visitors: both.visitors(),
                conversion,
                revenue_per_visitor: revenue,
                p_value,
                differs: false,
            });
        }
    }
    // Bonferroni over every test made: two metrics per segment.
    let tests = out.iter().filter(|s| s.p_value.is_some()).count() * 2;
    for s in &mut out {
        s.differs = s.p_value.is_some_and(|p| p < 0.05 / tests as f64);
    }
    out
}

/// The `keep` most frequent of `keys`.
fn largest(keys: &[String], keep: usize) -> Vec<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for k in keys {
        *counts.entry(k).or_default() += 1;
    }
    let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(keep)
        .map(|(k, _)| k.to_owned())
        .collect()
}

impl Both {
    /// These sums less a part of them.
    fn without(&self, part: &Both) -> Both {
        let less = |a: &Sums, b: &Sums| Sums {
            conversion: a.conversion.minus(&b.conversion),
            carts: a.carts.minus(&b.carts),
            revenue: a.revenue.minus(&b.revenue),
            order_value: a.order_value.minus(&b.order_value),
            repeat: a.repeat.minus(&b.repeat),
        };
        Both {
            treatment: less(&self.treatment, &part.treatment),
            holdout: less(&self.holdout, &part.holdout),
        }
    }
}

fn bundles(members: &[Member<'_>], values: &[(Arm, Values)]) -> Vec<BundleLift> {
    let mut groups: BTreeMap<u64, (Both, i64, i64)> = BTreeMap::new();
    for (m, (arm, v)) in members.iter().zip(values) {
        let g = groups
            .entry(m.entry.bundle)
            .or_insert((Both::default(), i64::MAX, i64::MIN));
        g.0.push(*arm, v);
        g.1 = g.1.min(m.entry.at);
        g.2 = g.2.max(m.entry.at);
    }
    groups
        .into_iter()
        .map(|(bundle, (both, first, last))| BundleLift {
            bundle,
            first_seen: iso(first),
            last_seen: iso(last),
            visitors: both.visitors(),
            conversion: both.conversion(),
            revenue_per_visitor: both.revenue(),
            releases: Vec::new(),
        })
        .collect()
}

fn days(members: &[Member<'_>], end: i64, repeat_secs: i64, analysis: &Analysis) -> Vec<Day> {
    let Some(start) = members.iter().map(|m| m.entry.at).min() else {
        return Vec::new();
    };
    // Days; hours while the experiment is younger than three days.
    let unit = if end.saturating_sub(start) < 3 * DAY {
        HOUR
    } else {
        DAY
    };
    let first = start.div_euclid(unit);
    let last = end.div_euclid(unit).max(first);
    let step = (last.saturating_sub(first).saturating_add(MAX_POINTS)) / MAX_POINTS;
    let mut out = Vec::new();
    let mut at = first;
    loop {
        let cut = at
            .saturating_add(1)
            .saturating_mul(unit)
            .saturating_sub(1)
            .min(end);
        let mut both = Both::default();
        for m in members.iter().filter(|m| m.entry.at <= cut) {
            both.push(
                m.entry.arm,
                &Values::of(&m.visitor.outcomes, m.entry.at, cut, repeat_secs),
            );
        }
        let visitors = both.visitors();
        let lift = both.revenue();
        let n = (visitors.treatment + visitors.holdout) as f64;
        out.push(Day {
            until: iso(cut),
            visitors,
            revenue_per_visitor: lift,
            always_valid: lift.map(|l| l.always_valid(n, analysis.planned_visitors)),
        });
        if at >= last {
            break;
        }
        at = at.saturating_add(step.max(1)).min(last);
    }
    out
}
