//! The bundle, loaded and verified once per isolate, refreshed in the background.
//!
//! The manifest decides the mode: a single bundle (below), or a shard set,
//! whose shards [`crate::shards`] opens one at a time as requests need
//! them (the manifest is then all this module loads; [`engine_for`] asks
//! [`crate::routing`] which shard a request needs).
//!
//! The first request of an isolate reads the manifest and the bundle from KV
//! and verifies it (one load, shared by the requests that arrive meanwhile;
//! a page waits for it at most its budget, then streams unmodified while
//! the load finishes in the background). Later requests use the cached engine at once; after
//! [`MANIFEST_TTL_MS`] one request also schedules a background re-check of the
//! manifest (`wait_until`), so no shopper waits on KV once warm. A bundle that
//! fails verification never replaces the one in use.
//!
//! The manifest is a signed release ([`SignedRelease`]): signed by one of
//! the trusted keys (`BUNDLE_PUBKEYS`), not expired, and not older than the
//! newest release this isolate accepted. A release refused keeps the
//! bundle in use, and `/p13n/health` says why.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use firstpaint_bundle::{
    hex, key_id, parse_verifying_key, section_ranges, signer_key_id, Bundle, Manifest,
    SignedRelease, VerifyingKey,
};
use firstpaint_engine::Engine;
use futures_util::future::{select, Either, FutureExt, LocalBoxFuture, Shared};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::js_sys::{self, ArrayBuffer, Uint8Array};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{Date, Delay, Env};

use crate::error::EdgeError;
use crate::in_flight::InFlight;
use crate::limits::{MANIFEST_TTL_MS, RETRY_AFTER_FAILURE_MS};
use crate::overlay;
use crate::profile::Profile;
use crate::routing::Need;
use crate::shards;
use crate::shopper::{setting, setting_or};

/// KV binding holding manifest and bundles.
pub const KV_BINDING: &str = "BUNDLES";
/// KV key of the manifest.
pub const MANIFEST_KEY: &str = "manifest";
/// Variable holding the trusted public keys (hex, separated by commas or
/// spaces): a new key can sign before the old one is retired.
pub const PUBKEYS_VAR: &str = "BUNDLE_PUBKEYS";
/// Variable holding one trusted public key (hex), as before key sets;
/// trusted along with `BUNDLE_PUBKEYS`.
pub const PUBKEY_VAR: &str = "BUNDLE_PUBKEY";
/// Variable overriding [`MANIFEST_TTL_MS`] (how often the manifest is
/// re-checked), in milliseconds.
pub const MANIFEST_TTL_VAR: &str = "MANIFEST_TTL_MS";

/// The release this isolate serves: its sequence number and expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseInfo {
    /// Its sequence number (no older release is accepted after it).
    pub sequence: u64,
    /// When it expires, unix seconds.
    pub expires_at: i64,
}

/// The engine in use and what it was loaded from.
#[derive(Clone)]
pub struct Loaded {
    /// The engine.
    pub engine: Rc<Engine>,
    /// SHA-256 of its bundle, hex.
    pub sha256: String,
    /// The shard it is, in a sharded store (`None` for a single bundle).
    pub shard: Option<String>,
    /// When the manifest was last checked, ms since the epoch.
    pub checked_at_ms: f64,
    /// When the bundle was loaded, ms since the epoch.
    pub loaded_at_ms: f64,
    /// Why the last refresh failed, if it did (or why the release's
    /// canary is not served).
    pub last_error: Option<String>,
    /// The release's canary, loaded beside it (single bundles only).
    pub canary: Option<CanaryEngine>,
}

/// A bundle on trial, loaded beside the current one.
#[derive(Clone)]
pub struct CanaryEngine {
    /// The engine.
    pub engine: Rc<Engine>,
    /// SHA-256 of its bundle, hex: the salt of its share.
    pub sha256: String,
    /// Percent of shoppers (with an id) who get it.
    pub percent: u8,
}

impl Loaded {
    /// The engine for a shopper with `profile`: the canary's when the
    /// profile's id is in its share, else this one; with which it is
    /// (`canary` or `current`). A shopper without a profile (no consent,
    /// so no id) gets the current bundle.
    pub fn for_shopper(self, profile: Option<&Profile>) -> (Loaded, &'static str) {
        match (&self.canary, profile) {
            (Some(c), Some(p)) if p.in_share(&c.sha256, c.percent) => {
                let canary = Loaded {
                    engine: c.engine.clone(),
                    sha256: c.sha256.clone(),
                    canary: None,
                    ..self.clone()
                };
                (canary, "canary")
            }
            _ => (self, "current"),
        }
    }
}

