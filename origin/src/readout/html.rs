//! The readout as one self-contained HTML page with inline SVG plots (no
//! script, no outside request): lift with its intervals per module,
//! the cumulative lift day by day, and exposure shares by brand; then
//! every figure of the JSON in tables. Every name from the data is
//! escaped.

use std::fmt::Write;

use super::comparison::{Arms, Comparison, Metric};
use super::fairness::Share;
use super::stats::{Interval, Lift};
use super::Readout;

const WIDTH: f64 = 720.0;
const LABEL: f64 = 170.0;
const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#1d2330}\
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{padding:.25rem .6rem;border-bottom:1px solid #dde;text-align:right}\
td:first-child,th:first-child{text-align:left}.bad{color:#b3261e;font-weight:600}.good{color:#1b6e3a;font-weight:600}\
.note{color:#555}svg{display:block;margin:.5rem 0 1.5rem}svg text{font:12px system-ui,sans-serif}";

/// The report page.
pub fn report(r: &Readout) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>firstpaint lift readout</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        h,
        "<h1>What personalization earns</h1><p>Exposures from {} to {}: <b>{}</b> visitors in the experiments.</p>",
        esc(&r.from),
        esc(&r.to),
        r.visitors
    );
    let _ = write!(
        h,
        "<h2>How to read it: {}</h2><p id=\"analysis\">{}</p>",
        if r.analysis.fixed_horizon() {
            "fixed horizon"
        } else {
            "sequential (always valid)"
        },
        esc(&r.analysis.why)
    );
    let comparisons: Vec<&Comparison> = std::iter::once(&r.overall).chain(&r.modules).collect();
    summary(&mut h, &comparisons, r.analysis.fixed_horizon());
    h.push_str("<h2>Revenue per visitor: relative lift with its intervals</h2>");
    h.push_str(
        "<p class=\"note\">Thick: fixed-horizon 95% interval. Thin: always-valid 95% interval.</p>",
    );
    forest(&mut h, &comparisons);
    h.push_str("<h2>Cumulative lift, day by day (overall)</h2>");
    h.push_str("<p class=\"note\">Revenue per visitor, relative; the band is the always-valid 95% interval.</p>");
    cumulative(&mut h, &r.overall);
    for c in &comparisons {
        detail(&mut h, c);
    }
    fairness(&mut h, r);
    let _ = write!(
        h,
        "<h2>What was left out</h2><ul><li>{} events without a visitor (no analytics consent or no profile)</li><li>{} outcomes of visitors never exposed in the window</li><li>{} exposures with an unknown arm</li><li>{} visitors shown two arms of one module, left out of it</li><li>{} visitors first exposed before the window</li><li>{} order events that repeated an order (a later state of it) or cancelled it</li><li>{} order events whose order id another visitor's order had</li></ul>",
        r.anonymous_events,
        r.unexposed_events,
        r.unknown_arms,
        r.conflicted_visitors,
        r.entered_before,
        r.orders_merged,
        r.order_collisions
    );
    h.push_str("</body></html>\n");
    h
}

fn summary(h: &mut String, comparisons: &[&Comparison], fixed: bool) {
    let _ = write!(
        h,
        "<h2>Summary</h2><p class=\"note\">Relative lifts with their {} 95% intervals, the ones that decide; marked where they leave out 0.</p><table id=\"summary\"><tr><th>experiment</th><th>treatment</th><th>holdout</th><th>sample ratio</th><th>conversion</th><th>revenue per visitor</th></tr>",
        if fixed { "fixed-horizon" } else { "always-valid" }
    );
    for c in comparisons {
        let srm = match c.srm {
            Some(s) if s.mismatch => {
                format!("<span class=\"bad\">mismatch, p = {:.1e}</span>", s.p_value)
            }
            Some(s) => format!("ok, p = {:.2}", s.p_value),
            None => "n/a".to_owned(),
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{srm}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.module),
            c.visitors.treatment,
            c.visitors.holdout,
            verdict(c.metric("conversion"), fixed),
            verdict(c.metric("revenue_per_visitor"), fixed),
        );
    }
    h.push_str("</table>");
}

