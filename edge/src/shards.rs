//! A sharded store's shards, opened as requests need them.
//!
//! What an isolate opens (the shards, `routes.fst`, `terms.dir`) is kept
//! in one [`ShardCache`] bounded by bytes (`SHARD_CACHE_MB`, default
//! [`DEFAULT_SHARD_CACHE_BYTES`]) and keyed by content address, so a
//! shard two manifests share is loaded once, and the routes once per
//! manifest. An item is loaded on first need, once however many requests
//! need it (one loads it, the others wait for it on their own timers:
//! [`crate::single_flight`]): read from KV and checked against the
//! manifest by the runtime's `crypto.subtle` (a bundle's head and length
//! when the manifest names its head digest; otherwise, and for the routes
//! and terms, the whole file), least recently used items evicted to make
//! room, copied into wasm memory, a bundle's sections hashed the same way
//! and checked against its signed table, its signature checked against
//! the trusted key, opened. A load that fails is remembered (for
//! `/p13n/health`) and not retried for [`RETRY_AFTER_FAILURE_MS`]; a bad
//! new version of a shard never replaces the good one open (requests keep
//! using it), and a bad shard never enters the cache.

use std::cell::RefCell;
use std::rc::Rc;

use firstpaint_bundle::TermDirectory;
use firstpaint_engine::Engine;
use serde::Serialize;
use worker::Env;

use crate::error::EdgeError;
use crate::limits::{DEFAULT_SHARD_CACHE_BYTES, RETRY_AFTER_FAILURE_MS};
use crate::loader::{self, Loaded, Sharded};
use crate::overlay;
use crate::routing::{self, Need, Routes, Target};
use crate::shard_cache::{OpenItem, ShardCache};
use crate::shopper::setting;
use crate::single_flight;

/// Variable: the most an isolate keeps open of a sharded store, in MiB
/// (default [`DEFAULT_SHARD_CACHE_BYTES`]).
pub const SHARD_CACHE_VAR: &str = "SHARD_CACHE_MB";
/// The cache's name for `routes.fst`.
pub const ROUTES_NAME: &str = "routes";
/// The cache's name for `terms.dir`.
pub const TERMS_NAME: &str = "terms";

/// Something open.
#[derive(Clone)]
pub enum Opened {
    /// A shard's engine.
    Engine(Rc<Engine>),
    /// `routes.fst`.
    Routes(Rc<Routes>),
    /// `terms.dir`.
    Terms(Rc<TermDirectory>),
}

/// What kind of file an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bundle,
    Routes,
    Terms,
}

/// An item of the manifest to open.
#[derive(Debug, Clone)]
struct Item {
    name: String,
    key: String,
    sha256: String,
    /// A bundle's head digest, when the release names it.
    head_sha256: Option<String>,
    bytes: u64,
    kind: Kind,
}

/// A failed load, for `/p13n/health`.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// What failed to load.
    pub name: String,
    /// The content it should have had.
    pub sha256: String,
    /// Why.
    pub error: String,
    /// When, ms since the epoch.
    #[serde(skip)]
    pub at_ms: f64,
}

/// What `/p13n/health` says of the open shards.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Open items, most recently used first.
    pub open: Vec<OpenItem>,
    /// Their bytes.
    pub held_bytes: u64,
    /// The bound.
    pub limit_bytes: u64,
    /// The last failed load of each item that failed.
    pub failures: Vec<Failure>,
}

/// Failed loads remembered (for `/p13n/health` and the retry window),
/// oldest dropped first.
const MAX_FAILURES_KEPT: usize = 16;

thread_local! {
    static CACHE: RefCell<ShardCache<Opened>> =
        RefCell::new(ShardCache::new(DEFAULT_SHARD_CACHE_BYTES));
    static FAILURES: RefCell<Vec<Failure>> = const { RefCell::new(Vec::new()) };
}

/// The engine `need` is answered by in the shard set `set`.
pub async fn engine(env: &Env, set: &Sharded, need: &Need) -> Result<Loaded, EdgeError> {
    let shards = shard_set(set)?;
    let routes = match need {
        Need::Product(_) => Some(routes(env, set).await?),
        _ => None,
    };
    let target = routing::target(shards, need, routes.as_deref()).unwrap_or(Target::Global);
    shard_engine(env, set, target).await
}

/// The engine of `target`, opened if need be.
pub async fn shard_engine(env: &Env, set: &Sharded, target: Target) -> Result<Loaded, EdgeError> {
    let item = bundle_item(set, target)?;
    let (Opened::Engine(engine), sha256) = open(env, &item).await? else {
        return Err(EdgeError::Manifest(format!("{} is not a bundle", item.key)));
    };
    Ok(Loaded {
        engine,
        sha256,
        shard: Some(item.name),
        checked_at_ms: set.checked_at_ms,
        loaded_at_ms: set.checked_at_ms,
        last_error: set.last_error.clone(),
    })
}

