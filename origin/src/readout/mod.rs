//! The lift readout: what the holdout experiments say personalization
//! earns, from the pulled events (`firstpaint readout`).
//!
//! [`visitors`] folds the events per visitor, [`comparison`] reads out
//! each experiment (every module's, and overall: the global holdout
//! against everyone else), [`fairness`] audits whom it shows what,
//! [`stats`] holds the estimates and [`html`] draws the report.

pub mod comparison;
pub mod fairness;
pub mod html;
pub mod stats;
pub mod visitors;

use std::collections::HashMap;

use firstpaint_contracts::{Event, Product};
use firstpaint_engine::experiments::{self, Arm, ExperimentsSection};
use serde::Serialize;

use comparison::{Comparison, Member};
use fairness::Fairness;
use visitors::{Visitors, Window, GLOBAL};

/// How the readout decides, and over what.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// `fixed_horizon` or `sequential`.
    pub mode: &'static str,
    /// Why, in a sentence.
    pub why: String,
    /// The planned length, days, if one was given.
    pub horizon_days: Option<u32>,
    /// Days from the first exposure to the window's end.
    pub days_run: f64,
    /// Visitors the always-valid intervals are tuned for (narrowest there).
    pub planned_visitors: f64,
    /// Days after exposure in which a second order is a repeat purchase.
    pub repeat_days: u32,
}

impl Analysis {
    /// Whether the fixed-horizon intervals decide.
    pub fn fixed_horizon(&self) -> bool {
        self.mode == "fixed_horizon"
    }
}

/// What the readout is asked.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Exposures from `from` on (unix seconds; default: all).
    pub from: Option<i64>,
    /// Up to `to` (default: the last event), and never past `now` (a
    /// browser's clock may run ahead; a window not over yet is not).
    pub to: Option<i64>,
    /// The time the readout is made, unix seconds.
    pub now: i64,
    /// The planned length of the experiment, days: reached, the
    /// fixed-horizon intervals decide; before it, the always-valid ones.
    pub horizon_days: Option<u32>,
    /// Visitors the always-valid intervals are tuned for.
    pub planned_visitors: f64,
    /// Days after exposure in which a second order is a repeat purchase.
    pub repeat_days: u32,
}

/// A line of the publish log, as the readout links it to a bundle
/// version's results.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseNote {
    /// The bundle version it served (as current or as the canary).
    pub bundle: u64,
    /// What, when, who and why, in a line.
    pub note: String,
}

/// The whole readout, as `--json` prints it and the report draws it.
#[derive(Debug, Clone, Serialize)]
pub struct Readout {
    /// Exposures from (RFC 3339).
    pub from: String,
    /// Up to (RFC 3339).
    pub to: String,
    /// How it decides.
    pub analysis: Analysis,
    /// Visitors exposed in the window.
    pub visitors: u64,
    /// Events that could not be joined to a visitor (no analytics
    /// consent, or no profile).
    pub anonymous_events: u64,
    /// Outcomes of visitors never exposed in the window.
    pub unexposed_events: u64,
    /// Visitors first exposed before the window, left out.
    pub entered_before: u64,
    /// Order events merged into an earlier one of the same order id, and
    /// cancelled orders: not counted.
    pub orders_merged: u64,
    /// Order events whose order id another visitor's order had: left out.
    pub order_collisions: u64,
    /// Exposures with an arm the readout does not know.
    pub unknown_arms: u64,
    /// Visitors shown two arms of one module (a salt changed within the
    /// window): left out of that module.
    pub conflicted_visitors: u64,
    /// The global holdout against everyone else.
    pub overall: Comparison,
    /// Each module's holdout against its treatment, among visitors not in
    /// the global holdout.
    pub modules: Vec<Comparison>,
    /// The fairness audit.
    pub fairness: Fairness,
}

