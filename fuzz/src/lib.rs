//! Fuzz targets: every parser of untrusted or semi-trusted input, each a
//! function of the fuzzer's bytes that must return, never panic.
//!
//! The same functions run two ways:
//! - under libFuzzer, coverage-guided (`src/bin/libfuzzer.rs`, built and
//!   run by `scripts/fuzz.sh` on the stable toolchain: see RELIABILITY.md);
//! - under `cargo test`, over every file of `fuzz/corpus/<target>/` and
//!   `fuzz/regressions/<target>/` (`tests/replay.rs`), so a crash once
//!   found stays fixed.
//!
//! Signed inputs (bundles, live overlays, releases, profile cookies) are
//! fuzzed twice: as they arrive, forged, against the real key (what an
//! attacker can send), and signed here with the test key after the
//! fuzzer's change (what reaches the readers behind the signature, if a
//! key leaks or the origin writes something odd). No check is turned off
//! for fuzzing; the production code is the code fuzzed.

use std::rc::Rc;
use std::sync::OnceLock;

use firstpaint_bundle::{
    open_live, Bundle, BundleWriter, Inputs, LiveHeader, LivePointer, Manifest, Release,
    SignedRelease, Tag,
};
use firstpaint_contracts::{read_synonyms, read_toml, Purges, Rules};
use firstpaint_edge::keyed_hash::KeySet;
use firstpaint_edge::page_cache::CachePolicy;
use firstpaint_edge::profile::Profile;
use firstpaint_edge::rewrite::{Outcome, PageContext, SlotRewriter};
use firstpaint_engine::store::live::decode_updates;
use firstpaint_engine::{Engine, SearchRequest, SlotKind, SlotRequest, Visitor};
use worker::Url;

#[allow(missing_docs)]
#[path = "../../crates/engine/tests/support/mod.rs"]
pub mod store;

pub mod html_doc;

/// A fuzz target: the fuzzer's bytes in, nothing out; it must not panic.
pub type Target = fn(&[u8]);

/// Every target by name: the name is its corpus folder and what
/// `scripts/fuzz.sh` and `FIRSTPAINT_FUZZ_TARGET` call it.
pub const TARGETS: [(&str, Target); 11] = [
    ("bundle", bundle),
    ("bundle_sections", bundle_sections),
    ("live", live),
    ("kv", kv),
    ("cookie", cookie),
    ("p13n_query", p13n_query),
    ("search", search),
    ("collect", collect),
    ("rules", rules),
    ("rewrite", rewrite),
    ("rewrite_regions", rewrite_regions),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|&(_, t)| t)
}

/// The engine test store's bundle (54 products, every section), built once.
pub fn store_bundle() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| store::bundle(&store::sections(store::default_rules())))
}

/// The engine test store, opened once per thread, for the targets that
/// query it.
pub fn engine() -> Rc<Engine> {
    thread_local! {
        static ENGINE: Rc<Engine> = Rc::new(store::engine());
    }
    ENGINE.with(Rc::clone)
}

/// The key set the fuzz targets sign cookies and pseudonymize with, as
/// the edge's variables write it (`id:hex,...`).
pub fn key_set_text() -> String {
    format!("k2:{},k1:{}", "ab".repeat(32), "cd".repeat(32))
}

/// [`key_set_text`], parsed once.
pub fn key_set() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| {
        KeySet::parse(&key_set_text())
            .unwrap_or_else(|e| unreachable!("the fuzz key set parses: {e}"))
    })
}

/// The first byte (which variant of a target runs) and the rest.
fn split(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((&choice, rest)) => (choice, rest),
        None => (0, data),
    }
}

/// Ranks every slot kind and runs two searches: a store that opened must
/// answer, whatever its sections hold.
fn exercise(engine: &Engine) {
    let first = engine.store().product_at(0).map(|p| p.id().to_owned());
    for kind in SlotKind::ALL {
        let mut req = SlotRequest::new(kind);
        req.visitor.now = store::NOW;
        req.visitor.viewed = first.iter().cloned().collect();
        req.product = first.clone();
        req.cart = first.iter().cloned().collect();
        req.category = Some("Kitchen".into());
        let _ = engine.rank(&req);
    }
    for query in ["phone", "blu chargr case"] {
        let _ = engine.search(&SearchRequest::new(query));
    }
}

