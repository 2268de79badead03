//! The readout over seeded synthetic experiments, with shoppers assigned
//! by the edge's own hash: a planted lift is recovered within its
//! intervals (per module and overall), a module without one shows none,
//! a broken assignment is caught by the sample-ratio check, CUPED uses
//! the pre-period, a segment with its own effect is told apart, a brand
//! personalization favours is named in the fairness audit, and the
//! report escapes what the events carry.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::path::Path;

use firstpaint_contracts::{Consent, Event, EventKind, OrderLine, Product};
use firstpaint_engine::experiments::{Arm, Assignment, ExperimentsSection};
use firstpaint_origin::readout::{html, readout, Options, Readout, ReleaseNote};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Midnight UTC, 2026-09-21.
const START: i64 = 1_789_948_800;
const DAY: i64 = 86_400;

/// What a synthetic experiment plants.
struct World {
    visitors: usize,
    /// Conversion without personalization.
    base: f64,
    /// The relative lift in conversion of being in treatment of `home`,
    /// for a visitor on `device` (any device when `None`).
    home_lift: f64,
    lift_device: Option<&'static str>,
    /// Left out: this share of `home`'s holdout loses its exposures.
    lost_holdout: f64,
    /// Treatment shows the first brand's products first.
    favour_brand: bool,
    /// `similar` (in both arms alike) shows only the first brand, and
    /// holds out this share in basis points (the others 20%).
    brand_in_similar: Option<u16>,
}

impl Default for World {
    fn default() -> Self {
        World {
            visitors: 20_000,
            base: 0.05,
            home_lift: 0.5,
            lift_device: None,
            lost_holdout: 0.0,
            favour_brand: false,
            brand_in_similar: None,
        }
    }
}

fn section() -> ExperimentsSection {
    section_for(&World::default())
}

fn section_for(world: &World) -> ExperimentsSection {
    ExperimentsSection {
        holdout_bp: 2_000,
        global_bp: 2_000,
        modules: world
            .brand_in_similar
            .map(|bp| vec![("similar".to_owned(), bp)])
            .unwrap_or_default(),
        salt: "readout-test".into(),
    }
}

fn event(visitor: &str, at: i64, region: &str, kind: EventKind) -> Event {
    Event {
        id: None,
        visitor: Some(visitor.to_owned()),
        session: format!("s-{visitor}"),
        user: None,
        ts: time::OffsetDateTime::from_unix_timestamp(at).unwrap(),
        consent: Consent {
            personalization: true,
            analytics: true,
        },
        region: region.to_owned(),
        kind,
    }
}

fn catalog() -> Vec<Product> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/catalog.ndjson");
    let text = std::fs::read_to_string(&path).unwrap();
    firstpaint_origin::inputs::check_catalog("catalog.ndjson", &text).unwrap()
}

/// The events of `world`, seeded.
fn events(world: &World, seed: u64, products: &[Product]) -> Vec<Event> {
    let mut rng = StdRng::seed_from_u64(seed);
    let section = section_for(world);
    let favoured = products[0].brand.clone();
    let (mine, others): (Vec<&Product>, Vec<&Product>) =
        products.iter().partition(|p| p.brand == favoured);
    let mut out = Vec::new();
    for i in 0..world.visitors {
        let id = format!("{i:032x}");
        let visitor = format!("v{i}");
        let arms = Assignment::of(&id, &section);
        let day = (i % 14) as i64;
        let at = START + day * DAY + (i % 3_600) as i64;
        let device = ["mobile", "desktop", "tablet"][i % 3];
        let region = ["DE", "GB", "US"][(i / 3) % 3];
        // A visitor's spending level shows before and after.
        let level: f64 = 20.0 + 80.0 * rng.gen::<f64>();
        if rng.gen_bool(0.3) {
            let value = level + 10.0 * rng.gen::<f64>();
            out.push(order(&visitor, at - 10 * DAY, region, value));
        }
        let mut lift = 0.0;
        for module in ["home", "similar"] {
            let arm = arms.arm(module);
            let lost = module == "home" && arm == Arm::Holdout && arms.global == Arm::Treatment;
            if lost && rng.gen_bool(world.lost_holdout) {
                continue;
            }
            let in_similar = world.brand_in_similar.is_some() && module == "similar";
            let pool = if in_similar
                || (world.favour_brand && arm == Arm::Treatment && rng.gen_bool(0.5))
            {
                &mine
            } else {
                &others
            };
            let items = (0..4)
                .map(|_| pool[rng.gen_range(0..pool.len())].id.clone())
                .collect();
            out.push(event(
                &visitor,
                at,
                region,
                EventKind::Exposure {
                    module: module.into(),
                    arm: arm.as_str().into(),
                    global_holdout: arms.global == Arm::Holdout,
                    bundle: if day < 7 { 7 } else { 8 },
                    items,
                    page: "home".into(),
                    device: device.into(),
                    new_visitor: i % 2 == 0,
                },
            ));
            let applies = world.lift_device.is_none_or(|d| d == device);
            if module == "home" && arm == Arm::Treatment && applies {
                lift += world.home_lift;
            }
        }
        if rng.gen_bool((world.base * (1.0 + lift)).min(1.0)) {
            let kind = EventKind::AddToCart {
                product: products[0].id.clone(),
                qty: 1,
                price: level,
                discount: 0.0,
            };
            out.push(event(&visitor, at + 60, region, kind));
            out.push(order(&visitor, at + 120, region, level));
        }
    }
    out
}

