//! `firstpaint site`: the fixtures store's origin, as static files.
//!
//! A real storefront renders its own pages; for `wrangler dev` this writes
//! the fixtures' pages as static assets: every page of `--pages` is copied,
//! `product.html` is rendered once per product into `products/<id>.html`
//! with the product's `{{field}}`s filled (escaped), and `category.html`
//! once per category into `categories/<slug>.html` (the edge's category
//! page address) with `{{category}}` (its name) and `{{listing}}` (a card
//! per product in it). Slots in the pages are left for the edge to fill;
//! their fallbacks may hold `{{same_category:N}}`, the storefront's own
//! non-personal cards (see [`PICKS`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use firstpaint_engine::text::category_names::category_slug;
use firstpaint_engine::{escape_into, Engine, Template};

/// Arguments of `site`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bundle whose catalog to render, and its key.
    #[command(flatten)]
    signed: super::SignedBundle,
    /// Directory with the storefront pages (product.html is the per-product page).
    #[arg(long)]
    pages: PathBuf,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
}

/// Writes the site.
pub fn run(args: Args) -> anyhow::Result<()> {
    let engine = args.signed.engine()?;
    let products_dir = args.out.join("products");
    std::fs::create_dir_all(&products_dir)
        .with_context(|| format!("{}: failed to create", products_dir.display()))?;
    let entries = std::fs::read_dir(&args.pages)
        .with_context(|| format!("{}: failed to list", args.pages.display()))?;
    for entry in entries {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name == "category.html" {
            write_category_pages(&engine, &path, &args.out)?;
        } else if name == "product.html" {
            let page = std::fs::read_to_string(&path)
                .with_context(|| format!("{}: failed to read", path.display()))?;
            let parts =
                page_parts(&page).with_context(|| format!("{}: bad template", path.display()))?;
            let card = Template::parse(LISTING_CARD)?;
            let by_category = products_by_category(&engine);
            for p in engine.store().products() {
                let mut html = String::new();
                for part in &parts {
                    match part {
                        Part::Fill(t) => t.render(p, 1, "page", &mut html),
                        Part::Keep(s) => html.push_str(s),
                        Part::Picks(n) => {
                            let peers = p
                                .category_path()
                                .last()
                                .and_then(|leaf| by_category.get(*leaf as usize))
                                .map_or(&[][..], Vec::as_slice);
                            let others = peers.iter().filter(|o| o.id() != p.id());
                            for (i, o) in others.take(*n).enumerate() {
                                card.render(*o, i + 1, "fallback", &mut html);
                            }
                        }
                    }
                }
                let target = products_dir.join(format!("{}.html", p.id()));
                std::fs::write(&target, html)
                    .with_context(|| format!("{}: failed to write", target.display()))?;
            }
        } else if path.is_file() {
            refuse_picks_outside_a_category(&path)?;
            std::fs::copy(&path, args.out.join(name))
                .with_context(|| format!("{}: failed to copy", path.display()))?;
        }
    }
    write_placeholder_images(&engine, &args.out)?;
    println!(
        "wrote {} product and {} category pages to {}",
        engine.store().products().len(),
        engine.store().categories().len(),
        args.out.display()
    );
    Ok(())
}

/// Where a slot's fallback holds the storefront's own cards:
/// `{{same_category:N}}` is N products of the page's category (a product
/// page's leaf category, without the product itself), in catalog order,
/// in the listing's card. A real storefront renders such non-personal
/// picks itself; with them the page a shopper gets with personalization
/// off (the kill switch, a failure) has the same cards and image boxes as
/// a personalized one, which makes it the fair first-paint baseline.
const PICKS: &str = "{{same_category:";

/// A product card of a category page's listing.
const LISTING_CARD: &str = "<article class=\"card\" data-product=\"{{id}}\"><a href=\"{{url}}\"><img src=\"{{image}}\" alt=\"{{image_alt}}\" width=\"240\" height=\"180\"><h3>{{title}}</h3><span class=\"price\">{{price}}</span></a></article>\n";

/// Renders `page` (category.html) once per category of the catalog.
fn write_category_pages(
    engine: &Engine,
    page: &std::path::Path,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let source = std::fs::read_to_string(page)
        .with_context(|| format!("{}: failed to read", page.display()))?;
    let card = Template::parse(LISTING_CARD)?;
    let by_category = products_by_category(engine);
    for (members, path) in by_category.iter().zip(engine.store().categories()) {
        let mut listing = String::new();
        for (i, p) in members.iter().enumerate() {
            card.render(*p, i + 1, "listing", &mut listing);
        }
        let mut name = String::new();
        escape_into(path.rsplit('/').next().unwrap_or(path), &mut name);
        let mut html = String::new();
        for piece in
            split_picks(&source).with_context(|| format!("{}: bad {PICKS}N}}}}", page.display()))?
        {
            match piece {
                Piece::Text(text) => html.push_str(
                    &text
                        .replace("{{category}}", &name)
                        .replace("{{listing}}", &listing),
                ),
                Piece::Picks(n) => {
                    for (i, p) in members.iter().take(n).enumerate() {
                        card.render(*p, i + 1, "fallback", &mut html);
                    }
                }
            }
        }
        let target = out
            .join("categories")
            .join(format!("{}.html", category_slug(path)));
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: failed to create", dir.display()))?;
        }
        std::fs::write(&target, html)
            .with_context(|| format!("{}: failed to write", target.display()))?;
    }
    Ok(())
}

