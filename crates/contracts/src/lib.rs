//! Data contracts shared by the origin job and the edge.
//!
//! A merchant hands firstpaint three inputs: a catalog (`catalog.ndjson`, one
//! [`Product`] per line), behaviour events (`events.ndjson`, one [`Event`] per
//! line, each with its [`Consent`] and region) and guardrail rules
//! (`rules.toml`, a [`Rules`] document). This crate holds their serde types and
//! the validation that turns bad input into [`InputError`]s naming the file,
//! line and field, so a build can refuse to publish a bundle from bad data.
//!
//! ```
//! use firstpaint_contracts::{read_ndjson, Product};
//!
//! let text = r#"{"id":"SKU-1","title":"Cable","category":["Electronics","Cables"],"price":9.5,"currency":"EUR","created_at":"2026-01-02T03:04:05Z"}"#;
//! let products: Vec<Product> = read_ndjson("catalog.ndjson", text).unwrap();
//! assert_eq!(products[0].id, "SKU-1");
//!
//! let bad = r#"{"id":"SKU-1","title":"Cable","category":["Electronics"],"price":-1,"currency":"EUR","created_at":"2026-01-02T03:04:05Z"}"#;
//! let errors = read_ndjson::<Product>("catalog.ndjson", bad).unwrap_err();
//! assert_eq!(errors.to_string(), "catalog.ndjson:1: field `price`: must be a finite number >= 0 (got -1)");
//! ```
#![deny(missing_docs)]

mod consent;
mod error;
mod event;
mod ids;
mod live;
mod product;
mod purge;
mod read;
mod rules;
mod suggest;
mod synonyms;
mod urls;

pub use consent::Consent;
pub use error::{InputError, InputErrors};
pub use event::{Event, EventKind, OrderLine};
pub use ids::{is_valid_id, MAX_ID_LEN};
pub use live::LiveUpdate;
pub use product::{Media, Product, Rating, Stock, Variant};
pub use purge::{PurgeRule, Purges, MAX_PURGE_PATTERN, MAX_PURGE_RULES, PURGES_KEY};
pub use read::{read_json, read_ndjson, read_ndjson_from, read_toml, Problems, Validate};
pub use rules::{
    Banner, BannerCondition, Blend, Boost, ConsentRules, EventRules, Guardrails, MarginFloor, Pin,
    PriceFloor, RegionExclusion, Rules, SearchBury, SearchPin, SearchRules, Shipping, Window,
};
pub use suggest::did_you_mean;
pub use synonyms::{read_synonyms, SynonymRule, MAX_TERMS_PER_RULE, MAX_TERM_CHARS};