fn order(visitor: &str, at: i64, region: &str, value: f64) -> Event {
    let kind = EventKind::Order {
        order: format!("o-{visitor}-{at}"),
        items: vec![OrderLine {
            product: "SKU-00001".into(),
            qty: 1,
            price: value,
            discount: 0.0,
        }],
        fulfilment: None,
        returned: false,
    };
    event(visitor, at, region, kind)
}

fn options() -> Options {
    Options {
        from: None,
        to: None,
        now: i64::MAX,
        horizon_days: None,
        planned_visitors: 10_000.0,
        repeat_days: 60,
    }
}

fn read(world: &World, seed: u64) -> Readout {
    let products = catalog();
    let releases = [ReleaseNote {
        bundle: 8,
        note: "#2 publish by ana: the autumn catalog".into(),
    }];
    readout(
        &events(world, seed, &products),
        &section_for(world),
        &products,
        &releases,
        &options(),
    )
}

fn covers(ci: (f64, f64), truth: f64) -> bool {
    ci.0 <= truth && truth <= ci.1
}

#[test]
fn a_planted_lift_is_recovered_per_module_and_overall() {
    let r = read(&World::default(), 1);
    let home = r.modules.iter().find(|c| c.module == "home").unwrap();
    let similar = r.modules.iter().find(|c| c.module == "similar").unwrap();
    for c in [&r.overall, home, similar] {
        assert!(c.reliable, "{}: {:?}", c.module, c.srm);
    }
    // Among visitors outside the global holdout, home's treatment converts
    // 50% more; revenue per visitor follows (order values do not change).
    for name in ["conversion", "revenue_per_visitor"] {
        let m = home.metric(name).unwrap();
        let lift = m.lift.unwrap();
        assert!(covers(lift.relative_ci, 0.5), "home {name}: {lift:?}");
        assert!(m.significant, "home {name} is seen: {m:?}");
        let none = similar.metric(name).unwrap();
        assert!(covers(none.lift.unwrap().relative_ci, 0.0), "{none:?}");
        assert!(!none.significant);
    }
    // Overall, 80% of the treatment has home's treatment: 0.5 x 0.8.
    let overall = r.overall.metric("conversion").unwrap().lift.unwrap();
    assert!(covers(overall.relative_ci, 0.4), "{overall:?}");
    // The always-valid interval is the wider.
    let m = home.metric("conversion").unwrap();
    let (fixed, always) = (
        m.lift.unwrap().relative_ci,
        m.always_valid.unwrap().relative,
    );
    assert!(always.0 < fixed.0 && always.1 > fixed.1);
    assert_eq!(r.analysis.mode, "sequential");
    // Order values are not moved.
    let aov = home.metric("average_order_value").unwrap().lift.unwrap();
    assert!(covers(aov.relative_ci, 0.0), "{aov:?}");
    // Two bundle versions, a week each; fourteen days, the last the whole.
    let bundles: Vec<u64> = home.bundles.iter().map(|b| b.bundle).collect();
    assert_eq!(bundles, [7, 8]);
    assert!(home.bundles[0].releases.is_empty());
    assert_eq!(
        home.bundles[1].releases,
        ["#2 publish by ana: the autumn catalog"]
    );
    assert_eq!(r.overall.days.len(), 14);
    let last = r.overall.days.last().unwrap();
    assert_eq!(last.visitors, r.overall.visitors);
    let rpv = r
        .overall
        .metric("revenue_per_visitor")
        .unwrap()
        .lift
        .unwrap();
    assert!((last.revenue_per_visitor.unwrap().relative - rpv.relative).abs() < 1e-9);
    // The window is two weeks: no repeat purchase can be read yet.
    let repeat = home.metric("repeat_purchase").unwrap();
    assert!(repeat.lift.is_none() && repeat.note.as_deref().unwrap().contains("60 days"));
}

