//! Every cap of the edge worker, in one place.

/// Most memory lol_html may use for one page before it passes the rest through.
pub const MAX_REWRITER_MEMORY: usize = 4 << 20;
/// Most bytes of one slot's source kept to cut its template out.
pub const MAX_SLOT_SOURCE_BYTES: usize = 256 << 10;
/// Slots one page may have filled; later ones keep their fallback
/// content (ranking is the rewrite's main cost: a page that repeats a
/// slot in a loop must not multiply it without bound).
pub const MAX_SLOTS_PER_PAGE: usize = 16;
/// Source bytes kept outside slots, for a start tag split across chunks.
pub const SOURCE_CARRY_BYTES: usize = 16 << 10;
/// Recently viewed products kept in the cookie.
pub const MAX_COOKIE_VIEWED: usize = 12;
/// Longest query string accepted by the JSON endpoints.
pub const MAX_QUERY_BYTES: usize = 2048;
/// How long an isolate trusts its cached manifest before re-checking it.
pub const MANIFEST_TTL_MS: f64 = 30_000.0;
/// How often an isolate re-reads the live overlay's pointer, ms (the
/// `LIVE_TTL_MS` variable overrides it; `make dev` checks every second).
/// In production KV's own propagation (up to a minute) bounds how fresh
/// live data can be, whatever this is.
pub const LIVE_TTL_MS: f64 = 10_000.0;
/// How often an isolate re-reads the storefront cache's purges, ms (the
/// `PURGE_TTL_MS` variable overrides it): a purge reaches every isolate
/// within this, plus KV's own propagation in production.
pub const PURGE_TTL_MS: f64 = 10_000.0;
/// Longest a page waits for a cold isolate's first bundle load, unless the
/// `COLD_LOAD_BUDGET_MS` variable says otherwise; past it the page streams
/// unmodified and the load finishes in the background.
pub const DEFAULT_COLD_LOAD_BUDGET_MS: u64 = 50;
/// The most a sharded store's isolate keeps open (shards, routes, term
/// directory), unless the `SHARD_CACHE_MB` variable says otherwise: a
/// category shard of the 1M-product store (at most 24 MiB, 17 measured),
/// the global shard and the routes, or a search's global shard and two
/// category shards, with the isolate (128 MB) keeping room for the wasm
/// heap and one shard's transfer (BENCHMARKS.md, session 8).
pub const DEFAULT_SHARD_CACHE_BYTES: u64 = 48 << 20;
/// After a failed load with nothing cached, requests fail fast for this long.
pub const RETRY_AFTER_FAILURE_MS: f64 = 5_000.0;
/// Longest profile cookie accepted; longer ones are ignored.
pub const MAX_PROFILE_COOKIE_BYTES: usize = 3072;
/// Idle seconds after which the next request starts a new visit.
pub const VISIT_GAP_SECONDS: i64 = 30 * 60;
/// Largest `POST /p13n/collect` body.
pub const MAX_COLLECT_BODY_BYTES: usize = 64 * 1024;
/// Most events in one `POST /p13n/collect`.
pub const MAX_COLLECT_EVENTS: usize = 100;
/// Out-of-stock products remembered for back-in-stock.
pub const MAX_WANTED: usize = 6;
/// Banners whose per-visit counts the profile keeps.
pub const MAX_BANNER_COUNTERS: usize = 8;
/// Searches of a visit the profile keeps for the intent model.
pub const MAX_PROFILE_QUERIES: usize = 3;
/// Words kept of each of those searches.
pub const MAX_QUERY_WORDS_KEPT: usize = 4;
/// Longest word kept of a search, in characters.
pub const MAX_KEPT_WORD_CHARS: usize = 24;
/// Longest channel name kept.
pub const MAX_CHANNEL_CHARS: usize = 12;
/// Ordered products the profile keeps, for refills and the cart's rebuys:
/// as many as the engine reads (on Online Retail's staples, with earlier
/// orders proposed at a fixed score, 6 found 0.31 of the hidden products
/// in the first ten, 12 0.34, 24 0.38: BENCHMARKS.md, session 16).
pub const MAX_ORDERED: usize = firstpaint_engine::limits::MAX_ORDERED;
/// Category pages of a visit the profile keeps for the intent model.
pub const MAX_PROFILE_CATEGORIES: usize = 3;
/// Longest category path kept, in characters.
pub const MAX_CATEGORY_CHARS: usize = 100;
