//! Search at the edge: typo-tolerant lexical retrieval over the bundle's
//! index, ranked for the shopper and bounded by the merchant's rules.
//!
//! 1. [`query`] turns the words into groups of index terms (exact, typo'd
//!    within the thresholds, prefix of the last word, synonyms) and reports
//!    what it understood.
//! 2. [`retrieve`] walks the postings: per product, groups matched, typos,
//!    BM25F score, attribute words matched.
//! 3. Here: products matching enough groups pass the query-string filters
//!    and the guardrails (exclusions and floors; out-of-stock products may be
//!    listed, below the in-stock products that match as well, since a
//!    shopper searching for one wants to know it exists). They are ordered by groups matched, then typos, then
//!    a blend of lexical relevance with the session, stock, fast shipping,
//!    rating and popularity; the merchant's per-query pins and buries last.
//! 4. What the store's shoppers engaged with after the same query (the
//!    bundle's learned queries) is one of the blended signals and, when
//!    nothing matches the words (within the filters), the answer.
//! 5. A word the catalog does not use also searches the related words the
//!    origin found for it ("skillet" → "frying pan", "merlot" → "wine"),
//!    weighed by how close they are. When still nothing matches, the
//!    query's text goes through the same projection as product text and
//!    the nearest in-stock products are returned, marked as rescued, if
//!    they are nearer than queries unrelated to the catalog come (the
//!    bundle's rescue floor); otherwise the answer is empty.

pub mod facets;
mod query;
mod retrieve;
#[cfg(test)]
mod tests;
mod verdicts;

use serde::Serialize;

#[cfg(feature = "build")]
pub use crate::store::search_index::build::{AnalyzedDoc, IndexBuilder, SearchParts};
pub use crate::store::search_index::{
    AttributeTerm, Field, Posting, Postings, Related, RelatedWords, SearchIndex, SearchSection,
    Synonym, POSTINGS, SEARCH, TERMS,
};
pub use facets::{FacetValue, Facets, PriceBand};
pub use query::{Correction, QueryReport, TypoPolicy, Via};
pub use verdicts::{SearchVerdicts, VerdictCache};

use crate::embedding::Embedding;
use crate::error::EngineError;
use crate::limits::{
    DEFAULT_PER_PAGE, MAX_EXPLAIN_REMOVED, MAX_PAGE, MAX_PER_PAGE, MAX_QUERY_BYTES, RERANK_WINDOW,
    RESCUE_CANDIDATES, RESCUE_MIN_SIMILARITY,
};
use crate::order;
use crate::policy::guardrails::{Guardrails, SlotContext};
use crate::signals::intent::Intent;
use crate::signals::visit::{Visit, Visitor};
use crate::slots::rank::{rating_signal, stock_signal};
use crate::slots::slot::{Reason, Removed};
use crate::store::text_map::TextMapSection;
use crate::store::{Product, Store};
use crate::text::features::{self, TextFeatures};
use retrieve::{bucket, Match, WordOrder};

/// A search to answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchRequest {
    /// What the shopper typed (at most [`MAX_QUERY_BYTES`] bytes).
    pub query: String,
    /// 1-based page.
    pub page: usize,
    /// Results per page; `0` for the default.
    pub per_page: usize,
    /// Hard filters from the query string.
    pub filters: SearchFilters,
    /// Keep what guardrails removed, and why.
    pub explain: bool,
    /// Leave the facets out (empty): a caller that shows no filters (a
    /// search-as-you-type box) saves counting them.
    pub without_facets: bool,
    /// The shopper (resolved by [`crate::Engine::search`]; a page that also
    /// ranks slots resolves it once: [`crate::Engine::visit`]).
    pub visitor: Visitor,
}

impl SearchRequest {
    /// The first page of `query` with defaults.
    pub fn new(query: impl Into<String>) -> Self {
        Self {
            query: query.into(),
            page: 1,
            ..Self::default()
        }
    }
}

/// Filters a storefront passes with the query (`category=`, `brand=`,
/// `price_min=`, `price_max=`, `in_stock=1`).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SearchFilters {
    /// A category, by full path (`Electronics/Phone cases`) or its own name,
    /// case-insensitively; matches at any level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// A brand, case-insensitively.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// Lowest price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_min: Option<f64>,
    /// Highest price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_max: Option<f64>,
    /// Only products that can be bought now.
    pub in_stock: bool,
}