/// `+3.1% [−0.4%, +6.6%]` with the fixed-horizon interval or the
/// always-valid one, marked when significant.
fn verdict(metric: Option<&Metric>, fixed: bool) -> String {
    let Some(m) = metric else {
        return "n/a".to_owned();
    };
    let Some(lift) = m.lift else {
        return "n/a".to_owned();
    };
    let interval = match m.always_valid {
        Some(a) if !fixed => a.relative,
        _ => lift.relative_ci,
    };
    let text = format!("{} {}", pct(lift.relative), range(interval));
    if m.significant {
        let class = if lift.absolute > 0.0 { "good" } else { "bad" };
        format!("<span class=\"{class}\">{text}</span>")
    } else {
        text
    }
}

fn detail(h: &mut String, c: &Comparison) {
    let _ = write!(
        h,
        "<h2>{}</h2><p>{} in treatment, {} in the holdout (the rules hold out {:.1}%).{}</p>",
        esc(&c.module),
        c.visitors.treatment,
        c.visitors.holdout,
        100.0 * c.holdout_share,
        if c.reliable {
            ""
        } else {
            " <span class=\"bad\">The sample ratio is off: these figures are not to be trusted.</span>"
        }
    );
    h.push_str("<table><tr><th>metric</th><th>holdout</th><th>treatment</th><th>absolute lift [95%]</th><th>relative lift [95%]</th><th>always valid [95%]</th><th>CUPED</th></tr>");
    for m in &c.metrics {
        let cuped = m.cuped.map_or_else(
            || "no pre-period".to_owned(),
            |cu| {
                format!(
                    "{} {}, interval {:.0}% narrower",
                    pct(cu.lift.relative),
                    range(cu.lift.relative_ci),
                    100.0 * (1.0 - (1.0 - cu.variance_reduction).max(0.0).sqrt())
                )
            },
        );
        match m.lift {
            Some(l) => {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:+.4} [{:+.4}, {:+.4}]</td><td>{}</td><td>{}</td><td>{cuped}</td></tr>",
                    m.name,
                    num(l.control),
                    num(l.treatment),
                    l.absolute,
                    l.absolute_ci.0,
                    l.absolute_ci.1,
                    verdict(Some(m), true),
                    m.always_valid.map_or_else(String::new, |i| range(i.relative)),
                );
            }
            None => {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td colspan=\"6\" class=\"note\">{}</td></tr>",
                    m.name,
                    esc(m.note.as_deref().unwrap_or(""))
                );
            }
        }
    }
    h.push_str("</table>");
    if !c.segments.is_empty() {
        h.push_str("<h3>By segment</h3><table><tr><th>segment</th><th>treatment</th><th>holdout</th><th>conversion</th><th>revenue per visitor</th><th>differs from the rest</th></tr>");
        for s in &c.segments {
            let differs = match (s.differs, s.p_value) {
                (true, Some(p)) => format!("<span class=\"bad\">yes, p = {}</span>", p_text(p)),
                (false, Some(p)) => format!("no, p = {}", p_text(p)),
                _ => "n/a".to_owned(),
            };
            row(
                h,
                format!("{} = {}", s.dimension, esc(&s.value)),
                s.visitors,
                [s.conversion, s.revenue_per_visitor],
                &differs,
            );
        }
        h.push_str("</table>");
    }
    h.push_str("<h3>By bundle version</h3><table><tr><th>bundle</th><th>first entry</th><th>last entry</th><th>treatment</th><th>holdout</th><th>conversion</th><th>revenue per visitor</th><th>releases</th></tr>");
    for b in &c.bundles {
        row(
            h,
            format!(
                "{}</td><td>{}</td><td>{}",
                b.bundle,
                esc(&b.first_seen),
                esc(&b.last_seen)
            ),
            b.visitors,
            [b.conversion, b.revenue_per_visitor],
            &b.releases
                .iter()
                .map(|r| esc(r))
                .collect::<Vec<_>>()
                .join("<br>"),
        );
    }
    h.push_str("</table>");
}

