//! A page's holdout experiments: the shopper's arms
//! ([`firstpaint_engine::experiments`]), the visit a holdout module ranks
//! with (the rules and priors only), and the exposure events that say
//! what each slot showed.
//!
//! Only a shopper with a profile (personalization consent, so a
//! first-party id) is in an experiment; exposures are logged only with
//! analytics consent, by the edge from what it rendered, through the
//! events queue. A shopper without consent is in no experiment and
//! counted nowhere.

use firstpaint_contracts::{Consent, Event, EventKind};
use firstpaint_engine::experiments::{Arm, Assignment};
use firstpaint_engine::{Engine, Visit, Visitor};
use futures_channel::oneshot;
use worker::{console_warn, Context, Env, Request};

use crate::api::SALTS_VAR;
use crate::collect::{new_event_id, pseudonym};
use crate::event_sink;
use crate::keyed_hash::KeySet;
use crate::shopper::{setting, Shopper};

/// The shopper's arms on this page, and the holdout's visit.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// Their arms.
    pub assignment: Assignment,
    /// What a holdout module ranks with: the region and time, nothing of
    /// the shopper.
    pub holdout: Visit<'static>,
}

impl Experiment {
    /// The experiment `shopper` is in at `now` under `engine`'s rules:
    /// none without a first-party id (no personalization consent, or a
    /// profile from before ids).
    pub fn of(engine: &Engine, shopper: &Shopper, now: i64) -> Option<Experiment> {
        let id = shopper.profile.as_ref().map(|p| p.id.as_str())?;
        if id.is_empty() {
            return None;
        }
        let assignment = Assignment::of(id, &engine.store().rules().experiments);
        let holdout = engine.visit(Visitor {
            region: shopper.region.clone(),
            now,
            ..Visitor::default()
        });
        Some(Experiment {
            assignment,
            holdout,
        })
    }

    /// Whether `module` holds out for this shopper.
    pub fn holds_out(&self, module: &str) -> bool {
        self.assignment.arm(module) == Arm::Holdout
    }
}

/// The visit `module` ranks with: the shopper's `own`, or the holdout's
/// when they are in `experiment` and the module holds out for them.
pub fn visit_for<'a>(
    experiment: Option<&'a Experiment>,
    module: &str,
    own: &'a Visit<'static>,
) -> &'a Visit<'static> {
    match experiment {
        Some(e) if e.holds_out(module) => &e.holdout,
        _ => own,
    }
}

/// The visitor a request about `module` ranks with for `shopper` at
/// `now` (their own, or the holdout's when the module holds out for
/// them), and their experiment, for the `x-p13n-arms` header.
pub fn visitor_for(
    engine: &Engine,
    shopper: &Shopper,
    module: &str,
    now: i64,
) -> (Visitor, Option<Experiment>) {
    let experiment = Experiment::of(engine, shopper, now);
    let visitor = match &experiment {
        Some(e) if e.holds_out(module) => e.holdout.visitor().clone(),
        _ => shopper.visitor(now),
    };
    (visitor, experiment)
}

/// What one slot of a page showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The module: the slot type, or `search`.
    pub module: String,
    /// Product ids, in position order.
    pub items: Vec<String>,
}

/// What the exposures of a page say besides the slots.
#[derive(Debug, Clone)]
pub struct PageFacts {
    /// The shopper's first-party id (pseudonymized before it leaves).
    pub shopper: String,
    /// Their consent.
    pub consent: Consent,
    /// Their region (`ZZ` when unknown).
    pub region: String,
    /// The page type.
    pub page: &'static str,
    /// The device class.
    pub device: &'static str,
    /// Their first visit.
    pub new_visitor: bool,
    /// The bundle's version.
    pub bundle: u64,
    /// When, unix seconds.
    pub now: i64,
}

impl PageFacts {
    /// The facts of `req`, on a `page` ranked by bundle `bundle`, for a
    /// shopper with a profile (`None` without one: in no experiment).
    pub fn of(
        shopper: &Shopper,
        req: &Request,
        page: &'static str,
        bundle: u64,
        now: i64,
    ) -> Option<PageFacts> {
        let profile = shopper.profile.as_ref()?;
        let user_agent = req.headers().get("user-agent").ok().flatten();
        Some(PageFacts {
            shopper: profile.id.clone(),
            consent: Consent {
                personalization: shopper.consent.personalization,
                analytics: shopper.consent.analytics,
            },
            region: shopper.region.clone().unwrap_or_else(|| "ZZ".into()),
            page,
            device: device_class(user_agent.as_deref().unwrap_or_default()),
            new_visitor: !profile.is_returning(),
            bundle,
            now,
        })
    }
}