/// The readout of `events` under the holdout shares of `rules`;
/// `catalog` (may be empty) names brands and product pages' categories;
/// `releases` (may be empty) link bundle versions to the publish log.
pub fn readout(
    events: &[Event],
    rules: &ExperimentsSection,
    catalog: &[Product],
    releases: &[ReleaseNote],
    options: &Options,
) -> Readout {
    let last = events
        .iter()
        .map(|e| e.ts.unix_timestamp())
        .max()
        .unwrap_or(0);
    let window = Window {
        from: options.from.unwrap_or(i64::MIN),
        to: options.to.unwrap_or(last).min(options.now),
    };
    let by_id: HashMap<&str, &Product> = catalog.iter().map(|p| (p.id.as_str(), p)).collect();
    let visitors = Visitors::fold(events, window, &by_id);
    let start = visitors.span.map_or(window.to, |(first, _)| first);
    let analysis = analysis(options, start, window.to);

    let overall_members: Vec<Member<'_>> = visitors
        .by_id
        .values()
        .filter(|v| !v.conflicted.contains(GLOBAL))
        .map(|visitor| Member {
            visitor,
            entry: visitor.first,
        })
        .collect();
    let share = |bp: u16| f64::from(bp) / 10_000.0;
    let mut overall = Comparison::of(
        "overall",
        &overall_members,
        share(rules.global_bp),
        window.to,
        &analysis,
    );
    let mut names: Vec<&str> = experiments::modules().collect();
    for v in visitors.by_id.values() {
        for m in v.modules.keys() {
            if !names.contains(&m.as_str()) {
                names.push(m);
            }
        }
    }
    let mut modules: Vec<Comparison> = names
        .into_iter()
        .filter_map(|module| {
            let members: Vec<Member<'_>> = visitors
                .by_id
                .values()
                .filter(|v| v.first.arm == Arm::Treatment && !v.conflicted.contains(GLOBAL))
                .filter(|v| !v.conflicted.contains(module))
                .filter_map(|visitor| {
                    visitor.modules.get(module).map(|entry| Member {
                        visitor,
                        entry: *entry,
                    })
                })
                .collect();
            (!members.is_empty()).then(|| {
                Comparison::of(
                    module,
                    &members,
                    share(rules.share_bp(module)),
                    window.to,
                    &analysis,
                )
            })
        })
        .collect();
    for c in std::iter::once(&mut overall).chain(&mut modules) {
        for b in &mut c.bundles {
            b.releases = releases
                .iter()
                .filter(|r| r.bundle == b.bundle)
                .map(|r| r.note.clone())
                .collect();
        }
    }
    let fairness = fairness::audit(events, window, &visitors, catalog, rules, &overall);
    Readout {
        from: iso(start),
        to: iso(window.to),
        analysis,
        visitors: visitors.by_id.len() as u64,
        anonymous_events: visitors.anonymous_events,
        unexposed_events: visitors.unexposed_events,
        entered_before: visitors.entered_before,
        orders_merged: visitors.orders_merged,
        order_collisions: visitors.order_collisions,
        unknown_arms: visitors.unknown_arms,
        conflicted_visitors: visitors
            .by_id
            .values()
            .filter(|v| !v.conflicted.is_empty())
            .count() as u64,
        overall,
        modules,
        fairness,
    }
}

fn analysis(options: &Options, start: i64, end: i64) -> Analysis {
    let days_run = (end - start).max(0) as f64 / 86_400.0;
    let (mode, why) = match options.horizon_days {
        Some(h) if days_run >= f64::from(h) => (
            "fixed_horizon",
            format!(
                "The planned horizon of {h} days is reached ({days_run:.1} days run): this is the one look the fixed-horizon 95% intervals allow, and they decide. Looking again later with them raises the false positive rate."
            ),
        ),
        Some(h) => (
            "sequential",
            format!(
                "An interim look ({days_run:.1} of {h} planned days): the always-valid 95% intervals decide, so stopping now on what they show keeps the false positive rate at 5%; the fixed-horizon intervals are shown for reference and hold only at day {h}."
            ),
        ),
        None => (
            "sequential",
            "No planned horizon was given (--horizon-days): the always-valid 95% intervals (a confidence sequence) decide, so the readout may be looked at every day and stopped at any look without raising the false positive rate; the fixed-horizon intervals are shown for reference."
                .to_owned(),
        ),
    };
    Analysis {
        mode,
        why,
        horizon_days: options.horizon_days,
        days_run,
        planned_visitors: options.planned_visitors,
        repeat_days: options.repeat_days,
    }
}

/// Unix seconds as RFC 3339 (UTC), for people (the readout, the
/// publish log).
pub fn iso(at: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| at.to_string())
}