/// How a search ended, for the zero-result readout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchOutcome {
    /// Products matched the words.
    Matched,
    /// Nothing matched; the nearest products by meaning are shown instead.
    Rescued,
    /// Nothing to show.
    Empty,
}

impl SearchOutcome {
    /// The name used in headers and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchOutcome::Matched => "matched",
            SearchOutcome::Rescued => "rescued",
            SearchOutcome::Empty => "empty",
        }
    }
}

/// A page of results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    /// What was understood of the query.
    pub query: QueryReport,
    /// The filters applied.
    pub filters: SearchFilters,
    /// Matched, rescued or empty.
    pub outcome: SearchOutcome,
    /// Results over all pages; a lower bound when `total_exact` is false.
    pub total: usize,
    /// Whether `total` is the exact count. Counting a word found in half
    /// the catalog would mean reading all of its postings; once the best
    /// results are known, the search stops and says "at least".
    pub total_exact: bool,
    /// This page, 1-based.
    pub page: usize,
    /// Results per page.
    pub per_page: usize,
    /// Whether the shopper's session changed the order.
    pub personalized: bool,
    /// The visit's predicted mission, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent: Option<Intent>,
    /// This page's results, best first.
    pub items: Vec<SearchHit>,
    /// How all the results divide by category, brand and price band.
    pub facets: Facets,
    /// With `explain`: matches the guardrails removed, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<Removed>,
}

/// One result with the parts of its score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    /// Product id.
    pub id: String,
    /// Ordinal in this bundle.
    #[serde(skip)]
    pub ordinal: u32,
    /// `match`, `learned` (what shoppers engaged with after this query,
    /// when its words match nothing), `rescue` or `pin`.
    pub source: &'static str,
    /// Query words it matched.
    pub matched: u8,
    /// Typos over those words.
    pub typos: u8,
    /// Fields the words were found in.
    pub fields: Vec<&'static str>,
    /// Blended score (within its matched-words and typos bucket).
    pub score: f32,
    /// Every part of the score.
    pub reasons: Vec<Reason>,
}

/// A scored, allowed result before paging.
struct Hit {
    m: Match,
    source: &'static str,
    score: f32,
    buried: bool,
    /// Available at least at the rules' minimum.
    in_stock: bool,
    values: [f32; 8],
}