/// Replaces each open shard's engine with `f`'s: how a new live overlay
/// is laid over them.
pub fn relayer(f: impl Fn(&Rc<Engine>) -> Rc<Engine>) {
    CACHE.with(|c| {
        c.borrow_mut().update(|opened| match opened {
            Opened::Engine(engine) => Opened::Engine(f(engine)),
            other => other.clone(),
        })
    });
}

/// `routes.fst` of the set, opened if need be.
pub async fn routes(env: &Env, set: &Sharded) -> Result<Rc<Routes>, EdgeError> {
    let item = blob_item(ROUTES_NAME, &shard_set(set)?.routes, Kind::Routes);
    match open(env, &item).await?.0 {
        Opened::Routes(r) => Ok(r),
        _ => Err(EdgeError::Manifest(format!("{} is not routes", item.key))),
    }
}

/// `terms.dir` of the set, opened if need be.
pub async fn terms(env: &Env, set: &Sharded) -> Result<Rc<TermDirectory>, EdgeError> {
    let item = blob_item(TERMS_NAME, &shard_set(set)?.terms, Kind::Terms);
    match open(env, &item).await?.0 {
        Opened::Terms(t) => Ok(t),
        _ => Err(EdgeError::Manifest(format!(
            "{} is not a term directory",
            item.key
        ))),
    }
}

fn blob_item(name: &str, blob: &firstpaint_bundle::Blob, kind: Kind) -> Item {
    Item {
        name: name.into(),
        key: blob.key.clone(),
        sha256: blob.sha256.clone(),
        head_sha256: None,
        bytes: blob.bytes,
        kind,
    }
}

/// The name of `target`'s shard.
pub fn shard_name(set: &Sharded, target: Target) -> Option<String> {
    bundle_item(set, target).ok().map(|i| i.name)
}

/// What is open, and what failed.
pub fn status() -> Status {
    let (open, held_bytes, limit_bytes) = CACHE.with(|c| {
        let c = c.borrow();
        (c.open(), c.held(), c.limit())
    });
    Status {
        open,
        held_bytes,
        limit_bytes,
        failures: FAILURES.with(|f| f.borrow().clone()),
    }
}

fn shard_set(set: &Sharded) -> Result<&firstpaint_bundle::ShardSet, EdgeError> {
    set.manifest
        .shards
        .as_ref()
        .ok_or_else(|| EdgeError::Manifest("the manifest names no shards".into()))
}

fn bundle_item(set: &Sharded, target: Target) -> Result<Item, EdgeError> {
    let m = &set.manifest;
    let shards = shard_set(set)?;
    Ok(match target {
        Target::Global => Item {
            name: shards.global.clone(),
            key: m.bundle_key.clone(),
            sha256: m.sha256.clone(),
            head_sha256: m.head_sha256.clone(),
            bytes: m.bytes,
            kind: Kind::Bundle,
        },
        Target::Shard(n) => {
            let s = shards.shards.get(n).ok_or_else(|| {
                EdgeError::Manifest(format!(
                    "no shard {n} (the manifest has {})",
                    shards.shards.len()
                ))
            })?;
            Item {
                name: s.name.clone(),
                key: s.key.clone(),
                sha256: s.sha256.clone(),
                head_sha256: s.head_sha256.clone(),
                bytes: s.bytes,
                kind: Kind::Bundle,
            }
        }
    })
}

/// `item`, from the cache or loaded (one load however many wait), with
/// the content address of what answers: when it fails, an older good
/// version of the same item still open answers (never the other release
/// arm's version: see [`ShardCache::by_name`]).
///
/// [`ShardCache::by_name`]: crate::shard_cache::ShardCache::by_name
async fn open(env: &Env, item: &Item) -> Result<(Opened, String), EdgeError> {
    let limit = setting(env, SHARD_CACHE_VAR)
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(DEFAULT_SHARD_CACHE_BYTES, |mb| mb << 20);
    if let Some(opened) = CACHE.with(|c| {
        let mut c = c.borrow_mut();
        c.set_limit(limit);
        c.get(&item.sha256)
    }) {
        return Ok((opened, item.sha256.clone()));
    }
    // One request loads it; those that need it meanwhile wait for what
    // it leaves in the cache (or its failure).
    let settled = || match CACHE.with(|c| c.borrow_mut().get(&item.sha256)) {
        Some(opened) => Some(Ok(opened)),
        None => recent_failure(&item.sha256).map(|why| Err(EdgeError::NotLoaded(why))),
    };
    match single_flight::once(&item.sha256, settled, || load(env, item)).await {
        Ok(opened) => Ok((opened, item.sha256.clone())),
        Err(e) => {
            let live = loader::live_addresses();
            let older = CACHE.with(|c| c.borrow_mut().by_name(&item.name, &live));
            older.map(|(sha256, opened)| (opened, sha256)).ok_or(e)
        }
    }
}

