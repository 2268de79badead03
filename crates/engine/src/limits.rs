//! Every cap of the engine, in one place.

/// Least probability a predicted mission needs to count as the visit's
/// intent: below it (a channel alone, say) the model does not know.
pub const MIN_INTENT_PROBABILITY: f32 = 0.4;
/// Most items one slot may ask for.
pub const MAX_K: usize = 48;
/// Slot size when the request does not say.
pub const DEFAULT_K: usize = 8;
/// Most recently viewed products a request may carry; older ones are ignored.
pub const MAX_VIEWED: usize = 20;
/// Products of one recent session the session neighbourhood reads (the
/// origin keeps each session's latest this many); a longer row, from a
/// damaged bundle, is read this far.
pub const MAX_SESSION_PRODUCTS: usize = 32;
/// Candidates taken from each source before blending and guardrails.
pub const CANDIDATES_PER_SOURCE: usize = 64;
/// Most neighbours one HNSW search proposes. The stored graph searches with
/// a beam of 64 (a slot's search with [`SLOT_ANN_BEAM`]), but the candidate
/// budget stays the 32 that instant-distance's beam gave before the graph
/// was read in place: the store changed the layout, not what the models see
/// (and each candidate costs scoring).
pub const MAX_ANN_NEIGHBOURS: usize = 32;
/// The beam a slot's HNSW search uses on layer 0 ([`Store::nearest`]
/// keeps the stored graph's 64): a search costs about its beam (-32% of
/// its work at 40), and its recall@10 stays 0.995 on the structured 100k
/// store (0.998 at 64; BENCHMARKS.md, session 8).
///
/// [`Store::nearest`]: crate::Store::nearest
pub const SLOT_ANN_BEAM: usize = 40;
/// Most of the shopper's earlier orders a request's cart add-ons read
/// (the edge's profile keeps as many).
pub const MAX_ORDERED: usize = 16;
/// Weight of the n-th most recent view is `RECENCY_DECAY^n`.
pub const RECENCY_DECAY: f32 = 0.7;
/// Longest slot template accepted, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 16 * 1024;
/// A returning visitor's recent views shown first on the home slot.
pub const RECENT_IN_HOME: usize = 4;
/// Longest search query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 256;
/// Query words searched; later ones are ignored (and reported).
pub const MAX_QUERY_WORDS: usize = 10;
/// Most index terms one query word expands to by typos.
pub const MAX_EXPANSIONS: usize = 16;
/// Shortest last word that is completed as a prefix ("cha" → "charger").
pub const MIN_PREFIX_CHARS: usize = 3;
/// A query word found in at least this many products is not expanded to
/// its typo neighbours (it is taken as meant).
pub const WELL_KNOWN_WORD: u32 = 20;
/// Most index terms the last query word completes to.
pub const MAX_PREFIX_EXPANSIONS: usize = 12;
/// Search results blended with the session and product signals, by the
/// order of their words alone; later results keep that order.
pub const RERANK_WINDOW: usize = 480;
/// Search results per page when the request does not say.
pub const DEFAULT_PER_PAGE: usize = 24;
/// Most search results per page.
pub const MAX_PER_PAGE: usize = 48;
/// Deepest search page served.
pub const MAX_PAGE: usize = 50;
/// Nearest products considered when rescuing a query without matches.
pub const RESCUE_CANDIDATES: usize = 96;
/// Fewest characters of each part of a run-together query word
/// ("yogamat" → "yoga mat"): shorter parts split nearly any word.
pub const MIN_SPLIT_CHARS: usize = 3;
/// Least cosine similarity between a query and a rescued product, whatever
/// the bundle's calibrated rescue floor.
pub const RESCUE_MIN_SIMILARITY: f32 = 0.5;
/// Most removed candidates an explained search lists.
pub const MAX_EXPLAIN_REMOVED: usize = 100;
