//! Every cap of the engine, in one place.

/// Most items one slot may ask for.
pub const MAX_K: usize = 48;
/// Slot size when the request does not say.
pub const DEFAULT_K: usize = 8;
/// Most recently viewed products a request may carry; older ones are ignored.
pub const MAX_VIEWED: usize = 20;
/// Candidates taken from each source before blending and guardrails.
pub const CANDIDATES_PER_SOURCE: usize = 64;
/// Weight of the n-th most recent view is `RECENCY_DECAY^n`.
pub const RECENCY_DECAY: f32 = 0.7;
/// Longest slot template accepted, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 16 * 1024;
/// A returning visitor's recent views shown first on the home slot.
pub const RECENT_IN_HOME: usize = 4;
