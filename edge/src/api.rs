//! The JSON endpoints under `/p13n/`.

use std::borrow::Cow;

use futures_util::StreamExt;

use serde::Serialize;
use worker::{Context, Date, Env, Request, Response, Result};

use firstpaint_contracts::EventKind;
use firstpaint_engine::experiments::SEARCH_MODULE;
use firstpaint_engine::search::{Facets, QueryReport};
use firstpaint_engine::signals::price_band::{ORDER_EVIDENCE, VIEW_EVIDENCE};
use firstpaint_engine::{
    format_price, Engine, EngineError, Intent, Product, Reason, Removed, SearchFilters,
    SearchOutcome, SearchRequest, SlotKind, SlotRequest,
};

use crate::error::EdgeError;
use crate::experiment::{log_returned, visitor_for, PageFacts};
use crate::keyed_hash::KeySet;
use crate::limits::{MAX_COLLECT_BODY_BYTES, MAX_QUERY_BYTES};
use crate::loader::{self, Canary, Served};
use crate::overlay;
use crate::recommend::params_from;
use crate::routing::Need;
use crate::shard_search::{self, SearchError};
use crate::shards;
use crate::shopper::{setting, Shopper};

/// `GET /p13n/health`: which release and bundle are live, who signed
/// them, how old they are, and why the last refresh was refused (the
/// bundle in use stays). For a shard set: the manifest, which shards are
/// open, and why a load failed (it opens nothing itself).
pub async fn health(env: &Env, ctx: &Context) -> Result<Response> {
    let now_s = Date::now().as_millis() as i64 / 1000;
    let live = match loader::live(env, ctx).await {
        Ok(live) => live,
        Err(e) => {
            return Ok(Response::from_json(&serde_json::json!({
                "status": "no bundle",
                "error": e.to_string(),
                "last_failure": loader::last_failure(),
            }))?
            .with_status(503))
        }
    };
    let canary = live.canary.as_ref().map(canary_json);
    match &live.current {
        Served::Sharded(set) => {
            let m = &set.manifest;
            let status = shards::status();
            Response::from_json(&serde_json::json!({
                "status": "ok",
                "sharded": true,
                "manifest": {
                    "global": m.sha256,
                    "bundle_version": m.bundle_version,
                    "key_id": m.key_id,
                    "published_at": m.published_at,
                    "shards": m.shards.as_ref().map_or(0, |s| s.shards.len()),
                },
                "open": status.open,
                "held_bytes": status.held_bytes,
                "limit_bytes": status.limit_bytes,
                "failures": status.failures,
                "release": release_json(now_s),
                "canary": canary,
                "live": live_json(None),
                "last_refresh_error": set.last_error,
            }))
        }
        Served::Single(loaded) => {
            let info = loaded.engine.info();
            Response::from_json(&serde_json::json!({
                "status": "ok",
                "bundle": info,
                "sha256": loaded.sha256,
                "age_seconds": now_s - info.created_at,
                "expires_in_seconds": info.expires_at - now_s,
                "release": release_json(now_s),
                "canary": canary,
                "live": live_json(Some(&loaded.engine)),
                "last_refresh_error": loaded.last_error,
            }))
        }
    }
}

/// The release's canary, for `/p13n/health`: its bundle (a shard set's
/// global shard) and share.
fn canary_json(canary: &Canary) -> serde_json::Value {
    match &canary.served {
        Served::Single(loaded) => serde_json::json!({
            "sha256": canary.sha256,
            "bundle_version": loaded.engine.info().version,
            "percent": canary.percent,
            "sharded": false,
        }),
        Served::Sharded(set) => serde_json::json!({
            "sha256": canary.sha256,
            "bundle_version": set.manifest.bundle_version,
            "percent": canary.percent,
            "sharded": true,
            "shards": set.manifest.shards.as_ref().map_or(0, |s| s.shards.len()),
        }),
    }
}

