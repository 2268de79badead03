//! The storefront page before it is personalized: from the origin
//! (`ORIGIN_URL`) through the worker's page cache, or from the static
//! assets in `wrangler dev`.
//!
//! A `GET` without `Authorization` is looked up in the Cache API under
//! its URL alone ([`cache_key`]: no cookies, no tracking parameters), and
//! served by what the origin's `Cache-Control` allows
//! ([`page_cache`](crate::page_cache)): fresh, stale while a new copy is
//! fetched in the background (`wait_until`: `cache.put` knows no
//! `stale-while-revalidate`), stale when the origin fails (network error
//! or 5xx), or fetched anew. A background revalidation asks the origin
//! conditionally (`If-None-Match` / `If-Modified-Since`); a `304` keeps the
//! body and restarts its life. Pages the merchant purged
//! ([`purges`](crate::purges)) are fetched anew and never served stale.
//! Personalization happens after all this, on every request; only the
//! unpersonalized page is shared. `x-p13n-cache` says what happened:
//! `hit`, `stale`, `stale-if-error`, `miss`, or `bypass` (not cacheable).

use std::cell::RefCell;
use std::collections::HashMap;

use worker::{
    console_log, console_warn, Cache, Context, Date, Env, Headers, Method, Request, RequestInit,
    RequestRedirect, Response, Result, Url,
};

use crate::in_flight::IN_FLIGHT_EXPIRES_MS;
use crate::page_cache::{cache_key, CachePolicy, Freshness, NotCached};
use crate::purges;

/// Variable naming the storefront origin in production; without it the
/// worker serves its static assets (the fixtures store in `wrangler dev`).
pub const ORIGIN_VAR: &str = "ORIGIN_URL";
/// Static assets binding used when no origin is configured.
pub const ASSETS_BINDING: &str = "ASSETS";
/// The Cache API cache holding the origin's pages.
pub const PAGE_CACHE: &str = "firstpaint-pages";
/// Response header: how the page cache answered.
pub const CACHE_HEADER: &str = "x-p13n-cache";
/// Stored with a page: when it left the origin, unix ms (a `304` starts
/// its life again from then).
const STORED_AT: &str = "x-p13n-stored-at";
/// Stored with a page: when its body left the origin, unix ms, which a
/// `304` keeps: what purges are compared with, so a revalidation never
/// makes a purged body look newer than the purge.
const BODY_AT: &str = "x-p13n-body-at";
/// Stored with a page: the origin's own `Cache-Control` (the stored copy's
/// says how long the Cache API keeps it).
const ORIGIN_CACHE_CONTROL: &str = "x-p13n-origin-cache-control";

thread_local! {
    /// Pages this isolate is revalidating, and since when (ms): one
    /// background fetch each.
    static REVALIDATING: RefCell<HashMap<String, f64>> = RefCell::default();
}

