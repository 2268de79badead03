//! The slot rewriter on the host, with a real engine over a small store.
//!
//! 1. Slots are filled with ranked items rendered through the page's own
//!    template, and every inserted value is escaped.
//! 2. The output does not depend on how the page is split into chunks.
//! 3. A page without slots comes out byte for byte as it went in.
//! 4. A broken slot (unknown type, bad template, no template, bad k) keeps
//!    its fallback content and says why; the other slots still fill.
//! 5. lol_html reading only the slot regions rewrites a page exactly as it
//!    does reading every byte, broken markup included, and loses nothing.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::rc::Rc;

use firstpaint_edge::limits::MAX_SLOTS_PER_PAGE;
use firstpaint_edge::rewrite::{Outcome, PageContext, SlotRewriter};
use firstpaint_engine::{Engine, Visitor};
use firstpaint_origin::build::{build, BuildOptions};
use firstpaint_origin::inputs::{load, InputPaths};

const NOW: i64 = 1_793_491_200;

fn product(id: &str, title: &str, leaf: &str) -> String {
    format!(
        r#"{{"id":"{id}","title":"{title}","category":["Home","{leaf}"],"price":20.0,"currency":"EUR","inventory":[{{"location":"x","available":10}}],"created_at":"2026-01-01T00:00:00Z"}}"#
    )
}

fn engine() -> Rc<Engine> {
    let dir = tempfile::tempdir().unwrap();
    let mut catalog = vec![product(
        "EVIL-1",
        r#"<script>alert(\"x\")</script> & Co's \"lamp\""#,
        "Lamps",
    )];
    for i in 0..30 {
        catalog.push(product(
            &format!("LAMP-{i}"),
            &format!("Oak table lamp {i}"),
            "Lamps",
        ));
        catalog.push(product(
            &format!("MUG-{i}"),
            &format!("Ceramic coffee mug {i}"),
            "Mugs",
        ));
    }
    std::fs::write(dir.path().join("c.ndjson"), catalog.join("\n")).unwrap();
    std::fs::write(dir.path().join("e.ndjson"), "").unwrap();
    std::fs::write(
        dir.path().join("r.toml"),
        "[guardrails]\nmin_inventory = 1\n",
    )
    .unwrap();
    let inputs = load(&InputPaths {
        catalog: dir.path().join("c.ndjson"),
        events: dir.path().join("e.ndjson"),
        rules: dir.path().join("r.toml"),
        synonyms: None,
        wordnet: None,
    })
    .unwrap();
    let key = firstpaint_bundle::SigningKey::from_bytes(&[9; 32]);
    let opts = BuildOptions {
        now: NOW,
        ttl_days: 1,
        progress: false,
        rules_file: "r.toml".into(),
        shard: false,
    };
    let (bytes, _) = build(&inputs, &key, &opts).unwrap();
    Rc::new(Engine::open(&bytes, &key.verifying_key(), NOW).unwrap())
}

const ITEM: &str = r#"<template data-p13n-item><li data-id="{{id}}" title="{{title}}">{{title}} {{price}}</li></template>"#;

fn page(slots: &str) -> String {
    format!("<!doctype html><html><head><title>t</title></head><body><h1>Shop</h1>{slots}<footer>end</footer></body></html>")
}

