//! `firstpaint site`: the fixtures store's origin, as static files.
//!
//! A real storefront renders its own pages; for `wrangler dev` this writes
//! the fixtures' pages as static assets: every page of `--pages` is copied,
//! `product.html` is rendered once per product into `products/<id>.html`
//! with the product's `{{field}}`s filled (escaped), and `category.html`
//! once per category into `categories/<slug>.html` (the edge's category
//! page address) with `{{category}}` (its name) and `{{listing}}` (a card
//! per product in it). Slots in the pages are left for the edge to fill.

use std::collections::BTreeSet;
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
            for p in engine.store().products() {
                let mut html = String::new();
                for part in &parts {
                    match part {
                        Part::Fill(t) => t.render(p, 1, "page", &mut html),
                        Part::Keep(s) => html.push_str(s),
                    }
                }
                let target = products_dir.join(format!("{}.html", p.id()));
                std::fs::write(&target, html)
                    .with_context(|| format!("{}: failed to write", target.display()))?;
            }
        } else if path.is_file() {
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
    for (c, path) in (0u32..).zip(engine.store().categories()) {
        let mut listing = String::new();
        let members = engine
            .store()
            .products()
            .filter(|p| p.category_path().contains(&c));
        for (i, p) in members.enumerate() {
            card.render(p, i + 1, "listing", &mut listing);
        }
        let mut name = String::new();
        escape_into(path.rsplit('/').next().unwrap_or(path), &mut name);
        let html = source
            .replace("{{category}}", &name)
            .replace("{{listing}}", &listing);
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

/// A piece of the product page: filled with the product, or kept verbatim
/// (the slots' `<template>` elements, whose placeholders are the edge's).
enum Part<'a> {
    Fill(Template),
    Keep(&'a str),
}

fn page_parts(page: &str) -> anyhow::Result<Vec<Part<'_>>> {
    let mut parts = Vec::new();
    let mut rest = page;
    while let Some(open) = rest.find("<template") {
        let (before, tail) = rest.split_at(open);
        parts.push(Part::Fill(Template::parse(before)?));
        let close = tail
            .find("</template>")
            .context("<template> without </template>")?
            + "</template>".len();
        let (kept, after) = tail.split_at(close);
        parts.push(Part::Keep(kept));
        rest = after;
    }
    parts.push(Part::Fill(Template::parse(rest)?));
    Ok(parts)
}

/// One labelled SVG per image path under `/img/` that the catalog uses.
fn write_placeholder_images(engine: &Engine, out: &std::path::Path) -> anyhow::Result<()> {
    let images: BTreeSet<String> = engine
        .store()
        .products()
        .filter_map(|p| p.image().strip_prefix("/img/").map(str::to_owned))
        .filter(|name| name.ends_with(".svg") && !name.contains('/') && !name.contains(".."))
        .collect();
    let dir = out.join("img");
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("{}: failed to create", dir.display()))?;
    for name in images {
        let mut label = String::new();
        escape_into(&name.trim_end_matches(".svg").replace('-', " "), &mut label);
        let svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"240\" height=\"180\" viewBox=\"0 0 240 180\"><rect width=\"240\" height=\"180\" fill=\"#e8eef3\"/><text x=\"120\" y=\"95\" font-family=\"sans-serif\" font-size=\"16\" text-anchor=\"middle\" fill=\"#345\">{label}</text></svg>"
        );
        let target = dir.join(&name);
        std::fs::write(&target, svg)
            .with_context(|| format!("{}: failed to write", target.display()))?;
    }
    Ok(())
}
