//! Filling slots while the page streams through (lol_html).
//!
//! A merchant marks a slot and gives the markup of one item:
//!
//! ```html
//! <section data-p13n-slot="similar" data-p13n-k="6" data-p13n-product="SKU-1">
//!   <template data-p13n-item><a href="{{url}}">{{title}} {{price}}</a></template>
//!   <div data-p13n-items>…what to show when personalization is off…</div>
//! </section>
//! ```
//!
//! When the `[data-p13n-items]` element streams by, the slot is ranked and
//! the element's content replaced by the rendered items (every value
//! escaped). Anything wrong with a slot (unknown type, bad template, engine
//! error) leaves that slot's fallback in place; anything wrong with the
//! rewriter itself (memory limit) flushes the rest of the page unchanged.
//! The page is never broken and never lost.
//!
//! The template's inner HTML is taken verbatim from the input bytes, located
//! by lol_html's source positions, so merchants keep full control of markup.
//!
//! lol_html reads only the regions of the page that can hold a slot (see
//! [`crate::slot_regions`]); the rest is copied out as it came. The output
//! is the same as lol_html reading every byte
//! ([`SlotRewriter::reading_every_byte`]), which the tests and the
//! `rewrite_regions` fuzz target check.

use std::cell::RefCell;
use std::rc::Rc;

use firstpaint_engine::{
    BannerRule, Engine, Ranking, SearchResults, SlotKind, SlotRequest, Template, Visit,
};
use lol_html::html_content::{ContentType, Element, EndTag};
use lol_html::{element, EndTagHandler, HtmlRewriter, MemorySettings, OutputSink, Settings};

use crate::experiment::{Experiment, Shown};
use crate::limits::{
    MAX_REWRITER_MEMORY, MAX_SLOTS_PER_PAGE, MAX_SLOT_SOURCE_BYTES, SOURCE_CARRY_BYTES,
};
use crate::search::SEARCH_SLOT;
use crate::slot_regions::{Route, SlotRegions};

/// The slot type of message banners, chosen by [`Engine::choose_banner`]
/// rather than ranked.
pub const BANNER_SLOT: &str = "banner";

/// What the page's request tells the ranker.
#[derive(Debug, Clone)]
pub struct PageContext {
    /// The product the page is about, from its URL, for slots that do not say.
    pub product: Option<String>,
    /// The category the page is about (a catalog path), from its URL, for
    /// `category` slots that do not say.
    pub category: Option<String>,
    /// The shopper, resolved once for every slot of the page.
    pub visit: Visit<'static>,
    /// The banner chosen for this page (before it streamed, so its
    /// frequency cap could be counted in the cookie).
    pub banner: Option<BannerRule>,
    /// On the search page, its results (answered before it streamed, so
    /// the outcome could go in the headers).
    pub search: Option<SearchResults>,
    /// The engine each search result is from, when not the page's (a
    /// sharded store searches several shards); empty: the page's.
    pub search_engines: SearchEngines,
    /// On the search page, its filters ([`crate::facets::render`]) for the
    /// `[data-p13n-facets]` element.
    pub facets: Option<String>,
    /// The shopper's holdout experiments, when they are in them: a
    /// holdout module ranks with the rules and priors only, and what each
    /// slot shows is kept for the exposure log.
    pub experiment: Option<Experiment>,
}

/// The engines of a page's search results, one per result.
#[derive(Clone, Default)]
pub struct SearchEngines(pub Vec<Rc<Engine>>);

impl std::fmt::Debug for SearchEngines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SearchEngines({} results)", self.0.len())
    }
}

impl PartialEq for SearchEngines {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && self.0.iter().zip(&other.0).all(|(a, b)| Rc::ptr_eq(a, b))
    }
}

impl PageContext {
    /// The context of a page about nothing in particular, for `visit`.
    pub fn new(visit: Visit<'static>) -> Self {
        Self {
            product: None,
            category: None,
            visit,
            banner: None,
            search: None,
            search_engines: SearchEngines::default(),
            facets: None,
            experiment: None,
        }
    }

