//! `firstpaint live push` and `live show`: stock, prices and availability
//! between rebuilds.
//!
//! An overlay is by product id and cumulative: a push merges its updates
//! into the overlay served now (each field an update gives replaces the
//! last one; `--replace` starts from nothing, for a full stock export), then
//! signs the result as the next overlay ([`seal_live`]: sequence, expiry)
//! and stores it under its content address `overlays/<sha256>` with the
//! pointer `live` beside it, in one write. The edge checks the pointer
//! every `LIVE_TTL_MS` and lays the overlay over every bundle it holds.
//! Old overlays are not deleted: KV drops each one a day after its expiry.
//! The last overlay pushed is also kept in a local cache (`--cache`), so
//! a push reads only the pointer back from KV: with wrangler's local KV a
//! push is two wrangler runs' time (a read, then both writes at once).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context};
use firstpaint_bundle::{
    hex, open_live, seal_live, sha256, LiveHeader, LivePointer, SigningKey, LIVE_KEY,
};
use firstpaint_contracts::{read_ndjson, LiveUpdate};
use firstpaint_engine::{decode_updates, encode_updates};

use super::publish::KV_VALUE_LIMIT;
use super::releases::{Sealing, Target};

/// How long KV keeps an overlay past its expiry.
const KEPT_AFTER_EXPIRY_SECS: i64 = 24 * 3600;

/// Arguments of `live`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Publish stock, prices and availability: a new signed overlay.
    Push(PushArgs),
    /// Print the overlay served now.
    Show(super::Show),
}

/// Arguments of `live push`.
#[derive(Debug, clap::Args)]
struct PushArgs {
    /// NDJSON, one product a line: `{"id", "price"?, "buyable"?,
    /// "inventory"?: [{"location", "available", "lead_days"?}]}`.
    #[arg(long)]
    updates: PathBuf,
    /// Start from these updates alone instead of merging them into the
    /// overlay served now (a full stock export).
    #[arg(long)]
    replace: bool,
    /// Where the last overlays pushed from here are kept (by content
    /// address), so a push need not read the one served now back from KV.
    #[arg(long, default_value = ".firstpaint/cache")]
    cache: PathBuf,
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    seal: Sealing,
}

/// Runs `live push` or `live show`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Push(a) => push(a),
        Command::Show(a) => show(a),
    }
}

fn push(args: PushArgs) -> anyhow::Result<()> {
    args.target.check()?;
    let key = args.seal.signing_key()?;
    let name = args.updates.display().to_string();
    let text = std::fs::read_to_string(&args.updates)
        .with_context(|| format!("{name}: failed to read"))?;
    let updates: Vec<LiveUpdate> = read_ndjson(&name, &text)?;
    ensure!(!updates.is_empty(), "{name}: no updates");
    let pointer = pointer(&args.target)?;
    // The last overlay pushed from here: newer than the one KV points to
    // only if the pointer was put back (then it is the one to build on).
    let own = newest_cached(&args.cache, &key);
    let served = pointer.as_ref().map_or(0, |p| p.sequence);
    let newest = own.as_ref().map_or(served, |(h, _)| h.sequence.max(served));
    let base = match (&pointer, own) {
        (Some(p), Some((h, bytes))) if h.sequence > p.sequence => {
            eprintln!(
                "warning: KV's live pointer names overlay {}, older than overlay {} pushed from here: building on {}",
                p.sequence, h.sequence, h.sequence
            );
            Some(bytes)
        }
        (Some(p), _) => Some(overlay_bytes(&args.target, &args.cache, p)?),
        (None, _) => None,
    };
    let mut merged: BTreeMap<String, LiveUpdate> = BTreeMap::new();
    if let (Some(bytes), false) = (base, args.replace) {
        // The publisher's own last overlay, whatever its age.
        let (header, payload) = open_live(&bytes, &[key.verifying_key()], i64::MIN, 0, None)
            .context(
                "the live overlay served cannot be merged into; push with --replace to start over",
            )?;
        let updates = decode_updates(payload).with_context(|| {
            format!(
                "live overlay {}: unreadable; push with --replace",
                header.sequence
            )
        })?;
        for update in updates {
            merged.insert(update.id.clone(), update);
        }
    }
    let pushed = updates.len();
    for update in updates {
        match merged.get_mut(&update.id) {
            Some(old) => old.merge(update),
            None => {
                merged.insert(update.id.clone(), update);
            }
        }
    }
    let now = super::now();
    let header = LiveHeader {
        sequence: newest + 1,
        created_at: now,
        expires_at: now.saturating_add(args.seal.ttl_secs),
    };
    let all: Vec<LiveUpdate> = merged.into_values().collect();
    let sealed = seal_live(&header, &encode_updates(&all)?, &key);
    ensure!(
        !args.target.is_kv() || sealed.len() <= KV_VALUE_LIMIT,
        "the live overlay is {} bytes, above KV's {KV_VALUE_LIMIT}: push with --replace from a smaller export",
        sealed.len()
    );
    let sha = hex(&sha256(&sealed));
    let next = LivePointer {
        sequence: header.sequence,
        key: format!("overlays/{sha}"),
        sha256: sha,
        bytes: sealed.len() as u64,
        updates: all.len() as u64,
        created_at: now,
    };
    let pointer_text = serde_json::to_vec_pretty(&next)?;
    remember(&args.cache, &next.key, &sealed);
    let kept = args.seal.ttl_secs.saturating_add(KEPT_AFTER_EXPIRY_SECS);
    args.target.put_many(&[
        (next.key.as_str(), sealed.as_slice(), Some(kept)),
        (LIVE_KEY, pointer_text.as_slice(), None),
    ])?;
    println!(
        "live overlay {}: {pushed} updates pushed, {} products with live data, {} bytes, {}",
        next.sequence, next.updates, next.bytes, next.key
    );
    Ok(())
}

