//! Storefront pages: fetch, personalize while streaming, or pass through.

use std::rc::Rc;
use std::time::Duration;

use worker::{
    console_log, console_warn, Context, Date, Env, Headers, Request, Response, ResponseBody, Result,
};

use crate::channel;
use crate::cookies::{category_from_path, product_from_path};
use crate::error::EdgeError;
use crate::experiment::{exposure_log, visit_for, Experiment, PageFacts};
use crate::limits::DEFAULT_COLD_LOAD_BUDGET_MS;
use crate::loader;
use crate::rewrite::{Outcome, PageContext, SearchEngines, SlotRewriter};
use crate::rewrite_stream;
use crate::routing::Need;
use crate::search::{self, DEFAULT_SEARCH_PATH, SEARCH_PATH_VAR};
use crate::shard_search;
use crate::shopper::{setting, setting_or, PageSeen, Shopper};
use crate::storefront::{self, copy_headers};
use firstpaint_engine::experiments::SEARCH_MODULE;
use firstpaint_engine::{Intent, SearchRequest, Visitor};

/// Kill switch: set to `1` or `true` and every page passes through
/// unmodified (`x-p13n: disabled`) without reading a cookie or the bundle,
/// until it is unset; no redeploy needed (`wrangler secret put` or a var).
/// Also the baseline of the rewrite benchmark.
pub const DISABLED_VAR: &str = "P13N_DISABLED";
/// Set to `1` and lol_html reads every byte of every page, not only the
/// slot regions (`slot_regions`): the same output, slower; an escape hatch
/// that needs no redeploy, and the other arm of the rewrite benchmark.
pub const READ_EVERY_BYTE_VAR: &str = "P13N_READ_EVERY_BYTE";
/// Set to `1` and every personalized page logs a line (its path and how
/// many slots were filled); unset, only pages with a fallback or a
/// bail-out do. DEV sets it; production leaves it unset: a line per page
/// view is log volume (Workers Logs counts lines) and time on every page.
pub const LOG_PAGES_VAR: &str = "LOG_PAGES";
/// Variable: the longest a page waits for a cold isolate's first bundle
/// load, in milliseconds (default [`DEFAULT_COLD_LOAD_BUDGET_MS`]).
pub const COLD_LOAD_BUDGET_VAR: &str = "COLD_LOAD_BUDGET_MS";