fn recent_failure(sha256: &str) -> Option<String> {
    FAILURES.with(|f| {
        f.borrow()
            .iter()
            .find(|x| x.sha256 == sha256 && loader::now_ms() - x.at_ms < RETRY_AFTER_FAILURE_MS)
            .map(|x| format!("{}: {}", x.name, x.error))
    })
}

/// `item` loaded by this request, its failure kept for [`recent_failure`]
/// and `/p13n/health`.
async fn load(env: &Env, item: &Item) -> Result<Opened, EdgeError> {
    // Loads in flight count against the cache's bound: one that would not
    // fit beside them waits for a later request rather than overshooting
    // it (and is not a failure of the item: nothing was read).
    let Some(_reserved) = Reservation::take(item.bytes) else {
        return Err(EdgeError::NotLoaded(format!(
            "{}: the loads in flight fill the shard cache's bound ({SHARD_CACHE_VAR})",
            item.name
        )));
    };
    let result = load_now(env, item).await;
    // Kept by content address, as `recent_failure` reads them: the
    // current and the canary release may each hold a version of a shard
    // of the same name, and one loading must not clear the other's
    // recent failure (the bad one would then be read again at once).
    // Older failures of the name go once a version of it loads.
    let now = loader::now_ms();
    FAILURES.with(|f| {
        let mut f = f.borrow_mut();
        f.retain(|x| {
            x.sha256 != item.sha256
                && (x.name != item.name || now - x.at_ms < RETRY_AFTER_FAILURE_MS)
        });
        if let Err(e) = &result {
            if f.len() >= MAX_FAILURES_KEPT {
                f.remove(0);
            }
            f.push(Failure {
                name: item.name.clone(),
                sha256: item.sha256.clone(),
                error: e.to_string(),
                at_ms: now,
            });
        }
    });
    result
}

async fn load_now(env: &Env, item: &Item) -> Result<Opened, EdgeError> {
    let head = item.head_sha256.as_deref();
    let buffer = match item.kind {
        Kind::Bundle => {
            loader::fetch_bundle(env, &item.key, &item.sha256, item.bytes, head).await?
        }
        Kind::Routes | Kind::Terms => loader::fetch_verified(env, &item.key, &item.sha256).await?,
    };
    // Room first, so the evicted and the new are not in wasm memory together
    // (requests still using an evicted shard hold it until they finish);
    // the version this one replaces stays until it opened.
    let live = loader::live_addresses();
    CACHE.with(|c| c.borrow_mut().make_room(&item.name, &live));
    let opened = match item.kind {
        Kind::Bundle => Opened::Engine(overlay::apply(&Rc::new(
            loader::open_engine(env, &buffer).await?,
        ))),
        Kind::Routes => Opened::Routes(Rc::new(
            Routes::new(loader::bytes_of(&buffer)).map_err(EdgeError::Manifest)?,
        )),
        Kind::Terms => Opened::Terms(Rc::new(
            TermDirectory::new(&loader::bytes_of(&buffer))
                .map_err(|e| EdgeError::Manifest(e.to_string()))?,
        )),
    };
    let live = loader::live_addresses();
    CACHE.with(|c| {
        c.borrow_mut()
            .insert(&item.name, &item.sha256, item.bytes, opened.clone(), &live)
    });
    Ok(opened)
}

/// Bytes of the shard cache's bound held for one load while it runs,
/// given back when it ends, however it ends (a request cut off mid-load
/// drops its future, and this with it).
struct Reservation(u64);

impl Reservation {
    /// Reserves `bytes` (see [`ShardCache::reserve`]); `None` when the
    /// loads in flight leave no room.
    ///
    /// [`ShardCache::reserve`]: crate::shard_cache::ShardCache::reserve
    fn take(bytes: u64) -> Option<Self> {
        CACHE
            .with(|c| c.borrow_mut().reserve(bytes))
            .then_some(Reservation(bytes))
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        CACHE.with(|c| {
            if let Ok(mut c) = c.try_borrow_mut() {
                c.release(self.0);
            }
        });
    }
}
