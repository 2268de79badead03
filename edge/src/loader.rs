//! The bundle, loaded and verified once per isolate, refreshed in the background.
//!
//! A release has two arms, each [`Served`] as its manifest says: a single
//! bundle (below), or a shard set, whose shards [`crate::shards`] opens
//! one at a time as requests need them (the manifest is then all this
//! module loads; [`engine_for`] asks [`crate::routing`] which shard a
//! request needs). The current arm serves everyone but the canary's
//! share; [`for_shopper`] picks the arm once the shopper is identified
//! (by the current bundle's consent rules).
//!
//! The first request of an isolate reads the manifest and the bundle from KV
//! and verifies it (one load, which the requests that arrive meanwhile wait
//! for on their own timers: [`crate::single_flight`]; a page waits for it
//! at most its budget, then streams unmodified while the load finishes in
//! the background). Later requests use the cached engine at once; after
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
    head_len, hex, key_id, parse_verifying_key, section_ranges, signer_key_id, Bundle, Manifest,
    SignedRelease, VerifyingKey, HEADER_BYTES,
};
use firstpaint_engine::Engine;
use futures_util::future::{select, Either, FutureExt, LocalBoxFuture};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::js_sys::{self, ArrayBuffer, Uint8Array};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{console_warn, Date, Delay, Env};

use crate::error::EdgeError;
use crate::in_flight::InFlight;
use crate::limits::{MANIFEST_TTL_MS, RETRY_AFTER_FAILURE_MS};
use crate::overlay;
use crate::profile::Profile;
use crate::routing::Need;
use crate::shards;
use crate::shopper::{setting, setting_or};
use crate::single_flight;

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

/// An engine in use and what it was loaded from.
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
}

/// What one arm of a release serves: a single bundle, loaded, or a shard
/// set, whose shards open on demand.
#[derive(Clone)]
pub enum Served {
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
    /// Why the last refresh failed, if it did (or why the release's
    /// canary is not served).
    pub last_error: Option<String>,
}

/// What the live release serves: its current bundle (or shard set), and
/// the canary beside it.
#[derive(Clone)]
pub struct Live {
    /// What every shopper gets but the canary's share.
    pub current: Served,
    /// The release's canary, when it names one and it loaded.
    pub canary: Option<Canary>,
}

/// A bundle or shard set on trial, beside the current one.
#[derive(Clone)]
pub struct Canary {
    /// What it serves.
    pub served: Served,
    /// SHA-256 of its bundle (a shard set's global shard), hex: the salt
    /// of its share.
    pub sha256: String,
    /// Percent of shoppers (with an id) who get it.
    pub percent: u8,
}

/// The engine a request is answered with, and the arm of the release it
/// is from.
pub struct Serving {
    /// The engine (a shard's, in a sharded store).
    pub loaded: Loaded,
    /// The shard set it is from (`None`: a single bundle), which a search
    /// reads the other shards of.
    pub set: Option<Sharded>,
    /// `current` or `canary`, for the `x-p13n-release` header.
    pub arm: &'static str,
}

impl Served {
    /// SHA-256 of its bundle (a shard set's global shard), hex.
    pub fn sha256(&self) -> &str {
        match self {
            Served::Single(l) => &l.sha256,
            Served::Sharded(s) => &s.manifest.sha256,
        }
    }

    /// Why the last refresh failed, if it did.
    pub fn last_error(&self) -> Option<&str> {
        match self {
            Served::Single(l) => l.last_error.as_deref(),
            Served::Sharded(s) => s.last_error.as_deref(),
        }
    }

    /// The shard set, when it is one.
    pub fn set(&self) -> Option<&Sharded> {
        match self {
            Served::Single(_) => None,
            Served::Sharded(s) => Some(s),
        }
    }

    fn checked_at_ms(&self) -> f64 {
        match self {
            Served::Single(l) => l.checked_at_ms,
            Served::Sharded(s) => s.checked_at_ms,
        }
    }

    fn set_error(&mut self, why: String) {
        match self {
            Served::Single(l) => l.last_error = Some(why),
            Served::Sharded(s) => s.last_error = Some(why),
        }
    }

    /// The engine for `need`: the single bundle's, or the shard
    /// [`crate::routing`] names, opened if need be. Owns what it reads,
    /// so it can go on in the background past a page's budget.
    fn resolve(
        &self,
        env: &Env,
        need: &Need,
    ) -> LocalBoxFuture<'static, Result<Loaded, EdgeError>> {
        match self {
            Served::Single(loaded) => futures_util::future::ready(Ok(loaded.clone())).boxed_local(),
            Served::Sharded(set) => {
                let (env, set, need) = (env.clone(), set.clone(), need.clone());
                async move { shards::engine(&env, &set, &need).await }.boxed_local()
            }
        }
    }
}