    /// The visit `module` ranks with: the shopper's, or the rules-and-
    /// priors visit when the module holds out for them.
    pub fn visit_for(&self, module: &str) -> &Visit<'static> {
        crate::experiment::visit_for(self.experiment.as_ref(), module, &self.visit)
    }
}

/// What happened to the slots of one page, for logs and response tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Slots filled with ranked items.
    pub filled: usize,
    /// Slots left with their fallback, with why.
    pub fallbacks: Vec<String>,
    /// Slots removed because they had nothing to show and asked for that
    /// with `data-p13n-empty="remove"`.
    pub removed_empty: usize,
    /// The rewriter gave up and passed the rest of the page through.
    pub bailed_out: Option<String>,
    /// What each filled slot showed, for a shopper in the experiments.
    pub shown: Vec<Shown>,
}

/// The input bytes lol_html has seen, kept only as far back as an open slot
/// needs, so a template's inner HTML can be cut out by source position.
#[derive(Default)]
struct Source {
    bytes: Vec<u8>,
    /// Absolute offset of `bytes[0]` in the page.
    start: usize,
}

impl Source {
    fn get(&self, from: usize, to: usize) -> Option<&[u8]> {
        self.bytes
            .get(from.checked_sub(self.start)?..to.checked_sub(self.start)?)
    }

    /// Drops bytes before absolute offset `keep_from`.
    fn trim(&mut self, keep_from: usize) {
        if keep_from > self.start {
            let n = (keep_from - self.start).min(self.bytes.len());
            self.bytes.drain(..n);
            self.start += n;
        }
    }
}

/// The slot's attributes, as the merchant wrote them.
#[derive(Default)]
struct SlotAttrs {
    kind: String,
    k: Option<String>,
    product: Option<String>,
    category: Option<String>,
    cart: Option<String>,
}

/// The slot whose element is open.
#[derive(Default)]
struct OpenSlot {
    kind: String,
    /// Ranked when the slot opened (before its markup streams by).
    ranking: Option<Result<Ranking, String>>,
    /// For a banner slot, the banner to show.
    banner: Option<BannerRule>,
    /// Absolute start of the slot's start tag.
    start: usize,
    /// Where the template's inner HTML begins.
    template_from: Option<usize>,
    template: Option<Result<Template, String>>,
    /// Set once its items were rendered (or failed).
    done: bool,
}

#[derive(Default)]
struct State {
    source: Source,
    slot: Option<OpenSlot>,
    /// Ranked slots seen so far (not banners or search), filled or not.
    slots_ranked: usize,
    outcome: Outcome,
}

/// Collects the rewriter's output until the caller takes it.
struct Sink(Rc<RefCell<Vec<u8>>>);

impl OutputSink for Sink {
    fn handle_chunk(&mut self, chunk: &[u8]) {
        self.0.borrow_mut().extend_from_slice(chunk);
    }
}

/// Rewrites one page, chunk by chunk.
pub struct SlotRewriter {
    rewriter: Option<HtmlRewriter<'static, Sink>>,
    out: Rc<RefCell<Vec<u8>>>,
    state: Rc<RefCell<State>>,
    /// Bytes given to lol_html so far (its source offsets count these).
    fed: usize,
    /// Which bytes lol_html has to see; `None`: every byte (the reference
    /// the scanner is checked against).
    regions: Option<SlotRegions>,
}

