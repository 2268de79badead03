//! Where the time of personalizing a page goes, natively (wasm in workerd
//! runs it ~1.5-2x slower): the page `bench/rewrite.mjs` writes (a ~100 KB
//! storefront page with 4 slots of 12), rewritten in 16 KiB chunks by
//! [`SlotRewriter`] with the fixtures bundle (lol_html reading only the
//! regions [`SlotRegions`] finds, and reading every byte), against a page
//! with nothing to fill (what the rewriter costs any page), the region scan
//! alone, lol_html alone with the same selectors and no work in
//! them, and the 4 rankings alone.
//!
//! `node bench/rewrite.mjs` (writes build/bench-page.html), then
//! `cargo run --release -p firstpaint-edge --example rewrite_cost`
//! (`-- --only-rewrite`: the whole rewrite alone, for a profiler)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::rc::Rc;
use std::time::{Duration, Instant};

use firstpaint_bundle::parse_verifying_key;
use firstpaint_edge::rewrite::{PageContext, SlotRewriter};
use firstpaint_edge::slot_regions::SlotRegions;
use firstpaint_engine::{Engine, SlotKind, SlotRequest, Visitor};
use lol_html::{element, HtmlRewriter, Settings};

const ROUNDS: usize = 300;
const CHUNK: usize = 16 << 10;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(mut f: impl FnMut()) -> Duration {
    for _ in 0..20 {
        f();
    }
    median(
        (0..ROUNDS)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let page = std::fs::read("build/bench-page.html")
        .expect("build/bench-page.html: run `node bench/rewrite.mjs` first");
    let bundle =
        std::fs::read("build/fixtures.fpb").expect("build/fixtures.fpb: run `make bundle`");
    let key = std::fs::read_to_string("fixtures/keys/dev.pub").unwrap();
    let key = parse_verifying_key(key.trim()).unwrap();
    let now = 1_793_491_200;
    let engine = Rc::new(Engine::open(&bundle, &key, now).unwrap());
    let ctx = PageContext {
        product: Some("SKU-00001".into()),
        ..PageContext::new(engine.visit(Visitor {
            now,
            ..Visitor::default()
        }))
    };

    let rewrite = |every_byte: bool| {
        let mut rw = SlotRewriter::new(Rc::clone(&engine), ctx.clone());
        if every_byte {
            rw = rw.reading_every_byte();
        }
        let mut n = 0;
        for c in page.chunks(CHUNK) {
            n += rw.push(c).len();
        }
        n += rw.finish().0.len();
        std::hint::black_box(n);
    };
    if std::env::args().any(|a| a == "--only-rewrite") {
        // For a profiler: the whole rewrite alone, many times.
        for _ in 0..3_000 {
            rewrite(false);
        }
        return;
    }
    let full = time(|| rewrite(false));
    let tiny = time(|| {
        let mut rw = SlotRewriter::new(Rc::clone(&engine), ctx.clone());
        let n = rw.push(b"<p>tiny</p>\n").len() + rw.finish().0.len();
        std::hint::black_box(n);
    });
    let every_byte = time(|| rewrite(true));
    let scan_only = time(|| {
        let mut regions = SlotRegions::new();
        let mut n = 0;
        for c in page.chunks(CHUNK) {
            regions.feed(c, &mut |_, bytes| n += bytes.len());
        }
        regions.finish(&mut |_, bytes| n += bytes.len());
        std::hint::black_box(n);
    });
    let parse_only = time(|| {
        let mut n = 0usize;
        let settings = Settings::new()
            .append_element_content_handler(element!("[data-p13n-slot]", |_| Ok(())))
            .append_element_content_handler(element!(
                "[data-p13n-slot] template[data-p13n-item]",
                |_| Ok(())
            ))
            .append_element_content_handler(element!("[data-p13n-slot] [data-p13n-items]", |_| Ok(
                ()
            )))
            .append_element_content_handler(element!("[data-p13n-query]", |_| Ok(())))
            .append_element_content_handler(element!("[data-p13n-corrected]", |_| Ok(())))
            .append_element_content_handler(element!("[data-p13n-corrected-query]", |_| Ok(())));
        let mut rw = HtmlRewriter::new(settings, |c: &[u8]| n += c.len());
        for c in page.chunks(CHUNK) {
            rw.write(c).unwrap();
        }
        rw.end().unwrap();
        std::hint::black_box(n);
    });
    let copy_only = time(|| {
        let mut out = Vec::new();
        for c in page.chunks(CHUNK) {
            out.extend_from_slice(c);
        }
        std::hint::black_box(out.len());
    });
    let ranking = time(|| {
        for kind in [
            SlotKind::Home,
            SlotKind::Similar,
            SlotKind::ViewedTogether,
            SlotKind::BoughtTogether,
        ] {
            let mut req = SlotRequest::new(kind);
            req.k = Some(12);
            req.product = Some("SKU-00001".into());
            req.visitor.now = now;
            std::hint::black_box(engine.rank(&req).unwrap().items.len());
        }
    });
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "page {} bytes, {CHUNK}-byte chunks, median of {ROUNDS}, native\n",
        page.len()
    );
    println!("| part | µs |\n| --- | ---: |");
    println!(
        "| whole rewrite (SlotRewriter, 4 slots ranked and rendered) | {:.0} |",
        us(full)
    );
    println!(
        "| the same, lol_html reading every byte (no region scan) | {:.0} |",
        us(every_byte)
    );
    println!(
        "| a 12-byte page with no slot (the rewriter built, fed and ended) | {:.1} |",
        us(tiny)
    );
    println!(
        "| the region scan alone (SlotRegions over the page) | {:.0} |",
        us(scan_only)
    );
    println!(
        "| lol_html alone over every byte, same selectors, empty handlers | {:.0} |",
        us(parse_only)
    );
    println!(
        "| copying the chunks (a pass-through's own work) | {:.0} |",
        us(copy_only)
    );
    println!("| the 4 rankings alone (k = 12) | {:.0} |", us(ranking));
    println!(
        "| the rest (lol_html over the regions, templates, rendering) | {:.0} |",
        us(full) - us(scan_only) - us(ranking)
    );
}
