//! The firstpaint ranking core.
//!
//! An [`Engine`] is opened once per worker isolate from a verified bundle and
//! then answers [`SlotRequest`]s in microseconds: it gathers candidates (HNSW
//! neighbours, viewed-together lists, category priors), scores each signal,
//! blends them with the merchant's weights and applies the guardrails last,
//! so no model can show what the rules forbid. Every item carries the
//! [`Reason`]s that produced its score.
//!
//! The engine does no I/O: bytes come in, rankings go out. It never panics
//! on input: every entry point returns a `Result`.
//!
//! ```no_run
//! use firstpaint_engine::{Engine, SlotKind, SlotRequest};
//! # fn demo(bytes: &[u8], key: &firstpaint_bundle::VerifyingKey) -> Result<(), firstpaint_engine::EngineError> {
//! let engine = Engine::open(bytes, key, 1_800_000_000)?;
//! let mut req = SlotRequest::new(SlotKind::Similar);
//! req.product = Some("SKU-1".into());
//! for item in engine.rank(&req)?.items {
//!     println!("{} {:.3}", item.id, item.score);
//! }
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod embedding;
mod error;
pub mod experiments;
pub mod limits;
mod order;
mod ordinal_map;
pub mod policy;
pub mod render;
pub mod search;
pub mod signals;
pub mod slots;
pub mod store;
pub mod text;
#[cfg(feature = "build")]
mod write;

use firstpaint_bundle::{Bundle, LiveHeader, OwnedBytes, VerifyingKey};
use firstpaint_contracts::LiveUpdate;
use store::live::LiveData;

use search::VerdictCache;
use slots::rank;
use slots::surfaces::Fill;

pub use embedding::{Embedding, Quantized, DIM};
pub use error::EngineError;
pub use policy::guardrails::{Guardrails, Refusal, SlotContext};
pub use render::template::{escape_into, format_price, Template};
pub use search::{
    SearchFilters, SearchHit, SearchOutcome, SearchRequest, SearchResults, SearchVerdicts,
};
pub use signals::going_back::{GoingBack, ViewCounts};
pub use signals::intent::{Intent, IntentSection, IntentSignals};
pub use signals::price_band::PriceBand;
pub use signals::visit::{Visit, Visitor};
pub use slots::slot::{RankedItem, Ranking, Reason, Removed, SlotKind, SlotRequest};
#[cfg(feature = "build")]
pub use store::ann::AnnGraph;
pub use store::ann::AnnIndex;
pub use store::live::{decode_updates, encode_updates, LiveReport};
pub use store::packed::PackedSlice;
pub use store::sections::{
    BannerRule, BoostRule, CatalogSection, CoViewSection, PinRule, PriorsSection, ProductRecord,
    RegionRule, RulesSection, SearchBuryRule, SearchPinRule, SearchRulesSection, SessionsSection,
    StockAt,
};
pub use store::text_map::TextMapSection;
pub use store::{Catalog, Lists, Priors, Product, Store};
#[cfg(feature = "build")]
pub use write::EngineSections;

/// Facts about the loaded bundle, for health checks and response tags.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BundleInfo {
    /// The bundle version from its header.
    pub version: u64,
    /// Hex id of the key that signed it.
    pub key_id: String,
    /// Build time, unix seconds.
    pub created_at: i64,
    /// Expiry, unix seconds.
    pub expires_at: i64,
    /// Products in the catalog.
    pub products: usize,
}

/// A loaded bundle, ready to rank: the facade over the [`Store`] (the
/// bundle's views) that the edge, the wasm facade and the origin call.
pub struct Engine {
    info: BundleInfo,
    store: Store,
    /// The guardrails' verdicts on products in search, each checked the
    /// first time a search meets it.
    search_verdicts: VerdictCache,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Verifies `bytes` against `key` at `now` (unix seconds) and loads it.
    /// A `Vec<u8>` moves in without a copy; the engine keeps the bytes and
    /// reads its large sections in place.
    pub fn open(
        bytes: impl Into<OwnedBytes>,
        key: &VerifyingKey,
        now: i64,
    ) -> Result<Self, EngineError> {
        let bundle = Bundle::open(bytes.into(), key, now)?;
        Self::from_bundle(bundle)
    }

    /// Loads the engine's sections from an already verified bundle and checks
    /// that they agree with each other.
    pub fn from_bundle(bundle: Bundle<OwnedBytes>) -> Result<Self, EngineError> {
        let store = Store::open(&bundle)?;
        let header = bundle.header();
        Ok(Self {
            info: BundleInfo {
                version: header.bundle_version,
                key_id: firstpaint_bundle::hex(&header.key_id),
                created_at: header.created_at,
                expires_at: header.expires_at,
                products: store.catalog().len(),
            },
            store,
            search_verdicts: VerdictCache::default(),
        })
    }

