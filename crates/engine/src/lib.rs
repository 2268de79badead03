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
pub mod limits;
mod order;
pub mod policy;
pub mod render;
pub mod search;
pub mod signals;
pub mod slots;
pub mod store;
pub mod text;
#[cfg(feature = "build")]
mod write;

use std::sync::atomic::{AtomicU8, Ordering as AtomicOrdering};

use firstpaint_bundle::{codec, Bundle, OwnedBytes, Tag, VerifyingKey};
use firstpaint_contracts::BannerCondition;

use signals::intent;
use slots::rank;

/// [`SearchVerdicts`]' per-product states.
const UNCHECKED: u8 = 0;
const ALLOWED: u8 = 1;
const BLOCKED: u8 = 2;

/// The guardrails' verdicts on products in search, as far as searches have
/// asked (see [`Engine::blocked_in_search`]).
pub struct SearchVerdicts<'a> {
    engine: &'a Engine,
    verdicts: &'a [AtomicU8],
}

impl SearchVerdicts<'_> {
    /// Whether product `ord` is kept out of search results in every
    /// region; an ordinal past the catalog is.
    #[inline(always)]
    pub fn blocked(&self, ord: u32) -> bool {
        match self
            .verdicts
            .get(ord as usize)
            .map(|v| v.load(AtomicOrdering::Relaxed))
        {
            Some(ALLOWED) => false,
            Some(UNCHECKED) => self.check(ord),
            _ => true,
        }
    }

    /// Checks product `ord` and remembers the verdict.
    #[cold]
    fn check(&self, ord: u32) -> bool {
        let engine = self.engine;
        let slot = SlotContext {
            searching: true,
            ..SlotContext::default()
        };
        let blocked = engine.product_at(ord).is_none_or(|p| {
            Guardrails::new(&engine.rules)
                .refusal(p, &slot, engine)
                .is_some()
        });
        if let Some(v) = self.verdicts.get(ord as usize) {
            v.store(
                if blocked { BLOCKED } else { ALLOWED },
                AtomicOrdering::Relaxed,
            );
        }
        blocked
    }
}

pub use embedding::{Embedding, Quantized, DIM};
pub use error::EngineError;
pub use policy::guardrails::{Guardrails, Refusal, SlotContext};
pub use render::template::{escape_into, format_price, Template};
pub use search::{SearchFilters, SearchHit, SearchOutcome, SearchRequest, SearchResults};
pub use signals::intent::{Intent, IntentSection, IntentSignals};
pub use signals::price_band::PriceBand;
pub use slots::slot::{RankedItem, Ranking, Reason, Removed, SlotKind, SlotRequest};
#[cfg(feature = "build")]
pub use store::ann::AnnGraph;
pub use store::ann::AnnIndex;
pub use store::packed::PackedSlice;
pub use store::sections::{
    BannerRule, BoostRule, CatalogSection, CoViewSection, PinRule, PriorsSection, ProductRecord,
    RegionRule, RulesSection, SearchBuryRule, SearchPinRule, SearchRulesSection, StockAt,
};
pub use store::text_map::TextMapSection;
pub use store::{Catalog, Lists, Priors, Product};
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