/// The live overlay held and what it applied to `engine` (the current
/// bundle; each shard applies it to its own products), for
/// `/p13n/health`.
fn live_json(engine: Option<&Engine>) -> serde_json::Value {
    serde_json::json!({
        "overlay": overlay::held().map(|o| serde_json::json!({
            "sequence": o.header.sequence,
            "created_at": o.header.created_at,
            "expires_at": o.header.expires_at,
            "sha256": o.sha256,
            "updates": o.updates.len(),
        })),
        "applied": engine.and_then(|e| e.live()),
        "last_error": overlay::last_error(),
    })
}

/// The sequence of the live overlay `engine` serves (`0`: none), for the
/// `x-p13n-live` header.
pub fn live_sequence(engine: &Engine) -> String {
    engine.live().map_or(0, |r| r.sequence).to_string()
}

/// The release in use, for `/p13n/health`.
fn release_json(now_s: i64) -> serde_json::Value {
    match loader::release() {
        Some(r) => serde_json::json!({
            "sequence": r.sequence,
            "expires_in_seconds": r.expires_at - now_s,
        }),
        None => serde_json::Value::Null,
    }
}

/// A product as the JSON endpoints show it, with its score parts.
#[derive(Serialize)]
struct Item<'a> {
    id: &'a str,
    title: Cow<'a, str>,
    url: Cow<'a, str>,
    image: Cow<'a, str>,
    price: f64,
    price_display: String,
    currency: &'a str,
    score: f32,
    reasons: &'a [Reason],
}

impl<'a> Item<'a> {
    fn new(p: Product<'a>, score: f32, reasons: &'a [Reason]) -> Self {
        Item {
            id: p.id(),
            title: p.title(),
            url: p.url(),
            image: p.image(),
            price: p.price(),
            price_display: format_price(p.price(), p.currency()),
            currency: p.currency(),
            score,
            reasons,
        }
    }
}

/// A search result: the product, and how it matched.
#[derive(Serialize)]
struct SearchItem<'a> {
    #[serde(flatten)]
    item: Item<'a>,
    source: &'static str,
    matched: u8,
    typos: u8,
    fields: &'a [&'static str],
}

/// The body of `GET /p13n/recommend` (a struct rather than `json!`: it
/// serializes straight to text, which keeps the worker's wasm smaller).
#[derive(Serialize)]
struct RecommendResponse<'a> {
    bundle: u64,
    slot: SlotKind,
    personalized: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    intent: Option<&'a Intent>,
    items: Vec<Item<'a>>,
    removed: &'a [Removed],
}

/// The body of `GET /p13n/search`.
#[derive(Serialize)]
struct SearchResponse<'a> {
    bundle: u64,
    query: &'a QueryReport,
    filters: &'a SearchFilters,
    outcome: SearchOutcome,
    total: usize,
    total_exact: bool,
    page: usize,
    per_page: usize,
    personalized: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    intent: Option<&'a Intent>,
    items: Vec<SearchItem<'a>>,
    facets: &'a Facets,
    removed: &'a [Removed],
}

/// A 400 whose body says what was wrong.
fn bad_request(reason: impl Into<String>) -> Result<Response> {
    json_error(400, reason)
}

