//! `firstpaint serve`: a small origin HTTP service that takes signed
//! catalog-change webhooks and rebuilds and publishes.
//!
//! `POST /webhooks/catalog` takes a [`CatalogChange`] signed as
//! [`firstpaint_origin::webhook`] says (HMAC-SHA256 over a timestamp and
//! the body, a replay window, several secrets for rotation): `401` with
//! the reason for a bad signature, `400` for a body that is not a change,
//! `422` naming each bad product and field (nothing changes), `413` past
//! `--max-body-bytes`. An accepted change is applied to the checked
//! catalog serve keeps in memory (one change at a time), appended to the
//! catalog's journal ([`Journal`]: one line, synced) and answered `202`;
//! the rebuild follows once no change has come for `--debounce-ms`, so a
//! burst of webhooks is one rebuild, and rebuilds never overlap. The
//! rebuild is incremental when it can be (`firstpaint build
//! --incremental`) and builds from the catalog in memory. After each
//! rebuild the catalog file is written anew (atomically, synced) and the
//! journal cleared; at start a journal left behind is written into the
//! file first. So the file is behind serve by at most the changes since
//! the last rebuild, and a stop loses no accepted change. Serve reads
//! the file again only when something else changed it (the journal then
//! applies on top). `GET /health` says what the last rebuild did.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use firstpaint_origin::catalog_change::{Applied, CatalogChange};
use firstpaint_origin::catalog_journal::{sync_directory_of, Journal};
use firstpaint_origin::inputs::CheckedCatalog;
use firstpaint_origin::webhook::{Delivery, Refused, Replays, Secrets, Verifier, SIGNATURE_HEADER};
use serde_json::json;
use tokio::sync::Notify;

use super::rebuild::Pipeline;

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pipeline: Pipeline,
    /// Address to listen on (port 0: any free port, printed at start).
    #[arg(long, default_value = "127.0.0.1:8790")]
    listen: SocketAddr,
    /// Webhook secrets, separated by commas (every one verifies: add the
    /// new one, move senders over, drop the old one). From the
    /// environment, to keep them out of process lists.
    #[arg(long, env = "FIRSTPAINT_WEBHOOK_SECRETS", hide_env_values = true)]
    secrets: String,
    /// How far a webhook's timestamp may be from this clock, seconds.
    #[arg(long, default_value_t = 300)]
    replay_window_secs: i64,
    /// How long after the last change the rebuild starts, ms.
    #[arg(long, default_value_t = 1000)]
    debounce_ms: u64,
    /// Largest webhook body accepted.
    #[arg(long, default_value_t = 16 << 20)]
    max_body_bytes: usize,
}

/// A steady stream of changes still rebuilds after this many debounce
/// periods.
const MAX_DEBOUNCES: u32 = 10;

/// The first wait before a failed rebuild is tried again (doubling, up to
/// 16 times this).
const RETRY_AFTER: Duration = Duration::from_secs(30);

/// What `/health` reports of the rebuilds.
#[derive(Debug, Default, Clone, serde::Serialize)]
struct Rebuilds {
    /// Whether one is running.
    running: bool,
    /// Changes accepted since the last rebuild started.
    queued: Vec<String>,
    /// Rebuilds published.
    published: u64,
    /// Rebuilds that failed.
    failed: u64,
    /// The last one: why, when (unix s), how long (ms), and its error.
    last: Option<serde_json::Value>,
}

/// The catalog: the file as serve last read or wrote it with the
/// journal's changes on top, checked; how to tell that the file is still
/// what it was (its length and modification time); and how many of the
/// journal's changes the file does not hold yet. A webhook changes it
/// without reading the file, and the rebuild it queues builds from it
/// without parsing the file again.
#[derive(Clone)]
struct Known {
    catalog: Arc<CheckedCatalog>,
    stamp: Stamp,
    pending: usize,
}

/// A file's length and modification time.
type Stamp = (u64, std::time::SystemTime);