/// The storefront's response to `req`: from the origin through the page
/// cache when `ORIGIN_URL` is set, else from the static assets. An origin
/// that cannot be reached and has no usable copy cached is a `502` naming
/// the reason.
pub async fn fetch(req: Request, env: &Env, ctx: &Context) -> Result<Response> {
    let Ok(origin) = env.var(ORIGIN_VAR) else {
        return env.assets(ASSETS_BINDING)?.fetch_request(req).await;
    };
    let url = req.url()?;
    let Ok(mut target) = Url::parse(&origin.to_string()) else {
        return bad_gateway(&format!("{ORIGIN_VAR} is not a URL: {origin}"));
    };
    target.set_path(url.path());
    target.set_query(url.query());
    if req.method() != Method::Get || req.headers().has("authorization")? {
        return match forward(&req, &target).await {
            Ok(answer) => tagged(answer, "bypass"),
            Err(e) => bad_gateway(&format!("the storefront origin cannot be reached: {e}")),
        };
    }
    let key = cache_key(&target);
    let cache = Cache::open(PAGE_CACHE.to_owned()).await;
    // Unknown purges: the cache is not read, only written.
    let stored = match purges::current(env, ctx).await {
        Some(purges) => lookup(&cache, &key).await.filter(|s| {
            purges
                .purged_at(url.path())
                .is_none_or(|at| s.body_at_ms > at as f64)
        }),
        None => None,
    };
    if let Some(stored) = stored {
        match stored.policy.freshness(stored.age_secs()) {
            Freshness::Fresh => return stored.served("hit"),
            Freshness::Revalidate => {
                // A revalidation that cannot start leaves the copy served.
                if let Err(e) = revalidate_in_background(ctx, cache, key, &req, &target, &stored) {
                    console_warn!("firstpaint: {}: not revalidated: {e}", url.path());
                }
                return stored.served("stale");
            }
            Freshness::IfOriginFails => {
                return match forward(&req, &target).await {
                    Ok(fresh) if fresh.status_code() < 500 => {
                        keep(ctx, cache, key, fresh, "miss", true)
                    }
                    Ok(failed) => {
                        console_warn!(
                            "firstpaint: {}: origin answered {}, serving the copy cached",
                            url.path(),
                            failed.status_code()
                        );
                        stored.served("stale-if-error")
                    }
                    Err(e) => {
                        console_warn!(
                            "firstpaint: {}: origin failed ({e}), serving the copy cached",
                            url.path()
                        );
                        stored.served("stale-if-error")
                    }
                };
            }
            Freshness::Expired => {}
        }
    }
    match forward(&req, &target).await {
        Ok(fresh) => keep(ctx, cache, key, fresh, "miss", false),
        Err(e) => bad_gateway(&format!("the storefront origin cannot be reached: {e}")),
    }
}

/// A page found in the cache.
struct Stored {
    response: Response,
    policy: CachePolicy,
    stored_at_ms: f64,
    body_at_ms: f64,
}

impl Stored {
    fn age_secs(&self) -> f64 {
        ((Date::now().as_millis() as f64 - self.stored_at_ms) / 1000.0).max(0.0)
    }

    /// The page as the origin sent it, with its `Age` and how it was
    /// served.
    fn served(self, how: &str) -> Result<Response> {
        let age = self.age_secs();
        let headers = Headers::new();
        for (name, value) in self.response.headers().entries() {
            match name.as_str() {
                STORED_AT | BODY_AT | "cache-control" | "age" | "cf-cache-status" => {}
                ORIGIN_CACHE_CONTROL => headers.set("cache-control", &value)?,
                _ => headers.append(&name, &value)?,
            }
        }
        headers.set("age", &(age as u64).to_string())?;
        headers.set(CACHE_HEADER, how)?;
        let (builder, body) = self.response.into_parts();
        Ok(builder.with_headers(headers).body(body))
    }
}

/// The page cached under `key`, if it is whole and readable.
async fn lookup(cache: &Cache, key: &str) -> Option<Stored> {
    let response = cache
        .get(key, false)
        .await
        .map_err(|e| console_warn!("firstpaint: page cache: {e}"))
        .ok()??;
    let header = |name| response.headers().get(name).ok().flatten();
    let stored_at_ms = header(STORED_AT)?.parse().ok()?;
    // Copies stored before bodies were timed apart: their own time.
    let body_at_ms = header(BODY_AT)
        .and_then(|b| b.parse().ok())
        .unwrap_or(stored_at_ms);
    let policy =
        CachePolicy::of_origin(200, header(ORIGIN_CACHE_CONTROL).as_deref(), false, None).ok()?;
    Some(Stored {
        response,
        policy,
        stored_at_ms,
        body_at_ms,
    })
}