/// `GET /p13n/recommend?slot=…&product=…&k=…`: a slot's ranking as JSON,
/// for the same shopper (cookie) the page would use.
pub async fn recommend(req: &Request, env: &Env, ctx: &Context) -> Result<Response> {
    let params = match params_from(&req.url()?) {
        Ok(p) => p,
        Err(reason) => return bad_request(reason),
    };
    let kind = params.kind;
    // A sharded store answers from the product's shard, else the
    // category's, else the global one.
    let need = match (&params.product, &params.category) {
        (Some(id), _) => Need::Product(id.clone()),
        (None, Some(c)) => Need::Category(c.clone()),
        (None, None) => Need::Global,
    };
    let (live, current) = match loader::engine_for(env, ctx, &need).await {
        Ok(found) => found,
        Err(e) => return recommend_fallback(kind, &e),
    };
    // Without personalization consent nothing personal is used, not even
    // a history passed as a parameter.
    let shopper = Shopper::identify(req, env, &current.engine.store().rules().consent);
    let profile = shopper.profile.as_ref();
    let serving = loader::for_shopper(env, ctx, &live, current, &need, profile, None).await;
    let (loaded, arm) = (serving.loaded, serving.arm);
    let engine = &loaded.engine;
    let now = Date::now().as_millis() as i64 / 1000;
    let (mut visitor, experiment) = visitor_for(engine, &shopper, kind.as_str(), now);
    let held_out = experiment
        .as_ref()
        .is_some_and(|e| e.holds_out(kind.as_str()));
    if let (true, Some(v), false) = (shopper.consent.personalization, params.viewed, held_out) {
        visitor.viewed = v;
    }
    let request = SlotRequest {
        kind,
        k: params.k,
        product: params.product,
        category: params.category,
        cart: params.cart,
        visitor,
        explain: params.explain,
    };
    let ranking = match engine.rank(&request) {
        Ok(r) => r,
        Err(
            e @ (EngineError::UnknownProduct(_)
            | EngineError::MissingProduct { .. }
            | EngineError::MissingCart { .. }
            | EngineError::MissingCategory { .. }
            | EngineError::UnknownCategory(_)
            | EngineError::InvalidK { .. }),
        ) => return bad_request(e.to_string()),
        Err(e) => return recommend_fallback(kind, &EdgeError::Engine(e)),
    };
    let items: Vec<Item<'_>> = ranking
        .items
        .iter()
        .filter_map(|item| {
            let p = engine.store().product_at(item.ordinal)?;
            Some(Item::new(p, item.score, &item.reasons))
        })
        .collect();
    if let Some(e) = &experiment {
        let facts = PageFacts::of(&shopper, req, "api", engine.info().version, now);
        let ids = items.iter().map(|i| i.id.to_owned()).collect();
        log_returned(env, ctx, e, facts, kind.as_str(), ids);
    }
    let mut resp = Response::from_json(&RecommendResponse {
        bundle: engine.info().version,
        slot: ranking.slot,
        personalized: ranking.personalized,
        intent: ranking.intent.as_ref(),
        items,
        removed: &ranking.removed,
    })?;
    resp.headers_mut()
        .set("x-p13n-bundle", &engine.info().version.to_string())?;
    resp.headers_mut().set("x-p13n-release", arm)?;
    if let Some(e) = &experiment {
        resp.headers_mut()
            .set("x-p13n-arms", &e.assignment.header())?;
    }
    resp.headers_mut()
        .set("x-p13n-live", &live_sequence(engine))?;
    if let Some(shard) = &loaded.shard {
        resp.headers_mut().set("x-p13n-shard", shard)?;
    }
    resp.headers_mut()
        .set("cache-control", "private, no-store")?;
    keep_profile(&shopper, resp.headers_mut())?;
    Ok(resp)
}

/// The profile cookie on a JSON answer, as on a page: a consenting
/// shopper's first call gets the id its arms and exposures were keyed by
/// (without it every call drew a new one), and one without consent loses
/// the cookie it sent.
fn keep_profile(shopper: &Shopper, headers: &mut worker::Headers) -> Result<()> {
    if let Some(cookie) = shopper.set_cookie() {
        headers.append("set-cookie", &cookie)?;
    }
    Ok(())
}