impl SlotRewriter {
    /// A rewriter for one page, ranking with `engine` for `ctx`.
    pub fn new(engine: Rc<Engine>, ctx: PageContext) -> Self {
        let state = Rc::new(RefCell::new(State::default()));
        let out = Rc::new(RefCell::new(Vec::new()));
        let ctx = Rc::new(ctx);

        let on_slot = {
            let state = state.clone();
            let engine = engine.clone();
            let ctx = ctx.clone();
            element!("[data-p13n-slot]", move |el| {
                let start = el.source_location().bytes().start;
                let attrs = SlotAttrs {
                    kind: el.get_attribute("data-p13n-slot").unwrap_or_default(),
                    k: el.get_attribute("data-p13n-k"),
                    product: el.get_attribute("data-p13n-product"),
                    category: el.get_attribute("data-p13n-category"),
                    cart: el.get_attribute("data-p13n-cart"),
                };
                let is_banner = attrs.kind == BANNER_SLOT;
                let is_search = attrs.kind == SEARCH_SLOT;
                let ranked = !is_banner && !is_search;
                // Past the bound a page costs no more ranking: the slot
                // keeps its fallback, and says why (banner and search
                // slots were answered before the page streamed).
                let ranking = ranked.then(|| {
                    let n = {
                        let mut s = state.borrow_mut();
                        s.slots_ranked += 1;
                        s.slots_ranked
                    };
                    if n > MAX_SLOTS_PER_PAGE {
                        Err(format!(
                            "slot {:?}: a page may have at most {MAX_SLOTS_PER_PAGE} ranked slots",
                            attrs.kind
                        ))
                    } else {
                        rank_slot(&engine, &ctx, &attrs)
                    }
                });
                let banner = if is_banner { ctx.banner.clone() } else { None };
                let empty = if is_banner {
                    banner.is_none()
                } else if is_search {
                    ctx.search.as_ref().is_none_or(|r| r.items.is_empty())
                } else {
                    matches!(&ranking, Some(Ok(r)) if r.items.is_empty())
                };
                if empty && el.get_attribute("data-p13n-empty").as_deref() == Some("remove") {
                    let mut s = state.borrow_mut();
                    if log_unfilled(&mut s, &ctx, &attrs.kind) {
                        // A known module's name only: safe in a comment.
                        let note = format!(
                            "<!-- p13n: {} slot removed, nothing to show -->",
                            attrs.kind
                        );
                        el.replace(&note, ContentType::Html);
                    } else {
                        el.remove();
                    }
                    s.outcome.removed_empty += 1;
                    return Ok(());
                }
                state.borrow_mut().slot = Some(OpenSlot {
                    kind: attrs.kind,
                    ranking,
                    banner,
                    start,
                    ..OpenSlot::default()
                });
                let state = state.clone();
                if let Some(handlers) = el.end_tag_handlers() {
                    handlers.push(on_end(move |_end| {
                        let mut s = state.borrow_mut();
                        if let Some(slot) = s.slot.take() {
                            if !slot.done {
                                s.outcome.fallbacks.push(format!(
                                    "slot {:?}: no [data-p13n-items] element",
                                    slot.kind
                                ));
                            }
                        }
                    }));
                }
                Ok(())
            })
        };
        let on_template = {
            let state = state.clone();
            element!("[data-p13n-slot] template[data-p13n-item]", move |el| {
                let from = el.source_location().bytes().end;
                if let Some(slot) = state.borrow_mut().slot.as_mut() {
                    slot.template_from = Some(from);
                }
                let state = state.clone();
                if let Some(handlers) = el.end_tag_handlers() {
                    handlers.push(on_end(move |end| {
                        let to = end.source_location().bytes().start;
                        let mut s = state.borrow_mut();
                        let inner = s
                            .slot
                            .as_ref()
                            .and_then(|slot| slot.template_from)
                            .and_then(|from| s.source.get(from, to))
                            .map(|b| String::from_utf8_lossy(b).into_owned());
                        let parsed = match inner {
                            Some(html) => Template::parse(&html).map_err(|e| e.to_string()),
                            None => Err("template is larger than the rewriter keeps".to_owned()),
                        };
                        if let Some(slot) = s.slot.as_mut() {
                            slot.template = Some(parsed);
                        }
                    }));
                }
                Ok(())
            })
        };
        let on_items = {
            let state = state.clone();
            let ctx = ctx.clone();
            element!("[data-p13n-slot] [data-p13n-items]", move |el| {
                fill(el, &engine, &ctx, &mut state.borrow_mut());
                Ok(())
            })
        };
        // "Results for <q data-p13n-query></q>": the query, as text.
        let on_query = {
            let ctx = ctx.clone();
            element!("[data-p13n-query]", move |el| {
                if let Some(results) = &ctx.search {
                    el.set_inner_content(&results.query.original, ContentType::Text);
                }
                Ok(())
            })
        };
        // "<p data-p13n-corrected>Showing results for <q data-p13n-corrected-query></q></p>":
        // kept, and filled, only when a typo was corrected.
        let on_corrected = {
            let ctx = ctx.clone();
            element!("[data-p13n-corrected]", move |el| {
                if ctx
                    .search
                    .as_ref()
                    .and_then(|r| r.query.corrected())
                    .is_none()
                {
                    el.remove();
                }
                Ok(())
            })
        };
        // "<aside data-p13n-facets>": the search's filters, when it ran.
        let on_facets = {
            let ctx = ctx.clone();
            element!("[data-p13n-facets]", move |el| {
                if let Some(facets) = &ctx.facets {
                    el.set_inner_content(facets, ContentType::Html);
                }
                Ok(())
            })
        };
        let on_corrected_query = element!("[data-p13n-corrected-query]", move |el| {
            if let Some(corrected) = ctx.search.as_ref().and_then(|r| r.query.corrected()) {
                el.set_inner_content(&corrected, ContentType::Text);
            }
            Ok(())
        });
        let settings = Settings::new()
            .append_element_content_handler(on_slot)
            .append_element_content_handler(on_template)
            .append_element_content_handler(on_items)
            .append_element_content_handler(on_query)
            .append_element_content_handler(on_corrected)
            .append_element_content_handler(on_corrected_query)
            .append_element_content_handler(on_facets)
            .with_memory_settings(
                MemorySettings::new()
                    .with_max_allowed_memory_usage(MAX_REWRITER_MEMORY)
                    .with_graceful_bail_out_on_memory_limit_exceeded(true),
            )
            .with_graceful_bail_out_on_content_handler_error(true)
            // Strict mode stops at a text element inside `<select>` or after
            // `<frameset>` (non-conforming markup lol_html cannot read for
            // sure) and loses the rest of the chunk it was given. What the
            // rewriter inserts is escaped values in the merchant's own
            // templates, so a text element read the other way could at worst
            // misplace a card: the page keeps every byte instead.
            .with_strict(false);
        let rewriter = HtmlRewriter::new(settings, Sink(out.clone()));
        Self {
            rewriter: Some(rewriter),
            out,
            state,
            fed: 0,
            regions: Some(SlotRegions::new()),
        }
    }

