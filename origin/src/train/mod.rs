//! Models trained at the origin from catalog and events.
//!
//! - [`sessions`]: events grouped into per-session product sequences.
//! - [`coview`]: viewed-together lists with a significance score.
//! - [`priors`]: popularity per category and freshness, for cold starts.
//! - [`embed`]: product embeddings from text, smoothed by co-views.
//! - [`ann`]: the HNSW index over the embeddings.
//! - [`search`]: the lexical index (terms, postings, synonyms).
//! - [`transitions`]: what shoppers opened after each product.
//! - [`intent`]: the session-intent classifier.

pub mod ann;
pub mod coview;
pub mod embed;
pub mod intent;
pub mod priors;
pub mod search;
pub mod sessions;
pub mod transitions;