/// What the live manifest says to serve.
#[derive(Clone)]
pub enum Live {
    /// One bundle, loaded.
    Single(Loaded),
    /// A shard set; its shards open on demand.
    Sharded(Sharded),
}

/// A shard set's manifest, as this isolate last read it.
#[derive(Clone)]
pub struct Sharded {
    /// The manifest (with [`Manifest::shards`]).
    pub manifest: Rc<Manifest>,
    /// When it was last checked, ms since the epoch.
    pub checked_at_ms: f64,
    /// Why the last refresh failed, if it did.
    pub last_error: Option<String>,
}

impl Live {
    fn checked_at_ms(&self) -> f64 {
        match self {
            Live::Single(l) => l.checked_at_ms,
            Live::Sharded(s) => s.checked_at_ms,
        }
    }

    fn refresh_failed(&mut self, why: String) {
        let (checked, error) = match self {
            Live::Single(l) => (&mut l.checked_at_ms, &mut l.last_error),
            Live::Sharded(s) => (&mut s.checked_at_ms, &mut s.last_error),
        };
        *checked = now_ms();
        *error = Some(why);
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Live>> = const { RefCell::new(None) };
    static REFRESHING: RefCell<InFlight> = RefCell::default();
    /// The first load while it is in flight.
    static LOADING: RefCell<Option<Loading>> = const { RefCell::new(None) };
    /// The last failed load while nothing is cached: (when, why). Requests
    /// within [`RETRY_AFTER_FAILURE_MS`] fail fast instead of re-reading KV.
    static FAILED: RefCell<Option<(f64, String)>> = const { RefCell::new(None) };
    /// The newest release accepted.
    static RELEASE: RefCell<Option<ReleaseInfo>> = const { RefCell::new(None) };
}

/// The newest release this isolate accepted.
pub fn release() -> Option<ReleaseInfo> {
    RELEASE.with(|r| *r.borrow())
}

/// The time, ms since the epoch.
pub(crate) fn now_ms() -> f64 {
    Date::now().as_millis() as f64
}

/// What the live manifest says to serve: cached when there is one
/// (scheduling a background refresh when stale), else loaded now (one load
/// per isolate, however many requests wait for it). For a shard set this
/// reads the manifest only.
pub async fn live(env: &Env, ctx: &worker::Context) -> Result<Live, EdgeError> {
    match cached(env, ctx)? {
        Some(live) => Ok(live),
        None => first_load(env).await,
    }
}

/// The engine for a request about nothing in particular (the single
/// bundle, or a shard set's global shard).
pub async fn engine(env: &Env, ctx: &worker::Context) -> Result<Loaded, EdgeError> {
    engine_for(env, ctx, &Need::Global).await
}

/// The engine for a request about `need`: the single bundle, or the shard
/// [`crate::routing`] names, opened if need be.
pub async fn engine_for(
    env: &Env,
    ctx: &worker::Context,
    need: &Need,
) -> Result<Loaded, EdgeError> {
    resolve(env, live(env, ctx).await?, need).await
}

async fn resolve(env: &Env, live: Live, need: &Need) -> Result<Loaded, EdgeError> {
    match live {
        Live::Single(loaded) => Ok(loaded),
        Live::Sharded(set) => shards::engine(env, &set, need).await,
    }
}

/// As [`engine`], for a page: a cold isolate waits at most `budget` for its
/// first bundle (zero: not at all). Past it the load goes on in the
/// background (`wait_until`) for the requests after this one, and this page
/// gets [`EdgeError::Loading`] (it streams unmodified: no shopper waits on a
/// large bundle's transfer and hashing). The runtime's clock moves with
/// I/O, so the budget bounds the waits (KV, `crypto.subtle`), not the few
/// milliseconds of synchronous opening.
///
/// A sharded store's page waits the same way for what it needs (the
/// manifest, the routes for a product page, its shard).
pub async fn engine_within(
    env: &Env,
    ctx: &worker::Context,
    budget: Duration,
    need: &Need,
) -> Result<Loaded, EdgeError> {
    let cached = cached(env, ctx)?;
    if let Some(Live::Single(loaded)) = &cached {
        return Ok(loaded.clone());
    }
    let (env, need) = (env.clone(), need.clone());
    let load = async move {
        let live = match cached {
            Some(live) => live,
            None => first_load(&env).await?,
        };
        resolve(&env, live, &need).await
    }
    .boxed_local();
    within(ctx, budget, load).await
}

/// `load`'s result if it comes within `budget`; else `Loading`, with the
/// load finishing in the background (`wait_until`).
pub async fn within<T: 'static>(
    ctx: &worker::Context,
    budget: Duration,
    mut load: LocalBoxFuture<'static, Result<T, EdgeError>>,
) -> Result<T, EdgeError> {
    // A load that needs no I/O (everything cached) is ready at once.
    if let Some(result) = (&mut load).now_or_never() {
        return result;
    }
    if !budget.is_zero() {
        let timer = std::pin::pin!(Delay::from(budget));
        match select(load, timer).await {
            Either::Left((result, _)) => return result,
            Either::Right((_, rest)) => load = rest,
        }
    }
    ctx.wait_until(async move {
        let _ = load.await;
    });
    Err(EdgeError::Loading(budget.as_millis() as u64))
}