fn fairness(h: &mut String, r: &Readout) {
    let f = &r.fairness;
    let _ = write!(
        h,
        "<h2>Fairness audit</h2><p class=\"note\">{}</p><ul id=\"findings\">",
        esc(&f.rule)
    );
    for finding in &f.findings {
        let _ = write!(h, "<li>{}</li>", esc(finding));
    }
    h.push_str("</ul>");
    if !f.brands.is_empty() {
        h.push_str("<h3>Exposure shares by brand</h3><p class=\"note\">Grey: the catalog. Light: the holdout (the rules). Dark: personalization.</p>");
        shares_plot(h, &f.brands);
        shares_table(h, "brand", &f.brands);
    }
    for (dimension, shares) in &f.segments {
        let _ = write!(h, "<h3>Exposure shares by {}</h3>", esc(dimension));
        shares_table(h, dimension, shares);
    }
}

fn shares_table(h: &mut String, what: &str, shares: &[Share]) {
    let _ =
        write!(
        h,
        "<table><tr><th>{}</th><th>{}</th><th>holdout</th><th>treatment</th><th>ratio [95%]</th></tr>",
        esc(what),
        if shares.iter().any(|s| s.catalog.is_some()) { "catalog" } else { "visitors" }
    );
    for s in shares {
        let ratio = s.ratio.map_or_else(
            || {
                if s.p_value.is_none() {
                    "too few".to_owned()
                } else if s.flagged {
                    "<span class=\"bad\">never under the rules</span>".to_owned()
                } else {
                    "never under the rules".to_owned()
                }
            },
            |x| {
                let interval = s
                    .ratio_ci
                    .map_or_else(String::new, |(lo, hi)| format!(" [{lo:.2}, {hi:.2}]"));
                if s.flagged {
                    format!("<span class=\"bad\">{x:.2}x{interval}</span>")
                } else {
                    format!("{x:.2}x{interval}")
                }
            },
        );
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{:.1}%</td><td>{:.1}%</td><td>{ratio}</td></tr>",
            esc(&s.name),
            s.catalog
                .or(s.traffic)
                .map_or_else(String::new, |b| format!("{:.1}%", 100.0 * b)),
            100.0 * s.holdout,
            100.0 * s.treatment,
        );
    }
    h.push_str("</table>");
}

/// One row per experiment: the relative lift of revenue per visitor,
/// its fixed interval thick, its always-valid one thin.
fn forest(h: &mut String, comparisons: &[&Comparison]) {
    let rows: Vec<(&str, Lift, Option<Interval>)> = comparisons
        .iter()
        .filter_map(|c| {
            let m = c.metric("revenue_per_visitor")?;
            Some((c.module.as_str(), m.lift?, m.always_valid))
        })
        .collect();
    let row = 30.0;
    let height = row * rows.len() as f64 + 40.0;
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for (_, l, a) in &rows {
        let outer = a.map_or(l.relative_ci, |a| a.relative);
        lo = lo.min(outer.0);
        hi = hi.max(outer.1);
    }
    let axis = Axis::new(lo, hi, LABEL, WIDTH - 20.0);
    let _ = write!(
        h,
        "<svg id=\"lift-by-module\" role=\"img\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\"><title>Relative lift of revenue per visitor per experiment</title>"
    );
    axis.draw(h, height - 20.0);
    for (i, (name, l, always)) in rows.iter().enumerate() {
        let y = 20.0 + row * i as f64;
        let _ = write!(h, "<text x=\"4\" y=\"{:.1}\">{}</text>", y + 4.0, esc(name));
        if let Some(a) = always {
            let _ = write!(
                h,
                "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#8a94a6\" stroke-width=\"1.5\"/>",
                axis.x(a.relative.0),
                axis.x(a.relative.1)
            );
        }
        let _ = write!(
            h,
            "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#2450a6\" stroke-width=\"5\"/><circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"4.5\" fill=\"#0c1d40\"/>",
            axis.x(l.relative_ci.0),
            axis.x(l.relative_ci.1),
            axis.x(l.relative)
        );
    }
    h.push_str("</svg>");
}