fn show(args: super::Show) -> anyhow::Result<()> {
    args.target.check()?;
    let Some(pointer) = pointer(&args.target)? else {
        println!("no live overlay: every product is as its bundle has it");
        return Ok(());
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&pointer)?);
    } else {
        println!(
            "live overlay {}: {} products with live data, {} bytes, signed {} s ago, {}",
            pointer.sequence,
            pointer.updates,
            pointer.bytes,
            super::now() - pointer.created_at,
            pointer.key
        );
    }
    Ok(())
}

/// The pointer to the overlay served now, if there is one.
fn pointer(target: &Target) -> anyhow::Result<Option<LivePointer>> {
    target.get_json(LIVE_KEY, "a live pointer")
}

/// The bytes of the overlay `pointer` names: from the cache when they are
/// there, else from the target (then cached); either way they must hash
/// to its address.
fn overlay_bytes(target: &Target, cache: &Path, pointer: &LivePointer) -> anyhow::Result<Vec<u8>> {
    let addressed = |bytes: &[u8]| hex(&sha256(bytes)) == pointer.sha256;
    if let Ok(bytes) = std::fs::read(cache.join(&pointer.key)) {
        if addressed(&bytes) {
            return Ok(bytes);
        }
    }
    let bytes = target.get_bytes(&pointer.key)?.with_context(|| {
        format!(
            "live overlay {} ({}) is missing",
            pointer.sequence, pointer.key
        )
    })?;
    ensure!(
        addressed(&bytes),
        "live overlay {} ({}) does not hash to its address; push with --replace to start over",
        pointer.sequence,
        pointer.key
    );
    remember(cache, &pointer.key, &bytes);
    Ok(bytes)
}

/// The overlay last pushed from here (kept in `cache`), if it is there and
/// signed with `key`: its header and bytes.
fn newest_cached(cache: &Path, key: &SigningKey) -> Option<(LiveHeader, Vec<u8>)> {
    let entry = std::fs::read_dir(cache.join("overlays"))
        .ok()?
        .flatten()
        .next()?;
    let bytes = std::fs::read(entry.path()).ok()?;
    let (header, _) = open_live(&bytes, &[key.verifying_key()], i64::MIN, 0, None).ok()?;
    Some((header, bytes))
}

/// Keeps `bytes` (stored under `key`) in the cache, replacing what was
/// there: only the newest overlay is worth keeping. A cache that cannot be
/// written only costs the next push a read.
fn remember(cache: &Path, key: &str, bytes: &[u8]) {
    let dir = cache.join("overlays");
    let _ = std::fs::remove_dir_all(&dir);
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = super::replace(&cache.join(key), bytes);
    }
}