/// A bundle as it arrives from KV, against the test key: magic, version,
/// lengths, section table, then signature and digests. The signature
/// covers the header and table and the digests every section, so only an
/// unchanged seed opens (and is then queried); what this target fuzzes is
/// everything read before the signature, and what the edge reads from
/// the bytes before it verifies them (where the head and the sections lie,
/// the signer's key id). [`bundle_sections`] goes past it.
pub fn bundle(data: &[u8]) {
    let _ = firstpaint_bundle::head_sha256(data);
    let _ = firstpaint_bundle::section_ranges(data);
    let _ = firstpaint_bundle::signer_key_id(data);
    if let Ok(engine) = store::open(data.to_vec()) {
        exercise(&engine);
    }
}

/// One section of the test store's bundle replaced by the fuzzer's bytes
/// and the bundle signed again: the engine's section readers and their
/// cross-checks, past the signature. The first byte picks the section
/// (its index in the table, modulo the table's length).
pub fn bundle_sections(data: &[u8]) {
    let (choice, payload) = split(data);
    let sections = store_sections();
    let Some(&(target, _)) = sections.get(usize::from(choice) % sections.len().max(1)) else {
        return;
    };
    let mut writer = BundleWriter::new(Inputs {
        bundle_version: 1,
        created_at: store::NOW,
        expires_at: store::NOW + 86_400,
        ..Inputs::default()
    });
    for (tag, bytes) in sections {
        let bytes = if *tag == target { payload } else { bytes };
        if writer.add(*tag, bytes.to_vec()).is_err() {
            return;
        }
    }
    if let Ok(engine) = store::open(writer.finish(&store::key())) {
        exercise(&engine);
    }
}

/// The test store's sections in file order, read once (what
/// [`bundle_sections`] changes one of).
fn store_sections() -> &'static [(Tag, Vec<u8>)] {
    static SECTIONS: OnceLock<Vec<(Tag, Vec<u8>)>> = OnceLock::new();
    SECTIONS.get_or_init(|| {
        let key = store::key().verifying_key();
        let Ok(bundle) = Bundle::open(store_bundle(), &key, store::NOW) else {
            return Vec::new();
        };
        let tags: Vec<Tag> = bundle.tags().collect();
        tags.into_iter()
            .filter_map(|tag| Some((tag, bundle.section(tag).ok()?.to_vec())))
            .collect()
    })
}

/// A live overlay: as it arrives (forged, against the real key), or its
/// payload sealed with the test key, decoded and laid over the store.
pub fn live(data: &[u8]) {
    let keys = [store::key().verifying_key()];
    let (choice, rest) = split(data);
    let header = LiveHeader {
        sequence: 2,
        created_at: store::NOW,
        expires_at: store::NOW + 3_600,
    };
    let sealed;
    let bytes = if choice % 2 == 0 {
        rest
    } else {
        sealed = firstpaint_bundle::seal_live(&header, rest, &store::key());
        &sealed
    };
    let Ok((header, payload)) = open_live(bytes, &keys, store::NOW, 1, None) else {
        return;
    };
    if let Ok(updates) = decode_updates(payload) {
        exercise(&engine().with_live(&header, &updates));
    }
}

/// What the edge reads from KV as text or small blobs: the signed release
/// (as it arrives, and its inner release JSON), the manifest, the live
/// pointer, the purges, the shard routing table, and an origin's
/// `Cache-Control`.
pub fn kv(data: &[u8]) {
    let (choice, rest) = split(data);
    let text = String::from_utf8_lossy(rest);
    let keys = [store::key().verifying_key()];
    match choice % 7 {
        0 => {
            let _ = SignedRelease::open(&text, &keys, store::NOW, 0);
        }
        1 => {
            if let Ok(release) = serde_json::from_str::<Release>(&text) {
                let _ = release.check();
            }
        }
        2 => {
            if let Ok(manifest) = serde_json::from_str::<Manifest>(&text) {
                let _ = manifest.check();
            }
        }
        3 => {
            let _ = serde_json::from_str::<LivePointer>(&text);
        }
        4 => {
            if let Ok(purges) = serde_json::from_str::<Purges>(&text) {
                let _ = purges.purged_at("/products/a?b=c");
            }
        }
        5 => {
            if let Ok(routes) = firstpaint_edge::routing::Routes::new(rest.to_vec()) {
                let _ = routes.shard_of("SKU-1");
                let _ = routes.shard_of(&text);
            }
        }
        _ => {
            if let Ok(policy) = CachePolicy::of_origin(200, Some(&text), false, None) {
                let _ = policy.freshness(10.0);
            }
        }
    }
}