/// Serves a storefront page, personalized when everything works and
/// unmodified when anything does not.
pub async fn serve(req: Request, env: &Env, ctx: &Context) -> Result<Response> {
    if setting(env, DISABLED_VAR).is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true")) {
        let upstream = storefront::fetch(req, env, ctx).await?;
        return pass_through(upstream, "disabled");
    }
    let (url, request_for_shopper) = match (req.url(), req.clone()) {
        (Ok(url), Ok(copy)) => (url, copy),
        (Err(e), _) | (_, Err(e)) => {
            console_warn!("firstpaint: serving unmodified: the request cannot be read: {e}");
            let upstream = storefront::fetch(req, env, ctx).await?;
            return pass_through(upstream, "unmodified");
        }
    };
    let upstream = storefront::fetch(req, env, ctx).await?;
    let is_html = upstream
        .headers()
        .get("content-type")
        .ok()
        .flatten()
        .is_some_and(|t| t.starts_with("text/html"));
    if upstream.status_code() != 200 || !is_html {
        return Ok(upstream);
    }
    let budget = setting_or(env, COLD_LOAD_BUDGET_VAR, DEFAULT_COLD_LOAD_BUDGET_MS);
    let budget = Duration::from_millis(budget);
    let started = Date::now().as_millis();
    // What the page is about decides the shard of a sharded store.
    let product = product_from_path(url.path());
    let slug = category_from_path(url.path());
    let need = match (&product, &slug) {
        (Some(id), _) => Need::Product(id.clone()),
        (None, Some(slug)) => Need::Category(slug.clone()),
        (None, None) => Need::Global,
    };
    let (live, current) = match loader::engine_within(env, ctx, budget, &need).await {
        Ok(found) => found,
        Err(e @ EdgeError::Loading(_)) => {
            console_log!("firstpaint: serving {} unmodified: {e}", url.path());
            return pass_through(upstream, "loading");
        }
        Err(e) => {
            console_warn!("firstpaint: serving {} unmodified: {e}", url.path());
            return pass_through(upstream, "unmodified");
        }
    };
    let mut shopper = Shopper::identify(
        &request_for_shopper,
        env,
        &current.engine.store().rules().consent,
    );
    // A shopper in the release's canary share gets the canary's bundle,
    // within what is left of the budget.
    let left = budget.saturating_sub(elapsed(started));
    let profile = shopper.profile.as_ref();
    let serving = loader::for_shopper(env, ctx, &live, current, &need, profile, Some(left)).await;
    let loaded = serving.loaded;
    let engine = &loaded.engine;
    let category = slug
        .and_then(|slug| engine.store().category_by_slug(&slug))
        .map(|c| engine.store().category_name(c));
    let now = Date::now().as_millis() as i64 / 1000;
    // Slots rank with the views before this page: its own product is what
    // the page is about, not history yet.
    let viewed = shopper.viewed();
    let referer = request_for_shopper.headers().get("referer").ok().flatten();
    let page = PageSeen {
        channel: channel::inbound(&url, referer.as_deref()),
        category,
        product: product.as_deref(),
    };
    shopper.record_page(engine, now, page);
    let banner = shopper.banner(engine, now, product.as_deref());
    // What the page's headers gain, set in one step before the body is
    // taken, so that a header that cannot be set leaves the page unmodified
    // rather than lost.
    let mut set: Vec<(&str, String)> = Vec::new();
    if let Some(shard) = &loaded.shard {
        set.push(("x-p13n-shard", shard.clone()));
    }
    let search = search_request(&url, env);
    if let Some(req) = &search {
        // The query itself says what the visit is after.
        shopper.record_query(&req.query);
    }
    // The shopper, resolved once for every slot of the page (a sharded
    // store's other shards resolve it against their own products).
    let visitor = Visitor {
        viewed,
        ..shopper.visitor(now)
    };
    let visit = engine.visit(visitor);
    // A shopper with a first-party id is in the holdout experiments.
    let experiment = Experiment::of(engine, &shopper, now);
    let search_visit = visit_for(experiment.as_ref(), SEARCH_MODULE, &visit);
    let page_type = match (&product, &category, &search) {
        (Some(_), _, _) => "product",
        (None, Some(_), _) => "category",
        (None, None, Some(_)) => "search",
        _ if url.path() == "/" => "home",
        _ => "other",
    };
    let search = match search {
        Some(req) => {
            let req = SearchRequest {
                visitor: search_visit.visitor().clone(),
                ..req
            };
            shard_search::search(
                env,
                ctx,
                &loaded,
                search_visit,
                serving.set.as_ref(),
                &req,
                Some(budget.saturating_sub(elapsed(started))),
            )
            .await
            .map_err(|e| console_warn!("firstpaint: {}: search failed: {e}", url.path()))
            .ok()
        }
        None => None,
    };
    let (search, search_engines, facets) = match search {
        Some(answer) => {
            set.extend(answer.headers());
            // The store's currency: a result's, or (past the last page)
            // its first product's.
            let currency = answer
                .results
                .items
                .first()
                .zip(answer.engines.first())
                .and_then(|(item, engine)| {
                    engine
                        .store()
                        .product(&item.id)
                        .map(|p| p.currency().to_owned())
                })
                .or_else(|| {
                    engine
                        .store()
                        .product_at(0)
                        .map(|p| p.currency().to_owned())
                })
                .unwrap_or_default();
            let facets = crate::facets::render(&answer.results.facets, &url, &currency);
            (
                Some(answer.results),
                SearchEngines(answer.engines),
                Some(facets),
            )
        }
        None => (None, SearchEngines::default(), None),
    };
    if let Some(header) = visit.session().intent.as_ref().and_then(intent_header) {
        set.push(("x-p13n-intent", header));
    }
    let state = if shopper.profile.is_some() {
        "personalized"
    } else {
        "non-personal"
    };
    set.push(("x-p13n", state.to_owned()));
    set.push(("x-p13n-bundle", engine.info().version.to_string()));
    set.push(("x-p13n-release", serving.arm.to_owned()));
    set.push(("x-p13n-live", crate::api::live_sequence(engine)));
    if let Some(e) = &experiment {
        set.push(("x-p13n-arms", e.assignment.header()));
    }
    set.push(("cache-control", "private, no-store".to_owned()));
    let cookie = shopper.set_cookie();
    let headers = match page_headers(&upstream, &set, cookie.as_deref()) {
        Ok(headers) => headers,
        Err(e) => {
            console_warn!("firstpaint: serving {} unmodified: {e}", url.path());
            return pass_through(upstream, "unmodified");
        }
    };
    let log = experiment.as_ref().and_then(|e| {
        let facts = PageFacts::of(
            &shopper,
            &request_for_shopper,
            page_type,
            engine.info().version,
            now,
        )?;
        exposure_log(env, ctx, e, facts)
    });
    let rewriter = SlotRewriter::new(
        Rc::clone(&loaded.engine),
        PageContext {
            product,
            category: category.map(str::to_owned),
            visit,
            banner,
            search,
            search_engines,
            facets,
            experiment,
        },
    );
    let rewriter = if setting(env, READ_EVERY_BYTE_VAR).is_some_and(|v| v == "1") {
        rewriter.reading_every_byte()
    } else {
        rewriter
    };
    let path = url.path().to_owned();
    let log_pages = setting(env, LOG_PAGES_VAR).is_some_and(|v| v == "1");
    let ResponseBody::Stream(body) = upstream.body() else {
        // No body to stream through (an empty page): as it came.
        return Ok(upstream);
    };
    let done = move |outcome: Outcome| {
        if let Some(log) = log {
            // The exposure log sends once the page is whole.
            let _ = log.send(outcome.shown.clone());
        }
        if !outcome.fallbacks.is_empty() || outcome.bailed_out.is_some() {
            console_warn!(
                "firstpaint: {path}: {} slot(s) filled; fallbacks: {:?}; bail-out: {:?}",
                outcome.filled,
                outcome.fallbacks,
                outcome.bailed_out
            );
        } else if log_pages {
            console_log!("firstpaint: {path}: {} slot(s) filled", outcome.filled);
        }
    };
    match rewrite_stream::through(body, rewriter, done) {
        Ok(stream) => Ok(Response::from_body(ResponseBody::Stream(stream))?.with_headers(headers)),
        Err(e) => {
            console_warn!(
                "firstpaint: {}: serving as it came: the body cannot be piped: {e:?}",
                url.path()
            );
            Ok(upstream)
        }
    }
}