#[test]
fn cuped_uses_the_pre_period_and_narrows_the_interval() {
    let r = read(&World::default(), 2);
    let home = r.modules.iter().find(|c| c.module == "home").unwrap();
    let m = home.metric("revenue_per_visitor").unwrap();
    let cuped = m.cuped.unwrap();
    assert!(cuped.variance_reduction > 0.0, "{cuped:?}");
    assert!(cuped.lift.se < m.lift.unwrap().se);
    assert!(covers(cuped.lift.relative_ci, 0.5), "{cuped:?}");
}

#[test]
fn a_broken_assignment_is_caught_and_its_figures_not_trusted() {
    let world = World {
        lost_holdout: 0.25,
        ..World::default()
    };
    let r = read(&world, 3);
    let home = r.modules.iter().find(|c| c.module == "home").unwrap();
    assert!(home.srm.unwrap().mismatch, "{:?}", home.srm);
    assert!(!home.reliable);
    assert!(home.metrics.iter().all(|m| !m.significant));
    assert!(home
        .metric("conversion")
        .unwrap()
        .note
        .as_deref()
        .unwrap()
        .contains("sample ratio"));
    let similar = r.modules.iter().find(|c| c.module == "similar").unwrap();
    assert!(similar.reliable, "another module is not touched");
    let page = html::report(&r);
    assert!(page.contains("not to be trusted"));
}

#[test]
fn a_segment_with_its_own_effect_is_told_apart() {
    let world = World {
        home_lift: 1.5,
        lift_device: Some("mobile"),
        ..World::default()
    };
    let r = read(&world, 4);
    let home = r.modules.iter().find(|c| c.module == "home").unwrap();
    let flagged: Vec<(&str, &str)> = home
        .segments
        .iter()
        .filter(|s| s.differs)
        .map(|s| (s.dimension, s.value.as_str()))
        .collect();
    assert!(flagged.contains(&("device", "mobile")), "{flagged:?}");
    assert!(flagged.iter().all(|(d, _)| *d == "device"), "{flagged:?}");
    let finding = r.fairness.findings.last().unwrap();
    assert!(finding.contains("device = mobile"), "{finding}");
}

#[test]
fn a_brand_personalization_favours_is_named_in_the_audit() {
    let fair = read(&World::default(), 5);
    assert!(fair.fairness.brands.iter().all(|b| !b.flagged));
    let world = World {
        favour_brand: true,
        ..World::default()
    };
    let r = read(&world, 5);
    let brand = catalog()[0].brand.clone().unwrap();
    let share = r.fairness.brands.iter().find(|b| b.name == brand).unwrap();
    // The rules never show it where personalization does half the time.
    assert!(
        share.flagged && share.ratio.is_none_or(|r| r > 1.25),
        "{share:?}"
    );
    assert!(share.p_value.unwrap() < 1e-6);
    assert!(share.catalog.unwrap() > 0.0);
    assert!(
        r.fairness.findings.iter().any(|f| f.contains(&brand)),
        "{:?}",
        r.fairness.findings
    );
}

#[test]
fn modules_holding_out_different_shares_do_not_look_like_favour() {
    // The first brand is all `similar` shows, in both arms; `similar`
    // holds out 5%, `home` 20%: pooled as they come, the brand would be
    // 1.36 times as common under treatment; weighted, it is not.
    let world = World {
        brand_in_similar: Some(500),
        ..World::default()
    };
    let r = read(&world, 9);
    let brand = catalog()[0].brand.clone().unwrap();
    let share = r.fairness.brands.iter().find(|b| b.name == brand).unwrap();
    assert!(!share.flagged, "{share:?}");
    let ratio = share.ratio.unwrap();
    assert!((0.9..1.1).contains(&ratio), "{share:?}");
    assert!(
        r.fairness.brands.iter().all(|b| !b.flagged),
        "{:?}",
        r.fairness.brands
    );
}

#[test]
fn the_horizon_decides_which_intervals_decide() {
    let products = catalog();
    let events = events(&World::default(), 6, &products);
    let at = |horizon| Options {
        horizon_days: Some(horizon),
        ..options()
    };
    let early = readout(&events, &section(), &products, &[], &at(30));
    assert_eq!(early.analysis.mode, "sequential");
    assert!(early.analysis.why.contains("interim"));
    let done = readout(&events, &section(), &products, &[], &at(13));
    assert_eq!(done.analysis.mode, "fixed_horizon");
    // A window: the first week's exposures only.
    let week = Options {
        to: Some(START + 7 * DAY - 1),
        ..options()
    };
    let first = readout(&events, &section(), &products, &[], &week);
    assert_eq!(first.overall.days.len(), 7);
    assert!(first.overall.bundles.iter().all(|b| b.bundle == 7));
}

