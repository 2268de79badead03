//! The store: every view of one verified bundle, opened together and
//! checked against each other, with the lookups the layers above read
//! (products by id or ordinal, categories by name, priors, lists, the ANN,
//! the search index, the rules). Nothing here ranks or decides.

use std::sync::{Arc, OnceLock};

use firstpaint_bundle::{codec, Bundle, OwnedBytes, Tag};

use crate::embedding::{Embedding, Quantized};
use crate::error::EngineError;
use crate::limits;
use crate::order;
use crate::signals::going_back::GoingBack;
use crate::store::ann::AnnIndex;
use crate::store::intent_model::{IntentSection, INTENT};
use crate::store::live::LiveData;
use crate::store::packed::PackedSlice;
use crate::store::search_index::{SearchIndex, SearchSection, POSTINGS, SEARCH, TERMS};
use crate::store::sections::{self, RulesSection};
use crate::store::session_index::SessionIndex;
use crate::store::text_map::TextMapSection;
use crate::store::{Catalog, Lists, Priors, Product};
use crate::text::category_names::{is_category_slug, resolve_category};

/// Every view of one bundle, with the live data laid over its catalog.
/// The large sections are read in place from the verified bytes; only
/// small tables are decoded. The views are shared: a store with newer
/// live data ([`Store::with_live`]) reads the same bytes.
pub struct Store {
    views: Arc<Views>,
    /// Stock, prices and availability pushed since the build (empty
    /// without an overlay).
    live: LiveData,
    /// Ordinals by ascending price (a NaN price is in no range: left out),
    /// for the ladder's search of a price range. Built by the first ladder
    /// that needs it (per store: live prices move it).
    by_price: OnceLock<Vec<u32>>,
}

/// The views of one bundle's sections.
struct Views {
    catalog: Catalog,
    ann: AnnIndex<OwnedBytes>,
    priors: Priors,
    co_view: Lists,
    bought_together: Lists,
    /// Recent sessions (empty when the events had none).
    sessions: SessionIndex,
    /// Without classes for bundles built before intent was trained (or from
    /// events without any mission): then nothing is predicted.
    intent: IntentSection,
    /// Text features -> embedding space (query rescue).
    text_map: TextMapSection,
    rules: RulesSection,
    /// `None` for bundles built before search: their slots still work.
    search: Option<SearchIndex>,
}