/// On the storefront's search page, the search its `q` asks for,
/// answered before the page streams so the outcome can go in the headers
/// (a sharded store's shards waited for at most the page's budget). A bad
/// query leaves the page's own fallback in place (and says why in the
/// log).
fn search_request(url: &worker::Url, env: &Env) -> Option<SearchRequest> {
    let path = setting(env, SEARCH_PATH_VAR).unwrap_or_else(|| DEFAULT_SEARCH_PATH.to_owned());
    if url.path() != path {
        return None;
    }
    match search::request_from(url, false) {
        Ok(req) => req,
        Err(reason) => {
            console_warn!("firstpaint: {path}: search not answered: {reason}");
            None
        }
    }
}

/// `x-p13n-intent: <category>;p=<probability>` for analysts and tests;
/// `None` for a name a header cannot carry as it is.
fn intent_header(intent: &Intent) -> Option<String> {
    let printable = |c: char| c.is_ascii_graphic() || c == ' ';
    (intent.name.chars().all(printable) && !intent.name.contains(';'))
        .then(|| format!("{};p={:.2}", intent.name, intent.probability))
}

/// `upstream`'s headers for the personalized page: without its validators
/// and age (the body is this shopper's now), with `set` set, `vary:
/// Cookie` and the shopper's `cookie`.
fn page_headers(
    upstream: &Response,
    set: &[(&str, String)],
    cookie: Option<&str>,
) -> Result<Headers> {
    let headers = copy_headers(upstream.headers())?;
    for name in ["etag", "last-modified", "age"] {
        headers.delete(name)?;
    }
    for (name, value) in set {
        headers.set(name, value)?;
    }
    headers.append("vary", "Cookie")?;
    if let Some(cookie) = cookie {
        headers.append("set-cookie", cookie)?;
    }
    Ok(headers)
}

/// The upstream response, unchanged but for a tag saying why; as it came
/// when even the tag cannot be added. Its body stream is handed on as it
/// is: no byte of it passes through the wasm.
fn pass_through(upstream: Response, tag: &str) -> Result<Response> {
    let tagged = copy_headers(upstream.headers()).and_then(|h| h.set("x-p13n", tag).map(|()| h));
    let Ok(headers) = tagged else {
        return Ok(upstream);
    };
    let status = upstream.status_code();
    Ok(Response::from_body(upstream.body().clone())?
        .with_status(status)
        .with_headers(headers))
}

/// The time since `started` (ms since the epoch, as `Date` gives it).
fn elapsed(started: u64) -> Duration {
    Duration::from_millis(Date::now().as_millis().saturating_sub(started))
}
