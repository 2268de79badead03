//! Live stock, prices and availability, laid over every bundle the isolate
//! serves (`firstpaint live push` publishes them; see
//! `firstpaint_engine::store::live`).
//!
//! KV key `live` points to the overlay served now (its sequence and
//! content address). Each isolate reads the pointer on its first load and
//! then every `LIVE_TTL_MS` in the background (`wait_until`); when it names
//! another overlay, the overlay is read, checked against its address,
//! opened (a trusted key's signature, not expired, not older than the one
//! applied) and decoded once, then laid over the current bundle, the
//! canary and each open shard ([`apply`]: the bundles' views are shared,
//! nothing is reopened). An overlay refused keeps the one applied, and
//! `/p13n/health` says why; a bundle opened later gets the overlay held.

use std::cell::RefCell;
use std::rc::Rc;

use firstpaint_bundle::{open_live, LiveHeader, LivePointer, LIVE_KEY, LIVE_PAYLOAD_AT};
use firstpaint_contracts::LiveUpdate;
use firstpaint_engine::{decode_updates, Engine};
use worker::js_sys::Uint8Array;
use worker::Env;

use crate::error::EdgeError;
use crate::in_flight::Polled;
use crate::limits::LIVE_TTL_MS;
use crate::loader::{self, now_ms};
use crate::shopper::setting_or;

/// Variable overriding [`LIVE_TTL_MS`] (how often the pointer is
/// re-read), in milliseconds.
pub const LIVE_TTL_VAR: &str = "LIVE_TTL_MS";

/// The overlay held: decoded once, laid over each bundle.
#[derive(Clone)]
pub struct Overlay {
    /// What it says of itself (sequence, times).
    pub header: LiveHeader,
    /// Its content address, hex.
    pub sha256: String,
    /// Its updates, sorted by id.
    pub updates: Rc<Vec<LiveUpdate>>,
}

/// The isolate's overlay and when its pointer was last read.
#[derive(Default)]
struct State {
    overlay: Option<Overlay>,
    poll: Polled,
    last_error: Option<String>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::default();
}

/// The overlay held, if any.
pub fn held() -> Option<Overlay> {
    STATE.with(|s| s.borrow().overlay.clone())
}

/// Why the last read of the overlay was refused, if it was (the overlay
/// held, if any, stays applied).
pub fn last_error() -> Option<String> {
    STATE.with(|s| s.borrow().last_error.clone())
}

/// `engine` with the overlay held laid over it: itself when it already
/// has it (or there is none).
pub fn apply(engine: &Rc<Engine>) -> Rc<Engine> {
    match held() {
        Some(o) if engine.live().map(|r| r.sequence) != Some(o.header.sequence) => {
            Rc::new(engine.with_live(&o.header, &o.updates))
        }
        _ => Rc::clone(engine),
    }
}

/// Whether the pointer is due a read: never read, or read longer ago than
/// `LIVE_TTL_MS` (and no read is in flight). Marks the read as started.
pub fn due(env: &Env) -> bool {
    let ttl = setting_or(env, LIVE_TTL_VAR, LIVE_TTL_MS);
    STATE.with(|s| s.borrow_mut().poll.start_if_due(now_ms(), ttl))
}

/// Reads the pointer and, when it names another overlay, reads, opens and
/// holds it, then lays it over the bundles in use. Failures are kept for
/// `/p13n/health`; the overlay held stays.
pub async fn refresh(env: &Env) {
    let result = read(env).await;
    let changed = STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.poll.ended(now_ms());
        match result {
            Ok(Some(overlay)) => {
                s.overlay = Some(overlay);
                s.last_error = None;
                true
            }
            Ok(None) => {
                s.last_error = None;
                false
            }
            Err(e) => {
                s.last_error = Some(e.to_string());
                false
            }
        }
    });
    if changed {
        loader::relayer(apply);
        crate::shards::relayer(apply);
    }
}

/// The overlay the pointer names, when it is not the one held.
async fn read(env: &Env) -> Result<Option<Overlay>, EdgeError> {
    let Some(text) = loader::kv_text(env, LIVE_KEY).await? else {
        return Ok(None);
    };
    let pointer: LivePointer = serde_json::from_str(&text).map_err(|e| {
        EdgeError::Manifest(format!("KV key {LIVE_KEY:?} is not a live pointer: {e}"))
    })?;
    let held = held();
    if held.as_ref().is_some_and(|o| o.sha256 == pointer.sha256) {
        return Ok(None);
    }
    let buffer = loader::fetch_verified(env, &pointer.key, &pointer.sha256).await?;
    // The payload's hash by the runtime: the signature covers it.
    let payload_at = LIVE_PAYLOAD_AT.min(buffer.byte_length() as usize) as u32;
    let digest =
        loader::subtle_sha256(&Uint8Array::new_with_byte_offset(&buffer, payload_at)).await?;
    let bytes = loader::bytes_of(&buffer);
    let newest = held.map_or(0, |o| o.header.sequence);
    let keys = loader::trusted_keys(env)?;
    let now = (now_ms() / 1000.0) as i64;
    let (header, payload) = open_live(&bytes, &keys, now, newest, Some(digest))
        .map_err(|e| EdgeError::Manifest(e.to_string()))?;
    let updates = decode_updates(payload)?;
    Ok(Some(Overlay {
        header,
        sha256: pointer.sha256,
        updates: Rc::new(updates),
    }))
}