/// The `Cookie` header: the profile cookie as it arrives (forged or
/// stale-keyed), or a profile JSON signed with the current key, decoded,
/// changed as a page would and encoded again; and the consent cookie.
pub fn cookie(data: &[u8]) {
    let (choice, rest) = split(data);
    let text = String::from_utf8_lossy(rest);
    let keys = key_set();
    let rules = store::default_rules().consent;
    let _ = firstpaint_edge::consent::decide(Some(&text), Some("DE"), &rules);
    let value = if choice % 2 == 0 {
        firstpaint_edge::cookies::cookie_value(
            Some(&text),
            firstpaint_edge::profile::PROFILE_COOKIE,
        )
        .map(str::to_owned)
    } else {
        Some(firstpaint_edge::profile::seal_cookie(rest, keys))
    };
    let Some(mut profile) = value.and_then(|v| Profile::decode(&v, keys)) else {
        return;
    };
    profile.touch(store::NOW);
    profile.record_view("SKU-1");
    profile.record_query(&text);
    profile.record_category(&text);
    profile.record_price(0.5, 1.0);
    let _ = profile.price_band();
    let again = profile.encode(keys);
    let _ = Profile::decode(&again, keys);
}

/// A `/p13n/*` query string, parsed as the edge does and, when it is
/// accepted, answered by the test store: `/p13n/search` (strict), the
/// storefront's search page (lenient), `/p13n/recommend`, and the wasm
/// facade's visitor JSON.
pub fn p13n_query(data: &[u8]) {
    let (choice, rest) = split(data);
    let text = String::from_utf8_lossy(rest);
    let engine = engine();
    if choice % 4 == 3 {
        let request = firstpaint_wasm::Request {
            slot: "similar".into(),
            k: Some(4),
            product: Some(store::id(0)),
            cart: Vec::new(),
            category: None,
        };
        let _ = firstpaint_wasm::rank_json(&engine, request, &text);
        let _ = firstpaint_wasm::search_json(&engine, "phone", 1, 12, &text);
        return;
    }
    let Ok(url) = Url::parse(&format!("https://shop.example/p13n?{text}")) else {
        return;
    };
    if choice % 4 == 2 {
        let Ok(p) = firstpaint_edge::recommend::params_from(&url) else {
            return;
        };
        let mut req = SlotRequest::new(p.kind);
        req.k = p.k;
        req.product = p.product;
        req.category = p.category;
        req.cart = p.cart;
        req.explain = p.explain;
        req.visitor.viewed = p.viewed.unwrap_or_default();
        req.visitor.now = store::NOW;
        let _ = engine.rank(&req);
        return;
    }
    if let Ok(Some(mut req)) = firstpaint_edge::search::request_from(&url, choice % 4 == 0) {
        req.visitor.now = store::NOW;
        let _ = engine.search(&req);
    }
}

/// The engine's own search, called directly (as the wasm facade does,
/// with no URL limits in front): see [`search_request`].
pub fn search(data: &[u8]) {
    let _ = engine().search(&search_request(data));
}

/// The search [`search`] makes of the fuzzer's bytes: the first byte sets
/// filters (bit 0: a category and a price cap, 1: in stock, 2: a brand,
/// the query's first word; 3: no facets, 4: explain), the second the page
/// (high nibble + 1) and page size (low nibble x 4, 0 for the default),
/// the rest is the query.
pub fn search_request(data: &[u8]) -> SearchRequest {
    let (flags, rest) = split(data);
    let (paging, query) = split(rest);
    let query = String::from_utf8_lossy(query).into_owned();
    let mut req = SearchRequest::new(query.clone());
    req.page = usize::from(paging >> 4) + 1;
    req.per_page = usize::from(paging & 0x0f) * 4;
    if flags & 0x01 != 0 {
        req.filters.category = Some("Electronics".into());
        req.filters.price_max = Some(f64::from(paging) * 10.0);
    }
    req.filters.in_stock = flags & 0x02 != 0;
    if flags & 0x04 != 0 {
        req.filters.brand = query.split_whitespace().next().map(str::to_owned);
    }
    req.without_facets = flags & 0x08 != 0;
    req.explain = flags & 0x10 != 0;
    req.visitor = Visitor {
        now: store::NOW,
        ..Visitor::default()
    };
    req
}