    /// The same rewriter with lol_html reading every byte of the page, not
    /// only the regions [`SlotRegions`] finds: the reference its output is
    /// checked against (tests, fuzzing) and measured against (benches).
    pub fn reading_every_byte(mut self) -> Self {
        self.regions = None;
        self
    }

    /// Feeds one chunk of the page; returns the output ready so far.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let Some(mut regions) = self.regions.take() else {
            self.rewrite(chunk);
            return std::mem::take(&mut *self.out.borrow_mut());
        };
        let mut ready = Vec::with_capacity(chunk.len());
        regions.feed(chunk, &mut |route, bytes| {
            self.route(route, bytes, &mut ready)
        });
        self.regions = Some(regions);
        ready
    }

    /// Appends `bytes` to `ready`, through lol_html when `route` says so.
    fn route(&mut self, route: Route, bytes: &[u8], ready: &mut Vec<u8>) {
        match route {
            Route::Pass => ready.extend_from_slice(bytes),
            Route::Rewrite => {
                self.rewrite(bytes);
                ready.append(&mut self.out.borrow_mut());
            }
            Route::Context => {
                self.rewrite(bytes);
                self.out.borrow_mut().clear();
            }
        }
    }

    /// Gives `bytes` to lol_html; its output collects in `self.out`.
    fn rewrite(&mut self, bytes: &[u8]) {
        self.state
            .borrow_mut()
            .source
            .bytes
            .extend_from_slice(bytes);
        self.fed += bytes.len();
        match self.rewriter.as_mut() {
            Some(rw) => {
                if let Err(e) = rw.write(bytes) {
                    // Gracefully bailed out: everything received so far was
                    // flushed as-is; the rest passes through untouched.
                    self.rewriter = None;
                    self.state.borrow_mut().outcome.bailed_out = Some(e.to_string());
                }
            }
            None => self.out.borrow_mut().extend_from_slice(bytes),
        }
        self.trim_source();
    }

    /// Ends the page; returns the last output and what happened to the slots.
    pub fn finish(mut self) -> (Vec<u8>, Outcome) {
        let mut ready = Vec::new();
        if let Some(mut regions) = self.regions.take() {
            regions.finish(&mut |route, bytes| self.route(route, bytes, &mut ready));
        }
        if let Some(rw) = self.rewriter.take() {
            if let Err(e) = rw.end() {
                self.state.borrow_mut().outcome.bailed_out = Some(e.to_string());
            }
        }
        ready.append(&mut self.out.borrow_mut());
        let outcome = std::mem::take(&mut self.state.borrow_mut().outcome);
        (ready, outcome)
    }

    /// Keeps source bytes from the open slot's start (bounded), or a short
    /// carry for a start tag split across chunks.
    fn trim_source(&mut self) {
        let mut s = self.state.borrow_mut();
        let keep_from = match &s.slot {
            Some(slot) if self.fed - slot.start <= MAX_SLOT_SOURCE_BYTES => slot.start,
            _ => self.fed.saturating_sub(SOURCE_CARRY_BYTES),
        };
        s.source.trim(keep_from);
    }
}

