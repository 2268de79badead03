//! The origin's way to the collected events: `/p13n/events`, behind a
//! bearer token (the secret [`TOKEN_VAR`], compared in constant time).
//!
//! - `GET /p13n/events?since=<unix s>[&cursor=…]`: the objects
//!   [`crate::event_sink`] wrote from the hour holding `since` on, in
//!   order, a page at a time (`cursor` for the next page, `null` at the
//!   end): `{"objects": [{"key", "bytes", "uploaded"}], "cursor"}`.
//! - `GET /p13n/events/<YYYY/MM/DD/HH/name>`: one object, as stored
//!   (gzipped NDJSON).
//! - `DELETE /p13n/events?before=<unix s>`: removes the objects of every
//!   hour before the one holding `before` (`firstpaint events prune`):
//!   `{"deleted": n}`.
//!
//! Without the secret the routes answer 404 saying how to turn them on; a
//! missing or wrong token is a 401.
//!
//! Nothing older than the served bundle's rules' `events.retention_days`
//! is listed or returned (a 410 names the rule), whether or not it has
//! been pruned yet; every answer says the retention in
//! `x-p13n-retention-days`.

use serde::Serialize;
use sha2::{Digest, Sha256};
use worker::{Context, Date, Env, Request, Response, Result, Url};

use crate::api::json_error;
use crate::event_sink::{hour_prefix, BUCKET_BINDING, PREFIX};
use crate::shopper::setting;

/// The secret holding the export's bearer token.
pub const TOKEN_VAR: &str = "EVENTS_TOKEN";
/// The most objects one page lists.
const PAGE: u32 = 1000;

/// One stored object, as the listing shows it.
#[derive(Debug, Serialize)]
struct Listed {
    key: String,
    bytes: u64,
    /// When it was written, ms since the epoch.
    uploaded: u64,
}

/// Answers a request under `/p13n/events`: the token first, then the
/// served rules' retention (a 503 while they cannot be read: the export
/// never guesses how long events may be kept).
pub async fn serve(req: &Request, env: &Env, ctx: &Context) -> Result<Response> {
    if let Err((status, why)) = authorize(req, env) {
        let mut resp = json_error(status, why)?;
        if status == 401 {
            resp.headers_mut().set("www-authenticate", "Bearer")?;
        }
        return Ok(resp);
    }
    let days = match crate::loader::engine(env, ctx).await {
        Ok(loaded) => loaded.engine.store().rules().event_retention_days,
        Err(e) => {
            return json_error(
                503,
                format!("the rules' events.retention_days cannot be read ({e}); try again"),
            )
        }
    };
    let mut resp = answer(req, env, days).await?;
    resp.headers_mut()
        .set("x-p13n-retention-days", &days.to_string())?;
    Ok(resp)
}

/// The first hour wholly within `days` of now: every key below its
/// prefix holds events past retention.
fn retained_from(days: u32) -> String {
    let now = Date::now().as_millis() / 1000;
    hour_prefix(now.saturating_sub(u64::from(days) * 86_400) + 3_599)
}