/// `response` to the shopper, and a copy into the cache (in the
/// background) when the origin allows it. With `replaces_copy` (a copy is
/// cached under `key`), when the origin now says the page is gone or not
/// to be shared, that copy is dropped (in the background), not left to be
/// served if the origin fails later.
fn keep(
    ctx: &Context,
    cache: Cache,
    key: String,
    mut response: Response,
    how: &str,
    replaces_copy: bool,
) -> Result<Response> {
    let (policy, cc) = origin_policy(&response)?;
    match policy {
        Ok(policy) => {
            // `Age` is whole seconds; anything else is ignored, and it is
            // never more than the copy's whole life.
            let age_ms = response
                .headers()
                .get("age")?
                .and_then(|a| a.trim().parse::<u64>().ok())
                .map_or(0.0, |a| a.min(policy.kept_secs()) as f64 * 1000.0);
            let stored_at_ms = Date::now().as_millis() as f64 - age_ms;
            let copy = for_cache(response.cloned()?, &cc, &policy, stored_at_ms, stored_at_ms)?;
            ctx.wait_until(async move {
                if let Err(e) = cache.put(key.as_str(), copy).await {
                    console_warn!("firstpaint: page cache: {}: not stored: {e}", logged(&key));
                }
            });
            tagged(response, how)
        }
        Err(reason) => {
            console_log!("firstpaint: {}: not cached: {reason}", logged(&key));
            if replaces_copy && drops_copy(&reason) {
                ctx.wait_until(async move {
                    if let Err(e) = cache.delete(key.as_str(), false).await {
                        console_warn!("firstpaint: page cache: {}: not dropped: {e}", logged(&key));
                    }
                });
            }
            tagged(response, "bypass")
        }
    }
}

/// A cache key as logs show it: without its query, which may hold what a
/// shopper typed (a search, an e-mail in a link).
fn logged(key: &str) -> &str {
    key.split_once('?').map_or(key, |(page, _)| page)
}

/// Whether an origin answer that may not be cached also ends a copy
/// cached before it: the page is gone, or no longer to be shared (a 5xx,
/// a 429 or a cookie keep the copy until it expires).
fn drops_copy(reason: &NotCached) -> bool {
    matches!(
        reason,
        NotCached::Status(404 | 410) | NotCached::Directive("no-store" | "private")
    )
}

/// The copy of an origin response the cache keeps: for its whole life
/// (fresh and stale), with when it and its body were fetched and the
/// origin's `Cache-Control` beside it.
fn for_cache(
    response: Response,
    origin_cache_control: &str,
    policy: &CachePolicy,
    stored_at_ms: f64,
    body_at_ms: f64,
) -> Result<Response> {
    let headers = copy_headers(response.headers())?;
    headers.set(ORIGIN_CACHE_CONTROL, origin_cache_control)?;
    headers.set(
        "cache-control",
        &format!("public, max-age={}", policy.kept_secs()),
    )?;
    headers.set(STORED_AT, &format!("{stored_at_ms:.0}"))?;
    headers.set(BODY_AT, &format!("{body_at_ms:.0}"))?;
    headers.delete("age")?;
    let (builder, body) = response.into_parts();
    Ok(builder.with_headers(headers).body(body))
}

/// Fetches a new copy of a stale page after the response, once per
/// isolate at a time, without the shopper's cookies (the copy is
/// shared): conditionally, so an unchanged page costs the origin a `304`
/// (its body is then kept from the stale copy).
fn revalidate_in_background(
    ctx: &Context,
    cache: Cache,
    key: String,
    req: &Request,
    target: &Url,
    stored: &Stored,
) -> Result<()> {
    // Asked as nobody in particular: the copy is everyone's.
    let headers = copy_headers(req.headers())?;
    for name in ["cookie", "if-none-match", "if-modified-since", "range"] {
        headers.delete(name)?;
    }
    let validators = [
        ("etag", "if-none-match"),
        ("last-modified", "if-modified-since"),
    ];
    for (have, ask) in validators {
        if let Some(v) = stored.response.headers().get(have)? {
            headers.set(ask, &v)?;
        }
    }
    let mut init = RequestInit::new();
    init.with_headers(headers)
        .with_redirect(RequestRedirect::Manual);
    let request = Request::new_with_init(target.as_str(), &init)?;
    // One at a time per page; a mark left by a task the platform cut off
    // expires.
    let now = Date::now().as_millis() as f64;
    let started = REVALIDATING.with(|r| {
        let mut r = r.borrow_mut();
        r.retain(|_, since| now - *since < IN_FLIGHT_EXPIRES_MS);
        r.insert(key.clone(), now).is_none()
    });
    if !started {
        return Ok(());
    }
    ctx.wait_until(async move {
        let outcome = revalidate(&cache, &key, request).await;
        if let Err(e) = outcome {
            console_warn!(
                "firstpaint: page cache: {}: not revalidated: {e}",
                logged(&key)
            );
        }
        REVALIDATING.with(|r| r.borrow_mut().remove(&key));
    });
    Ok(())
}

