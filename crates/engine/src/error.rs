//! Why the engine could not answer.

use firstpaint_bundle::{BundleError, Tag};

/// Every engine failure. The edge turns any of them into the unmodified page.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The bundle failed verification or a section did not decode.
    #[error("bundle: {0}")]
    Bundle(#[from] BundleError),
    /// The bundle's sections were written for another engine version.
    #[error("bundle sections are schema {found}, this engine reads schema {expected}: rebuild the bundle with the origin of this release")]
    Schema {
        /// The bundle's schema.
        found: u32,
        /// The engine's.
        expected: u32,
    },
    /// Sections that decode but disagree with each other.
    #[error("section {section} is inconsistent: {detail}")]
    Inconsistent {
        /// The section at fault.
        section: Tag,
        /// What disagrees.
        detail: String,
    },
    /// A slot type the engine does not know.
    #[error("unknown slot type {got:?}; valid types: {valid}{}", suggestion(.did_you_mean))]
    UnknownSlot {
        /// What was asked for.
        got: String,
        /// The valid types, comma-separated.
        valid: String,
        /// The closest valid type, if any is close.
        did_you_mean: Option<String>,
    },
    /// The slot needs a product (`data-p13n-product`, `--product`) and got none.
    #[error("slot {slot:?} needs a product id")]
    MissingProduct {
        /// The slot type.
        slot: &'static str,
    },
    /// The slot needs the cart's products (`data-p13n-cart`, `--cart`) and got none known.
    #[error("slot {slot:?} needs the cart's product ids")]
    MissingCart {
        /// The slot type.
        slot: &'static str,
    },
    /// The slot needs a category (`data-p13n-category`, `--category`, or a
    /// category page's address) and got none.
    #[error("slot {slot:?} needs a category")]
    MissingCategory {
        /// The slot type.
        slot: &'static str,
    },
    /// The category is not in the bundle's catalog.
    #[error("category {0:?} is not in the catalog (give its path, leaf name or page slug)")]
    UnknownCategory(String),
    /// The product id is not in the bundle's catalog.
    #[error("product {0:?} is not in the catalog")]
    UnknownProduct(String),
    /// `k` outside 1..=MAX_K.
    #[error("k must be between 1 and {max} (got {got})")]
    InvalidK {
        /// Requested size.
        got: usize,
        /// Largest allowed.
        max: usize,
    },
    /// A search query over the length limit.
    #[error("query is {got} bytes; at most {max} are accepted")]
    QueryTooLong {
        /// Its length.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// A search page outside the limits.
    #[error("page must be 1-{max_page} and per_page 1-{max_per_page} (got page {page}, per_page {per_page})")]
    InvalidPage {
        /// Requested page.
        page: usize,
        /// Requested page size.
        per_page: usize,
        /// Deepest page.
        max_page: usize,
        /// Largest page size.
        max_per_page: usize,
    },
    /// The bundle was built without a search index.
    #[error("this bundle has no search index; rebuild it with this version of the origin")]
    NoSearchIndex,
    /// A slot template the engine cannot render.
    #[error("template: {0}")]
    Template(String),
}

fn suggestion(s: &Option<String>) -> String {
    s.as_ref()
        .map(|s| format!(" (did you mean {s:?}?)"))
        .unwrap_or_default()
}