impl Live {
    fn refresh_failed(&mut self, why: String) {
        match &mut self.current {
            Served::Single(l) => l.checked_at_ms = now_ms(),
            Served::Sharded(s) => s.checked_at_ms = now_ms(),
        }
        self.current.set_error(why);
    }

    /// What each arm serves: the current one, then the canary's.
    fn arms(&self) -> impl Iterator<Item = &Served> {
        let canary = self.canary.as_ref().map(|c| &c.served);
        [Some(&self.current), canary].into_iter().flatten()
    }

    /// The single bundles loaded (the current one, the canary), to reuse
    /// when the next release names them again.
    fn singles(&self) -> impl Iterator<Item = &Loaded> {
        self.arms().filter_map(|s| match s {
            Served::Single(l) => Some(l),
            Served::Sharded(_) => None,
        })
    }

    /// The canary, when a shopper with `profile` is in its share. A
    /// shopper without a profile (no consent, so no id) is in no share.
    pub fn canary_for(&self, profile: Option<&Profile>) -> Option<&Canary> {
        let canary = self.canary.as_ref()?;
        profile
            .is_some_and(|p| p.in_share(&canary.sha256, canary.percent))
            .then_some(canary)
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Live>> = const { RefCell::new(None) };
    static REFRESHING: RefCell<InFlight> = RefCell::default();
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
/// (scheduling a background refresh when stale), else loaded now (by one
/// request, which the others wait for: [`crate::single_flight`]). A shard
/// set's shards are not opened here.
pub async fn live(env: &Env, ctx: &worker::Context) -> Result<Live, EdgeError> {
    match cached(env, ctx)? {
        Some(live) => Ok(live),
        None => first_load(env).await,
    }
}

/// The current engine for a request about nothing in particular (the
/// single bundle, or a shard set's global shard).
pub async fn engine(env: &Env, ctx: &worker::Context) -> Result<Loaded, EdgeError> {
    Ok(engine_for(env, ctx, &Need::Global).await?.1)
}

/// The release, and its current engine for a request about `need`: the
/// single bundle, or the shard [`crate::routing`] names, opened if need be.
pub async fn engine_for(
    env: &Env,
    ctx: &worker::Context,
    need: &Need,
) -> Result<(Live, Loaded), EdgeError> {
    let live = live(env, ctx).await?;
    let loaded = live.current.resolve(env, need).await?;
    Ok((live, loaded))
}

/// As [`engine_for`], for a page: a cold isolate waits at most `budget` for its
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
) -> Result<(Live, Loaded), EdgeError> {
    let cached = cached(env, ctx)?;
    if let Some(
        live @ Live {
            current: Served::Single(loaded),
            ..
        },
    ) = &cached
    {
        return Ok((live.clone(), loaded.clone()));
    }
    let (env, need) = (env.clone(), need.clone());
    let load = async move {
        let live = match cached {
            Some(live) => live,
            None => first_load(&env).await?,
        };
        let loaded = live.current.resolve(&env, &need).await?;
        Ok((live, loaded))
    }
    .boxed_local();
    within(ctx, budget, load).await
}

/// What answers a request about `need` from a shopper with `profile`
/// (identified by `current`'s consent rules; `current` is `live`'s current
/// engine for `need`): `current`, or the canary's engine for `need` when
/// the profile is in the canary's share. A canary shard that is not open
/// within `budget` (`None`: as long as it takes) goes on loading in the
/// background, and a canary shard that fails to open is logged: either
/// way this request gets `current`, and says so.
pub async fn for_shopper(
    env: &Env,
    ctx: &worker::Context,
    live: &Live,
    current: Loaded,
    need: &Need,
    profile: Option<&Profile>,
    budget: Option<Duration>,
) -> Serving {
    if let Some(canary) = live.canary_for(profile) {
        let load = canary.served.resolve(env, need);
        let opened = match budget {
            Some(b) => within(ctx, b, load).await,
            None => load.await,
        };
        match opened {
            Ok(loaded) => {
                return Serving {
                    loaded,
                    set: canary.served.set().cloned(),
                    arm: "canary",
                }
            }
            Err(EdgeError::Loading(_)) => {}
            Err(e) => console_warn!("firstpaint: canary {}: {e}", canary.sha256),
        }
    }
    Serving {
        loaded: current,
        set: live.current.set().cloned(),
        arm: "current",
    }
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

/// The cached release, scheduling a background refresh when its manifest
/// check is stale; `Err` while a recent failed load is not retried yet.
fn cached(env: &Env, ctx: &worker::Context) -> Result<Option<Live>, EdgeError> {
    let held = held().transpose()?;
    if let Some(live) = &held {
        let ttl = setting_or(env, MANIFEST_TTL_VAR, MANIFEST_TTL_MS);
        let stale = now_ms() - live.current.checked_at_ms() > ttl;
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
    }
    Ok(held)
}

/// What the isolate holds of the release: the cached one, or why the last
/// load failed while that failure is recent; `None` when neither.
fn held() -> Option<Result<Live, EdgeError>> {
    if let Some(live) = CURRENT.with(|c| c.borrow().clone()) {
        return Some(Ok(live));
    }
    let (at, why) = FAILED.with(|f| f.borrow().clone())?;
    (now_ms() - at < RETRY_AFTER_FAILURE_MS).then_some(Err(EdgeError::NotLoaded(why)))
}

/// The isolate's first load: run by one request, which the others that
/// arrive meanwhile wait for ([`single_flight::once`]: one KV read and one
/// copy of the bundle, not one per request).
async fn first_load(env: &Env) -> Result<Live, EdgeError> {
    single_flight::once("release", held, || refresh(env)).await
}

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
    // The engines kept from before the load's awaits may predate an
    // overlay read meanwhile (and laid over what was held then, not over
    // these): the overlay held now goes over them (a no-op for those that
    // have it).
    if result.is_ok() {
        relayer(overlay::apply);
    }
    result
}

/// Replaces the single bundles' engines in use (the current one, the
/// canary) with `f`'s: how a new live overlay is laid over them (open
/// shards are relayered by [`shards::relayer`]).
pub fn relayer(f: impl Fn(&Rc<Engine>) -> Rc<Engine>) {
    CURRENT.with(|c| {
        if let Some(live) = c.borrow_mut().as_mut() {
            let canary = live.canary.as_mut().map(|c| &mut c.served);
            for served in [Some(&mut live.current), canary].into_iter().flatten() {
                if let Served::Single(loaded) = served {
                    loaded.engine = f(&loaded.engine);
                }
            }
        }
    });
}

/// The content addresses of what the live release's shard sets name
/// (each arm's global shard, shards, routes and terms): the shard cache
/// keeps an open version of a shard while an arm still names it, when the
/// other arm's version of the same shard loads (a canary beside the
/// current set would otherwise evict each other's on every load).
pub fn live_addresses() -> Vec<String> {
    CURRENT.with(|c| {
        let c = c.borrow();
        let Some(live) = c.as_ref() else {
            return Vec::new();
        };
        live.arms()
            .filter_map(Served::set)
            .flat_map(|set| {
                let m = &set.manifest;
                let named = m.shards.iter().flat_map(|s| {
                    s.shards
                        .iter()
                        .map(|r| r.sha256.clone())
                        .chain([s.routes.sha256.clone(), s.terms.sha256.clone()])
                });
                std::iter::once(m.sha256.clone()).chain(named)
            })
            .collect()
    })
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
    let held = CURRENT.with(|c| c.borrow().clone());
    let mut live = Live {
        current: served(env, release.current, held.as_ref(), now).await?,
        canary: None,
    };
    if let Some(canary) = release.canary {
        let sha256 = canary.bundle.sha256.clone();
        match served(env, canary.bundle, held.as_ref(), now).await {
            Ok(served) => {
                live.canary = Some(Canary {
                    served,
                    sha256,
                    percent: canary.percent,
                })
            }
            // The release's current bundle is good: it is served to
            // everyone, and health says why the canary is not.
            Err(e) => live.current.set_error(format!("canary {sha256}: {e}")),
        }
    }
    // A load that began before a newer release was accepted (one slow
    // enough to be taken over, finishing last) must not bring back the
    // older release.
    if self::release().is_some_and(|r| r.sequence > info.sequence) {
        if let Some(newer) = CURRENT.with(|c| c.borrow().clone()) {
            return Ok(newer);
        }
    }
    // Accepted only once its bundle is: a release naming a bad bundle
    // does not raise the bar for the good one it would replace.
    RELEASE.with(|r| *r.borrow_mut() = Some(info));
    Ok(live)
}

/// What `manifest` serves: a shard set as it is (its shards open on
/// demand), a single bundle loaded and verified, or reused when this
/// isolate already holds it (as the current bundle or the canary, so a
/// promoted canary is not loaded again).
async fn served(
    env: &Env,
    manifest: Manifest,
    held: Option<&Live>,
    now: f64,
) -> Result<Served, EdgeError> {
    if manifest.shards.is_some() {
        return Ok(Served::Sharded(Sharded {
            manifest: Rc::new(manifest),
            checked_at_ms: now,
            last_error: None,
        }));
    }
    let reused = held.and_then(|live| live.singles().find(|l| l.sha256 == manifest.sha256));
    if let Some(loaded) = reused {
        return Ok(Served::Single(Loaded {
            checked_at_ms: now,
            last_error: None,
            ..loaded.clone()
        }));
    }
    let (key, head) = (&manifest.bundle_key, manifest.head_sha256.as_deref());
    let buffer = fetch_bundle(env, key, &manifest.sha256, manifest.bytes, head).await?;
    let engine = open_engine(env, &buffer).await?;
    Ok(Served::Single(Loaded {
        engine: overlay::apply(&Rc::new(engine)),
        sha256: manifest.sha256,
        shard: None,
        checked_at_ms: now,
        loaded_at_ms: now,
        last_error: None,
    }))
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
    let buffer = kv_buffer(env, key).await?;
    let digest = hex(&subtle_sha256(&Uint8Array::new(&buffer)).await?);
    if digest != sha256 {
        return Err(EdgeError::Manifest(format!(
            "{key} has sha256 {digest}, manifest says {sha256}"
        )));
    }
    Ok(buffer)
}

/// A bundle the release names (`sha256`, `bytes` long), read from KV for
/// [`open_engine`]. When the release names its head's digest, only the
/// head is hashed here (its length read from the fixed header, a few bytes
/// copied) and checked with the length, before anything is copied into
/// wasm memory or evicted to make room; [`open_engine`] then checks each
/// section against the signed table, so the bytes are hashed once. A
/// release before head digests has the whole file checked against
/// `sha256`.
pub async fn fetch_bundle(
    env: &Env,
    key: &str,
    sha256: &str,
    bytes: u64,
    head_sha256: Option<&str>,
) -> Result<ArrayBuffer, EdgeError> {
    let Some(named) = head_sha256 else {
        return fetch_verified(env, key, sha256).await;
    };
    let buffer = kv_buffer(env, key).await?;
    let got = u64::from(buffer.byte_length());
    if got != bytes {
        return Err(EdgeError::Manifest(format!(
            "{key} has {got} bytes, manifest says {bytes}"
        )));
    }
    let header = view(&buffer, 0..HEADER_BYTES.min(got as usize)).to_vec();
    let not_a_bundle = |why: String| {
        EdgeError::Manifest(format!(
            "{key} is not a bundle ({why}); manifest says its head has sha256 {named}"
        ))
    };
    let head = match head_len(&header) {
        Ok(end) if end as u64 <= got => end,
        Ok(end) => {
            return Err(not_a_bundle(format!(
                "its head would end at byte {end} of {got}"
            )))
        }
        Err(e) => return Err(not_a_bundle(e.to_string())),
    };
    let digest = hex(&subtle_sha256(&view(&buffer, 0..head)).await?);
    if digest != named {
        return Err(EdgeError::Manifest(format!(
            "{key}: its head has sha256 {digest}, manifest says {named}"
        )));
    }
    Ok(buffer)
}

/// The value of `key` in KV as an `ArrayBuffer`, unchecked.
async fn kv_buffer(env: &Env, key: &str) -> Result<ArrayBuffer, EdgeError> {
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
    value
        .dyn_into::<ArrayBuffer>()
        .map_err(|_| EdgeError::NotPublished(format!("manifest names {key:?}, which is not in KV")))
}

/// A bundle's bytes ([`fetch_bundle`]) opened by the engine: one copy
/// into wasm memory, each section hashed by the runtime, the signature
/// checked against the trusted key the bundle names (`BUNDLE_PUBKEYS`),
/// then the engine reads it in place. The sections' digests and the head's
/// (checked by [`fetch_bundle`]) pin every byte, as the whole file's would
/// ([`firstpaint_bundle::head_range`]).
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
        digests.push(subtle_sha256(&view(buffer, range)).await?);
    }
    let now_s = (now_ms() / 1000.0) as i64;
    let bundle = Bundle::open_with_digests(bytes.into(), key, now_s, &digests)
        .map_err(firstpaint_engine::EngineError::from)?;
    Ok(Engine::from_bundle(bundle)?)
}

/// The bytes of `buffer` in `range`, without a copy.
fn view(buffer: &ArrayBuffer, range: std::ops::Range<usize>) -> Uint8Array {
    Uint8Array::new_with_byte_offset_and_length(buffer, range.start as u32, range.len() as u32)
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