fn stamp(file: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(file).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

impl Known {
    /// The catalog file at `file` read and checked, with `journal`'s
    /// changes applied; the error says why not (the file does not check,
    /// or the journal's changes do not apply to it). Stamped before it is
    /// read: a change while it is read makes the stamp stale, never the
    /// text.
    fn read(file: &Path, journal: &Journal) -> anyhow::Result<Known> {
        let stamp = stamp(file).with_context(|| format!("{}: not found", file.display()))?;
        let name = file.display().to_string();
        let text =
            std::fs::read_to_string(file).with_context(|| format!("{name}: failed to read"))?;
        let pending = journal.read()?;
        let mut catalog = CheckedCatalog::check(&name, text)?;
        if pending.lines > 0 {
            catalog = pending
                .change
                .apply_checked(&name, &catalog)
                .map(|(catalog, _)| catalog)
                .with_context(|| {
                    format!(
                        "{}: its {} changes no longer apply to {name}",
                        journal.path().display(),
                        pending.lines
                    )
                })?;
        }
        Ok(Known {
            catalog: Arc::new(catalog),
            stamp,
            pending: pending.lines,
        })
    }

    /// Itself, if the file at `file` has not changed since.
    fn still(&self, file: &Path) -> Option<Known> {
        (stamp(file) == Some(self.stamp)).then(|| self.clone())
    }
}

struct Service {
    pipeline: Pipeline,
    journal: Journal,
    verifier: Verifier,
    replays: Mutex<Replays>,
    /// Held while the catalog (file and journal) is read or changed; the
    /// catalog, when known.
    catalog: tokio::sync::Mutex<Option<Known>>,
    rebuilds: Mutex<Rebuilds>,
    /// Held by the one write-back running.
    writing_back: tokio::sync::Mutex<()>,
    wake: Notify,
    debounce: Duration,
}

impl Service {
    /// The catalog as it is now: the one held, while the file has not
    /// changed, else the file and journal read anew (and held). Blocks:
    /// for the rebuild's thread.
    fn catalog_now(&self) -> anyhow::Result<Known> {
        let mut held = self.catalog.blocking_lock();
        let file = &self.pipeline.catalog;
        if let Some(known) = held.as_ref().and_then(|k| k.still(file)) {
            return Ok(known);
        }
        let known = Known::read(file, &self.journal)?;
        *held = Some(known.clone());
        Ok(known)
    }
}

/// Serves until killed.
pub fn run(args: Args) -> anyhow::Result<()> {
    args.pipeline.check()?;
    let secrets = Secrets::parse(&args.secrets).map_err(|e| anyhow::anyhow!("--secrets: {e}"))?;
    let service = Arc::new(Service {
        journal: Journal::beside(&args.pipeline.catalog),
        pipeline: args.pipeline,
        verifier: Verifier::new(secrets, args.replay_window_secs),
        replays: Mutex::new(Replays::new(args.replay_window_secs)),
        catalog: tokio::sync::Mutex::new(None),
        rebuilds: Mutex::default(),
        writing_back: tokio::sync::Mutex::new(()),
        wake: Notify::new(),
        debounce: Duration::from_millis(args.debounce_ms),
    });
    let app = Router::new()
        .route("/webhooks/catalog", post(catalog_webhook))
        .route("/health", get(health))
        .layer(DefaultBodyLimit::max(args.max_body_bytes))
        .with_state(Arc::clone(&service));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        println!("listening on http://{addr}: POST /webhooks/catalog, GET /health");
        tokio::spawn(know_catalog(Arc::clone(&service)));
        tokio::spawn(rebuild_loop(service));
        axum::serve(listener, app)
            .await
            .context("the server stopped")
    })
}

/// A JSON error with `status`.
fn refuse(status: StatusCode, error: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": error.to_string() }))).into_response()
}