/// `GET /p13n/search?q=…&page=…`: a page of search results as JSON, ranked
/// for the same shopper the page would use. `x-p13n-search` says whether
/// the query matched, was rescued or came back empty (the zero-result
/// readout counts it); `x-p13n-search-total` how many results there are
/// (at least, when `x-p13n-search-total-exact` is `false`: a word found in
/// half the catalog is not counted to the last product).
pub async fn search(req: &Request, env: &Env, ctx: &Context) -> Result<Response> {
    let url = req.url()?;
    if url.query().map_or(0, str::len) > MAX_QUERY_BYTES {
        return bad_request(format!("query string longer than {MAX_QUERY_BYTES} bytes"));
    }
    let mut request = match crate::search::request_from(&url, true) {
        Ok(Some(r)) => r,
        Ok(None) => return bad_request("missing parameter q"),
        Err(reason) => return bad_request(reason),
    };
    let (live, current) = match loader::engine_for(env, ctx, &Need::Global).await {
        Ok(found) => found,
        Err(e) => return search_fallback(&request, &e),
    };
    let shopper = Shopper::identify(req, env, &current.engine.store().rules().consent);
    let profile = shopper.profile.as_ref();
    let serving = loader::for_shopper(env, ctx, &live, current, &Need::Global, profile, None).await;
    let (loaded, arm, set) = (serving.loaded, serving.arm, serving.set);
    let engine = &loaded.engine;
    let now = Date::now().as_millis() as i64 / 1000;
    let (visitor, experiment) = visitor_for(engine, &shopper, SEARCH_MODULE, now);
    request.visitor = visitor;
    let visit = engine.visit(&request.visitor);
    let answer =
        match shard_search::search(env, ctx, &loaded, &visit, set.as_ref(), &request, None).await {
            Ok(a) => a,
            Err(SearchError::Engine(
                e @ (EngineError::QueryTooLong { .. } | EngineError::InvalidPage { .. }),
            )) => return bad_request(e.to_string()),
            Err(SearchError::Engine(e)) => return search_fallback(&request, &EdgeError::Engine(e)),
            Err(SearchError::Edge(e)) => return search_fallback(&request, &e),
        };
    let results = &answer.results;
    let items: Vec<SearchItem<'_>> = results
        .items
        .iter()
        .zip(&answer.engines)
        .filter_map(|(hit, from)| {
            let p = from.store().product_at(hit.ordinal)?;
            Some(SearchItem {
                item: Item::new(p, hit.score, &hit.reasons),
                source: hit.source,
                matched: hit.matched,
                typos: hit.typos,
                fields: &hit.fields,
            })
        })
        .collect();
    if let Some(e) = &experiment {
        let facts = PageFacts::of(&shopper, req, "api", engine.info().version, now);
        let ids = items.iter().map(|i| i.item.id.to_owned()).collect();
        log_returned(env, ctx, e, facts, SEARCH_MODULE, ids);
    }
    let mut resp = Response::from_json(&SearchResponse {
        bundle: engine.info().version,
        query: &results.query,
        filters: &results.filters,
        outcome: results.outcome,
        total: results.total,
        total_exact: results.total_exact,
        page: results.page,
        per_page: results.per_page,
        personalized: results.personalized,
        intent: results.intent.as_ref(),
        items,
        facets: &results.facets,
        removed: &results.removed,
    })?;
    let headers = resp.headers_mut();
    headers.set("x-p13n-bundle", &engine.info().version.to_string())?;
    headers.set("x-p13n-release", arm)?;
    if let Some(e) = &experiment {
        headers.set("x-p13n-arms", &e.assignment.header())?;
    }
    headers.set("x-p13n-live", &live_sequence(engine))?;
    answer.set_headers(headers)?;
    headers.set("cache-control", "private, no-store")?;
    keep_profile(&shopper, headers)?;
    Ok(resp)
}

/// Variable naming where collected events are forwarded (the merchant's collector).
pub const COLLECT_URL_VAR: &str = "COLLECT_URL";
/// Secret (or dev variable) holding the pseudonymization salts, `id:hex,…`.
pub const SALTS_VAR: &str = "PSEUDONYM_SALTS";

