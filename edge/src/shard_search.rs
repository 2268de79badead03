//! Search over a sharded store: the global shard, plus the category
//! shards the query's words are in ([`routing::search_shards`] says which
//! and what that gives up), merged.
//!
//! The global shard is searched first: its answer reports the query's
//! normalized words, the typos it corrected and the synonyms it applied,
//! and those (not only the words as typed) are looked up in `terms.dir`.
//! Each chosen shard is searched with the same request, and the answers
//! are merged: each keeps its own order (pins lead, buried products stay
//! last within it), and the next result is the best head by words
//! matched, then fewest typos, then score; a product in two shards (the
//! global shard holds copies of the most active ones) shows once. When
//! any shard matched the words, rescued (nearest by meaning) results are
//! dropped. The total is an estimate: the shards' totals less the
//! duplicates seen among the results fetched.
//!
//! A page waits for a shard that is not open yet at most the page's
//! budget; past it the results come from what is open, and the shard goes
//! on loading in the background for the next search.

use std::collections::HashSet;
use std::rc::Rc;
use std::time::Duration;

use firstpaint_engine::limits::{DEFAULT_PER_PAGE, MAX_PER_PAGE};
use firstpaint_engine::search::{Facets, QueryReport};
use firstpaint_engine::text::normalize;
use firstpaint_engine::{Engine, EngineError, SearchOutcome, SearchRequest, SearchResults, Visit};
use futures_util::FutureExt;
use worker::{Context, Env};

use crate::error::EdgeError;
use crate::loader::{self, Loaded, Sharded};
use crate::routing::{self, QueryWord, Target};
use crate::shards;

/// A search's answer, with the engine each result is from.
pub struct Answer {
    /// The merged page of results.
    pub results: SearchResults,
    /// `engines[i]` holds `results.items[i]` (its ordinal is that engine's).
    pub engines: Vec<Rc<Engine>>,
    /// The shards searched (empty for a single bundle).
    pub shards: Vec<String>,
}

impl Answer {
    /// Says how the search went in `headers`: `x-p13n-search` (matched,
    /// rescued or empty), `x-p13n-search-total` (the count, or a lower
    /// bound when `x-p13n-search-total-exact` is `false`) and, for a
    /// shard set, `x-p13n-search-shards`.
    pub fn set_headers(&self, headers: &worker::Headers) -> worker::Result<()> {
        for (name, value) in self.headers() {
            headers.set(name, &value)?;
        }
        Ok(())
    }

    /// The headers [`Answer::set_headers`] sets, as (name, value).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let r = &self.results;
        let mut out = vec![
            ("x-p13n-search", r.outcome.as_str().to_owned()),
            ("x-p13n-search-total", r.total.to_string()),
            ("x-p13n-search-total-exact", r.total_exact.to_string()),
        ];
        if !self.shards.is_empty() {
            out.push(("x-p13n-search-shards", self.shards.join(",")));
        }
        out
    }
}

/// Why a search was not answered.
#[derive(Debug)]
pub enum SearchError {
    /// The request is invalid (a 400 for the API).
    Engine(EngineError),
    /// Loading failed.
    Edge(EdgeError),
}

impl std::fmt::Display for SearchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SearchError::Engine(e) => e.fmt(f),
            SearchError::Edge(e) => e.fmt(f),
        }
    }
}