/// Answers one search. See [`crate::Engine::search`].
pub(crate) fn search(
    store: &Store,
    verdicts: &SearchVerdicts<'_>,
    visit: &Visit<'_>,
    req: &SearchRequest,
) -> Result<SearchResults, EngineError> {
    if req.query.len() > MAX_QUERY_BYTES {
        return Err(EngineError::QueryTooLong {
            got: req.query.len(),
            max: MAX_QUERY_BYTES,
        });
    }
    let per_page = if req.per_page == 0 {
        DEFAULT_PER_PAGE
    } else {
        req.per_page
    };
    if per_page > MAX_PER_PAGE || req.page == 0 || req.page > MAX_PAGE {
        return Err(EngineError::InvalidPage {
            page: req.page,
            per_page,
            max_page: MAX_PAGE,
            max_per_page: MAX_PER_PAGE,
        });
    }
    let index = store.search_index().ok_or(EngineError::NoSearchIndex)?;
    let rules = &store.rules().search;
    let settings = &rules.settings;
    let typo = TypoPolicy {
        one: usize::from(settings.typo_one_from),
        two: usize::from(settings.typo_two_from),
    };
    let (groups, report) = query::parse(&req.query, index, typo);
    let session = visit.session();
    let region = &visit.visitor().region;
    let slot = SlotContext {
        region: region.clone(),
        searching: true,
        ..SlotContext::default()
    };
    let guardrails = Guardrails::new(store.rules());
    let filter = Filter::resolve(store, &req.filters);
    let regional = store
        .rules()
        .regions
        .iter()
        .any(|r| region.as_deref() == Some(r.region.as_str()));
    let mut removed = Vec::new();
    // Most products pass: a verdict the engine keeps per product (checked
    // the first time a search meets it) says so, and only the rest (or
    // every product, when the shopper's region has rules of its own) goes
    // through the full check, which also gives the reason.
    let unfiltered = filter.is_open();
    let mut allowed = |ord: u32| {
        let blocked = verdicts.blocked(ord);
        if unfiltered && !blocked && !regional {
            return true;
        }
        let Some(p) = store.product_at(ord) else {
            return false;
        };
        if !filter.allows(p) {
            return false;
        }
        if !blocked && !regional {
            return true;
        }
        if blocked && !req.explain {
            return false;
        }
        match guardrails.check(p, &slot, store) {
            None => true,
            Some(rule) => {
                if req.explain && removed.len() < MAX_EXPLAIN_REMOVED {
                    removed.push(Removed {
                        id: p.id().to_owned(),
                        rule,
                    });
                }
                false
            }
        }
    };

    // Enough words must match: all but one from three words up.
    let n = groups.len();
    let required = if n <= 2 { 1 } else { n - 1 } as u8;
    let attribute_groups = groups.iter().filter(|g| g.attribute).count().max(1) as f32;
    let query_key = report.terms.join(" ");
    let page_end = req.page * per_page;
    // Pruning needs `keep` to ask nothing but the product's verdict, a
    // higher lexical score to rank higher, and no pin or bury to place a
    // product it might leave out.
    let prunable = unfiltered
        && !regional
        && !req.explain
        && settings.lexical > 0.0
        && settings.attribute >= 0.0
        && !rules.pins.iter().any(|p| p.query == query_key)
        && !rules.buries.iter().any(|b| b.query == query_key);
    let pruning = prunable.then_some(retrieve::Pruning {
        window: RERANK_WINDOW.max(page_end),
        allowed: |ord: u32| !verdicts.blocked(ord),
    });
    // First by what the words alone say (groups matched, typos, lexical and
    // attribute score); only the leading RERANK_WINDOW are then blended with
    // the session and the product signals and re-sorted. The window does not
    // depend on the page asked, so pages never overlap.
    let word_order = WordOrder {
        lexical: settings.lexical,
        attribute: settings.attribute,
        attribute_groups,
    };
    let retrieved = retrieve::run(
        index,
        &groups,
        required,
        &word_order,
        |m| m.matched >= required && allowed(m.ord),
        pruning,
    );
    let (pruned, total_exact, ordered) = (retrieved.pruned, retrieved.complete, retrieved.ordered);
    let mut matches = retrieved.matches;
    let mut outcome = SearchOutcome::Matched;
    let mut source = "match";
    // What shoppers went on to engage with after this query: blended into
    // its results, and shown when the words match nothing.
    let learned = index.learned(&query_key);
    if matches.is_empty() && !learned.is_empty() {
        source = "learned";
        matches = learned
            .iter()
            .filter(|&&(ord, _)| allowed(ord))
            .map(|&(ord, _)| Match {
                ord,
                matched: 0,
                typos: 0,
                lexical: 0.0,
                attributes: 0,
                fields: 0,
            })
            .collect();
    }
    if matches.is_empty() {
        let floor = RESCUE_MIN_SIMILARITY.max(index.rescue_floor());
        let rescued = rescue(store, &req.query, floor, &mut allowed);
        outcome = if rescued.is_empty() {
            SearchOutcome::Empty
        } else {
            SearchOutcome::Rescued
        };
        source = "rescue";
        // A rescue's similarity stands in for the lexical score.
        matches = rescued
            .into_iter()
            .map(|(ord, similarity)| Match {
                ord,
                matched: 0,
                typos: 0,
                lexical: similarity,
                attributes: 0,
                fields: 0,
            })
            .collect();
    }

    let weights = settings.weights();
    // Lexical scores are relative to the best retrieval saw; a rescue's
    // similarity is already 0 to 1 and is kept as it is.
    let best = if source == "match" {
        retrieved.best
    } else {
        1.0
    };
    let buries: Vec<u32> = rules
        .buries
        .iter()
        .filter(|b| b.query == query_key)
        .map(|b| b.product)
        .collect();
    let buried: Vec<Match> = if buries.is_empty() {
        Vec::new()
    } else {
        let buried = matches
            .iter()
            .filter(|m| buries.contains(&m.ord))
            .copied()
            .collect();
        matches.retain(|m| !buries.contains(&m.ord));
        buried
    };

    // Retrieval keeps the leading matches only (`pruned` more matched):
    // the facets count what it kept, and say when that is not all.
    let facets = if req.without_facets {
        Facets::default()
    } else {
        Facets::count(
            store,
            matches.iter().chain(&buried).map(|m| m.ord),
            total_exact && pruned == 0,
        )
    };
    // Pruned products matched too (when retrieval stopped early, this is
    // a lower bound).
    let mut total = matches.len() + pruned + buried.len();
    // Compiled in position order.
    let pins: Vec<_> = rules.pins.iter().filter(|p| p.query == query_key).collect();
    // Pinned products that did not match are added: they count too.
    let pinned_in_results: Vec<u32> = pins
        .iter()
        .map(|p| p.product)
        .filter(|&o| matches.iter().chain(&buried).any(|m| m.ord == o))
        .collect();
    // Only the selected matches are copied out (not the whole list);
    // pruned retrieval already gave them in order.
    let window = RERANK_WINDOW.max(page_end);
    let matches = if ordered && source == "match" {
        matches.truncate(window);
        matches
    } else {
        retrieve::lead(&matches, &word_order, best, window)
    };
    let min_stock = store.rules().min_inventory.max(1);
    let hit = |m: Match, buried: bool| -> Option<Hit> {
        let p = store.product_at(m.ord)?;
        let in_stock = p.available() >= min_stock;
        // Without viewed products only the visit's intent can speak.
        let session_value = if session.is_empty() {
            session.affinity(p.leaf(), p.top())
        } else {
            let similarity = store
                .similarity(m.ord, &session.taste)
                .map_or(0.0, |s| s.max(0.0));
            0.7 * similarity + 0.3 * session.affinity(p.leaf(), p.top())
        };
        let values = [
            m.lexical / best,
            f32::from(m.attributes) / attribute_groups,
            session_value,
            if in_stock { stock_signal(p) } else { 0.0 },
            f32::from(store.is_fast_ship(p)),
            rating_signal(p),
            store.popularity(m.ord),
            learned
                .iter()
                .find(|&&(ord, _)| ord == m.ord)
                .map_or(0.0, |&(_, strength)| strength),
        ];
        let score = weights.iter().zip(values).map(|((_, w), v)| w * v).sum();
        Some(Hit {
            m,
            source,
            score,
            buried,
            in_stock,
            values,
        })
    };
    let mut hits: Vec<Hit> = matches.into_iter().filter_map(|m| hit(m, false)).collect();
    let rest = hits.split_off(RERANK_WINDOW.min(hits.len()));
    let mut keys: Vec<(u64, u32)> = (0u32..)
        .zip(&hits)
        .map(|(i, h)| (bucket(&h.m) | sold_out(h) | order::desc(h.score), i))
        .collect();
    order::sort(&mut keys);
    let mut hits = order::permute(hits, &keys);
    hits.extend(rest);
    hits.extend(buried.into_iter().filter_map(|m| hit(m, true)));
    for pin in pins {
        let matched = pinned_in_results.contains(&pin.product);
        let hit = match hits.iter().position(|h| h.m.ord == pin.product) {
            Some(at) => hits.remove(at),
            None if matched || allowed(pin.product) => Hit {
                m: Match {
                    ord: pin.product,
                    matched: 0,
                    typos: 0,
                    lexical: 0.0,
                    attributes: 0,
                    fields: 0,
                },
                source,
                score: 0.0,
                buried: false,
                in_stock: store
                    .product_at(pin.product)
                    .is_some_and(|p| p.available() >= min_stock),
                values: [0.0; 8],
            },
            None => continue,
        };
        if !matched {
            total += 1;
        }
        let at = (pin.position as usize).saturating_sub(1).min(hits.len());
        hits.insert(
            at,
            Hit {
                source: "pin",
                ..hit
            },
        );
    }
    if outcome == SearchOutcome::Empty && !hits.is_empty() {
        outcome = SearchOutcome::Matched;
    }

    let items = hits
        .into_iter()
        .skip((req.page - 1) * per_page)
        .take(per_page)
        .filter_map(|h| {
            let p = store.product_at(h.m.ord)?;
            let mut reasons: Vec<Reason> = weights
                .iter()
                .zip(h.values)
                .map(|(&(signal, weight), value)| Reason {
                    signal,
                    value,
                    weight,
                })
                .collect();
            if h.source == "rescue" {
                if let Some(first) = reasons.first_mut() {
                    first.signal = "rescue_similarity";
                }
            }
            if h.buried {
                reasons.push(Reason {
                    signal: "buried",
                    value: 1.0,
                    weight: 1.0,
                });
            }
            Some(SearchHit {
                id: p.id().to_owned(),
                ordinal: h.m.ord,
                source: h.source,
                matched: h.m.matched,
                typos: h.m.typos,
                fields: Field::names(h.m.fields),
                score: h.score,
                reasons,
            })
        })
        .collect();
    Ok(SearchResults {
        query: report,
        filters: req.filters.clone(),
        outcome,
        total,
        total_exact,
        page: req.page,
        per_page,
        personalized: session.is_personal(),
        intent: session.intent.clone(),
        items,
        facets,
        removed,
    })
}

