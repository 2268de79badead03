//! The bundle, loaded and verified once per isolate, refreshed in the background.
//!
//! The first request of an isolate reads the manifest and the bundle from KV
//! and verifies it (one load, shared by the requests that arrive meanwhile;
//! a page waits for it at most its budget, then streams unmodified while
//! the load finishes in the background). Later requests use the cached engine at once; after
//! [`MANIFEST_TTL_MS`] one request also schedules a background re-check of the
//! manifest (`wait_until`), so no shopper waits on KV once warm. A bundle that
//! fails verification never replaces the one in use.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use firstpaint_bundle::{hex, parse_verifying_key, section_ranges, Bundle, Manifest, VerifyingKey};
use firstpaint_engine::Engine;
use futures_util::future::{select, Either, FutureExt, LocalBoxFuture, Shared};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::js_sys::{self, ArrayBuffer, Uint8Array};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{Date, Delay, Env};

use crate::error::EdgeError;
use crate::limits::{MANIFEST_TTL_MS, RETRY_AFTER_FAILURE_MS};

/// KV binding holding manifest and bundles.
pub const KV_BINDING: &str = "BUNDLES";
/// KV key of the manifest.
pub const MANIFEST_KEY: &str = "manifest";
/// Variable holding the trusted public key (hex).
pub const PUBKEY_VAR: &str = "BUNDLE_PUBKEY";

/// The engine in use and what it was loaded from.
#[derive(Clone)]
pub struct Loaded {
    /// The engine.
    pub engine: Rc<Engine>,
    /// SHA-256 of its bundle, hex.
    pub sha256: String,
    /// When the manifest was last checked, ms since the epoch.
    pub checked_at_ms: f64,
    /// When the bundle was loaded, ms since the epoch.
    pub loaded_at_ms: f64,
    /// Why the last refresh failed, if it did.
    pub last_error: Option<String>,
}

thread_local! {
    static CURRENT: RefCell<Option<Loaded>> = const { RefCell::new(None) };
    static REFRESHING: RefCell<bool> = const { RefCell::new(false) };
    /// The first load while it is in flight.
    static LOADING: RefCell<Option<Loading>> = const { RefCell::new(None) };
    /// The last failed load while nothing is cached: (when, why). Requests
    /// within [`RETRY_AFTER_FAILURE_MS`] fail fast instead of re-reading KV.
    static FAILED: RefCell<Option<(f64, String)>> = const { RefCell::new(None) };
}

fn now_ms() -> f64 {
    Date::now().as_millis() as f64
}

/// The engine for this request: cached when there is one (scheduling a
/// background refresh when stale), else loaded now (one load per isolate,
/// however many requests wait for it).
pub async fn engine(env: &Env, ctx: &worker::Context) -> Result<Loaded, EdgeError> {
    match cached(env, ctx)? {
        Some(loaded) => Ok(loaded),
        None => first_load(env).await,
    }
}

/// As [`engine`], for a page: a cold isolate waits at most `budget` for its
/// first bundle (zero: not at all). Past it the load goes on in the
/// background (`wait_until`) for the requests after this one, and this page
/// gets [`EdgeError::Loading`] (it streams unmodified: no shopper waits on a
/// large bundle's transfer and hashing). The runtime's clock moves with
/// I/O, so the budget bounds the waits (KV, `crypto.subtle`), not the few
/// milliseconds of synchronous opening.
pub async fn engine_within(
    env: &Env,
    ctx: &worker::Context,
    budget: Duration,
) -> Result<Loaded, EdgeError> {
    if let Some(loaded) = cached(env, ctx)? {
        return Ok(loaded);
    }
    let load = first_load(env);
    let result = if budget.is_zero() {
        None
    } else {
        let timer = std::pin::pin!(Delay::from(budget));
        match select(load.clone(), timer).await {
            Either::Left((result, _)) => Some(result),
            Either::Right(_) => None,
        }
    };
    result.unwrap_or_else(|| {
        ctx.wait_until(async move {
            let _ = load.await;
        });
        Err(EdgeError::Loading(budget.as_millis() as u64))
    })
}

/// The cached engine, scheduling a background refresh when its manifest
/// check is stale; `Err` while a recent failed load is not retried yet.
fn cached(env: &Env, ctx: &worker::Context) -> Result<Option<Loaded>, EdgeError> {
    if let Some(loaded) = CURRENT.with(|c| c.borrow().clone()) {
        let stale = now_ms() - loaded.checked_at_ms > MANIFEST_TTL_MS;
        if stale && !REFRESHING.with(|r| r.replace(true)) {
            let env = env.clone();
            ctx.wait_until(async move {
                let _ = refresh(&env).await;
                REFRESHING.with(|r| *r.borrow_mut() = false);
            });
        }
        return Ok(Some(loaded));
    }
    if let Some((at, why)) = FAILED.with(|f| f.borrow().clone()) {
        if now_ms() - at < RETRY_AFTER_FAILURE_MS {
            return Err(EdgeError::NotLoaded(why));
        }
    }
    Ok(None)
}

/// The isolate's first load, shared by every request waiting for it (one
/// KV read and one copy of the bundle, not one per request).
fn first_load(env: &Env) -> Loading {
    LOADING.with(|cell| {
        if let Some(load) = cell.borrow().as_ref() {
            return load.clone();
        }
        let env = env.clone();
        let load = async move {
            let result = refresh(&env).await;
            LOADING.with(|cell| *cell.borrow_mut() = None);
            result
        }
        .boxed_local()
        .shared();
        *cell.borrow_mut() = Some(load.clone());
        load
    })
}

/// A load in flight, awaitable by several requests.
type Loading = Shared<LocalBoxFuture<'static, Result<Loaded, EdgeError>>>;

