//! The firstpaint edge worker (Cloudflare Workers, workers-rs).
//!
//! Every storefront page passes through [`page::serve`]: the worker fetches
//! the page ([`storefront`]: from the origin through its page cache, which
//! honours the origin's `Cache-Control` and the merchant's purges), loads the signed bundle once per isolate ([`loader`]), reads the
//! shopper's recently viewed products from a first-party cookie
//! ([`cookies`]) and fills each `data-p13n-slot` while the HTML streams
//! ([`rewrite`]). Any failure serves the page unmodified. `/p13n/health`,
//! `/p13n/recommend`, `/p13n/search` and `/p13n/collect` are JSON endpoints
//! ([`api`]); search parameters are read by [`search`].
//!
//! A store too large for one KV value is published as shards: the worker
//! then opens only the shards a request needs ([`routing`] says which,
//! [`shards`] opens and keeps them, [`shard_search`] searches across them).
//!
//! The logic lives in plain modules (`rewrite`, `cookies`, `routing`,
//! `shard_cache`) that are tested on the host; the worker glue only moves
//! bytes between them and the runtime.
#![deny(missing_docs)]

pub mod api;
pub mod channel;
pub mod collect;
pub mod consent;
pub mod cookies;
pub mod error;
pub mod event_export;
pub mod event_sink;
pub mod experiment;
pub mod facets;
pub mod in_flight;
pub mod keyed_hash;
pub mod limits;
pub mod loader;
pub mod overlay;
pub mod page;
pub mod page_cache;
pub mod profile;
pub mod purges;
pub mod recommend;
pub mod rewrite;
pub mod rewrite_stream;
pub mod routing;
pub mod search;
pub mod shard_cache;
pub mod shard_search;
pub mod shards;
pub mod shopper;
pub mod single_flight;
pub mod slot_regions;
pub mod storefront;

use worker::{event, Context, Env, MessageBatch, Method, Request, Response, Result};

/// One-time setup per isolate: panics (which should never happen) are logged.
#[event(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Routes a request: the JSON API under `/p13n/`, everything else a page.
#[event(fetch)]
pub async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let path = req.path();
    match (req.method(), path.as_str()) {
        (Method::Get, "/p13n/health") => api::health(&env, &ctx).await,
        (Method::Get, "/p13n/recommend") => api::recommend(&req, &env, &ctx).await,
        (Method::Get, "/p13n/search") => api::search(&req, &env, &ctx).await,
        (Method::Post, "/p13n/collect") => api::collect(req, &env, &ctx).await,
        (_, p) if p == "/p13n/events" || p.starts_with("/p13n/events/") => {
            event_export::serve(&req, &env, &ctx).await
        }
        (_, "/p13n/collect") => Ok(Response::from_json(
            &serde_json::json!({ "error": "use POST for /p13n/collect" }),
        )?
        .with_status(405)),
        (_, p) if p.starts_with("/p13n/") => Ok(Response::from_json(
            &serde_json::json!({ "error": format!("no endpoint {} {p}", req.method()) }),
        )?
        .with_status(404)),
        _ => page::serve(req, &env, &ctx).await,
    }
}

/// The events queue's consumer: each batch becomes one gzipped NDJSON
/// object in R2 ([`event_sink::store`]).
#[event(queue)]
pub async fn queue(batch: MessageBatch<String>, env: Env, _ctx: Context) -> Result<()> {
    event_sink::store(batch, &env).await
}