/// The bit, just below [`bucket`]'s, that puts an out-of-stock result
/// after the in-stock results of its bucket (a shopper searching for it
/// should learn it exists, but not before what they can buy).
fn sold_out(h: &Hit) -> u64 {
    u64::from(!h.in_stock) << 32
}

/// The in-stock products nearest to the query's text in the embedding
/// space, at least `floor` similar, as (ordinal, similarity), nearest first.
fn rescue(
    store: &Store,
    query: &str,
    floor: f32,
    allowed: &mut impl FnMut(u32) -> bool,
) -> Vec<(u32, f32)> {
    let vector = query_vector(store.text_map(), query);
    if vector.is_zero() {
        return Vec::new();
    }
    let min_stock = store.rules().min_inventory.max(1);
    store
        .nearest(&vector, RESCUE_CANDIDATES)
        .into_iter()
        .filter(|&(_, sim)| sim >= floor)
        .filter(|&(ord, _)| {
            store
                .product_at(ord)
                .is_some_and(|p| p.available() >= min_stock)
                && allowed(ord)
        })
        .collect()
}

/// Where the text of `query` lands in the embedding space (through the
/// map product text takes): what a rescue searches near, and what the
/// origin measures unrelated queries with to set the rescue floor.
pub fn query_vector(text_map: &TextMapSection, query: &str) -> Embedding {
    let mut text = TextFeatures::default();
    for word in features::words(query) {
        text.word(&word, 1.0);
    }
    text_map.project(&text.finish())
}