#[test]
fn what_cannot_be_joined_is_counted_and_the_report_escapes_the_data() {
    let products = catalog();
    let mut events = events(
        &World {
            visitors: 400,
            ..World::default()
        },
        7,
        &products,
    );
    let mut anonymous = events[0].clone();
    anonymous.visitor = None;
    events.push(anonymous);
    // The same visitor shown both arms of a module (a salt changed).
    let mut flipped = events
        .iter()
        .find(|e| matches!(&e.kind, EventKind::Exposure { module, .. } if module == "similar"))
        .unwrap()
        .clone();
    if let EventKind::Exposure { arm, .. } = &mut flipped.kind {
        *arm = if arm == "treatment" {
            "holdout"
        } else {
            "treatment"
        }
        .into();
    }
    events.push(flipped);
    let mut hostile = events
        .iter()
        .find(|e| matches!(e.kind, EventKind::Exposure { .. }))
        .unwrap()
        .clone();
    hostile.visitor = Some("v-hostile".into());
    if let EventKind::Exposure {
        module,
        arm,
        global_holdout,
        ..
    } = &mut hostile.kind
    {
        *module = "<script>alert(1)</script>".into();
        *arm = "treatment".into();
        *global_holdout = false;
    }
    events.push(hostile);
    let r = readout(&events, &section(), &products, &[], &options());
    assert_eq!(r.anonymous_events, 1);
    assert_eq!(r.conflicted_visitors, 1);
    let page = html::report(&r);
    assert!(!page.contains("<script>"), "the data is escaped");
    assert!(page.contains("&lt;script&gt;"));
    for plot in ["lift-by-module", "cumulative-lift", "exposure-shares"] {
        assert!(page.contains(&format!("<svg id=\"{plot}\"")), "{plot}");
    }
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["modules"].as_array().unwrap().len() >= 2);
}

#[test]
fn orders_count_once_cancelled_ones_not_and_earlier_entrants_stay_out() {
    let products = catalog();
    let world = World {
        visitors: 2_000,
        ..World::default()
    };
    let mut events = events(&world, 8, &products);
    let plain = readout(&events, &section(), &products, &[], &options());
    let rpv = |r: &Readout| {
        r.overall
            .metric("revenue_per_visitor")
            .unwrap()
            .lift
            .unwrap()
    };
    // Every order sent again later (a fulfilment update); the first
    // cancelled by a server (no visitor), the second's id reused by
    // another shopper's order: the same revenue, one order fewer.
    let orders: Vec<Event> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Order { .. }) && e.ts.unix_timestamp() >= START)
        .cloned()
        .collect();
    let resent = orders.len() as u64;
    for (i, mut o) in orders.into_iter().enumerate() {
        o.ts += time::Duration::hours(1);
        if let EventKind::Order { fulfilment, .. } = &mut o.kind {
            *fulfilment = Some(if i == 0 { "cancelled" } else { "delivered" }.into());
        }
        match i {
            0 => o.visitor = None,
            1 => o.visitor = Some("v-someone-else".into()),
            _ => {}
        }
        events.push(o);
    }
    let again = readout(&events, &section(), &products, &[], &options());
    assert_eq!(plain.orders_merged, 0);
    // Each resend merged but the reused id, and the cancelled order left out.
    assert_eq!(again.orders_merged, resent);
    assert_eq!(again.order_collisions, 1);
    let (a, b) = (rpv(&plain), rpv(&again));
    assert!(
        (a.treatment - b.treatment).abs() + (a.control - b.control).abs() < 0.1,
        "{a:?} {b:?}"
    );
    let conv = |r: &Readout| r.overall.metric("conversion").unwrap().counted;
    assert_eq!(conv(&plain), conv(&again));
    // A window from day 7: visitors first exposed before it stay out.
    let later = Options {
        from: Some(START + 7 * DAY),
        ..options()
    };
    let r = readout(&events, &section(), &products, &[], &later);
    assert_eq!(r.entered_before, 0, "nobody in this world comes back");
    let mut back = events.clone();
    let mut returning = back
        .iter()
        .find(|e| {
            matches!(e.kind, EventKind::Exposure { .. }) && e.ts.unix_timestamp() < START + DAY
        })
        .unwrap()
        .clone();
    returning.ts += time::Duration::days(8);
    back.push(returning);
    let r2 = readout(&back, &section(), &products, &[], &later);
    assert_eq!(r2.entered_before, 1);
    assert_eq!(r2.visitors, r.visitors);
}
