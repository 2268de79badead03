//! Why the edge could not personalize. Never shown to shoppers as an error:
//! pages fall back to the unmodified storefront response.

/// Every edge failure, each naming what it was doing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EdgeError {
    /// A binding or variable is missing from the worker's configuration.
    #[error("configuration: {0}")]
    Config(String),
    /// Reading from KV failed.
    #[error("KV {key}: {reason}")]
    Kv {
        /// The key read.
        key: String,
        /// What KV said.
        reason: String,
    },
    /// No manifest or no bundle published yet.
    #[error("nothing published: {0}")]
    NotPublished(String),
    /// The manifest does not parse or does not match its bundle.
    #[error("manifest: {0}")]
    Manifest(String),
    /// The bundle was refused by verification or the engine.
    #[error(transparent)]
    Engine(#[from] firstpaint_engine::EngineError),
    /// A recent load failed and is not retried yet.
    #[error("no bundle loaded (last attempt: {0})")]
    NotLoaded(String),
    /// A cold isolate's first bundle load outlasted the page's budget; it
    /// goes on in the background.
    #[error("the bundle is still loading (waited {0} ms)")]
    Loading(u64),
    /// The storefront fetch failed.
    #[error("storefront: {0}")]
    Storefront(String),
}

impl EdgeError {
    /// What a shopper's browser may be told of this failure (the JSON
    /// endpoints' `fallback`): `loading`, `nothing published` or
    /// `unavailable`. The whole reason names KV keys, digests and
    /// variables: it goes to the log and `/p13n/health`, not to shoppers.
    pub fn public_reason(&self) -> &'static str {
        match self {
            EdgeError::Loading(_) => "loading",
            EdgeError::NotPublished(_) => "nothing published",
            _ => "unavailable",
        }
    }
}