/// The exposure log of a page for a shopper in `experiment`: the sender
/// the page's stream hands what its slots showed once it ends, and a
/// background task (`wait_until`) that then sends one exposure event per
/// slot to the events queue. `None` when nothing is logged: no analytics
/// consent, no queue bound, or no pseudonym salts to hide the id with. A
/// page cut off before its end logs nothing (its sender is dropped).
pub fn exposure_log(
    env: &Env,
    ctx: &Context,
    experiment: &Experiment,
    facts: PageFacts,
) -> Option<oneshot::Sender<Vec<Shown>>> {
    if !facts.consent.analytics || !event_sink::configured(env) {
        return None;
    }
    let salts = setting(env, SALTS_VAR).and_then(|s| KeySet::parse(&s).ok())?;
    let (sender, shown) = oneshot::channel::<Vec<Shown>>();
    let (env, experiment) = (env.clone(), experiment.clone());
    ctx.wait_until(async move {
        let Ok(shown) = shown.await else {
            return;
        };
        let events = exposures(&experiment, &shown, &facts, &salts);
        if let Err(e) = event_sink::enqueue(&env, &events).await {
            console_warn!("firstpaint: exposures not logged: {e}");
        }
    });
    Some(sender)
}

/// Logs at once what a JSON endpoint returned to a shopper in
/// `experiment` (page `api`): one exposure of `module` with `items` (none
/// for an empty answer, as for a slot that fell back), in the background.
pub fn log_returned(
    env: &Env,
    ctx: &Context,
    experiment: &Experiment,
    facts: Option<PageFacts>,
    module: &str,
    items: Vec<String>,
) {
    if let Some(log) = facts.and_then(|f| exposure_log(env, ctx, experiment, f)) {
        let _ = log.send(vec![Shown {
            module: module.to_owned(),
            items,
        }]);
    }
}

/// One exposure event per slot shown, pseudonymized with `salts`, each
/// with a fresh id; none without analytics consent.
pub fn exposures(
    experiment: &Experiment,
    shown: &[Shown],
    facts: &PageFacts,
    salts: &KeySet,
) -> Vec<Event> {
    if !facts.consent.analytics {
        return Vec::new();
    }
    let session = pseudonym(&facts.shopper, salts);
    let ts = time::OffsetDateTime::from_unix_timestamp(facts.now)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    shown
        .iter()
        .filter_map(|s| {
            Some(Event {
                id: Some(new_event_id("x")?),
                visitor: Some(session.clone()),
                session: session.clone(),
                user: None,
                ts,
                consent: facts.consent,
                region: facts.region.clone(),
                kind: EventKind::Exposure {
                    module: s.module.clone(),
                    arm: experiment.assignment.arm(&s.module).as_str().to_owned(),
                    global_holdout: experiment.assignment.global == Arm::Holdout,
                    bundle: facts.bundle,
                    items: s.items.clone(),
                    page: facts.page.to_owned(),
                    device: facts.device.to_owned(),
                    new_visitor: facts.new_visitor,
                },
            })
        })
        .collect()
}

/// `mobile`, `tablet` or `desktop`, from a user agent.
pub fn device_class(user_agent: &str) -> &'static str {
    if user_agent.contains("iPad") || user_agent.contains("Tablet") {
        "tablet"
    } else if user_agent.contains("Mobi") || user_agent.contains("Android") {
        "mobile"
    } else {
        "desktop"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_told_apart_by_their_user_agent() {
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148";
        let ipad = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) Mobile/15E148";
        let tablet = "Mozilla/5.0 (Linux; Android 13; SM-X200) Tablet";
        let phone = "Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36";
        let laptop = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36";
        assert_eq!(device_class(iphone), "mobile");
        assert_eq!(device_class(ipad), "tablet");
        assert_eq!(device_class(tablet), "tablet");
        assert_eq!(device_class(phone), "mobile");
        assert_eq!(device_class(laptop), "desktop");
        assert_eq!(device_class(""), "desktop");
    }
}