async fn answer(req: &Request, env: &Env, days: u32) -> Result<Response> {
    let bucket = match env.bucket(BUCKET_BINDING) {
        Ok(b) => b,
        Err(e) => return json_error(503, format!("R2 binding {BUCKET_BINDING}: {e}")),
    };
    let url = req.url()?;
    let rest = url.path().strip_prefix("/p13n/events").unwrap_or_default();
    match (req.method(), rest) {
        (worker::Method::Get, "" | "/") => {
            let Some(since) = seconds(&url, "since") else {
                return json_error(400, "missing or bad parameter since (unix seconds)");
            };
            let from = hour_prefix(since).max(retained_from(days));
            let mut list = bucket
                .list()
                .prefix(PREFIX)
                .start_after(from.trim_end_matches('/'))
                .limit(PAGE);
            if let Some(cursor) = param(&url, "cursor") {
                list = list.cursor(cursor);
            }
            let page = list.execute().await?;
            // A cursor handed out before the retention moved may start below it.
            let oldest = retained_from(days);
            let objects: Vec<Listed> = page
                .objects()
                .iter()
                .filter(|o| o.key() >= oldest)
                .map(|o| Listed {
                    key: o.key(),
                    bytes: o.size(),
                    uploaded: o.uploaded().as_millis(),
                })
                .collect();
            let cursor = page.truncated().then(|| page.cursor()).flatten();
            Response::from_json(&serde_json::json!({ "objects": objects, "cursor": cursor }))
        }
        (worker::Method::Get, name) => {
            let Some(key) = object_key(name) else {
                return json_error(400, format!("{name:?} names no events object"));
            };
            if key < retained_from(days) {
                return json_error(
                    410,
                    format!("{key} is older than the rules' events.retention_days ({days}): it is not returned, and `firstpaint events prune` deletes it"),
                );
            }
            let Some(object) = bucket.get(&key).execute().await? else {
                return json_error(404, format!("no object {key}"));
            };
            let Some(body) = object.body() else {
                return json_error(404, format!("object {key} has no body"));
            };
            let mut resp = Response::from_stream(body.stream()?)?;
            resp.headers_mut().set("content-type", "application/gzip")?;
            Ok(resp)
        }
        (worker::Method::Delete, "" | "/") => {
            let Some(before) = seconds(&url, "before") else {
                return json_error(400, "missing or bad parameter before (unix seconds)");
            };
            let bound = hour_prefix(before);
            let mut deleted = 0u64;
            loop {
                let page = bucket.list().prefix(PREFIX).limit(PAGE).execute().await?;
                let old: Vec<String> = page
                    .objects()
                    .iter()
                    .map(|o| o.key())
                    .filter(|k| *k < bound)
                    .collect();
                if old.is_empty() {
                    break;
                }
                deleted += old.len() as u64;
                bucket.delete_multiple(old).await?;
            }
            Response::from_json(&serde_json::json!({ "deleted": deleted }))
        }
        _ => json_error(405, "GET or DELETE /p13n/events"),
    }
}

/// `Err` with the status and reason when the request does not carry the
/// token (or there is none to carry).
fn authorize(req: &Request, env: &Env) -> std::result::Result<(), (u16, String)> {
    let Some(token) = setting(env, TOKEN_VAR).filter(|t| !t.is_empty()) else {
        return Err((
            404,
            format!("event export is off: set the secret {TOKEN_VAR}"),
        ));
    };
    let given = req
        .headers()
        .get("authorization")
        .ok()
        .flatten()
        .and_then(|h| h.strip_prefix("Bearer ").map(str::to_owned));
    match given {
        Some(given) if same(&given, &token) => Ok(()),
        Some(_) => Err((401, "the bearer token is not the export's".into())),
        None => Err((401, "no bearer token (authorization: Bearer …)".into())),
    }
}

/// Whether `a` and `b` are equal, in time that does not depend on where
/// they differ (nor on their lengths: their digests are compared).
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// The query parameter `name`.
fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The query parameter `name` as unix seconds.
fn seconds(url: &Url, name: &str) -> Option<u64> {
    param(url, name)?.parse().ok()
}

/// The object key a path under `/p13n/events/` names: `YYYY/MM/DD/HH/`
/// then a name of `0-9 a-z - .`, ending `.ndjson.gz`.
fn object_key(path: &str) -> Option<String> {
    let rest = path.strip_prefix('/')?;
    let parts: Vec<&str> = rest.split('/').collect();
    let [y, m, d, h, name] = parts.as_slice() else {
        return None;
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let named = name.ends_with(".ndjson.gz")
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'-' || b == b'.');
    (digits(y, 4) && digits(m, 2) && digits(d, 2) && digits(h, 2) && named)
        .then(|| format!("{PREFIX}{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same("s3cret-token", "s3cret-token"));
        assert!(!same("s3cret-token", "s3cret-tokeN"));
        assert!(!same("s3cret-token", "s3cret-token-and-more"));
        assert!(!same("", "x"));
    }

    #[test]
    fn only_object_paths_name_objects() {
        assert_eq!(
            object_key("/2026/12/01/20/1796157907123-a1b2.ndjson.gz").as_deref(),
            Some("events/2026/12/01/20/1796157907123-a1b2.ndjson.gz")
        );
        for bad in [
            "/2026/12/01/20/../../x.ndjson.gz",
            "/2026/12/01/20/a.txt",
            "/2026/12/01/x.ndjson.gz",
            "/2026/12/1/20/a.ndjson.gz",
            "/2026/12/01/20/A.ndjson.gz",
            "/2026/12/01/20/.ndjson.gz",
            "",
        ] {
            assert_eq!(object_key(bad), None, "{bad}");
        }
    }
}