/// The answer of `/p13n/recommend` and `/p13n/search` when personalization
/// cannot answer (no bundle yet, a bundle refused, a shard that does not
/// load, an engine error): a 200 with the endpoint's usual fields (`fields`,
/// no items, `personalized: false`), the reason's kind in `fallback`
/// ([`EdgeError::public_reason`]) and `x-p13n: fallback`, so that the
/// storefront's script keeps the content it already shows, as a page
/// keeps its fallback. A 5xx here would be an error the shopper's browser
/// sees for a fault of ours; the whole reason is logged, and
/// `/p13n/health` answers 503 with it for the operator.
fn fallback(endpoint: &str, fields: serde_json::Value, why: &EdgeError) -> Result<Response> {
    worker::console_warn!("firstpaint: {endpoint} answers its fallback: {why}");
    let mut body = match fields {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    body.insert("personalized".into(), false.into());
    body.insert("items".into(), serde_json::json!([]));
    body.insert("removed".into(), serde_json::json!([]));
    body.insert("fallback".into(), why.public_reason().into());
    let mut resp = Response::from_json(&body)?;
    let headers = resp.headers_mut();
    headers.set("x-p13n", "fallback")?;
    headers.set("cache-control", "private, no-store")?;
    Ok(resp)
}

/// [`fallback`] for `/p13n/recommend`: the slot asked for, no bundle.
fn recommend_fallback(kind: SlotKind, why: &EdgeError) -> Result<Response> {
    let body = serde_json::json!({ "bundle": null, "slot": kind });
    fallback("/p13n/recommend", body, why)
}

/// [`fallback`] for `/p13n/search`: the page asked for, nothing found,
/// empty facets.
fn search_fallback(request: &SearchRequest, why: &EdgeError) -> Result<Response> {
    let body = serde_json::json!({
        "bundle": null,
        "query": QueryReport::default(),
        "filters": &request.filters,
        "outcome": SearchOutcome::Empty,
        "total": 0,
        "total_exact": true,
        "page": request.page,
        "per_page": request.per_page,
        "facets": Facets::default(),
    });
    fallback("/p13n/search", body, why)
}

/// A JSON `{"error": reason}` with `status`: how every endpoint under
/// `/p13n/` refuses.
pub(crate) fn json_error(status: u16, reason: impl Into<String>) -> Result<Response> {
    Ok(Response::from_json(&serde_json::json!({ "error": reason.into() }))?.with_status(status))
}

/// Sends accepted events where the worker is set to: the events queue
/// when it is bound (the pipeline to R2: [`crate::event_sink`]), and the
/// collector at `COLLECT_URL` when one is set; at least one must be. The
/// status and reason when the events were not kept (the queue failed, or
/// there is no queue and the collector failed).
async fn deliver(
    env: &Env,
    events: &[firstpaint_contracts::Event],
) -> std::result::Result<(), (u16, String)> {
    let queued = crate::event_sink::configured(env);
    if queued {
        crate::event_sink::enqueue(env, events)
            .await
            .map_err(|e| (503, e.to_string()))?;
    }
    let Some(target) = setting(env, COLLECT_URL_VAR) else {
        return match queued {
            true => Ok(()),
            false => Err((
                503,
                format!(
                    "collection is not configured: bind the queue {} or set {COLLECT_URL_VAR}",
                    crate::event_sink::QUEUE_BINDING
                ),
            )),
        };
    };
    // A fresh request: no client headers, so no IP or cookies travel on.
    let failed = |e: worker::Error| (500, e.to_string());
    let headers = worker::Headers::new();
    headers
        .set("content-type", "application/json")
        .map_err(failed)?;
    let body = serde_json::to_string(events).map_err(|e| (500, e.to_string()))?;
    let init = worker::RequestInit {
        method: worker::Method::Post,
        headers,
        body: Some(body.into()),
        ..worker::RequestInit::default()
    };
    let request = Request::new_with_init(&target, &init).map_err(failed)?;
    let refused = match worker::Fetch::Request(request).send().await {
        Ok(r) if (200..300).contains(&r.status_code()) => return Ok(()),
        Ok(r) => format!("collector answered {}", r.status_code()),
        Err(e) => format!("collector unreachable: {e}"),
    };
    // Once the queue has them the events are kept: a retry would only
    // send them again under new ids. The collector's loss is logged.
    if queued {
        worker::console_warn!("firstpaint: events queued, not forwarded: {refused}");
        return Ok(());
    }
    Err((502, refused))
}

/// `req`'s body, read no further than `limit` bytes: `Err` with the bytes
/// read once it is longer (a body sent without `Content-Length`, chunked,
/// is not read whole into memory before its size is known).
async fn body_within(
    req: &mut Request,
    limit: usize,
) -> Result<std::result::Result<Vec<u8>, usize>> {
    let mut body = Vec::new();
    if req.inner().body().is_none() {
        return Ok(Ok(body));
    }
    let mut chunks = req.stream()?;
    while let Some(chunk) = chunks.next().await {
        body.extend_from_slice(&chunk?);
        if body.len() > limit {
            return Ok(Err(body.len()));
        }
    }
    Ok(Ok(body))
}

/// `POST /p13n/collect`: see [`crate::collect`].
pub async fn collect(mut req: Request, env: &Env, ctx: &Context) -> Result<Response> {
    let announced = req
        .headers()
        .get("content-length")?
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(0);
    if announced > MAX_COLLECT_BODY_BYTES {
        return json_error(
            413,
            format!("body is {announced} bytes, at most {MAX_COLLECT_BODY_BYTES}"),
        );
    }
    let Some(salts) = setting(env, SALTS_VAR).and_then(|s| KeySet::parse(&s).ok()) else {
        return json_error(
            503,
            format!("collection is not configured: {SALTS_VAR} is missing or invalid"),
        );
    };
    let body = match body_within(&mut req, MAX_COLLECT_BODY_BYTES).await? {
        Ok(body) => body,
        Err(read) => {
            return json_error(
                413,
                format!("body is over {MAX_COLLECT_BODY_BYTES} bytes ({read} read)"),
            )
        }
    };
    let mut accepted = match crate::collect::prepare(&body, &salts) {
        Ok(a) => a,
        Err(refused) => return json_error(refused.status, refused.reason),
    };
    let loaded = loader::engine(env, ctx).await.ok();
    let engine = loaded.as_ref().map(|l| &*l.engine);
    let rules = engine.map_or_else(Default::default, |e| e.store().rules().consent.clone());
    let level = |id: &str| engine.and_then(|e| e.store().price_level(e.store().ordinal(id)?));
    let mut shopper = Shopper::identify(&req, env, &rules);
    accepted.narrow_to(shopper.consent);
    // A shopper in the experiments: their events join their exposures
    // (only when the shopper, not just the event, allows analytics).
    let visitor = shopper
        .profile
        .as_ref()
        .filter(|p| !p.id.is_empty() && shopper.consent.analytics)
        .map(|p| crate::collect::pseudonym(&p.id, &salts));
    for e in &mut accepted.events {
        e.visitor.clone_from(&visitor);
    }
    let forwarded = accepted.events.len();
    if forwarded > 0 {
        if let Err((status, why)) = deliver(env, &accepted.events).await {
            return json_error(status, why);
        }
    }
    let mut resp = Response::from_json(&serde_json::json!({
        "accepted": forwarded,
        "dropped_without_consent": accepted.dropped_without_consent,
    }))?
    .with_status(202);
    // Views and carts the storefront reports update the profile, as page
    // views do; orders are remembered for refills; both move the price
    // band (when a bundle is loaded to price them).
    if let Some(profile) = shopper.profile.as_mut() {
        for e in accepted.events.iter().filter(|e| e.consent.personalization) {
            // A reported view counts among the visit's moves; a cart add
            // only brings its product to the front.
            let seen = match &e.kind {
                EventKind::PageView {
                    product: Some(p), ..
                } => {
                    profile.record_view(p);
                    Some(p)
                }
                EventKind::AddToCart { product: p, .. } => {
                    profile.remember(p);
                    Some(p)
                }
                _ => None,
            };
            if let Some(l) = seen.and_then(|p| level(p)) {
                profile.record_price(l, VIEW_EVIDENCE);
            }
            if let EventKind::Order { items, .. } = &e.kind {
                for line in items {
                    profile.record_order(&line.product, e.ts.unix_timestamp());
                    if let Some(l) = level(&line.product) {
                        profile.record_price(l, ORDER_EVIDENCE);
                    }
                }
            }
        }
    }
    if let Some(cookie) = shopper.set_cookie() {
        resp.headers_mut().append("set-cookie", &cookie)?;
    }
    Ok(resp)
}
