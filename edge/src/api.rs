//! The JSON endpoints under `/p13n/`.

use serde::Serialize;
use worker::{Context, Date, Env, Request, Response, Result};

use firstpaint_contracts::is_valid_id;
use firstpaint_engine::{format_price, EngineError, Reason, SlotKind, SlotRequest};

use crate::cookies::viewed_from_header;
use crate::limits::{MAX_COOKIE_VIEWED, MAX_QUERY_BYTES};
use crate::loader;

/// `GET /p13n/health`: which bundle is live, who signed it, how old it is.
pub async fn health(env: &Env, ctx: &Context) -> Result<Response> {
    let now_s = Date::now().as_millis() as i64 / 1000;
    match loader::engine(env, ctx).await {
        Ok(loaded) => {
            let info = loaded.engine.info();
            Response::from_json(&serde_json::json!({
                "status": "ok",
                "bundle": info,
                "sha256": loaded.sha256,
                "age_seconds": now_s - info.created_at,
                "expires_in_seconds": info.expires_at - now_s,
                "last_refresh_error": loaded.last_error,
            }))
        }
        Err(e) => Ok(Response::from_json(&serde_json::json!({
            "status": "no bundle",
            "error": e.to_string(),
            "last_failure": loader::last_failure(),
        }))?
        .with_status(503)),
    }
}

#[derive(Serialize)]
struct Item<'a> {
    id: &'a str,
    title: &'a str,
    url: &'a str,
    image: &'a str,
    price: f64,
    price_display: String,
    currency: &'a str,
    score: f32,
    reasons: &'a [Reason],
}

/// A 400 whose body says what was wrong.
fn bad_request(reason: impl Into<String>) -> Result<Response> {
    Ok(Response::from_json(&serde_json::json!({ "error": reason.into() }))?.with_status(400))
}

const RECOMMEND_PARAMS: [&str; 5] = ["slot", "product", "k", "viewed", "explain"];

/// `GET /p13n/recommend?slot=…&product=…&k=…`: a slot's ranking as JSON,
/// for the same shopper (cookie) the page would use.
pub async fn recommend(req: &Request, env: &Env, ctx: &Context) -> Result<Response> {
    let url = req.url()?;
    if url.query().map_or(0, str::len) > MAX_QUERY_BYTES {
        return bad_request(format!("query string longer than {MAX_QUERY_BYTES} bytes"));
    }
    let mut slot = None;
    let mut product = None;
    let mut k = None;
    let mut explain = false;
    let mut viewed = viewed_from_header(req.headers().get("cookie")?.as_deref());
    for (name, value) in url.query_pairs() {
        if value.contains('\u{FFFD}') {
            return bad_request(format!("parameter {name:?} is not valid UTF-8"));
        }
        match name.as_ref() {
            "slot" => slot = Some(value.into_owned()),
            "product" => product = Some(value.into_owned()),
            "k" => match value.parse::<usize>() {
                Ok(n) => k = Some(n),
                Err(_) => return bad_request(format!("k must be a whole number (got {value:?})")),
            },
            "viewed" => {
                let ids: Vec<String> = value
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                if let Some(bad) = ids.iter().find(|id| !is_valid_id(id)) {
                    return bad_request(format!("viewed: {bad:?} is not a product id"));
                }
                viewed = ids.into_iter().take(MAX_COOKIE_VIEWED).collect();
            }
            "explain" => explain = matches!(value.as_ref(), "1" | "true"),
            other => {
                return bad_request(format!(
                    "unknown parameter {other:?}; expected one of {}",
                    RECOMMEND_PARAMS.join(", ")
                ))
            }
        }
    }
    let Some(slot) = slot else {
        return bad_request("missing parameter slot");
    };
    let kind: SlotKind = match slot.parse() {
        Ok(k) => k,
        Err(e) => return bad_request(e.to_string()),
    };
    let loaded = match loader::engine(env, ctx).await {
        Ok(l) => l,
        Err(e) => {
            return Ok(
                Response::from_json(&serde_json::json!({ "error": e.to_string() }))?
                    .with_status(503),
            )
        }
    };
    let engine = &loaded.engine;
    let request = SlotRequest {
        kind,
        k,
        product,
        viewed,
        explain,
    };
    let ranking = match engine.rank(&request) {
        Ok(r) => r,
        Err(
            e @ (EngineError::UnknownProduct(_)
            | EngineError::MissingProduct { .. }
            | EngineError::InvalidK { .. }),
        ) => return bad_request(e.to_string()),
        Err(e) => {
            return Ok(
                Response::from_json(&serde_json::json!({ "error": e.to_string() }))?
                    .with_status(500),
            )
        }
    };
    let items: Vec<Item<'_>> = ranking
        .items
        .iter()
        .filter_map(|item| {
            let p = engine.product_at(item.ordinal)?;
            Some(Item {
                id: &p.id,
                title: &p.title,
                url: &p.url,
                image: &p.image,
                price: p.price,
                price_display: format_price(p.price, &p.currency),
                currency: &p.currency,
                score: item.score,
                reasons: &item.reasons,
            })
        })
        .collect();
    let mut resp = Response::from_json(&serde_json::json!({
        "bundle": engine.info().version,
        "slot": ranking.slot,
        "personalized": ranking.personalized,
        "items": items,
        "removed": ranking.removed,
    }))?;
    resp.headers_mut()
        .set("x-p13n-bundle", &engine.info().version.to_string())?;
    resp.headers_mut()
        .set("cache-control", "private, no-store")?;
    Ok(resp)
}