/// The cached engine, scheduling a background refresh when its manifest
/// check is stale; `Err` while a recent failed load is not retried yet.
fn cached(env: &Env, ctx: &worker::Context) -> Result<Option<Live>, EdgeError> {
    if let Some(loaded) = CURRENT.with(|c| c.borrow().clone()) {
        let ttl = setting_or(env, MANIFEST_TTL_VAR, MANIFEST_TTL_MS);
        let stale = now_ms() - loaded.checked_at_ms() > ttl;
        if stale && REFRESHING.with(|r| r.borrow_mut().start(now_ms())) {
            let env = env.clone();
            ctx.wait_until(async move {
                let _ = refresh(&env).await;
                REFRESHING.with(|r| r.borrow_mut().end());
            });
        }
        if overlay::due(env) {
            let env = env.clone();
            ctx.wait_until(async move { overlay::refresh(&env).await });
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
type Loading = Shared<LocalBoxFuture<'static, Result<Live, EdgeError>>>;

/// Re-reads the manifest; loads and verifies a new bundle when it changed
/// (for a shard set, keeps the new manifest: its shards open on demand).
/// On failure the current engine stays, and the error is kept for `/p13n/health`.
pub async fn refresh(env: &Env) -> Result<Live, EdgeError> {
    let result = load_if_changed(env).await;
    CURRENT.with(|c| {
        let mut current = c.borrow_mut();
        match (&result, current.as_mut()) {
            (Ok(live), _) => *current = Some(live.clone()),
            (Err(e), Some(old)) => old.refresh_failed(e.to_string()),
            (Err(e), None) => FAILED.with(|f| *f.borrow_mut() = Some((now_ms(), e.to_string()))),
        }
    });
    result
}

/// The shard set's manifest currently cached, without loading (`None`
/// for a single bundle).
pub fn sharded() -> Option<Sharded> {
    match CURRENT.with(|c| c.borrow().clone()) {
        Some(Live::Sharded(set)) => Some(set),
        _ => None,
    }
}

/// Replaces the engines in use (the current bundle's and its canary's)
/// with `f`'s: how a new live overlay is laid over them.
pub fn relayer(f: impl Fn(&Rc<Engine>) -> Rc<Engine>) {
    CURRENT.with(|c| {
        if let Some(Live::Single(loaded)) = c.borrow_mut().as_mut() {
            loaded.engine = f(&loaded.engine);
            if let Some(canary) = loaded.canary.as_mut() {
                canary.engine = f(&canary.engine);
            }
        }
    });
}

/// The single bundle's engine currently cached, without loading.
pub fn current() -> Option<Loaded> {
    match CURRENT.with(|c| c.borrow().clone()) {
        Some(Live::Single(loaded)) => Some(loaded),
        _ => None,
    }
}

/// Why the last load failed while nothing is cached.
pub fn last_failure() -> Option<String> {
    FAILED.with(|f| f.borrow().as_ref().map(|(_, why)| why.clone()))
}

async fn load_if_changed(env: &Env) -> Result<Live, EdgeError> {
    // The live overlay first, so a bundle opened below gets it at once.
    if overlay::due(env) {
        overlay::refresh(env).await;
    }
    let manifest_text = kv_text(env, MANIFEST_KEY).await?.ok_or_else(|| {
        EdgeError::NotPublished(format!("no {MANIFEST_KEY:?} in KV {KV_BINDING}"))
    })?;
    let keys = trusted_keys(env)?;
    let now = now_ms();
    let newest = release().map_or(0, |r| r.sequence);
    let release = SignedRelease::open(&manifest_text, &keys, (now / 1000.0) as i64, newest)
        .map_err(|e| EdgeError::Manifest(e.to_string()))?;
    let info = ReleaseInfo {
        sequence: release.sequence,
        expires_at: release.expires_at,
    };
    let canary_of_release = release.canary;
    let manifest = release.current;
    let live = if manifest.shards.is_some() {
        Live::Sharded(Sharded {
            manifest: Rc::new(manifest),
            checked_at_ms: now,
            last_error: None,
        })
    } else if let Some(mut loaded) = current().filter(|l| l.sha256 == manifest.sha256) {
        loaded.checked_at_ms = now;
        loaded.last_error = None;
        Live::Single(loaded)
    } else {
        let buffer = fetch_verified(env, &manifest.bundle_key, &manifest.sha256).await?;
        let engine = open_engine(env, &buffer).await?;
        Live::Single(Loaded {
            engine: overlay::apply(&Rc::new(engine)),
            sha256: manifest.sha256,
            shard: None,
            checked_at_ms: now,
            loaded_at_ms: now,
            last_error: None,
            canary: None,
        })
    };
    let live = match (live, canary_of_release) {
        (Live::Single(mut loaded), Some(canary)) => {
            match load_canary(env, &canary).await {
                Ok(engine) => loaded.canary = Some(engine),
                // The release's current bundle is good: it is served to
                // everyone, and health says why the canary is not.
                Err(e) => {
                    loaded.canary = None;
                    loaded.last_error = Some(format!("canary {}: {e}", canary.bundle.sha256));
                }
            }
            Live::Single(loaded)
        }
        (mut live, Some(canary)) => {
            live.refresh_failed(format!(
                "canary {}: a canary beside a shard set is not served yet",
                canary.bundle.sha256
            ));
            live
        }
        (live, None) => live,
    };
    // Accepted only once its bundle is: a release naming a bad bundle
    // does not raise the bar for the good one it would replace.
    RELEASE.with(|r| *r.borrow_mut() = Some(info));
    Ok(live)
}

/// The release's canary bundle, loaded (reused when this isolate already
/// holds it); only a single bundle can be one.
async fn load_canary(
    env: &Env,
    canary: &firstpaint_bundle::Canary,
) -> Result<CanaryEngine, EdgeError> {
    let bundle = &canary.bundle;
    if bundle.shards.is_some() {
        return Err(EdgeError::Manifest(
            "a shard set as a canary is not served yet".into(),
        ));
    }
    let held = current()
        .and_then(|l| l.canary)
        .filter(|c| c.sha256 == bundle.sha256);
    let engine = match held {
        Some(c) => c.engine,
        None => {
            let buffer = fetch_verified(env, &bundle.bundle_key, &bundle.sha256).await?;
            overlay::apply(&Rc::new(open_engine(env, &buffer).await?))
        }
    };
    Ok(CanaryEngine {
        engine,
        sha256: bundle.sha256.clone(),
        percent: canary.percent,
    })
}

/// The text KV holds under `key` (`None`: nothing there): the manifest,
/// the live overlay's pointer, the page cache's purges.
pub async fn kv_text(env: &Env, key: &str) -> Result<Option<String>, EdgeError> {
    env.kv(KV_BINDING)
        .map_err(|e| EdgeError::Config(format!("KV binding {KV_BINDING}: {e}")))?
        .get(key)
        .text()
        .await
        .map_err(|e| EdgeError::Kv {
            key: key.into(),
            reason: e.to_string(),
        })
}

/// The value of `key` in KV, checked against `sha256` by the runtime's
/// native SHA-256. It stays a JS `ArrayBuffer` (outside wasm memory) until
/// it is opened: the runtime hashes it in place, several times faster than
/// SHA-256 compiled to wasm.
pub async fn fetch_verified(env: &Env, key: &str, sha256: &str) -> Result<ArrayBuffer, EdgeError> {
    let kv_error = |e: String| EdgeError::Kv {
        key: key.to_owned(),
        reason: e,
    };
    let namespace = js_sys::Reflect::get(env.as_ref(), &JsValue::from_str(KV_BINDING))
        .map_err(|_| EdgeError::Config(format!("KV binding {KV_BINDING} is missing")))?
        .unchecked_into::<KvNamespace>();
    let value = JsFuture::from(namespace.get_as(key, "arrayBuffer"))
        .await
        .map_err(|e| kv_error(format!("{e:?}")))?;
    let buffer = value.dyn_into::<ArrayBuffer>().map_err(|_| {
        EdgeError::NotPublished(format!("manifest names {key:?}, which is not in KV"))
    })?;
    let digest = hex(&subtle_sha256(&Uint8Array::new(&buffer)).await?);
    if digest != sha256 {
        return Err(EdgeError::Manifest(format!(
            "{key} has sha256 {digest}, manifest says {sha256}"
        )));
    }
    Ok(buffer)
}

/// A verified bundle's bytes opened by the engine: each section hashed by
/// the runtime, one copy into wasm memory, the signature checked against
/// the trusted key it names (`BUNDLE_PUBKEYS`), then the engine reads it
/// in place.
pub async fn open_engine(env: &Env, buffer: &ArrayBuffer) -> Result<Engine, EdgeError> {
    let keys = trusted_keys(env)?;
    let bytes = Uint8Array::new(buffer).to_vec();
    // The key the bundle names; another one's refusal names both ids.
    let signer = signer_key_id(&bytes).map_err(firstpaint_engine::EngineError::from)?;
    let key = keys
        .iter()
        .find(|k| key_id(k) == signer)
        .or(keys.first())
        .ok_or_else(|| EdgeError::Config(format!("no key in {PUBKEYS_VAR}")))?;
    let mut digests = Vec::new();
    for range in section_ranges(&bytes).map_err(firstpaint_engine::EngineError::from)? {
        let view = Uint8Array::new_with_byte_offset_and_length(
            buffer,
            range.start as u32,
            range.len() as u32,
        );
        digests.push(subtle_sha256(&view).await?);
    }
    let now_s = (now_ms() / 1000.0) as i64;
    let bundle = Bundle::open_with_digests(bytes.into(), key, now_s, &digests)
        .map_err(firstpaint_engine::EngineError::from)?;
    Ok(Engine::from_bundle(bundle)?)
}

/// The bytes of a verified buffer, copied into wasm memory.
pub fn bytes_of(buffer: &ArrayBuffer) -> Vec<u8> {
    Uint8Array::new(buffer).to_vec()
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
pub(crate) async fn subtle_sha256(data: &Uint8Array) -> Result<[u8; 32], EdgeError> {
    let failed = |e: JsValue| EdgeError::Config(format!("crypto.subtle.digest failed: {e:?}"));
    let digest = JsFuture::from(subtle_digest("SHA-256", data))
        .await
        .map_err(failed)?;
    let digest = Uint8Array::new(&digest).to_vec();
    digest
        .try_into()
        .map_err(|_| EdgeError::Config("crypto.subtle.digest gave no 32 bytes".into()))
}

/// The keys bundles and releases may be signed with: `BUNDLE_PUBKEYS` and
/// `BUNDLE_PUBKEY` together (at least one key); a bad entry is named.
pub(crate) fn trusted_keys(env: &Env) -> Result<Vec<VerifyingKey>, EdgeError> {
    let mut keys = Vec::new();
    for var in [PUBKEYS_VAR, PUBKEY_VAR] {
        let Some(value) = setting(env, var) else {
            continue;
        };
        for (i, entry) in value
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            let key = parse_verifying_key(entry)
                .map_err(|e| EdgeError::Config(format!("{var}, key {}: {e}", i + 1)))?;
            keys.push(key);
        }
    }
    if keys.is_empty() {
        return Err(EdgeError::Config(format!(
            "neither {PUBKEYS_VAR} nor {PUBKEY_VAR} names a trusted key"
        )));
    }
    Ok(keys)
}