/// A page copied as it is cannot hold [`PICKS`]: it has no category to
/// pick from, and the placeholder would reach shoppers as text.
fn refuse_picks_outside_a_category(path: &std::path::Path) -> anyhow::Result<()> {
    if path.extension().is_some_and(|e| e == "html") {
        let page =
            std::fs::read(path).with_context(|| format!("{}: failed to read", path.display()))?;
        if page.windows(PICKS.len()).any(|w| w == PICKS.as_bytes()) {
            anyhow::bail!(
                "{}: {PICKS}N}}}} fills only product.html and category.html, the pages with a category",
                path.display()
            );
        }
    }
    Ok(())
}

/// The products of each category (by category index, a product under
/// every category of its path), in catalog order.
fn products_by_category(engine: &Engine) -> Vec<Vec<firstpaint_engine::Product<'_>>> {
    let mut by_category = vec![Vec::new(); engine.store().categories().len()];
    for p in engine.store().products() {
        for &c in p.category_path() {
            if let Some(members) = by_category.get_mut(c as usize) {
                members.push(p);
            }
        }
    }
    by_category
}

/// A piece of a page around its [`PICKS`] placeholders.
enum Piece<'a> {
    Text(&'a str),
    Picks(usize),
}

/// `page` cut at its `{{same_category:N}}` placeholders.
fn split_picks(page: &str) -> anyhow::Result<Vec<Piece<'_>>> {
    let mut pieces = Vec::new();
    let mut rest = page;
    while let Some(open) = rest.find(PICKS) {
        let (before, tail) = rest.split_at(open);
        pieces.push(Piece::Text(before));
        let tail = &tail[PICKS.len()..];
        let close = tail.find("}}").context("no closing }}")?;
        let n = tail[..close]
            .trim()
            .parse()
            .with_context(|| format!("{:?} is not a number of cards", &tail[..close]))?;
        pieces.push(Piece::Picks(n));
        rest = &tail[close + 2..];
    }
    pieces.push(Piece::Text(rest));
    Ok(pieces)
}

/// A piece of the product page: filled with the product, kept verbatim
/// (the slots' `<template>` elements, whose placeholders are the edge's),
/// or the storefront's own cards ([`PICKS`]).
enum Part<'a> {
    Fill(Template),
    Keep(&'a str),
    Picks(usize),
}

fn page_parts(page: &str) -> anyhow::Result<Vec<Part<'_>>> {
    let mut parts = Vec::new();
    let mut rest = page;
    while let Some(open) = rest.find("<template") {
        let (before, tail) = rest.split_at(open);
        fill_parts(before, &mut parts)?;
        let close = tail
            .find("</template>")
            .context("<template> without </template>")?
            + "</template>".len();
        let (kept, after) = tail.split_at(close);
        parts.push(Part::Keep(kept));
        rest = after;
    }
    fill_parts(rest, &mut parts)?;
    Ok(parts)
}

/// The parts of a stretch of the product page outside `<template>`s.
fn fill_parts<'a>(text: &'a str, parts: &mut Vec<Part<'a>>) -> anyhow::Result<()> {
    for piece in split_picks(text)? {
        parts.push(match piece {
            Piece::Text(text) => Part::Fill(Template::parse(text)?),
            Piece::Picks(n) => Part::Picks(n),
        });
    }
    Ok(())
}

/// One labelled SVG per image path under `/img/` that the catalog uses,
/// labelled with the title of the first product that shows it.
fn write_placeholder_images(engine: &Engine, out: &std::path::Path) -> anyhow::Result<()> {
    let mut images: BTreeMap<String, String> = BTreeMap::new();
    for p in engine.store().products() {
        let Some(name) = p.image().strip_prefix("/img/").map(str::to_owned) else {
            continue;
        };
        if name.ends_with(".svg") && !name.contains('/') && !name.contains("..") {
            images.entry(name).or_insert_with(|| p.title().into_owned());
        }
    }
    let dir = out.join("img");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("{}: failed to create", dir.display()))?;
    for (name, title) in images {
        let mut label = String::new();
        escape_into(&title, &mut label);
        let svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"240\" height=\"180\" viewBox=\"0 0 240 180\"><rect width=\"240\" height=\"180\" fill=\"#e8eef3\"/><text x=\"120\" y=\"95\" font-family=\"sans-serif\" font-size=\"11\" text-anchor=\"middle\" fill=\"#345\">{label}</text></svg>"
        );
        let target = dir.join(&name);
        std::fs::write(&target, svg)
            .with_context(|| format!("{}: failed to write", target.display()))?;
    }
    Ok(())
}