/// The cumulative relative lift of revenue per visitor, with the
/// always-valid band.
fn cumulative(h: &mut String, c: &Comparison) {
    let points: Vec<(usize, Lift, Interval)> = c
        .days
        .iter()
        .enumerate()
        .filter_map(|(i, d)| Some((i, d.revenue_per_visitor?, d.always_valid?)))
        .collect();
    let height = 240.0;
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for (_, _, a) in &points {
        lo = lo.min(a.relative.0);
        hi = hi.max(a.relative.1);
    }
    let (top, bottom) = (10.0, height - 40.0);
    let y = |v: f64| bottom - (v - lo) / (hi - lo).max(1e-9) * (bottom - top);
    let days = c.days.len().max(2) - 1;
    let x = |i: usize| 60.0 + i as f64 / days as f64 * (WIDTH - 80.0);
    let _ = write!(
        h,
        "<svg id=\"cumulative-lift\" role=\"img\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\"><title>Cumulative relative lift of revenue per visitor, day by day</title>"
    );
    if points.is_empty() {
        h.push_str(
            "<text x=\"60\" y=\"100\">Not enough visitors yet for an estimate.</text></svg>",
        );
        return;
    }
    let band: Vec<String> = points
        .iter()
        .map(|(i, _, a)| format!("{:.1},{:.1}", x(*i), y(a.relative.1)))
        .chain(
            points
                .iter()
                .rev()
                .map(|(i, _, a)| format!("{:.1},{:.1}", x(*i), y(a.relative.0))),
        )
        .collect();
    let line: Vec<String> = points
        .iter()
        .map(|(i, l, _)| format!("{:.1},{:.1}", x(*i), y(l.relative)))
        .collect();
    let _ = write!(
        h,
        "<polygon points=\"{}\" fill=\"#c9d6f0\"/><line x1=\"60\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#555\" stroke-dasharray=\"4 3\"/><polyline points=\"{}\" fill=\"none\" stroke=\"#0c1d40\" stroke-width=\"2\"/>",
        band.join(" "),
        WIDTH - 20.0,
        y(0.0),
        y(0.0),
        line.join(" ")
    );
    // The latest look, with its interval (the only mark of a one-point series).
    if let Some((i, l, a)) = points.last() {
        let _ = write!(
            h,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"#2450a6\" stroke-width=\"3\"/><circle cx=\"{0:.1}\" cy=\"{3:.1}\" r=\"4.5\" fill=\"#0c1d40\"/>",
            x(*i),
            y(a.relative.0),
            y(a.relative.1),
            y(l.relative)
        );
    }
    let _ = write!(
        h,
        "<text x=\"4\" y=\"{:.1}\">{}</text><text x=\"4\" y=\"{:.1}\">{}</text><text x=\"4\" y=\"{:.1}\">0%</text>",
        top + 8.0,
        pct(hi),
        bottom,
        pct(lo),
        y(0.0) + 4.0
    );
    if let (Some(first), Some(last)) = (c.days.first(), c.days.last()) {
        let _ = write!(
            h,
            "<text x=\"60\" y=\"{:.1}\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            height - 12.0,
            esc(minute(&first.until)),
            WIDTH - 20.0,
            height - 12.0,
            esc(minute(&last.until))
        );
    }
    h.push_str("</svg>");
}

