//! The storefront cache's purges, as this isolate last read them from KV
//! (`firstpaint cache purge` writes them; see
//! [`firstpaint_contracts::Purges`]).
//!
//! An isolate reads the document before its first cached page, then again
//! every `PURGE_TTL_MS` in the background, so a purge reaches every
//! isolate within that time (plus KV's own propagation in production).
//! While the document cannot be read, or is not a purge document, the
//! cache is not read from ([`current`] is `None`): a page the merchant
//! purged is never served because the purge could not be seen.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use firstpaint_contracts::{Purges, PURGES_KEY};
use worker::{console_warn, Context, Env};

use crate::error::EdgeError;
use crate::in_flight::Polled;
use crate::limits::PURGE_TTL_MS;
use crate::loader::{kv_text, now_ms};
use crate::shopper::setting_or;

/// Variable overriding [`PURGE_TTL_MS`], in milliseconds.
pub const PURGE_TTL_VAR: &str = "PURGE_TTL_MS";

#[derive(Default)]
struct State {
    /// The document last read, each rule's time moved up to when this
    /// isolate first saw it (`None`: never read, or the last read failed).
    purges: Option<Rc<Purges>>,
    /// When this isolate first saw each rule (path, time asked), ms.
    first_seen: HashMap<(String, i64), f64>,
    /// A read has succeeded: rules found after it are new to the isolate.
    read_once: bool,
    poll: Polled,
    last_error: Option<String>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::default();
}

/// The purges in force, read first if this isolate never has; re-read in
/// the background when older than `PURGE_TTL_MS`. `None` while they
/// cannot be known.
pub async fn current(env: &Env, ctx: &Context) -> Option<Rc<Purges>> {
    let ttl = setting_or(env, PURGE_TTL_VAR, PURGE_TTL_MS);
    let (never, due) = STATE.with(|s| {
        let mut s = s.borrow_mut();
        let now = now_ms();
        let never = s.poll.never_read();
        let due = s.poll.start_if_due(now, ttl);
        (never, due)
    });
    if never && due {
        refresh(env).await;
    } else if due {
        let env = env.clone();
        ctx.wait_until(async move { refresh(&env).await });
    }
    STATE.with(|s| s.borrow().purges.clone())
}

/// Why the purges could not be read last time, if they could not.
pub fn last_error() -> Option<String> {
    STATE.with(|s| s.borrow().last_error.clone())
}

/// How many purge rules the isolate holds (`None`: unknown).
pub fn rules_held() -> Option<usize> {
    STATE.with(|s| s.borrow().purges.as_ref().map(|p| p.rules.len()))
}

async fn refresh(env: &Env) {
    let result = read(env).await;
    if let Err(e) = &result {
        console_warn!("firstpaint: page cache not read until purges can be: {e}");
    }
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let now = now_ms();
        // The first read that succeeds, not the first tried: a failed
        // first read must not make every old rule look new.
        let first_read = !s.read_once;
        s.poll.ended(now);
        match result {
            Ok(mut purges) => {
                // The purge's clock is the publisher's: a rule that appears
                // while this isolate runs counts from when it was asked or
                // from when the isolate first saw it, whichever is later, so
                // a slow clock purges more, never less. (The rules found on
                // an isolate's first read keep their own times: taking them
                // as new would empty the cache at every isolate start.)
                let mut first_seen = std::mem::take(&mut s.first_seen);
                first_seen.retain(|(path, at), _| {
                    purges
                        .rules
                        .iter()
                        .any(|r| &r.path == path && r.at_ms == *at)
                });
                for rule in &mut purges.rules {
                    let seen = *first_seen
                        .entry((rule.path.clone(), rule.at_ms))
                        .or_insert(if first_read { rule.at_ms as f64 } else { now });
                    rule.at_ms = rule.at_ms.max(seen as i64);
                }
                s.first_seen = first_seen;
                s.read_once = true;
                s.purges = Some(Rc::new(purges));
                s.last_error = None;
            }
            Err(e) => {
                s.purges = None;
                s.last_error = Some(e.to_string());
            }
        }
    });
}

async fn read(env: &Env) -> Result<Purges, EdgeError> {
    match kv_text(env, PURGES_KEY).await? {
        None => Ok(Purges::default()),
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            EdgeError::Config(format!(
                "KV key {PURGES_KEY:?} is not a purge document: {e}"
            ))
        }),
    }
}