async fn catalog_webhook(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    let now = super::now();
    let delivery = match service.verifier.check(signature, &body, now) {
        Ok(d) => d,
        Err(why) => {
            eprintln!("webhook refused: {why}");
            return refuse(StatusCode::UNAUTHORIZED, why);
        }
    };
    if service
        .replays
        .lock()
        .map_or(true, |mut r| r.seen(&delivery, now))
    {
        eprintln!("webhook refused: {}", Refused::Replayed);
        return refuse(StatusCode::UNAUTHORIZED, Refused::Replayed);
    }
    let change = match CatalogChange::parse(&body) {
        Ok(c) => c,
        Err(why) => return refuse(StatusCode::BAD_REQUEST, why),
    };
    if change.is_empty() {
        remember(&service, delivery, now);
        queue(&service, "webhook: rebuild asked".to_owned());
        return (
            StatusCode::ACCEPTED,
            Json(json!({ "accepted": "webhook: rebuild asked", "rebuild": "queued" })),
        )
            .into_response();
    }
    // Applied, held, journaled and queued by a task of its own: a client
    // that hangs up half way cannot leave the journal ahead of the
    // catalog in memory, nor a change without its rebuild.
    match tokio::spawn(commit(Arc::clone(&service), change, delivery, now)).await {
        Ok(Ok(applied)) if applied.changed() => (
            StatusCode::ACCEPTED,
            Json(json!({ "accepted": summary(&applied), "rebuild": "queued" })),
        )
            .into_response(),
        Ok(Ok(applied)) => (
            StatusCode::OK,
            Json(json!({ "applied": applied, "rebuild": "not needed" })),
        )
            .into_response(),
        Ok(Err(Problem::Input(errors))) => refuse(StatusCode::UNPROCESSABLE_ENTITY, errors),
        Ok(Err(Problem::Io(e))) => refuse(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// What a change did, for logs, the publish log and the answer.
fn summary(applied: &Applied) -> String {
    format!(
        "webhook: {} updated, {} added, {} deleted",
        applied.updated, applied.added, applied.deleted
    )
}

/// Applies `change` under the catalog lock, keeps the result, and
/// records the delivery and queues a rebuild when it changed something.
async fn commit(
    service: Arc<Service>,
    change: CatalogChange,
    delivery: Delivery,
    now: i64,
) -> Result<Applied, Problem> {
    let started = std::time::Instant::now();
    let mut held = service.catalog.lock().await;
    let file = service.pipeline.catalog.clone();
    let known = held.as_ref().and_then(|k| k.still(&file));
    let journal = service.journal.clone();
    let (applied, known) =
        tokio::task::spawn_blocking(move || apply(&file, &journal, change, known))
            .await
            .map_err(|e| Problem::Io(e.into()))??;
    *held = known;
    remember(&service, delivery, now);
    if applied.changed() {
        let why = summary(&applied);
        eprintln!(
            "{why}: applied in {} ms, rebuild queued",
            started.elapsed().as_millis()
        );
        queue(&service, why);
    }
    Ok(applied)
}

/// Queues a rebuild for `why`.
fn queue(service: &Service, why: String) {
    if let Ok(mut r) = service.rebuilds.lock() {
        r.queued.push(why);
    }
    service.wake.notify_one();
}

/// Records `delivery` as done: the same request again is a replay.
fn remember(service: &Service, delivery: Delivery, now: i64) {
    if let Ok(mut r) = service.replays.lock() {
        r.remember(delivery, now);
    }
}

/// Why a change was not applied.
enum Problem {
    /// The change or the changed catalog is invalid (a `422`).
    Input(firstpaint_contracts::InputErrors),
    /// The catalog file could not be read or written (a `500`).
    Io(anyhow::Error),
}

/// Reads and checks the catalog once at start, so the first webhook does
/// not (webhooks wait for it; a catalog that does not check is left to
/// them), then writes a journal left behind into the file.
async fn know_catalog(service: Arc<Service>) {
    {
        let mut held = service.catalog.lock().await;
        let file = service.pipeline.catalog.clone();
        let journal = service.journal.clone();
        let started = std::time::Instant::now();
        let read = tokio::task::spawn_blocking(move || Known::read(&file, &journal)).await;
        match read {
            Ok(Ok(known)) => {
                eprintln!(
                    "catalog: {} products checked in {} ms{}",
                    known.catalog.products.len(),
                    started.elapsed().as_millis(),
                    match known.pending {
                        0 => String::new(),
                        n => format!(", with {n} journaled changes not yet in the file"),
                    }
                );
                // Changes accepted before serve last stopped may not be
                // published yet.
                if known.pending > 0 {
                    queue(
                        &service,
                        format!("{} changes journaled before a restart", known.pending),
                    );
                }
                *held = Some(known);
            }
            Ok(Err(e)) => eprintln!("catalog: does not check ({e:#}); webhooks will say why"),
            Err(e) => eprintln!("catalog: {e}"),
        }
    }
    write_back(&service).await;
}

/// Applies `change` to the catalog: to `known` (the file's content with
/// the journal on top, checked) when given, else to the file read anew
/// (with the journal). An applied change is appended to `journal`; the
/// file is left as it is. A catalog that does not check is changed line
/// by line and checked whole after, so a change can mend it: that change,
/// with the journal's, is written into the file and the journal cleared.
/// Returns what it did and the catalog now, when it checks.
fn apply(
    file: &Path,
    journal: &Journal,
    change: CatalogChange,
    known: Option<Known>,
) -> Result<(Applied, Option<Known>), Problem> {
    let name = file.display().to_string();
    let known = match known {
        Some(known) => Ok(known),
        None => Known::read(file, journal),
    };
    let Ok(known) = known else {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("{name}: failed to read"))
            .map_err(Problem::Io)?;
        let pending = journal.read().map_err(Problem::Io)?;
        let change = pending.change.then(change);
        let (changed, applied) = change.apply(&name, &text).map_err(Problem::Input)?;
        if applied.changed() {
            stage(file, changed.as_bytes())
                .and_then(|staged| swap_in(&staged, file))
                .map_err(Problem::Io)?;
        }
        journal.clear(pending.lines).map_err(Problem::Io)?;
        return Ok((applied, None));
    };
    let (next, applied) = change
        .apply_checked(&name, &known.catalog)
        .map_err(Problem::Input)?;
    if !applied.changed() {
        return Ok((applied, Some(known)));
    }
    journal.append(&change).map_err(Problem::Io)?;
    Ok((
        applied,
        Some(Known {
            catalog: Arc::new(next),
            pending: known.pending + 1,
            ..known
        }),
    ))
}

/// Writes the catalog into the file when the file is behind it (changes
/// only in the journal), then clears the journal of them. The new file is
/// written and synced beside the old while webhooks go on; under the lock
/// it replaces the old one (unless something else changed the file
/// meanwhile: then the journal stays, to be applied over that), the
/// directory is synced, and the journal cleared of what the file holds.
/// One write-back at a time.
async fn write_back(service: &Arc<Service>) {
    let _one = service.writing_back.lock().await;
    let behind = {
        let held = service.catalog.lock().await;
        held.as_ref().filter(|k| k.pending > 0).cloned()
    };
    let Some(known) = behind else {
        return;
    };
    let file = service.pipeline.catalog.clone();
    let started = std::time::Instant::now();
    let staged = {
        let (file, text) = (file.clone(), Arc::clone(&known.catalog));
        tokio::task::spawn_blocking(move || stage(&file, text.text.as_bytes())).await
    };
    let staged = match staged {
        Ok(Ok(tmp)) => tmp,
        Ok(Err(e)) => return eprintln!("catalog: the journal stays: {e:#}"),
        Err(e) => return eprintln!("catalog: the journal stays: {e}"),
    };
    let mut held = service.catalog.lock().await;
    let outcome = match held.as_mut() {
        Some(now) if stamp(&file) == Some(known.stamp) => {
            swap_in(&staged, &file).and_then(|stamp| {
                now.stamp = stamp;
                if service.journal.clear(known.pending)? {
                    now.pending -= known.pending.min(now.pending);
                }
                Ok(known.pending)
            })
        }
        _ => Err(anyhow::anyhow!(
            "{} changed while it was written; the journal applies over it",
            file.display()
        )),
    };
    if outcome.is_err() {
        let _ = std::fs::remove_file(&staged);
    }
    match outcome {
        Ok(lines) => eprintln!(
            "catalog: {lines} journaled changes written to {} in {} ms",
            file.display(),
            started.elapsed().as_millis()
        ),
        Err(e) => eprintln!("catalog: the journal stays: {e:#}"),
    }
}

/// `bytes` written and synced to a new file beside `file` (named for this
/// process and moment, so two writers never share one): the first half of
/// a durable replace.
fn stage(file: &Path, bytes: &[u8]) -> anyhow::Result<std::path::PathBuf> {
    use std::io::Write;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut name = file.file_name().unwrap_or_default().to_owned();
    name.push(format!(".{}.{nanos}.tmp", std::process::id()));
    let tmp = file.with_file_name(name);
    let mut out = std::fs::File::create(&tmp)
        .with_context(|| format!("{}: failed to create", tmp.display()))?;
    out.write_all(bytes)
        .and_then(|()| out.sync_all())
        .with_context(|| format!("{}: failed to write", tmp.display()))?;
    Ok(tmp)
}

/// The second half: `staged` renamed over `file` and the directory
/// synced, so the new file outlives a power cut before anything that
/// relies on it (the journal's clearing) happens. The file's new stamp.
fn swap_in(staged: &Path, file: &Path) -> anyhow::Result<Stamp> {
    std::fs::rename(staged, file)
        .with_context(|| format!("{}: failed to replace", file.display()))?;
    sync_directory_of(file)?;
    stamp(file).with_context(|| format!("{}: not found", file.display()))
}

async fn health(State(service): State<Arc<Service>>) -> Response {
    match service.rebuilds.lock() {
        Ok(r) => Json(json!({ "rebuilds": *r })).into_response(),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "state poisoned"),
    }
}

/// Rebuilds after each quiet spell following a change, one at a time.
async fn rebuild_loop(service: Arc<Service>) {
    let mut failures = 0u32;
    loop {
        service.wake.notified().await;
        // Wait out the burst (every change in it goes in this rebuild),
        // but not forever under a steady stream.
        let started = tokio::time::Instant::now();
        while started.elapsed() < service.debounce * MAX_DEBOUNCES {
            let woken = tokio::time::timeout(service.debounce, service.wake.notified()).await;
            if woken.is_err() {
                break;
            }
        }
        let whys = match service.rebuilds.lock() {
            Ok(mut r) if !r.queued.is_empty() => {
                r.running = true;
                std::mem::take(&mut r.queued)
            }
            Ok(_) => continue,
            Err(_) => return,
        };
        let why = if whys.len() == 1 {
            whys.join("")
        } else {
            format!("{} webhooks: {}", whys.len(), whys.join("; "))
        };
        // The build takes one whole version of the catalog; a change
        // during the build queues the next.
        let worker = Arc::clone(&service);
        let reason = why.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let known = worker.catalog_now()?;
            worker.pipeline.run(&reason, Some(&known.catalog))
        })
        .await;
        let result: Result<(Duration, String), String> = match outcome {
            Ok(Ok(done)) => Ok(done),
            Ok(Err(e)) => Err(format!("{e:#}")),
            Err(e) => Err(e.to_string()),
        };
        match &result {
            Ok((took, kind)) => eprintln!("{why}: published in {} ms ({kind})", took.as_millis()),
            Err(e) => eprintln!("{why}: nothing published: {e}"),
        }
        let ok = result.is_ok();
        if let Ok(mut r) = service.rebuilds.lock() {
            r.running = false;
            if ok {
                r.published += 1;
                failures = 0;
            } else {
                // Tried again later (bad input is reported each time until
                // it is fixed; a passing fault heals), with what came since.
                r.failed += 1;
                failures += 1;
                r.queued.splice(0..0, whys);
                let wait = RETRY_AFTER * 2u32.saturating_pow(failures.min(5) - 1);
                let waker = Arc::clone(&service);
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    waker.wake.notify_one();
                });
            }
            r.last = Some(json!({
                "why": why,
                "at": super::now(),
                "took_ms": result.as_ref().map_or(0, |(took, _)| took.as_millis() as u64),
                "build": result.as_ref().ok().map(|(_, kind)| kind),
                "ok": ok,
                "error": result.as_ref().err(),
            }));
        }
        write_back(&service).await;
    }
}