async fn revalidate(cache: &Cache, key: &str, request: Request) -> Result<()> {
    let fresh = worker::Fetch::Request(request).send().await?;
    let copy = if fresh.status_code() == 304 {
        // Unchanged: the stale body, its life restarted under the 304's
        // directives (or its own).
        let Some(old) = lookup(cache, key).await else {
            return Ok(());
        };
        let cc = match fresh.headers().get("cache-control")? {
            Some(cc) => cc,
            None => old
                .response
                .headers()
                .get(ORIGIN_CACHE_CONTROL)?
                .unwrap_or_default(),
        };
        let Ok(policy) = CachePolicy::of_origin(200, Some(&cc), false, None) else {
            return Ok(());
        };
        let now = Date::now().as_millis() as f64;
        for_cache(old.response, &cc, &policy, now, old.body_at_ms)?
    } else {
        let (policy, cc) = origin_policy(&fresh)?;
        match policy {
            Ok(policy) => {
                let now = Date::now().as_millis() as f64;
                for_cache(fresh, &cc, &policy, now, now)?
            }
            Err(reason) if drops_copy(&reason) => {
                cache.delete(key, false).await?;
                return Ok(());
            }
            Err(_) => return Ok(()),
        }
    };
    cache.put(key, copy).await
}

/// How the origin lets `response` be cached, and its `Cache-Control`.
fn origin_policy(response: &Response) -> Result<(Result<CachePolicy, NotCached>, String)> {
    let headers = response.headers();
    let cc = headers.get("cache-control")?.unwrap_or_default();
    let policy = CachePolicy::of_origin(
        response.status_code(),
        Some(&cc),
        headers.has("set-cookie")?,
        headers.get("vary")?.as_deref(),
    );
    Ok((policy, cc))
}

/// `req` sent to the origin at `target`: same method, headers and body;
/// redirects are the browser's to follow.
async fn forward(req: &Request, target: &Url) -> Result<Response> {
    let mut init = RequestInit::new();
    init.with_method(req.method())
        .with_headers(copy_headers(req.headers())?)
        .with_redirect(RequestRedirect::Manual);
    if !matches!(req.method(), Method::Get | Method::Head) {
        init.with_body(req.inner().body().map(Into::into));
    }
    let forwarded = Request::new_with_init(target.as_str(), &init)?;
    worker::Fetch::Request(forwarded).send().await
}

/// `response` with `x-p13n-cache: how`.
fn tagged(response: Response, how: &str) -> Result<Response> {
    let headers = copy_headers(response.headers())?;
    headers.set(CACHE_HEADER, how)?;
    let (builder, body) = response.into_parts();
    Ok(builder.with_headers(headers).body(body))
}

/// A `502` saying why the storefront could not be fetched.
fn bad_gateway(reason: &str) -> Result<Response> {
    console_warn!("firstpaint: {reason}");
    Response::error(format!("Bad gateway: {reason}\n"), 502)
}

/// A mutable copy of `h` without the length (the body may change).
pub fn copy_headers(h: &Headers) -> Result<Headers> {
    // The runtime's `new Headers(h)`: one call, where copying header by
    // header crossed into JavaScript four times a header. (Not
    // `Headers::clone`, which unwraps the constructor's result.)
    let out = Headers(worker::web_sys::Headers::new_with_headers(&h.0)?);
    out.delete("content-length")?;
    Ok(out)
}