/// Grouped bars of each brand's share: catalog, holdout, treatment.
fn shares_plot(h: &mut String, shares: &[Share]) {
    let group = 36.0;
    let height = group * shares.len() as f64 + 20.0;
    let max = shares
        .iter()
        .flat_map(|s| [s.catalog.unwrap_or(0.0), s.holdout, s.treatment])
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let w = |v: f64| v / max * (WIDTH - LABEL - 70.0);
    let _ = write!(
        h,
        "<svg id=\"exposure-shares\" role=\"img\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\"><title>Exposure shares by brand</title>"
    );
    for (i, s) in shares.iter().enumerate() {
        let y = 10.0 + group * i as f64;
        let _ = write!(
            h,
            "<text x=\"4\" y=\"{:.1}\">{}</text>",
            y + 16.0,
            esc(&s.name)
        );
        for (j, (v, fill)) in [
            (s.catalog.unwrap_or(0.0), "#c4c8d0"),
            (s.holdout, "#8fb0e8"),
            (s.treatment, "#2450a6"),
        ]
        .into_iter()
        .enumerate()
        {
            let _ = write!(
                h,
                "<rect x=\"{LABEL}\" y=\"{:.1}\" width=\"{:.1}\" height=\"9\" fill=\"{fill}\"/>",
                y + 10.0 * j as f64,
                w(v)
            );
        }
        let _ = write!(
            h,
            "<text x=\"{:.1}\" y=\"{:.1}\">{:.1}%</text>",
            LABEL + w(s.treatment) + 6.0,
            y + 28.0,
            100.0 * s.treatment
        );
    }
    h.push_str("</svg>");
}

/// A horizontal value axis from `lo` to `hi` (widened to hold 0).
struct Axis {
    lo: f64,
    hi: f64,
    left: f64,
    right: f64,
}

impl Axis {
    fn new(lo: f64, hi: f64, left: f64, right: f64) -> Axis {
        let pad = ((hi - lo) * 0.05).max(1e-6);
        Axis {
            lo: lo - pad,
            hi: hi + pad,
            left,
            right,
        }
    }

    fn x(&self, v: f64) -> f64 {
        self.left + (v - self.lo) / (self.hi - self.lo) * (self.right - self.left)
    }

    /// The zero line and the ends' labels, the labels at `y`.
    fn draw(&self, h: &mut String, y: f64) {
        let _ = write!(
            h,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"5\" y2=\"{1:.1}\" stroke=\"#555\" stroke-dasharray=\"4 3\"/><text x=\"{0:.1}\" y=\"{2:.1}\" text-anchor=\"middle\">0%</text><text x=\"{3:.1}\" y=\"{2:.1}\">{4}</text><text x=\"{5:.1}\" y=\"{2:.1}\" text-anchor=\"end\">{6}</text>",
            self.x(0.0),
            y - 6.0,
            y + 12.0,
            self.left,
            pct(self.lo),
            self.right,
            pct(self.hi)
        );
    }
}

/// A table row: `head` (already escaped cells), the visitors per arm,
/// conversion's and revenue per visitor's lifts, then `tail` (markup).
fn row(h: &mut String, head: String, visitors: Arms, lifts: [Option<Lift>; 2], tail: &str) {
    let [conversion, revenue] = lifts;
    let _ = write!(
        h,
        "<tr><td>{head}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{tail}</td></tr>",
        visitors.treatment,
        visitors.holdout,
        lift_text(conversion),
        lift_text(revenue),
    );
}

/// `2026-12-01T10:59` of an RFC 3339 time.
fn minute(time: &str) -> &str {
    time.get(..16).unwrap_or(time)
}

/// A p-value for people: three decimals, or scientific when smaller.
fn p_text(p: f64) -> String {
    if p >= 0.001 {
        format!("{p:.3}")
    } else {
        format!("{p:.1e}")
    }
}

fn lift_text(lift: Option<Lift>) -> String {
    lift.map_or_else(
        || "n/a".to_owned(),
        |l| format!("{} {}", pct(l.relative), range(l.relative_ci)),
    )
}

fn pct(x: f64) -> String {
    format!("{:+.1}%", 100.0 * x)
}

fn range((lo, hi): (f64, f64)) -> String {
    format!("[{}, {}]", pct(lo), pct(hi))
}

fn num(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.4}")
    }
}

/// `text` safe between tags and in quoted attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    firstpaint_engine::escape_into(text, &mut out);
    out
}
