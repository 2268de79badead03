//! Models trained at the origin from catalog and events.
//!
//! - [`sessions`]: events grouped into per-session product sequences.
//! - [`coview`]: viewed-together lists with a significance score.
//! - [`priors`]: popularity per category and freshness, for cold starts.
//! - [`market`]: trending, days of cover, price response (deal).
//! - [`behaviour`]: behaviour embeddings (PPMI of co-occurrences, factorized).
//! - [`textmap`]: the map from text into the behaviour space (ridge).
//! - [`embed`]: product embeddings from behaviour and mapped text.
//! - [`ann`]: the HNSW index over the embeddings.
//! - [`graph`]: that index changed in place by an incremental build.
//! - [`search`]: the lexical index (terms, postings, synonyms, related
//!   words, learned queries) and the rescue floor.
//! - [`learned_queries`]: what shoppers engaged with after a query.
//! - [`returns`]: how often next clicks go back to what the session viewed.
//! - [`recent_sessions`]: the recent sessions the edge searches for the
//!   session neighbourhood.
//! - [`intent`]: the session-intent classifier.

pub mod ann;
pub mod behaviour;
pub mod coview;
pub mod embed;
pub mod graph;
pub mod intent;
pub mod learned_queries;
pub mod market;
pub mod priors;
pub mod recent_sessions;
pub mod returns;
pub mod search;
pub mod sessions;
pub mod textmap;