fn slot(attrs: &str, template: &str, fallback: &str) -> String {
    format!(r#"<section {attrs}>{template}<ul data-p13n-items>{fallback}</ul></section>"#)
}

fn rewrite(engine: &Rc<Engine>, html: &str, chunk: usize, ctx: PageContext) -> (String, Outcome) {
    rewrite_with(SlotRewriter::new(engine.clone(), ctx), html, chunk)
}

fn rewrite_with(mut rw: SlotRewriter, html: &str, chunk: usize) -> (String, Outcome) {
    let mut out = Vec::new();
    for c in html.as_bytes().chunks(chunk) {
        out.extend(rw.push(c));
    }
    let (tail, outcome) = rw.finish();
    out.extend(tail);
    (String::from_utf8(out).unwrap(), outcome)
}

fn ids(html: &str) -> Vec<String> {
    html.split("data-id=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_owned)
        .filter(|s| s != "{{id}}")
        .collect()
}

#[test]
fn slots_fill_through_the_template() {
    let engine = engine();
    let html = page(&slot(
        r#"data-p13n-slot="similar" data-p13n-k="5" data-p13n-product="LAMP-1""#,
        ITEM,
        "<li>fallback</li>",
    ));
    let (out, outcome) = rewrite(
        &engine,
        &html,
        64 * 1024,
        PageContext::new(engine.visit(Visitor::default())),
    );
    assert_eq!(outcome.filled, 1, "{outcome:?}");
    let got = ids(&out);
    assert_eq!(got.len(), 5, "{out}");
    assert!(!got.contains(&"LAMP-1".to_owned()));
    assert!(
        got.iter()
            .filter(|id| id.starts_with("LAMP") || id.starts_with("EVIL"))
            .count()
            >= 4,
        "{got:?}"
    );
    assert!(!out.contains("fallback"));
    assert!(out.contains(r#"data-p13n-state="personalized""#));
    assert!(out.contains("<footer>end</footer>"));
}

#[test]
fn the_malicious_title_is_escaped_when_shown() {
    let engine = engine();
    let html = page(&slot(
        r#"data-p13n-slot="similar" data-p13n-k="30" data-p13n-product="LAMP-2""#,
        ITEM,
        "",
    ));
    let (out, _) = rewrite(
        &engine,
        &html,
        7,
        PageContext::new(engine.visit(Visitor::default())),
    );
    assert!(ids(&out).contains(&"EVIL-1".to_owned()), "{out}");
    assert!(
        out.contains(r#"title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co&#39;s &quot;lamp&quot;""#),
        "{out}"
    );
    assert!(!out.contains("<script>"));
}

#[test]
fn output_does_not_depend_on_chunking() {
    let engine = engine();
    let html = page(&format!(
        "{}{}",
        slot(
            r#"data-p13n-slot="home" data-p13n-k="4""#,
            ITEM,
            "<li>a</li>"
        ),
        slot(
            r#"data-p13n-slot="similar" data-p13n-product="MUG-3""#,
            ITEM,
            "<li>b</li>"
        )
    ));
    let ctx = PageContext::new(engine.visit(Visitor {
        viewed: vec!["MUG-1".into(), "LAMP-4".into()],
        now: NOW,
        ..Visitor::default()
    }));
    let (whole, outcome) = rewrite(&engine, &html, 1 << 20, ctx.clone());
    assert_eq!(outcome.filled, 2, "{outcome:?}");
    for chunk in [1, 3, 17, 100] {
        let (split, _) = rewrite(&engine, &html, chunk, ctx.clone());
        assert_eq!(split, whole, "chunk size {chunk}");
    }
}

#[test]
fn the_search_slot_shows_the_page_s_results_and_its_query_as_text() {
    let engine = engine();
    let results = engine
        .search(&firstpaint_engine::SearchRequest::new("oak lamp"))
        .unwrap();
    let expected: Vec<String> = results.items.iter().map(|i| i.id.clone()).collect();
    assert!(expected.len() >= 5);
    let html = page(&format!(
        r#"<h2>Results for <q data-p13n-query>…</q></h2>{}"#,
        slot(r#"data-p13n-slot="search""#, ITEM, "<li>no results</li>")
    ));
    let mut results_with_markup = results.clone();
    results_with_markup.query.original = "<b>oak</b> lamp".into();
    let ctx = PageContext {
        search: Some(results_with_markup),
        ..PageContext::new(engine.visit(Visitor::default()))
    };
    let (out, outcome) = rewrite(&engine, &html, 11, ctx);
    assert_eq!(outcome.filled, 1, "{outcome:?}");
    assert_eq!(ids(&out), expected);
    assert!(out.contains(r#"data-p13n-search="matched""#), "{out}");
    assert!(
        out.contains("<q data-p13n-query>&lt;b&gt;oak&lt;/b&gt; lamp</q>"),
        "{out}"
    );
    // A typo'd query says what was searched instead; an exact one does not.
    let corrected =
        page(r#"<p data-p13n-corrected>Showing results for <q data-p13n-corrected-query></q></p>"#);
    let typo = engine
        .search(&firstpaint_engine::SearchRequest::new("oak lampz"))
        .unwrap();
    assert_eq!(typo.query.corrected().as_deref(), Some("oak lamp"));
    let ctx = |r: &firstpaint_engine::SearchResults| PageContext {
        search: Some(r.clone()),
        ..PageContext::new(engine.visit(Visitor::default()))
    };
    let (out, _) = rewrite(&engine, &corrected, 5, ctx(&typo));
    assert!(
        out.contains("<q data-p13n-corrected-query>oak lamp</q>"),
        "{out}"
    );
    let (out, _) = rewrite(&engine, &corrected, 5, ctx(&results));
    assert!(!out.contains("Showing results for"), "{out}");
    // Without a query the page's own fallback stays.
    let (out, outcome) = rewrite(
        &engine,
        &html,
        11,
        PageContext::new(engine.visit(Visitor::default())),
    );
    assert!(out.contains("<li>no results</li>"));
    assert_eq!(outcome.filled, 0);
}

#[test]
fn pages_without_slots_pass_through_unchanged() {
    let engine = engine();
    let html = page(
        "<p class=x>caf\u{e9} &amp; <b>bold</b><!-- c --></p><template><i>{{title}}</i></template>",
    );
    let (out, outcome) = rewrite(
        &engine,
        &html,
        5,
        PageContext::new(engine.visit(Visitor::default())),
    );
    assert_eq!(out, html);
    assert_eq!(outcome, Outcome::default());
}

#[test]
fn broken_slots_keep_their_fallback_and_say_why() {
    let engine = engine();
    let cases = [
        (
            slot(r#"data-p13n-slot="recommended""#, ITEM, "<li>fb</li>"),
            "unknown slot type",
        ),
        (
            slot(
                r#"data-p13n-slot="home""#,
                "<template data-p13n-item>{{titel}}</template>",
                "<li>fb</li>",
            ),
            "did you mean {{title}}",
        ),
        (
            slot(r#"data-p13n-slot="home""#, "", "<li>fb</li>"),
            "no <template data-p13n-item>",
        ),
        (
            slot(
                r#"data-p13n-slot="home" data-p13n-k="lots""#,
                ITEM,
                "<li>fb</li>",
            ),
            "not a number",
        ),
        (
            slot(
                r#"data-p13n-slot="home" data-p13n-k="99""#,
                ITEM,
                "<li>fb</li>",
            ),
            "k must be between 1 and 48",
        ),
        (
            slot(
                r#"data-p13n-slot="similar" data-p13n-product="GONE""#,
                ITEM,
                "<li>fb</li>",
            ),
            "not in the catalog",
        ),
    ];
    for (broken, why) in cases {
        let good = slot(
            r#"data-p13n-slot="home" data-p13n-k="2""#,
            ITEM,
            "<li>fb2</li>",
        );
        let html = page(&format!("{broken}{good}"));
        let (out, outcome) = rewrite(
            &engine,
            &html,
            9,
            PageContext::new(engine.visit(Visitor::default())),
        );
        assert!(out.contains("<li>fb</li>"), "{why}: fallback lost: {out}");
        assert!(
            out.contains(r#"data-p13n-state="fallback""#),
            "{why}: {out}"
        );
        assert_eq!(outcome.filled, 1, "{why}: {outcome:?}");
        assert!(
            outcome.fallbacks.iter().any(|f| f.contains(why)),
            "{why}: {:?}",
            outcome.fallbacks
        );
        assert_eq!(ids(&out).len(), 2, "{why}");
    }
}

#[test]
fn slots_past_the_page_bound_keep_their_fallback() {
    let engine = engine();
    let extra = 3;
    let slots: String = (0..MAX_SLOTS_PER_PAGE + extra)
        .map(|i| {
            slot(
                r#"data-p13n-slot="home" data-p13n-k="1""#,
                ITEM,
                &format!("<li>fb{i}</li>"),
            )
        })
        .collect();
    let (out, outcome) = rewrite(
        &engine,
        &page(&slots),
        64 * 1024,
        PageContext::new(engine.visit(Visitor::default())),
    );
    assert_eq!(outcome.filled, MAX_SLOTS_PER_PAGE, "{outcome:?}");
    assert_eq!(outcome.fallbacks.len(), extra, "{outcome:?}");
    assert!(
        outcome.fallbacks[0].contains(&format!("at most {MAX_SLOTS_PER_PAGE} ranked slots")),
        "{outcome:?}"
    );
    assert_eq!(out.matches(r#"data-p13n-state="fallback""#).count(), extra);
    for i in 0..MAX_SLOTS_PER_PAGE + extra {
        let kept = out.contains(&format!("<li>fb{i}</li>"));
        assert_eq!(kept, i >= MAX_SLOTS_PER_PAGE, "slot {i}: {out}");
    }
}

#[test]
fn every_slot_of_a_module_is_an_exposure_filled_or_not() {
    use firstpaint_edge::experiment::Experiment;
    use firstpaint_engine::experiments::{Assignment, ExperimentsSection};
    let engine = engine();
    let html = page(&[
        slot(r#"data-p13n-slot="home" data-p13n-k="2""#, ITEM, "<li>fb</li>"),
        slot(
            r#"data-p13n-slot="bought-together" data-p13n-product="LAMP-1" data-p13n-empty="remove""#,
            ITEM,
            "<li>fb</li>",
        ),
        slot(r#"data-p13n-slot="similar" data-p13n-product="GONE""#, ITEM, "<li>fb</li>"),
        slot(r#"data-p13n-slot="recommended""#, ITEM, "<li>fb</li>"),
    ]
    .concat());
    let ctx = |experiment| PageContext {
        experiment,
        ..PageContext::new(engine.visit(Visitor::default()))
    };
    let experiment = Experiment {
        assignment: Assignment::of(
            "0123456789abcdef0123456789abcdef",
            &ExperimentsSection::default(),
        ),
        holdout: engine.visit(Visitor::default()),
    };
    let (out, outcome) = rewrite(&engine, &html, 64 * 1024, ctx(Some(experiment)));
    let shown: Vec<(&str, usize)> = outcome
        .shown
        .iter()
        .map(|s| (s.module.as_str(), s.items.len()))
        .collect();
    // Filled, removed for being empty, fallen back; not the unknown type.
    assert_eq!(
        shown,
        [("home", 2), ("bought-together", 0), ("similar", 0)],
        "{out}"
    );
    assert_eq!(outcome.removed_empty, 1);
    assert!(!out.contains(r#"data-p13n-slot="bought-together""#));
    assert!(out.contains("<!-- p13n: bought-together slot removed, nothing to show -->"));
    // Outside the experiments, the same page logs nothing and reads the same.
    let (plain, outcome) = rewrite(&engine, &html, 64 * 1024, ctx(None));
    assert!(outcome.shown.is_empty());
    assert!(plain.contains("<!-- p13n: bought-together slot removed"));
}

/// Pages whose markup the slot regions must get right: slots broken by
/// the page around them, text elements, foreign content, `<select>`.
const AWKWARD_PAGES: [&str; 8] = [
    // A slot the page closes from outside (a missing `</div>`): the rest
    // of the page is kept.
    r#"<ul><li><div data-p13n-slot="similar" data-p13n-product="LAMP-1"><template data-p13n-item><b>{{title}}</b></template><div data-p13n-items>fallback</li><li>next item</li></ul><footer>end</footer>"#,
    // A stray end tag inside the slot closes an element around it.
    r#"<main><section data-p13n-slot="trending"><template data-p13n-item><i>{{title}}</i></template></main><ul data-p13n-items>x</ul></section><p>after</p>"#,
    // A text element in `<select>` (lol_html's strict mode would stop here
    // and lose bytes).
    r#"<select><option>a<xmp>x</xmp><template><style>s</style></template></select><section data-p13n-slot="trending"><template data-p13n-item><i>{{title}}</i></template><ul data-p13n-items>x</ul></section>"#,
    // Slots in foreign content's HTML, and markup in CDATA.
    r#"<svg><foreignObject><section data-p13n-slot="trending"><template data-p13n-item><i>{{title}}</i></template><ul data-p13n-items>x</ul></section></foreignObject><![CDATA[<q data-p13n-query>]]></svg><p>after</p>"#,
    // Script escapes around markup that looks like a slot.
    r#"<script><!-- <script> </script> <div data-p13n-slot="trending"><ul data-p13n-items>x</ul></div> --></script><section data-p13n-slot="trending"><template data-p13n-item><i>{{title}}</i></template><ul data-p13n-items>x</ul></section>"#,
    // A slot removed for being empty, inside nested namesakes.
    r#"<div><div><div data-p13n-slot="nonsense" data-p13n-empty="remove"><div><div data-p13n-items>x</div></div></div></div>kept</div>"#,
    // An element left open inside a slot's items.
    r#"<article><section data-p13n-slot="trending"><template data-p13n-item><i>{{title}}</i></template><ul data-p13n-items><li>open<li>open</ul></section></article>"#,
    // Upper-case markers, unquoted values and a `>` in a quoted one.
    r#"<SECTION DATA-P13N-SLOT=trending title="a>b"><TEMPLATE DATA-P13N-ITEM><i>{{title}}</i></TEMPLATE><UL DATA-P13N-ITEMS>x</UL></SECTION>"#,
];

#[test]
fn slot_regions_rewrite_as_reading_every_byte() {
    let engine = engine();
    let ctx = || {
        PageContext::new(engine.visit(Visitor {
            now: NOW,
            ..Visitor::default()
        }))
    };
    for body in AWKWARD_PAGES {
        let html = page(body);
        let every_byte = rewrite_with(
            SlotRewriter::new(engine.clone(), ctx()).reading_every_byte(),
            &html,
            html.len(),
        );
        for chunk in [1, 2, 3, 7, 16, 64, html.len()] {
            let regions = rewrite(&engine, &html, chunk, ctx());
            assert_eq!(regions, every_byte, "{chunk}-byte chunks of {html}");
        }
        assert!(every_byte.0.contains("</footer>"), "{}", every_byte.0);
    }
}