/// A loaded bundle, ready to rank. The large sections are read in place
/// from the verified bytes ([`store`]); only small tables are decoded.
pub struct Engine {
    info: BundleInfo,
    catalog: Catalog,
    ann: AnnIndex<OwnedBytes>,
    priors: Priors,
    co_view: Lists,
    bought_together: Lists,
    /// Empty for bundles built without transitions.
    transitions: Lists,
    /// Without classes for bundles built before intent was trained (or from
    /// events without any mission): then nothing is predicted.
    intent: IntentSection,
    /// Text features -> embedding space (query rescue).
    text_map: TextMapSection,
    rules: RulesSection,
    /// `None` for bundles built before search: their slots still work.
    search: Option<store::search_index::SearchIndex>,
    /// Per product: whether the guardrails keep it out of search results
    /// wherever the shopper is ([`UNCHECKED`], [`ALLOWED`], [`BLOCKED`]).
    /// Each product is checked the first time a search meets it: not at
    /// open (on the first page's path; many isolates never search), nor
    /// all at once (the first search of an isolate paid ~25 ms in wasm for
    /// 100k checks).
    search_verdicts: std::sync::OnceLock<Box<[AtomicU8]>>,
    /// Ordinals by ascending price (a NaN price is in no range: left out),
    /// for the ladder's search of a price range. Built by the first ladder
    /// that needs it.
    by_price: std::sync::OnceLock<Vec<u32>>,
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
        let found = if bundle.has(store::sections::SCHEMA_TAG) {
            let bytes = bundle.section(store::sections::SCHEMA_TAG)?;
            bytes
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u32::from_le_bytes)
        } else {
            1
        };
        if found != store::sections::SCHEMA {
            return Err(EngineError::Schema {
                found,
                expected: store::sections::SCHEMA,
            });
        }
        let shared = |tag: Tag| -> Result<OwnedBytes, EngineError> {
            let range = bundle.section_range(tag)?;
            Ok(bundle
                .bytes()
                .slice(range)
                .ok_or(firstpaint_bundle::BundleError::MissingSection(tag))?)
        };
        /// A small section, decoded through the codec.
        fn decode<T: serde::de::DeserializeOwned>(
            bundle: &Bundle<OwnedBytes>,
            tag: Tag,
        ) -> Result<T, EngineError> {
            Ok(codec::decode(tag, bundle.section(tag)?)?)
        }
        let catalog = Catalog::open(store::sections::CATALOG, shared(store::sections::CATALOG)?)?;
        let n = catalog.len();
        let categories = catalog.categories().len();
        let ann = AnnIndex::open(shared(store::sections::ANN)?).map_err(|e| {
            EngineError::Inconsistent {
                section: store::sections::ANN,
                detail: e.to_string(),
            }
        })?;
        let priors = Priors::open(
            store::sections::PRIORS,
            shared(store::sections::PRIORS)?,
            n,
            categories,
        )?;
        let co_view = Lists::open(store::sections::COVIEW, shared(store::sections::COVIEW)?, n)?;
        let bought_together =
            Lists::open(store::sections::BOUGHT, shared(store::sections::BOUGHT)?, n)?;
        let transitions = if bundle.has(store::sections::TRANSITIONS) {
            Lists::open(
                store::sections::TRANSITIONS,
                shared(store::sections::TRANSITIONS)?,
                n,
            )?
        } else {
            Lists::empty()
        };
        let rules: RulesSection = decode(&bundle, store::sections::RULES)?;

        let inconsistent =
            |section: Tag, detail: String| EngineError::Inconsistent { section, detail };
        if ann.len() != n {
            return Err(inconsistent(
                store::sections::ANN,
                format!("{} points for {n} products", ann.len()),
            ));
        }
        let text_map: TextMapSection = decode(&bundle, store::sections::TEXT_MAP)?;
        text_map
            .check()
            .map_err(|detail| inconsistent(store::sections::TEXT_MAP, detail))?;
        let intent: IntentSection = if bundle.has(intent::INTENT) {
            decode(&bundle, intent::INTENT)?
        } else {
            IntentSection::default()
        };
        intent
            .check(categories)
            .map_err(|detail| inconsistent(intent::INTENT, detail))?;
        let search = if bundle.has(store::search_index::SEARCH) {
            let section: store::search_index::SearchSection =
                decode(&bundle, store::search_index::SEARCH)?;
            if section.docs as usize != n {
                return Err(inconsistent(
                    store::search_index::SEARCH,
                    format!("{} products indexed for {n} products", section.docs),
                ));
            }
            let index = store::search_index::SearchIndex::new(
                section,
                shared(store::search_index::TERMS)?,
                shared(store::search_index::POSTINGS)?,
            )?;
            Some(index)
        } else {
            None
        };
        let header = bundle.header();
        Ok(Self {
            info: BundleInfo {
                version: header.bundle_version,
                key_id: firstpaint_bundle::hex(&header.key_id),
                created_at: header.created_at,
                expires_at: header.expires_at,
                products: n,
            },
            catalog,
            ann,
            priors,
            co_view,
            bought_together,
            transitions,
            intent,
            text_map,
            rules,
            search,
            search_verdicts: std::sync::OnceLock::new(),
            by_price: std::sync::OnceLock::new(),
        })
    }

    /// The visit's mission (a top-level category) from the products it
    /// viewed (ordinals, most recent first) and its other `signals`, when
    /// the model is sure enough ([`limits::MIN_INTENT_PROBABILITY`]): what
    /// slots and search lean towards. `None` when the visit has shown
    /// nothing, the bundle has no model, or no mission is likely enough.
    pub fn intent(&self, viewed: &[u32], signals: &IntentSignals) -> Option<Intent> {
        self.most_likely_mission(viewed, signals)
            .filter(|i| i.probability >= limits::MIN_INTENT_PROBABILITY)
    }

    /// The model's most likely mission however unsure it is (for
    /// evaluation); see [`Engine::intent`].
    pub fn most_likely_mission(&self, viewed: &[u32], signals: &IntentSignals) -> Option<Intent> {
        let leaves: Vec<u32> = viewed
            .iter()
            .filter_map(|&o| self.catalog.product(o)?.leaf())
            .collect();
        let features = intent::features(self.catalog.categories(), &leaves, signals);
        let (category, probability) = self.intent.predict(&features)?;
        Some(Intent {
            category,
            name: self.category_name(category).to_owned(),
            probability,
        })
    }

    /// The map from text features into the embedding space.
    pub fn text_map(&self) -> &TextMapSection {
        &self.text_map
    }

    /// Which products the guardrails keep out of search results in every
    /// region (regional rules are checked per query): each product is
    /// checked the first time a search asks, then remembered.
    pub fn blocked_in_search(&self) -> SearchVerdicts<'_> {
        let verdicts = self.search_verdicts.get_or_init(|| {
            (0..self.catalog.len())
                .map(|_| AtomicU8::new(UNCHECKED))
                .collect()
        });
        SearchVerdicts {
            engine: self,
            verdicts,
        }
    }

    /// The `first` lowest ordinals of the products priced from `low` to
    /// `high` (both included), ascending: what a scan of the catalog in
    /// ordinal order for those prices finds first, without reading every
    /// price when few fit. The first call sorts the catalog by price (once
    /// per engine; a few milliseconds at 100,000 products).
    pub fn priced_within(&self, low: f64, high: f64, first: usize) -> Vec<u32> {
        let price = |ord: u32| self.product_at(ord).map_or(f64::NAN, |p| p.price());
        let by_price = self.by_price.get_or_init(|| {
            let mut keys: Vec<(u64, u32)> = self
                .products()
                .filter(|p| !p.price().is_nan())
                .map(|p| (order::asc_f64(p.price()), p.ordinal()))
                .collect();
            order::sort(&mut keys);
            keys.into_iter().map(|(_, ord)| ord).collect()
        });
        let from = by_price.partition_point(|&o| price(o) < low);
        let to = by_price.partition_point(|&o| price(o) <= high);
        let fit = by_price.get(from..to).unwrap_or_default();
        if fit.len().saturating_mul(fit.len()) > first.saturating_mul(self.catalog.len()) {
            // A scan in ordinal order reads about `first * n / fit` products
            // to find `first`: fewer than the `fit` below.
            let fits = |&o: &u32| (low..=high).contains(&price(o));
            return (0..self.catalog.len() as u32)
                .filter(fits)
                .take(first)
                .collect();
        }
        let mut keys: Vec<(u64, u32)> = fit.iter().map(|&o| (u64::from(o), o)).collect();
        order::select(&mut keys, first);
        order::sort(&mut keys);
        keys.into_iter().map(|(_, ord)| ord).collect()
    }

    /// Answers a search: see [`search`] for how.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults, EngineError> {
        search::search(self, req)
    }

    /// The lexical index, when the bundle has one.
    pub fn search_index(&self) -> Option<&store::search_index::SearchIndex> {
        self.search.as_ref()
    }

    /// Fills one slot.
    pub fn rank(&self, req: &SlotRequest) -> Result<Ranking, EngineError> {
        rank::rank(self, req)
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
            if let Some(p) = self.product_at(ord) {
                template.render(p, i + 1, slot, &mut out);
            }
        }
        out
    }

    /// Facts about the loaded bundle.
    pub fn info(&self) -> &BundleInfo {
        &self.info
    }

    /// The ordinal of product `id`.
    pub fn ordinal(&self, id: &str) -> Option<u32> {
        self.catalog.ordinal(id)
    }

    /// The ordinals of the known ids among `ids`, in order; unknown ids
    /// (from an older bundle's page or cookie) are skipped.
    pub fn ordinals(&self, ids: &[String]) -> Vec<u32> {
        ids.iter().filter_map(|id| self.ordinal(id)).collect()
    }

    /// The product by id.
    pub fn product(&self, id: &str) -> Option<Product<'_>> {
        self.ordinal(id).and_then(|o| self.product_at(o))
    }

    /// The product at `ord`.
    pub fn product_at(&self, ord: u32) -> Option<Product<'_>> {
        self.catalog.product(ord)
    }

    /// Every product, in ordinal order.
    pub fn products(&self) -> impl ExactSizeIterator<Item = Product<'_>> + '_ {
        self.catalog.products()
    }

    /// The catalog, read in place.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Category paths, by index.
    pub fn categories(&self) -> &[String] {
        self.catalog.categories()
    }

    /// The name of category `c` (empty when out of range).
    pub fn category_name(&self, c: u32) -> &str {
        self.categories().get(c as usize).map_or("", String::as_str)
    }

    /// The top-level category of category `c` (itself when it is one).
    pub fn top_of(&self, c: u32) -> Option<u32> {
        self.catalog.top_of(c)
    }

    /// The category `name` names: a catalog path or leaf name (as
    /// [`intent::resolve_category`] reads them), else a page slug.
    pub fn find_category(&self, name: &str) -> Option<u32> {
        intent::resolve_category(self.categories(), name).or_else(|| self.category_by_slug(name))
    }

    /// The category whose [`intent::category_slug`] is `slug` (a category
    /// page's address), if any.
    pub fn category_by_slug(&self, slug: &str) -> Option<u32> {
        let position = self
            .categories()
            .iter()
            .position(|c| intent::is_category_slug(c, slug))?;
        u32::try_from(position).ok()
    }

    /// The embedding of product `ord` (unquantized from the index).
    pub fn embedding(&self, ord: u32) -> Option<Embedding> {
        self.ann.vector(ord).map(|q| q.embedding())
    }

    /// The (up to `k`, at most [`limits::MAX_ANN_NEIGHBOURS`]) products
    /// nearest to `query` in the HNSW index, as (ordinal, cosine
    /// similarity), nearest first.
    pub fn nearest(&self, query: &Embedding, k: usize) -> Vec<(u32, f32)> {
        let k = k.min(limits::MAX_ANN_NEIGHBOURS);
        self.ann.search(&Quantized::new(query), k)
    }

    /// As [`nearest`](Self::nearest), with the beam of
    /// [`limits::SLOT_ANN_BEAM`] (or the index's own, if narrower): what
    /// a slot's candidates are drawn from.
    pub(crate) fn nearest_for_slot(&self, query: &Embedding, k: usize) -> Vec<(u32, f32)> {
        let k = k.min(limits::MAX_ANN_NEIGHBOURS);
        let beam = limits::SLOT_ANN_BEAM.min(self.ann.ef_search());
        self.ann.search_ef(&Quantized::new(query), k, beam)
    }

    /// The banner for a page at `now` (unix seconds), about `product` if it
    /// is a product page: the active banner of highest priority whose
    /// condition holds and whose cap is not reached. `shown` says how many
    /// pages of this visit showed a banner; `None` when nothing can be
    /// counted (no consent), which rules out capped banners.
    pub fn choose_banner(
        &self,
        now: i64,
        product: Option<&str>,
        shown: Option<&dyn Fn(&str) -> u32>,
    ) -> Option<&BannerRule> {
        let min = self.rules.min_inventory.max(1);
        let hour = u8::try_from(now.rem_euclid(86_400) / 3_600).unwrap_or(0);
        self.rules.banners.iter().find(|b| {
            let active = (b.from..b.until).contains(&now);
            let holds = match b.show {
                BannerCondition::Always => true,
                BannerCondition::LowStock => product
                    .and_then(|id| self.product(id))
                    .is_some_and(|p| p.available() >= min && p.available() < b.low_stock_below),
                BannerCondition::BeforeCutoff => hour < b.cutoff_hour,
            };
            let under_cap = match (b.max_per_visit, shown) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(cap), Some(shown)) => shown(&b.id) < cap,
            };
            active && holds && under_cap
        })
    }

    /// The priors (popularity, freshness, trending, days of cover, deal,
    /// price level, top lists, refill intervals).
    pub fn priors(&self) -> &Priors {
        &self.priors
    }

    /// Popularity of `ord` within its leaf category, 0 to 1.
    pub fn popularity(&self, ord: u32) -> f32 {
        self.priors.popularity(ord)
    }

    /// Freshness of `ord`: 1 when just listed, decaying towards 0.
    pub fn freshness(&self, ord: u32) -> f32 {
        self.priors.freshness(ord)
    }

    /// How much `ord` is trending, 0 to 1 (see [`PriorsSection::trending`]).
    pub fn trending(&self, ord: u32) -> f32 {
        self.priors.trending(ord)
    }

    /// Days until `ord` sells out at its recent rate (`f32::MAX` if it has
    /// not sold).
    pub fn cover_days(&self, ord: u32) -> f32 {
        self.priors.cover_days(ord)
    }

    /// How good a deal `ord` is for shoppers of its category, 0 to 1 (see
    /// [`PriorsSection::deal`]).
    pub fn deal(&self, ord: u32) -> f32 {
        self.priors.deal(ord)
    }

    /// The price level of `ord`, on its shopper price band's scale (see
    /// [`PriorsSection::price_level`]); `None` without a price.
    pub fn price_level(&self, ord: u32) -> Option<f32> {
        let p = self.product_at(ord)?;
        (p.price() > 0.0)
            .then(|| self.priors.price_level(ord))
            .flatten()
    }

    /// Whether `p` is fast-ship: in stock (the rules' minimum) and
    /// delivered within `shipping.fast_ship_days`.
    pub fn is_fast_ship(&self, p: Product<'_>) -> bool {
        p.available() >= self.rules.min_inventory.max(1)
            && p.ship_days() <= self.rules.fast_ship_days
    }

    /// Median days between repeat orders of a product in category `c`, 0
    /// where shoppers do not rebuy.
    pub fn refill_days(&self, c: u32) -> f32 {
        self.priors.refill_days(c)
    }

    /// The most popular products of the store, best first.
    pub fn top_overall(&self) -> PackedSlice<'_, u32> {
        self.priors.top_overall()
    }

    /// The products trending most, best first.
    pub fn top_trending(&self) -> PackedSlice<'_, u32> {
        self.priors.top_trending()
    }

    /// Most popular products of category `c`, best first.
    pub fn top_in_category(&self, c: u32) -> PackedSlice<'_, u32> {
        self.priors.top_in_category(c)
    }

    /// The compiled rules.
    pub fn rules(&self) -> &RulesSection {
        &self.rules
    }

    pub(crate) fn co_view(&self) -> &Lists {
        &self.co_view
    }

    pub(crate) fn bought_together(&self) -> &Lists {
        &self.bought_together
    }

    pub(crate) fn transitions(&self) -> &Lists {
        &self.transitions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use firstpaint_bundle::{BundleWriter, Inputs, SigningKey};

    fn bundle(schema: Option<u32>) -> (Vec<u8>, VerifyingKey) {
        let key = SigningKey::from_bytes(&[5; 32]);
        let mut w = BundleWriter::new(Inputs {
            expires_at: 100,
            ..Inputs::default()
        });
        if let Some(v) = schema {
            w.add(store::sections::SCHEMA_TAG, v.to_le_bytes().to_vec())
                .unwrap();
        }
        (w.finish(&key), key.verifying_key())
    }

    #[test]
    fn a_bundle_of_another_schema_is_refused_by_name() {
        for (schema, found) in [
            (None, 1),
            (
                Some(store::sections::SCHEMA + 1),
                store::sections::SCHEMA + 1,
            ),
        ] {
            let (bytes, key) = bundle(schema);
            let err = Engine::open(&bytes, &key, 1).unwrap_err();
            assert_eq!(
                err,
                EngineError::Schema {
                    found,
                    expected: store::sections::SCHEMA
                }
            );
            assert!(err.to_string().contains("rebuild the bundle"), "{err}");
        }
        // The right schema gets past the check (to the missing catalog).
        let (bytes, key) = bundle(Some(store::sections::SCHEMA));
        assert!(matches!(
            Engine::open(&bytes, &key, 1),
            Err(EngineError::Bundle(_))
        ));
    }
}