/// An end-tag handler that cannot fail.
fn on_end(f: impl FnOnce(&mut EndTag<'_>) + 'static) -> EndTagHandler<'static> {
    Box::new(move |end: &mut EndTag<'_>| {
        f(end);
        Ok(())
    })
}

/// Ranks the open slot and renders it into `el`, or leaves the fallback.
fn fill(el: &mut Element<'_, '_>, engine: &Engine, ctx: &PageContext, state: &mut State) {
    let result = match state.slot.as_mut() {
        None => return,
        Some(slot) if slot.done => return,
        Some(slot) => {
            slot.done = true;
            render_slot(engine, ctx, slot)
        }
    };
    let search = state.slot.as_ref().is_some_and(|s| s.kind == SEARCH_SLOT);
    if let Some(results) = ctx.search.as_ref().filter(|_| search) {
        // Lets the page say "no exact matches: similar products" by CSS.
        el.set_attribute("data-p13n-search", results.outcome.as_str())
            .ok();
    }
    match result {
        Ok(html) => {
            if ctx.experiment.is_some() {
                if let Some(shown) = state.slot.as_ref().and_then(|s| shown(engine, ctx, s)) {
                    state.outcome.shown.push(shown);
                }
            }
            el.set_inner_content(&html, ContentType::Html);
            el.set_attribute("data-p13n-state", "personalized").ok();
            el.set_attribute("data-p13n-bundle", &engine.info().version.to_string())
                .ok();
            state.outcome.filled += 1;
        }
        Err(reason) => {
            if let Some(kind) = state.slot.as_ref().map(|s| s.kind.clone()) {
                log_unfilled(state, ctx, &kind);
            }
            el.set_attribute("data-p13n-state", "fallback").ok();
            state.outcome.fallbacks.push(reason);
        }
    }
}