/// A `POST /p13n/collect` body.
pub fn collect(data: &[u8]) {
    let _ = firstpaint_edge::collect::prepare(data, key_set());
}

/// What merchants write and the origin reads: `rules.toml`, the synonyms
/// file, and a key set (`id:hex,...`).
pub fn rules(data: &[u8]) {
    let (choice, rest) = split(data);
    let text = String::from_utf8_lossy(rest);
    match choice % 3 {
        0 => {
            let _ = read_toml::<Rules>("rules.toml", &text);
        }
        1 => {
            let _ = read_synonyms("synonyms.txt", &text);
        }
        _ => {
            let _ = KeySet::parse(&text);
        }
    }
}

/// A storefront page streamed through the slot rewriter in chunks whose
/// size the first byte sets (16 B to 4 KB), on a page that has a banner
/// and search results to show: slots, templates, attributes, the banner,
/// search and facet elements as the page has them. A page in which no
/// attribute can start with `data-p13n-` comes out as it went in.
pub fn rewrite(data: &[u8]) {
    let (choice, page) = split(data);
    let (out, _) = rewrite_page(page, usize::from(choice).max(1) * 16, false);
    let unmarked = !page.windows(4).any(|w| w.eq_ignore_ascii_case(b"13n-"));
    assert!(
        !unmarked || out == page,
        "a page without slots came out changed"
    );
}

/// A generated storefront document ([`html_doc::document`]) rewritten
/// twice, in chunks the first byte sizes (1 to 442 bytes): lol_html
/// reading only the regions the scanner finds, and reading every byte.
/// The two must agree on every byte and on what happened to every slot.
pub fn rewrite_regions(data: &[u8]) {
    let (choice, rest) = split(data);
    let html = html_doc::document(rest);
    let chunk = usize::from(choice % 64) * 7 + 1;
    let regions = rewrite_page(html.as_bytes(), chunk, false);
    let every_byte = rewrite_page(html.as_bytes(), chunk, true);
    let (a, b) = (&regions.0, &every_byte.0);
    let at = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let around = |v: &[u8]| {
        String::from_utf8_lossy(v.get(at.saturating_sub(80)..).unwrap_or_default()).into_owned()
    };
    assert!(
        regions == every_byte,
        "the region scanner changed the rewrite of\n{html}\n(in {chunk}-byte chunks) from output byte {at}:\nregions:    {}\nevery byte: {}\n{:?}\n{:?}",
        around(a),
        around(b),
        regions.1,
        every_byte.1
    );
}

/// The context of the fuzzed pages: a banner and search results to show.
fn page_context(store_engine: &Engine) -> PageContext {
    thread_local! {
        static SEARCH: Option<firstpaint_engine::SearchResults> =
            engine().search(&search_request(b"\0\x01blu phone")).ok();
    }
    let visit = store_engine.visit(Visitor {
        now: store::NOW,
        ..Visitor::default()
    });
    let mut context = PageContext::new(visit);
    context.product = Some(store::id(0));
    context.category = Some("Kitchen".into());
    context.banner = store_engine.store().rules().banners.first().cloned();
    context.search = SEARCH.with(Clone::clone);
    context
}

/// `page` through the slot rewriter in `chunk`-byte chunks, with lol_html
/// reading the slot regions or `every_byte`.
fn rewrite_page(page: &[u8], chunk: usize, every_byte: bool) -> (Vec<u8>, Outcome) {
    let engine = engine();
    let context = page_context(&engine);
    let mut rewriter = SlotRewriter::new(engine, context);
    if every_byte {
        rewriter = rewriter.reading_every_byte();
    }
    let mut out = Vec::with_capacity(page.len());
    for piece in page.chunks(chunk.max(1)) {
        out.extend(rewriter.push(piece));
    }
    let (last, outcome) = rewriter.finish();
    out.extend(last);
    (out, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_takes_empty_and_tiny_inputs() {
        for (name, run) in TARGETS {
            for input in [&b""[..], b"\0", b"\xff\xff", b"{}", b"[]"] {
                run(input);
            }
            assert_eq!(target(name).map(|t| t as usize), Some(run as usize));
        }
    }
}