    /// This engine's bundle with an overlay's live data laid over it
    /// instead of this engine's (the overlay signed as `header`, its
    /// payload decoded with [`decode_updates`]). The bundle's views are
    /// shared, not reopened; the search verdicts start over, since prices
    /// and availability move them.
    pub fn with_live(&self, header: &LiveHeader, updates: &[LiveUpdate]) -> Engine {
        let live = LiveData::resolve(
            self.store.catalog(),
            header.sequence,
            header.created_at,
            updates,
        );
        Engine {
            info: self.info.clone(),
            store: self.store.with_live(live),
            search_verdicts: VerdictCache::default(),
        }
    }

    /// What the live overlay laid over the bundle applied (`None`
    /// without one).
    pub fn live(&self) -> Option<&LiveReport> {
        self.store.live().report()
    }

    /// The bundle's views: products, categories, priors, lists, rules.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Facts about the loaded bundle.
    pub fn info(&self) -> &BundleInfo {
        &self.info
    }

    /// Resolves what a request says of the shopper against this bundle,
    /// once for a page: its slots and search then share it
    /// ([`Engine::rank_in`], [`Engine::search_in`]).
    /// Borrows `visitor`, or owns it when given by value.
    pub fn visit<'a>(&self, visitor: impl Into<std::borrow::Cow<'a, Visitor>>) -> Visit<'a> {
        Visit::new(&self.store, visitor)
    }

    /// Fills one slot for `req.visitor`.
    pub fn rank(&self, req: &SlotRequest) -> Result<Ranking, EngineError> {
        self.rank_in(&self.visit(&req.visitor), req)
    }

    /// Fills one slot of a page for its `visit`, which this engine
    /// resolved ([`Engine::visit`]: a visit holds this bundle's ordinals).
    /// `req.visitor` is not read: the visit was resolved from the page's.
    pub fn rank_in(&self, visit: &Visit<'_>, req: &SlotRequest) -> Result<Ranking, EngineError> {
        rank::rank(&self.store, visit, req, Fill::Primary)
    }

    /// As [`rank`](Self::rank), reading every source of the slot in one
    /// pass, where `rank` searches a surface's fillers (the `next` slot's
    /// HNSW neighbours and popular products) only when the slot needs
    /// them: what `rank` must give, for the tests to hold it to.
    #[cfg(feature = "testing")]
    pub fn rank_reading_every_source(&self, req: &SlotRequest) -> Result<Ranking, EngineError> {
        let visit = self.visit(&req.visitor);
        rank::rank(&self.store, &visit, req, Fill::Everything)
    }

    /// Answers a search for `req.visitor`: see [`search`] for how.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults, EngineError> {
        self.search_in(&self.visit(&req.visitor), req)
    }

    /// Answers a page's search for its `visit`, which this engine resolved
    /// (`req.visitor` is not read).
    pub fn search_in(
        &self,
        visit: &Visit<'_>,
        req: &SearchRequest,
    ) -> Result<SearchResults, EngineError> {
        let verdicts = self.search_verdicts.verdicts(&self.store);
        search::search(&self.store, &verdicts, visit, req)
    }

    /// The visit's mission: see [`signals::intent::predict`].
    pub fn intent(&self, viewed: &[u32], signals: &IntentSignals) -> Option<Intent> {
        signals::intent::predict(&self.store, viewed, signals)
    }

    /// The model's most likely mission however unsure it is (for
    /// evaluation): see [`signals::intent::most_likely`].
    pub fn most_likely_mission(&self, viewed: &[u32], signals: &IntentSignals) -> Option<Intent> {
        signals::intent::most_likely(&self.store, viewed, signals)
    }

    /// The banner for a page: see [`policy::banners::choose`].
    pub fn choose_banner(
        &self,
        now: i64,
        product: Option<&str>,
        shown: Option<&dyn Fn(&str) -> u32>,
    ) -> Option<&BannerRule> {
        policy::banners::choose(&self.store, now, product, shown)
    }

    /// Renders `ranking`'s items through `template`, one after another.
    pub fn render(&self, ranking: &Ranking, template: &Template) -> String {
        let ordinals = ranking.items.iter().map(|i| i.ordinal);
        self.render_ordinals(ordinals, ranking.slot.as_str(), template)
    }

    /// Renders a page of search results through `template`.
    pub fn render_search(&self, results: &SearchResults, template: &Template) -> String {
        let ordinals = results.items.iter().map(|i| i.ordinal);
        self.render_ordinals(ordinals, "search", template)
    }

    fn render_ordinals(
        &self,
        ordinals: impl Iterator<Item = u32>,
        slot: &str,
        template: &Template,
    ) -> String {
        let mut out = String::new();
        for (i, ord) in ordinals.enumerate() {
            if let Some(p) = self.store.product_at(ord) {
                template.render(p, i + 1, slot, &mut out);
            }
        }
        out
    }
}
