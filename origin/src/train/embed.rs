//! Product embeddings from behaviour and text, in one space.
//!
//! 1. Behaviour ([`super::behaviour`]): PPMI of session and basket
//!    co-occurrences, factorized, for every product shoppers touched.
//! 2. Text: each product's words (title, brand, category path, attributes,
//!    description), weighted by field, hashed by the engine's
//!    [`TextFeatures`] (the same features the edge computes for queries).
//! 3. The map from text to behaviour ([`super::textmap`]), fitted on the
//!    warm products, places every product's text in the behaviour space.
//! 4. A product's embedding blends its behaviour vector with its mapped
//!    text by evidence: a product seen in many sessions is where shoppers
//!    put it; a new or sparse one borrows from the SKUs its words resemble.
//!
//! A store with too little behaviour to learn a map keeps plain text
//! similarity (the random projection) for every product.

use firstpaint_contracts::Product;
use firstpaint_engine::text::features::{words, TextFeatures};
use firstpaint_engine::{Embedding, TextMapSection};

use super::behaviour;
use super::sessions::Touch;
use super::textmap::{self, FitReport};

/// A product with this much co-occurrence weight counts as warm (the map
/// is fitted on warm products).
const MIN_EVIDENCE: f32 = 2.0;
/// Evidence at which behaviour and text weigh the same.
const HALF_EVIDENCE: f32 = 5.0;

/// Field weights of the text features.
const TITLE: f32 = 2.0;
const BRAND: f32 = 1.2;
const CATEGORY: f32 = 1.5;
const ATTRIBUTE: f32 = 0.8;
const DESCRIPTION: f32 = 0.5;

/// Every product's vector and the map that put text into their space.
#[derive(Debug, Clone)]
pub struct Embeddings {
    /// Per product, unit length.
    pub vectors: Vec<Embedding>,
    /// Text features -> this space.
    pub text_map: TextMapSection,
    /// How the map was fitted; `None` when the random projection was kept.
    pub fit: Option<FitReport>,
    /// Per product, its behaviour vector (`None` for one never touched).
    pub behaviour: Vec<Option<Embedding>>,
    /// Per product, the co-occurrence weight behind its behaviour vector.
    pub evidence: Vec<f32>,
}

/// Places one product from its `text` features, its own behaviour vector
/// and the `evidence` behind it: behaviour and mapped text blended by
/// evidence, or the mapped text alone where there is no behaviour or no
/// learned map. Full and incremental builds place every product this way.
pub fn place(
    text_map: &TextMapSection,
    text: &[(u32, f32)],
    own: Option<Embedding>,
    evidence: f32,
) -> Embedding {
    let mapped = text_map.project(text);
    match own.filter(|_| text_map.learned) {
        Some(b) => {
            let share = evidence / (evidence + HALF_EVIDENCE);
            let mut v = mapped;
            for (x, y) in v.0.iter_mut().zip(b.0) {
                *x = share * y + (1.0 - share) * *x;
            }
            v.normalized()
        }
        None => mapped,
    }
}

/// The hashed text features of one product, weighted by field.
pub fn text_features(p: &Product) -> Vec<(u32, f32)> {
    let mut f = TextFeatures::default();
    for w in words(&p.title) {
        f.word(&w, TITLE);
    }
    if let Some(b) = &p.brand {
        for w in words(b) {
            f.word(&w, BRAND);
        }
    }
    for c in &p.category {
        for w in words(c) {
            f.word(&w, CATEGORY);
        }
    }
    for v in p.attributes.values() {
        for w in words(v) {
            f.word(&w, ATTRIBUTE);
        }
    }
    for w in words(&p.description) {
        f.word(&w, DESCRIPTION);
    }
    f.finish()
}

/// Embeds `products` from their text, `sessions` and `baskets`.
pub fn build(products: &[Product], sessions: &[Vec<Touch>], baskets: &[Vec<Touch>]) -> Embeddings {
    let texts: Vec<Vec<(u32, f32)>> = products.iter().map(text_features).collect();
    let behaviour = behaviour::build(products.len(), sessions, baskets);
    let warm: Vec<(usize, Embedding)> = behaviour
        .vectors
        .iter()
        .zip(&behaviour.evidence)
        .enumerate()
        .filter_map(|(i, (v, &e))| v.filter(|_| e >= MIN_EVIDENCE).map(|v| (i, v)))
        .collect();
    let (text_map, fit) = textmap::fit(&texts, &warm);
    let vectors = texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let own = behaviour.vectors.get(i).copied().flatten();
            let evidence = behaviour.evidence.get(i).copied().unwrap_or(0.0);
            place(&text_map, text, own, evidence)
        })
        .collect();
    Embeddings {
        vectors,
        text_map,
        fit,
        behaviour: behaviour.vectors,
        evidence: behaviour.evidence,
    }
}
