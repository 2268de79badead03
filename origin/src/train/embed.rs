//! Product embeddings from catalog text, smoothed by behaviour.
//!
//! 1. Text: each product's words (title, brand, category path, attributes,
//!    description), weighted by field and by inverse document frequency,
//!    go through the engine's [`TextProjector`] (hashed words and trigrams),
//!    the same projection the edge uses for query text.
//! 2. Behaviour: each product is pulled towards the text vectors of the
//!    products it is viewed together with, so "bought with phones" lands near
//!    phones even when the words differ. Products without co-views (new or
//!    cold ones) keep their text vector: they borrow from similar SKUs
//!    through their words.

use std::collections::HashMap;

use firstpaint_contracts::Product;
use firstpaint_engine::features::{words, TextProjector};
use firstpaint_engine::{CoViewSection, Embedding};

/// How far co-views pull a product, relative to its own text.
const BEHAVIOUR_WEIGHT: f32 = 0.6;

/// Field weights of the text features.
const TITLE: f32 = 2.0;
const BRAND: f32 = 1.2;
const CATEGORY: f32 = 1.5;
const ATTRIBUTE: f32 = 0.8;
const DESCRIPTION: f32 = 0.5;

/// The text of one product as (feature word, field weight) pairs.
fn fields(p: &Product) -> Vec<(String, f32)> {
    let mut out: Vec<(String, f32)> = Vec::new();
    out.extend(words(&p.title).map(|w| (w, TITLE)));
    if let Some(b) = &p.brand {
        out.extend(words(b).map(|w| (w, BRAND)));
    }
    for c in &p.category {
        out.extend(words(c).map(|w| (w, CATEGORY)));
    }
    for v in p.attributes.values() {
        out.extend(words(v).map(|w| (w, ATTRIBUTE)));
    }
    out.extend(words(&p.description).map(|w| (w, DESCRIPTION)));
    out
}

/// Text-only embeddings of `products`, IDF-weighted over the catalog.
pub fn text_embeddings(products: &[Product]) -> Vec<Embedding> {
    let texts: Vec<Vec<(String, f32)>> = products.iter().map(fields).collect();
    let mut df: HashMap<&str, u32> = HashMap::new();
    for t in &texts {
        let mut seen: Vec<&str> = t.iter().map(|(w, _)| w.as_str()).collect();
        seen.sort_unstable();
        seen.dedup();
        for w in seen {
            *df.entry(w).or_default() += 1;
        }
    }
    let n = products.len().max(1) as f32;
    texts
        .iter()
        .map(|t| {
            let mut proj = TextProjector::default();
            for (w, field) in t {
                let idf = (1.0 + n / df.get(w.as_str()).copied().unwrap_or(1) as f32).ln();
                proj.word(w, field * idf);
            }
            proj.finish()
        })
        .collect()
}

/// Pulls each text vector towards its viewed-together neighbours.
pub fn smooth(text: &[Embedding], co_view: &CoViewSection) -> Vec<Embedding> {
    text.iter()
        .enumerate()
        .map(|(i, own)| {
            let row: Vec<(u32, f32)> = co_view.row(i as u32).collect();
            let total: f32 = row.iter().map(|(_, s)| s).sum();
            if total <= 0.0 {
                return *own;
            }
            let mut v = *own;
            for (j, s) in row {
                if let Some(e) = text.get(j as usize) {
                    v.add_scaled(e, BEHAVIOUR_WEIGHT * s / total);
                }
            }
            v.normalized()
        })
        .collect()
}
