//! Session intent: the top-level category a visit is on a mission for,
//! predicted from its first few events.
//!
//! A multinomial logistic regression, trained at the origin on the store's
//! own sessions, reads hashed features of what the visit has shown so far:
//! how the shopper arrived (channel), the words they searched, the category
//! pages they opened and the categories of the products they viewed (the
//! most recent first). [`features`] is the one function both sides call, so
//! training and prediction see the same inputs. The edge then leans every
//! slot and search towards the predicted category (see
//! [`crate::signals::session::Session::affinity`]): a shopper who arrived from a search for
//! "trail shoes" sees running gear on the home page before viewing anything.

use serde::{Deserialize, Serialize};

pub use crate::store::intent_model::{softmax, IntentSection, INTENT};

use crate::limits::MIN_INTENT_PROBABILITY;
use crate::store::Store;
use crate::text::category_names::resolve_category;
use crate::text::features::fnv1a;
use crate::text::normalize;

/// Products of the visit the model reads, most recent first.
pub const INTENT_PRODUCTS: usize = 3;
/// Search queries of the visit the model reads, most recent first.
pub const INTENT_QUERIES: usize = 3;
/// Category pages of the visit the model reads, most recent first.
pub const INTENT_CATEGORIES: usize = 3;
/// Weight of the n-th most recent product's categories is `DECAY^n`.
const DECAY: f32 = 0.7;
/// Seed of the feature hash (any fixed value; changing it needs a new schema).
const SEED: u64 = 0x001a_7e17;

/// What a visit has shown so far, beyond the products it viewed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntentSignals {
    /// How the shopper arrived (`search`, `social`, `email`, `direct`, ...).
    pub channel: Option<String>,
    /// Searches of the visit, as typed, most recent first.
    pub queries: Vec<String>,
    /// Category pages of the visit (a leaf name or a `Top/Leaf` path), most
    /// recent first.
    pub categories: Vec<String>,
}

impl IntentSignals {
    /// Whether there is nothing beyond viewed products to read.
    pub fn is_empty(&self) -> bool {
        self.channel.is_none() && self.queries.is_empty() && self.categories.is_empty()
    }
}

/// A predicted mission.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Intent {
    /// Top-level category index.
    pub category: u32,
    /// Its name.
    pub name: String,
    /// Its probability under the model.
    pub probability: f32,
}

/// The visit's mission (a top-level category) from the products it
/// viewed (ordinals, most recent first) and its other `signals`, when the
/// model is sure enough ([`MIN_INTENT_PROBABILITY`]): what slots and
/// search lean towards. `None` when the visit has shown nothing, the
/// bundle has no model, or no mission is likely enough.
pub fn predict(store: &Store, viewed: &[u32], signals: &IntentSignals) -> Option<Intent> {
    most_likely(store, viewed, signals).filter(|i| i.probability >= MIN_INTENT_PROBABILITY)
}

/// The model's most likely mission however unsure it is (for
/// evaluation); see [`predict`].
pub fn most_likely(store: &Store, viewed: &[u32], signals: &IntentSignals) -> Option<Intent> {
    let leaves: Vec<u32> = viewed
        .iter()
        .filter_map(|&o| store.product_at(o)?.leaf())
        .collect();
    let features = features(store.categories(), &leaves, signals);
    let (category, probability) = store.intent_model().predict(&features)?;
    Some(Intent {
        category,
        name: store.category_name(category).to_owned(),
        probability,
    })
}

/// The hashed features of a visit: the leaf categories of the products it
/// viewed (`viewed_leaves`, most recent first) and its other `signals`, as
/// (feature id, value) pairs. Category names are resolved against
/// `categories` (paths by index); unknown ones still count by name.
pub fn features(
    categories: &[String],
    viewed_leaves: &[u32],
    signals: &IntentSignals,
) -> Vec<(u32, f32)> {
    let mut out = Vec::new();
    if let Some(channel) = &signals.channel {
        push(&mut out, "ch", &channel.to_ascii_lowercase(), 1.0);
    }
    for query in signals.queries.iter().take(INTENT_QUERIES) {
        let terms = normalize::terms(query);
        let value = 1.0 / (terms.len().max(1) as f32).sqrt();
        for term in &terms {
            push(&mut out, "q", term, value);
        }
    }
    let mut weight = 1.0;
    for name in signals.categories.iter().take(INTENT_CATEGORIES) {
        match resolve_category(categories, name) {
            Some(c) => category(&mut out, categories, c, weight),
            None => push(&mut out, "leaf", &name.to_lowercase(), weight),
        }
        weight *= DECAY;
    }
    let mut weight = 1.0;
    for &leaf in viewed_leaves.iter().take(INTENT_PRODUCTS) {
        category(&mut out, categories, leaf, weight);
        weight *= DECAY;
    }
    out
}

/// Features of category `c`: its leaf name and its top-level name.
fn category(out: &mut Vec<(u32, f32)>, categories: &[String], c: u32, weight: f32) {
    let Some(path) = categories.get(c as usize) else {
        return;
    };
    let lower = path.to_lowercase();
    let top = lower.split('/').next().unwrap_or_default();
    let leaf = lower.rsplit('/').next().unwrap_or_default();
    push(out, "leaf", leaf, weight);
    push(out, "top", top, weight);
}

/// Adds feature `kind:value`, summing repeats.
fn push(out: &mut Vec<(u32, f32)>, kind: &str, value: &str, weight: f32) {
    let seed = fnv1a(kind.as_bytes(), SEED);
    let id = (fnv1a(value.as_bytes(), seed) >> 32) as u32;
    match out.iter_mut().find(|(f, _)| *f == id) {
        Some((_, w)) => *w += weight,
        None => out.push((id, weight)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Vec<String> {
        vec!["Sports".into(), "Sports/Running".into()]
    }

    #[test]
    fn a_leaf_name_and_its_path_give_the_same_features() {
        let c = catalog();
        let by_leaf = IntentSignals {
            categories: vec!["running".into()],
            ..IntentSignals::default()
        };
        let by_path = IntentSignals {
            categories: vec!["Sports/Running".into()],
            ..IntentSignals::default()
        };
        assert_eq!(features(&c, &[], &by_leaf), features(&c, &[], &by_path));
        // A viewed product of that leaf (category 1) reads the same.
        assert_eq!(
            features(&c, &[1], &IntentSignals::default()),
            features(&c, &[], &by_path)
        );
    }
}