/// The query-string filters, resolved against the catalog once.
struct Filter {
    /// Category indexes a product must have one of; `None` for no filter.
    categories: Option<Vec<u32>>,
    brand: Option<String>,
    price_min: f64,
    price_max: f64,
    min_stock: Option<u32>,
}

impl Filter {
    fn resolve(store: &Store, f: &SearchFilters) -> Self {
        let categories = f.category.as_deref().map(|name| {
            let name = name.trim();
            (0u32..)
                .zip(store.categories())
                .filter(|(_, path)| {
                    let leaf = path.rsplit('/').next().unwrap_or(path);
                    path.eq_ignore_ascii_case(name) || leaf.eq_ignore_ascii_case(name)
                })
                .map(|(c, _)| c)
                .collect()
        });
        Self {
            categories,
            brand: f.brand.as_deref().map(|b| b.trim().to_lowercase()),
            price_min: f.price_min.unwrap_or(f64::NEG_INFINITY),
            price_max: f.price_max.unwrap_or(f64::INFINITY),
            min_stock: f.in_stock.then(|| store.rules().min_inventory.max(1)),
        }
    }

    /// Whether it lets every product through (no filter was asked for).
    fn is_open(&self) -> bool {
        self.categories.is_none()
            && self.brand.is_none()
            && self.min_stock.is_none()
            && self.price_min == f64::NEG_INFINITY
            && self.price_max == f64::INFINITY
    }

    fn allows(&self, p: Product<'_>) -> bool {
        if self.is_open() {
            return true;
        }
        let category = self
            .categories
            .as_ref()
            .is_none_or(|cs| p.category_path().iter().any(|c| cs.contains(c)));
        let brand = self
            .brand
            .as_ref()
            .is_none_or(|b| p.brand().to_lowercase() == *b);
        let stock = self.min_stock.is_none_or(|m| p.available() >= m);
        category && brand && stock && p.price() >= self.price_min && p.price() <= self.price_max
    }
}