fn render_slot(engine: &Engine, ctx: &PageContext, slot: &OpenSlot) -> Result<String, String> {
    let name = &slot.kind;
    let template = match &slot.template {
        Some(Ok(t)) => t,
        Some(Err(e)) => return Err(format!("slot {name:?}: {e}")),
        None => {
            return Err(format!(
                "slot {name:?}: no <template data-p13n-item> before [data-p13n-items]"
            ))
        }
    };
    if name == BANNER_SLOT {
        let banner = slot
            .banner
            .as_ref()
            .ok_or(format!("slot {name:?}: no banner applies"))?;
        let mut out = String::new();
        template.render_banner(banner, &mut out);
        return Ok(out);
    }
    if name == SEARCH_SLOT {
        let results = ctx
            .search
            .as_ref()
            .ok_or(format!("slot {name:?}: no search query on this page"))?;
        if results.items.is_empty() {
            return Err(format!(
                "slot {name:?}: no results for {:?}",
                results.query.original
            ));
        }
        let engines = &ctx.search_engines.0;
        if engines.len() != results.items.len() {
            return Ok(engine.render_search(results, template));
        }
        let mut out = String::new();
        for (i, (hit, from)) in results.items.iter().zip(engines).enumerate() {
            if let Some(p) = from.store().product_at(hit.ordinal) {
                template.render(p, i + 1, SEARCH_SLOT, &mut out);
            }
        }
        return Ok(out);
    }
    let ranking = match &slot.ranking {
        Some(Ok(r)) => r,
        Some(Err(e)) => return Err(e.clone()),
        None => return Err(format!("slot {name:?}: not ranked")),
    };
    if ranking.items.is_empty() {
        return Err(format!("slot {name:?}: nothing passed the guardrails"));
    }
    Ok(engine.render(ranking, template))
}

/// Logs a slot of an experiment's module that shows no products (it fell
/// back, or was removed for being empty) as an exposure of nothing: who
/// counts as exposed must not depend on the arm, and a holdout may come
/// up empty where the treatment fills, or the other way round. `true`
/// when `kind` is a module of the experiments (whether or not this
/// shopper is in them).
fn log_unfilled(state: &mut State, ctx: &PageContext, kind: &str) -> bool {
    if !firstpaint_engine::experiments::modules().any(|m| m == kind) {
        return false;
    }
    if ctx.experiment.is_some() {
        state.outcome.shown.push(Shown {
            module: kind.to_owned(),
            items: Vec::new(),
        });
    }
    true
}

/// What a filled slot shows: its module and products in order (a banner
/// shows none).
fn shown(engine: &Engine, ctx: &PageContext, slot: &OpenSlot) -> Option<Shown> {
    let id = |from: &Engine, ordinal| from.store().product_at(ordinal).map(|p| p.id().to_owned());
    let items = if slot.kind == SEARCH_SLOT {
        let results = ctx.search.as_ref()?;
        let engines = &ctx.search_engines.0;
        results
            .items
            .iter()
            .enumerate()
            .filter_map(|(i, hit)| id(engines.get(i).map_or(engine, |e| &**e), hit.ordinal))
            .collect()
    } else {
        let ranking = slot.ranking.as_ref()?.as_ref().ok()?;
        ranking
            .items
            .iter()
            .filter_map(|item| id(engine, item.ordinal))
            .collect()
    };
    Some(Shown {
        module: slot.kind.clone(),
        items,
    })
}

/// Ranks a slot from its attributes.
fn rank_slot(engine: &Engine, ctx: &PageContext, attrs: &SlotAttrs) -> Result<Ranking, String> {
    let name = &attrs.kind;
    let kind: SlotKind = name.parse().map_err(|e| format!("slot {name:?}: {e}"))?;
    let k = match &attrs.k {
        Some(k) => Some(
            k.trim()
                .parse::<usize>()
                .map_err(|_| format!("slot {name:?}: data-p13n-k {k:?} is not a number"))?,
        ),
        None => None,
    };
    let cart = attrs
        .cart
        .as_deref()
        .map(|c| {
            c.split(',')
                .map(|id| id.trim().to_owned())
                .filter(|id| !id.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let req = SlotRequest {
        k,
        product: attrs.product.clone().or_else(|| ctx.product.clone()),
        category: attrs.category.clone().or_else(|| ctx.category.clone()),
        cart,
        ..SlotRequest::new(kind)
    };
    engine
        .rank_in(ctx.visit_for(name), &req)
        .map_err(|e| format!("slot {name:?}: {e}"))
}