/// Re-reads the manifest; loads and verifies a new bundle when it changed.
/// On failure the current engine stays, and the error is kept for `/p13n/health`.
pub async fn refresh(env: &Env) -> Result<Loaded, EdgeError> {
    let result = load_if_changed(env).await;
    CURRENT.with(|c| {
        let mut current = c.borrow_mut();
        match (&result, current.as_mut()) {
            (Ok(loaded), _) => *current = Some(loaded.clone()),
            (Err(e), Some(old)) => {
                old.checked_at_ms = now_ms();
                old.last_error = Some(e.to_string());
            }
            (Err(e), None) => FAILED.with(|f| *f.borrow_mut() = Some((now_ms(), e.to_string()))),
        }
    });
    result
}

/// The engine currently cached, without loading.
pub fn current() -> Option<Loaded> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Why the last load failed while nothing is cached.
pub fn last_failure() -> Option<String> {
    FAILED.with(|f| f.borrow().as_ref().map(|(_, why)| why.clone()))
}

async fn load_if_changed(env: &Env) -> Result<Loaded, EdgeError> {
    let key = trusted_key(env)?;
    let kv = env
        .kv(KV_BINDING)
        .map_err(|e| EdgeError::Config(format!("KV binding {KV_BINDING}: {e}")))?;
    let manifest_text = kv
        .get(MANIFEST_KEY)
        .text()
        .await
        .map_err(|e| EdgeError::Kv {
            key: MANIFEST_KEY.into(),
            reason: e.to_string(),
        })?
        .ok_or_else(|| {
            EdgeError::NotPublished(format!("no {MANIFEST_KEY:?} in KV {KV_BINDING}"))
        })?;
    let manifest: Manifest =
        serde_json::from_str(&manifest_text).map_err(|e| EdgeError::Manifest(e.to_string()))?;
    let now = now_ms();
    if let Some(mut loaded) = current().filter(|l| l.sha256 == manifest.sha256) {
        loaded.checked_at_ms = now;
        loaded.last_error = None;
        return Ok(loaded);
    }
    let kv_error = |e: String| EdgeError::Kv {
        key: manifest.bundle_key.clone(),
        reason: e,
    };
    // The bundle stays a JS ArrayBuffer until it is hashed: the runtime's
    // native SHA-256 reads it in place, several times faster than SHA-256
    // compiled to wasm; then it is copied into wasm memory once.
    let namespace = js_sys::Reflect::get(env.as_ref(), &JsValue::from_str(KV_BINDING))
        .map_err(|_| EdgeError::Config(format!("KV binding {KV_BINDING} is missing")))?
        .unchecked_into::<KvNamespace>();
    let value = JsFuture::from(namespace.get_as(&manifest.bundle_key, "arrayBuffer"))
        .await
        .map_err(|e| kv_error(format!("{e:?}")))?;
    let buffer = value.dyn_into::<ArrayBuffer>().map_err(|_| {
        EdgeError::NotPublished(format!(
            "manifest names {:?}, which is not in KV",
            manifest.bundle_key
        ))
    })?;
    let digest = hex(&subtle_sha256(&Uint8Array::new(&buffer)).await?);
    if digest != manifest.sha256 {
        return Err(EdgeError::Manifest(format!(
            "bundle {} has sha256 {digest}, manifest says {}",
            manifest.bundle_key, manifest.sha256
        )));
    }
    let bytes = Uint8Array::new(&buffer).to_vec();
    let mut digests = Vec::new();
    for range in section_ranges(&bytes).map_err(firstpaint_engine::EngineError::from)? {
        let view = Uint8Array::new_with_byte_offset_and_length(
            &buffer,
            range.start as u32,
            range.len() as u32,
        );
        digests.push(subtle_sha256(&view).await?);
    }
    drop(buffer);
    let now_s = (now / 1000.0) as i64;
    let bundle = Bundle::open_with_digests(bytes.into(), &key, now_s, &digests)
        .map_err(firstpaint_engine::EngineError::from)?;
    let engine = Engine::from_bundle(bundle)?;
    Ok(Loaded {
        engine: Rc::new(engine),
        sha256: digest,
        checked_at_ms: now,
        loaded_at_ms: now,
        last_error: None,
    })
}

#[wasm_bindgen]
extern "C" {
    /// A KV namespace binding, as the runtime hands it over.
    type KvNamespace;

    /// `namespace.get(key, type)`: resolves to the value as `type`, or null.
    #[wasm_bindgen(method, js_name = get)]
    fn get_as(this: &KvNamespace, key: &str, kind: &str) -> js_sys::Promise;

    /// `crypto.subtle.digest(algorithm, data)`, the runtime's native hash.
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = digest)]
    fn subtle_digest(algorithm: &str, data: &Uint8Array) -> js_sys::Promise;
}

/// SHA-256 of `data` by the runtime (`crypto.subtle`).
async fn subtle_sha256(data: &Uint8Array) -> Result<[u8; 32], EdgeError> {
    let failed = |e: JsValue| EdgeError::Config(format!("crypto.subtle.digest failed: {e:?}"));
    let digest = JsFuture::from(subtle_digest("SHA-256", data))
        .await
        .map_err(failed)?;
    let digest = Uint8Array::new(&digest).to_vec();
    digest
        .try_into()
        .map_err(|_| EdgeError::Config("crypto.subtle.digest gave no 32 bytes".into()))
}

fn trusted_key(env: &Env) -> Result<VerifyingKey, EdgeError> {
    let hex_key = env
        .var(PUBKEY_VAR)
        .map_err(|_| EdgeError::Config(format!("variable {PUBKEY_VAR} is not set")))?
        .to_string();
    parse_verifying_key(&hex_key).map_err(|e| EdgeError::Config(format!("{PUBKEY_VAR}: {e}")))
}