/// Answers `req` with `global` (the single bundle's engine, or a shard
/// set's global shard) and, for a shard set, the shards its words are in,
/// each waited for at most `budget` (`None`: as long as it takes).
/// `visit` is `req.visitor` as `global`'s engine resolved it (the page's
/// own); each other shard resolves it once against its own products.
pub async fn search(
    env: &Env,
    ctx: &Context,
    global: &Loaded,
    visit: &Visit<'_>,
    set: Option<&Sharded>,
    req: &SearchRequest,
    budget: Option<Duration>,
) -> Result<Answer, SearchError> {
    let Some(set) = set else {
        let results = global
            .engine
            .search_in(visit, req)
            .map_err(SearchError::Engine)?;
        let engines = vec![Rc::clone(&global.engine); results.items.len()];
        return Ok(Answer {
            results,
            engines,
            shards: Vec::new(),
        });
    };
    // The engine reads a per_page of 0 as its default.
    let per_page = match req.per_page {
        0 => DEFAULT_PER_PAGE,
        n => n,
    };
    let wanted = req.page.saturating_mul(per_page);
    let first = first_hits(&global.engine, visit, req, wanted).map_err(SearchError::Engine)?;
    let mut sources = Vec::new();
    // The directory is small and loaded once per manifest; without it the
    // global shard answers alone.
    let terms = {
        let (env, set) = (env.clone(), set.clone());
        async move { shards::terms(&env, &set).await }.boxed_local()
    };
    if let Ok(directory) = open_within(ctx, budget, terms).await {
        let words = query_words(&first.query);
        for n in routing::search_shards(&directory, &words) {
            let (env, set) = (env.clone(), set.clone());
            let load = async move { shards::shard_engine(&env, &set, Target::Shard(n)).await };
            if let Ok(shard) = open_within(ctx, budget, load.boxed_local()).await {
                let visit = shard.engine.visit(&req.visitor);
                let results =
                    first_hits(&shard.engine, &visit, req, wanted).map_err(SearchError::Engine)?;
                sources.push((shard, results));
            }
        }
    }
    sources.push((global.clone(), first));
    let shard_names = sources
        .iter()
        .filter_map(|(l, _)| l.shard.clone())
        .collect();
    let (engines, results): (Vec<Rc<Engine>>, Vec<SearchResults>) =
        sources.into_iter().map(|(l, r)| (l.engine, r)).unzip();
    let (results, from) = merge(results, req.page, per_page).ok_or(SearchError::Edge(
        EdgeError::NotLoaded("no shard to search".into()),
    ))?;
    let engines = from
        .into_iter()
        .filter_map(|s| engines.get(s).cloned())
        .collect();
    Ok(Answer {
        results,
        engines,
        shards: shard_names,
    })
}

async fn open_within<T: 'static>(
    ctx: &Context,
    budget: Option<Duration>,
    load: futures_util::future::LocalBoxFuture<'static, Result<T, EdgeError>>,
) -> Result<T, EdgeError> {
    match budget {
        Some(b) => loader::within(ctx, b, load).await,
        None => load.await,
    }
}

/// The first `n` results of `req` for `visit` (resolved by `engine`; its
/// pages 1.. merged), fetched in as few searches as the page limit allows.
fn first_hits(
    engine: &Engine,
    visit: &Visit<'_>,
    req: &SearchRequest,
    n: usize,
) -> Result<SearchResults, EngineError> {
    let per_page = n.clamp(1, MAX_PER_PAGE);
    let page = |page| SearchRequest {
        page,
        per_page,
        ..req.clone()
    };
    let mut out = engine.search_in(visit, &page(1))?;
    let mut fetched = 1;
    while out.items.len() == fetched * per_page && out.items.len() < n {
        fetched += 1;
        let more = engine.search_in(visit, &page(fetched))?;
        out.items.extend(more.items);
    }
    Ok(out)
}

/// The query's words as the directory is asked about them: each
/// normalized word, with the correction and the one-word synonyms the
/// search applied to it and the terms of its related words; the last word
/// also as a prefix unless the query ends in a space.
pub fn query_words(report: &QueryReport) -> Vec<QueryWord> {
    let typing = !report.original.ends_with(char::is_whitespace);
    let count = report.terms.len();
    report
        .terms
        .iter()
        .enumerate()
        .map(|(i, term)| {
            let mut forms = vec![term.clone()];
            for c in &report.corrections {
                if normalize::terms(&c.from).first() == Some(term) {
                    // A run-together word is corrected to several.
                    forms.extend(normalize::terms(&c.to));
                }
            }
            for (from, to) in &report.synonyms {
                if normalize::terms(from).as_slice() == std::slice::from_ref(term) {
                    forms.extend(
                        to.iter()
                            .filter_map(|t| match normalize::terms(t).as_slice() {
                                [one] => Some(one.clone()),
                                _ => None,
                            }),
                    );
                }
            }
            // A related phrase's shards have each of its terms.
            for (from, to) in &report.related {
                if normalize::terms(from).as_slice() == std::slice::from_ref(term) {
                    forms.extend(to.iter().flat_map(|t| normalize::terms(t)));
                }
            }
            // The word itself stays first (the last word is looked up as a prefix).
            let mut seen = HashSet::new();
            forms.retain(|f| seen.insert(f.clone()));
            QueryWord {
                forms,
                prefix: typing && i + 1 == count,
            }
        })
        .collect()
}