impl Store {
    /// Opens the engine's sections of an already verified bundle and
    /// checks that they agree with each other; a bundle of another schema
    /// is refused with the "rebuild" message.
    pub fn open(bundle: &Bundle<OwnedBytes>) -> Result<Self, EngineError> {
        let found = if bundle.has(sections::SCHEMA_TAG) {
            let bytes = bundle.section(sections::SCHEMA_TAG)?;
            bytes
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u32::from_le_bytes)
        } else {
            1
        };
        if found != sections::SCHEMA {
            return Err(EngineError::Schema {
                found,
                expected: sections::SCHEMA,
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
        let catalog = Catalog::open(sections::CATALOG, shared(sections::CATALOG)?)?;
        let n = catalog.len();
        let categories = catalog.categories().len();
        let ann =
            AnnIndex::open(shared(sections::ANN)?).map_err(|e| EngineError::Inconsistent {
                section: sections::ANN,
                detail: e.to_string(),
            })?;
        let priors = Priors::open(sections::PRIORS, shared(sections::PRIORS)?, n, categories)?;
        let co_view = Lists::open(sections::COVIEW, shared(sections::COVIEW)?, n)?;
        let bought_together = Lists::open(sections::BOUGHT, shared(sections::BOUGHT)?, n)?;
        let sessions = if bundle.has(sections::SESSIONS) {
            SessionIndex::open(sections::SESSIONS, shared(sections::SESSIONS)?, n)?
        } else {
            SessionIndex::empty()
        };
        let rules: RulesSection = decode(bundle, sections::RULES)?;

        let inconsistent =
            |section: Tag, detail: String| EngineError::Inconsistent { section, detail };
        if ann.len() != n {
            return Err(inconsistent(
                sections::ANN,
                format!("{} points for {n} products", ann.len()),
            ));
        }
        let text_map: TextMapSection = decode(bundle, sections::TEXT_MAP)?;
        text_map
            .check()
            .map_err(|detail| inconsistent(sections::TEXT_MAP, detail))?;
        let intent: IntentSection = if bundle.has(INTENT) {
            decode(bundle, INTENT)?
        } else {
            IntentSection::default()
        };
        intent
            .check(categories)
            .map_err(|detail| inconsistent(INTENT, detail))?;
        let search = if bundle.has(SEARCH) {
            let section: SearchSection = decode(bundle, SEARCH)?;
            if section.docs as usize != n {
                return Err(inconsistent(
                    SEARCH,
                    format!("{} products indexed for {n} products", section.docs),
                ));
            }
            let index = SearchIndex::new(section, shared(TERMS)?, shared(POSTINGS)?)?;
            Some(index)
        } else {
            None
        };
        let views = Views {
            catalog,
            ann,
            priors,
            co_view,
            bought_together,
            sessions,
            intent,
            text_map,
            rules,
            search,
        };
        Ok(Self {
            views: Arc::new(views),
            live: LiveData::default(),
            by_price: OnceLock::new(),
        })
    }

    /// This store's views with `live` laid over the catalog instead of
    /// its live data: nothing is reopened or copied.
    pub fn with_live(&self, live: LiveData) -> Store {
        Store {
            views: Arc::clone(&self.views),
            live,
            by_price: OnceLock::new(),
        }
    }

    /// The live data laid over the catalog (empty without an overlay).
    pub fn live(&self) -> &LiveData {
        &self.live
    }

    /// The ordinal of product `id`.
    pub fn ordinal(&self, id: &str) -> Option<u32> {
        self.views.catalog.ordinal(id)
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

    /// The product at `ord`, with its live values.
    #[inline]
    pub fn product_at(&self, ord: u32) -> Option<Product<'_>> {
        let product = self.views.catalog.product(ord)?;
        Some(product.with_live(self.live.get(ord)))
    }

    /// Every product, in ordinal order, with its live values.
    pub fn products(&self) -> impl ExactSizeIterator<Item = Product<'_>> + '_ {
        self.views
            .catalog
            .products()
            .map(|p| p.with_live(self.live.get(p.ordinal())))
    }

    /// The catalog, read in place.
    pub fn catalog(&self) -> &Catalog {
        &self.views.catalog
    }

    /// Category paths, by index.
    pub fn categories(&self) -> &[String] {
        self.views.catalog.categories()
    }

    /// The name of category `c` (empty when out of range).
    pub fn category_name(&self, c: u32) -> &str {
        self.categories().get(c as usize).map_or("", String::as_str)
    }

    /// The top-level category of category `c` (itself when it is one).
    pub fn top_of(&self, c: u32) -> Option<u32> {
        self.views.catalog.top_of(c)
    }

    /// The category `name` names: a catalog path or leaf name (as
    /// [`resolve_category`] reads them), else a page slug.
    pub fn find_category(&self, name: &str) -> Option<u32> {
        resolve_category(self.categories(), name).or_else(|| self.category_by_slug(name))
    }

    /// The category whose [`category_slug`](crate::text::category_names::category_slug) is `slug` (a category
    /// page's address), if any.
    pub fn category_by_slug(&self, slug: &str) -> Option<u32> {
        let position = self
            .categories()
            .iter()
            .position(|c| is_category_slug(c, slug))?;
        u32::try_from(position).ok()
    }

    /// The embedding of product `ord` (unquantized from the index).
    pub fn embedding(&self, ord: u32) -> Option<Embedding> {
        self.views.ann.vector(ord).map(|q| q.embedding())
    }

    /// The cosine similarity of product `ord` to `query` (a unit vector):
    /// `embedding(ord)?.dot(query)` without building the embedding. Kept
    /// within -1..=1 as a cosine is, whatever scale a record holds (the
    /// embedding was renormalized; this reads the scale as it is).
    pub fn similarity(&self, ord: u32, query: &Embedding) -> Option<f32> {
        self.views.ann.dot(ord, query).map(|s| s.clamp(-1.0, 1.0))
    }

    /// The (up to `k`, at most [`limits::MAX_ANN_NEIGHBOURS`]) products
    /// nearest to `query` in the HNSW index, as (ordinal, cosine
    /// similarity), nearest first.
    pub fn nearest(&self, query: &Embedding, k: usize) -> Vec<(u32, f32)> {
        let k = k.min(limits::MAX_ANN_NEIGHBOURS);
        self.views.ann.search(&Quantized::new(query), k)
    }

    /// As [`nearest`](Self::nearest), with the beam of
    /// [`limits::SLOT_ANN_BEAM`] (or the index's own, if narrower): what
    /// a slot's candidates are drawn from.
    pub(crate) fn nearest_for_slot(&self, query: &Embedding, k: usize) -> Vec<(u32, f32)> {
        let k = k.min(limits::MAX_ANN_NEIGHBOURS);
        let beam = limits::SLOT_ANN_BEAM.min(self.views.ann.ef_search());
        self.views.ann.search_ef(&Quantized::new(query), k, beam)
    }

    /// The lexical index, when the bundle has one.
    pub fn search_index(&self) -> Option<&SearchIndex> {
        self.views.search.as_ref()
    }

    /// The session-intent model.
    pub fn intent_model(&self) -> &IntentSection {
        &self.views.intent
    }

    /// The map from text features into the embedding space.
    pub fn text_map(&self) -> &TextMapSection {
        &self.views.text_map
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
        if fit.len().saturating_mul(fit.len()) > first.saturating_mul(self.views.catalog.len()) {
            // A scan in ordinal order reads about `first * n / fit` products
            // to find `first`: fewer than the `fit` below.
            let fits = |&o: &u32| (low..=high).contains(&price(o));
            return (0..self.views.catalog.len() as u32)
                .filter(fits)
                .take(first)
                .collect();
        }
        let mut keys: Vec<(u64, u32)> = fit.iter().map(|&o| (u64::from(o), o)).collect();
        order::select(&mut keys, first);
        order::sort(&mut keys);
        keys.into_iter().map(|(_, ord)| ord).collect()
    }

    /// The priors (popularity, freshness, trending, days of cover, deal,
    /// price level, top lists, refill intervals).
    pub fn priors(&self) -> &Priors {
        &self.views.priors
    }

    /// Popularity of `ord` within its leaf category, 0 to 1.
    pub fn popularity(&self, ord: u32) -> f32 {
        self.views.priors.popularity(ord)
    }

    /// Freshness of `ord`: 1 when just listed, decaying towards 0.
    pub fn freshness(&self, ord: u32) -> f32 {
        self.views.priors.freshness(ord)
    }

    /// How much `ord` is trending, 0 to 1 (see [`PriorsSection::trending`]).
    pub fn trending(&self, ord: u32) -> f32 {
        self.views.priors.trending(ord)
    }

    /// Days until `ord` sells out at its recent rate, from the units
    /// available now (live, else the bundle's); `f32::MAX` if it has not
    /// sold.
    pub fn cover_days(&self, ord: u32) -> f32 {
        let rate = self.views.priors.daily_sales(ord);
        match self.product_at(ord) {
            Some(p) if rate > 0.0 => p.available() as f32 / rate,
            _ => f32::MAX,
        }
    }

    /// How good a deal `ord` is for shoppers of its category, 0 to 1 (see
    /// [`PriorsSection::deal`]).
    pub fn deal(&self, ord: u32) -> f32 {
        self.views.priors.deal(ord)
    }

    /// The price level of `ord`, on its shopper price band's scale (see
    /// [`PriorsSection::price_level`]); `None` without a price.
    pub fn price_level(&self, ord: u32) -> Option<f32> {
        let p = self.product_at(ord)?;
        (p.price() > 0.0)
            .then(|| self.views.priors.price_level(ord))
            .flatten()
    }

    /// Whether `p` is fast-ship: in stock (the rules' minimum) and
    /// delivered within `shipping.fast_ship_days`.
    pub fn is_fast_ship(&self, p: Product<'_>) -> bool {
        p.available() >= self.views.rules.min_inventory.max(1)
            && p.ship_days() <= self.views.rules.fast_ship_days
    }

    /// Median days between repeat orders of a product in category `c`, 0
    /// where shoppers do not rebuy.
    pub fn refill_days(&self, c: u32) -> f32 {
        self.views.priors.refill_days(c)
    }

    /// The share of products ordered in category `c` that the same shopper
    /// ordered again, 0 to 1.
    pub fn rebuy(&self, c: u32) -> f32 {
        self.views.priors.rebuy(c)
    }

    /// How likely the store's next clicks go back to the product a session
    /// viewed `back` views ago (0: the latest), relative to the likeliest
    /// (1); 0 where they never do.
    pub fn returns(&self, back: usize) -> f32 {
        self.views.priors.returns(back)
    }

    /// The store's prior on a visit going back to a product it viewed
    /// (`next` updates it with the visit's own moves); `None` where its
    /// shoppers never do.
    pub fn going_back(&self) -> Option<GoingBack> {
        self.views.priors.going_back()
    }

    /// The most popular products of the store, best first.
    pub fn top_overall(&self) -> PackedSlice<'_, u32> {
        self.views.priors.top_overall()
    }

    /// The products trending most, best first.
    pub fn top_trending(&self) -> PackedSlice<'_, u32> {
        self.views.priors.top_trending()
    }

    /// Most popular products of category `c`, best first.
    pub fn top_in_category(&self, c: u32) -> PackedSlice<'_, u32> {
        self.views.priors.top_in_category(c)
    }

    /// The compiled rules.
    pub fn rules(&self) -> &RulesSection {
        &self.views.rules
    }

    /// Products viewed together with each product, best first.
    pub fn co_view(&self) -> &Lists {
        &self.views.co_view
    }

    /// Products bought together with each product, best first.
    pub fn bought_together(&self) -> &Lists {
        &self.views.bought_together
    }

    /// Recent sessions, for the session neighbourhood and the transitions
    /// ([`crate::signals::successors`]).
    pub fn sessions(&self) -> &SessionIndex {
        &self.views.sessions
    }
}