/// Merges the first results of several shards into page `page` (see the
/// module docs); returns it and, for each of its results, the index of
/// the source it came from (`None` without sources). The query report
/// and intent are the first source's with the merged outcome; the last
/// source is the global shard's, whose facets count as [`Facets::merge`]
/// says.
pub fn merge(
    mut sources: Vec<SearchResults>,
    page: usize,
    per_page: usize,
) -> Option<(SearchResults, Vec<usize>)> {
    let matched = sources.iter().any(|s| s.outcome == SearchOutcome::Matched);
    // A shard matched the words themselves (not only what shoppers went on
    // to after the query, which stands in when nothing matched them).
    let worded = |s: &SearchResults| {
        s.outcome == SearchOutcome::Matched
            && s.items.first().is_some_and(|h| h.source != "learned")
    };
    let by_words = sources.iter().any(worded);
    let outcome = if matched {
        SearchOutcome::Matched
    } else if sources.iter().any(|s| s.outcome == SearchOutcome::Rescued) {
        SearchOutcome::Rescued
    } else {
        SearchOutcome::Empty
    };
    let lead = sources
        .iter()
        .position(|s| s.outcome == outcome)
        .unwrap_or(0);
    let mut heads = vec![0usize; sources.len()];
    let mut seen = HashSet::new();
    let mut order: Vec<(usize, usize)> = Vec::new();
    let mut duplicates = 0;
    loop {
        let mut best: Option<(usize, &firstpaint_engine::SearchHit)> = None;
        for (s, source) in sources.iter().enumerate() {
            let Some(hit) = heads.get(s).and_then(|&h| source.items.get(h)) else {
                continue;
            };
            if (matched && hit.source == "rescue") || (by_words && hit.source == "learned") {
                continue;
            }
            let better = best.is_none_or(|(_, b)| {
                let key = |h: &firstpaint_engine::SearchHit| {
                    (h.source == "pin", h.matched, std::cmp::Reverse(h.typos))
                };
                key(hit) > key(b) || (key(hit) == key(b) && hit.score > b.score)
            });
            if better {
                best = Some((s, hit));
            }
        }
        let Some((s, hit)) = best else { break };
        if seen.insert(hit.id.clone()) {
            order.push((s, heads.get(s).copied().unwrap_or(0)));
        } else {
            duplicates += 1;
        }
        if let Some(h) = heads.get_mut(s) {
            *h += 1;
        }
    }
    let counted = || {
        sources
            .iter()
            .filter(|s| !matched || s.outcome == SearchOutcome::Matched)
            .filter(|s| !by_words || worded(s))
    };
    let total = counted()
        .map(|s| s.total)
        .sum::<usize>()
        .saturating_sub(duplicates);
    let total_exact = counted().all(|s| s.total_exact);
    let global_counted = sources.last().is_some_and(|g| {
        (!matched || g.outcome == SearchOutcome::Matched) && (!by_words || worded(g))
    });
    let counted_facets: Vec<&Facets> = counted().map(|s| &s.facets).collect();
    let facets = match counted_facets.split_last() {
        Some((global, shards)) if global_counted => Facets::merge(global, shards),
        _ => Facets::merge(&Facets::default(), &counted_facets),
    };
    let start = page.saturating_sub(1).saturating_mul(per_page);
    let chosen: Vec<(usize, usize)> = order.into_iter().skip(start).take(per_page).collect();
    let mut items = Vec::with_capacity(chosen.len());
    let mut from = Vec::with_capacity(chosen.len());
    for &(s, i) in &chosen {
        if let Some(hit) = sources.get(s).and_then(|src| src.items.get(i)) {
            items.push(hit.clone());
            from.push(s);
        }
    }
    let mut removed = Vec::new();
    for s in &sources {
        removed.extend(s.removed.iter().cloned());
    }
    if lead >= sources.len() {
        return None;
    }
    let mut lead = sources.swap_remove(lead);
    lead.outcome = outcome;
    lead.total = total;
    lead.total_exact = total_exact;
    lead.page = page;
    lead.per_page = per_page;
    lead.items = items;
    lead.facets = facets;
    lead.removed = removed;
    Some((lead, from))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use firstpaint_engine::SearchHit;

    fn hit(id: &str, source: &'static str, matched: u8, typos: u8, score: f32) -> SearchHit {
        SearchHit {
            id: id.into(),
            ordinal: 0,
            source,
            matched,
            typos,
            fields: Vec::new(),
            score,
            reasons: Vec::new(),
        }
    }

    fn results(outcome: SearchOutcome, total: usize, items: Vec<SearchHit>) -> SearchResults {
        SearchResults {
            query: QueryReport::default(),
            filters: Default::default(),
            outcome,
            total,
            total_exact: true,
            page: 1,
            per_page: 10,
            personalized: false,
            intent: None,
            items,
            facets: Facets::default(),
            removed: Vec::new(),
        }
    }

    #[test]
    fn merges_by_words_typos_then_score_each_product_once() {
        let shard = results(
            SearchOutcome::Matched,
            3,
            vec![
                hit("a", "match", 2, 0, 0.5),
                hit("b", "match", 2, 1, 0.9),
                hit("c", "match", 1, 0, 0.9),
            ],
        );
        let global = results(
            SearchOutcome::Matched,
            2,
            vec![
                hit("p", "pin", 1, 0, 0.0),
                hit("a", "match", 2, 0, 0.7),
                hit("d", "match", 2, 0, 0.6),
            ],
        );
        let (r, from) = merge(vec![shard, global], 1, 10).unwrap();
        let ids: Vec<&str> = r.items.iter().map(|h| h.id.as_str()).collect();
        // The pin leads; "a" once (the better copy); fewer typos first.
        assert_eq!(ids, ["p", "a", "d", "b", "c"]);
        assert_eq!(from, [1, 1, 1, 0, 0]);
        assert_eq!(r.total, 4);
        assert_eq!(r.outcome, SearchOutcome::Matched);
        let (page2, _) = merge(vec![r.clone()], 2, 2).unwrap();
        assert_eq!(
            page2
                .items
                .iter()
                .map(|h| h.id.as_str())
                .collect::<Vec<_>>(),
            ["d", "b"]
        );
    }

    #[test]
    fn rescued_results_give_way_to_matches() {
        let rescued = results(
            SearchOutcome::Rescued,
            2,
            vec![hit("x", "rescue", 0, 0, 0.9)],
        );
        let matched = results(
            SearchOutcome::Matched,
            1,
            vec![hit("a", "match", 1, 0, 0.1)],
        );
        let (r, from) = merge(vec![rescued.clone(), matched], 1, 10).unwrap();
        assert_eq!(r.items.len(), 1);
        assert_eq!(from, [1]);
        assert_eq!((r.outcome, r.total), (SearchOutcome::Matched, 1));
        let (r, _) = merge(vec![rescued], 1, 10).unwrap();
        assert_eq!(r.outcome, SearchOutcome::Rescued);
        assert!(merge(Vec::new(), 1, 10).is_none());
    }

    #[test]
    fn what_shoppers_went_on_to_gives_way_to_word_matches() {
        let learned = results(
            SearchOutcome::Matched,
            1,
            vec![hit("x", "learned", 0, 0, 0.9)],
        );
        let matched = results(
            SearchOutcome::Matched,
            1,
            vec![hit("a", "match", 1, 0, 0.1)],
        );
        let (r, from) = merge(vec![matched, learned.clone()], 1, 10).unwrap();
        assert_eq!(r.items.len(), 1);
        assert_eq!((from, r.total), (vec![0], 1));
        let (r, _) = merge(vec![learned], 1, 10).unwrap();
        assert_eq!(r.items[0].source, "learned");
    }

    #[test]
    fn a_corrected_word_is_looked_up_in_both_forms() {
        let report = QueryReport {
            original: "red lipstik".into(),
            terms: vec!["red".into(), "lipstik".into()],
            corrections: vec![firstpaint_engine::search::Correction {
                from: "lipstik".into(),
                to: "lipstick".into(),
                typos: 1,
            }],
            ..QueryReport::default()
        };
        let words = query_words(&report);
        assert_eq!(words[0].forms, ["red"]);
        assert!(!words[0].prefix);
        assert_eq!(words[1].forms, ["lipstik", "lipstick"]);
        assert!(words[1].prefix);
    }

    #[test]
    fn a_related_word_is_looked_up_with_every_term_it_stands_for() {
        let report = QueryReport {
            original: "skillet".into(),
            terms: vec!["skillet".into()],
            related: vec![(
                "skillet".into(),
                vec!["frying pan".into(), "pan".into(), "cookware".into()],
            )],
            ..QueryReport::default()
        };
        let words = query_words(&report);
        assert_eq!(words[0].forms, ["skillet", "frying", "pan", "cookware"]);
        assert!(words[0].prefix);
    }
}
