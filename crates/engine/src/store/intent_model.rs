//! The session-intent model as the bundle carries it (section `INTN`):
//! a multinomial logistic regression over hashed visit features (see
//! [`crate::signals::intent`] for the features and what the edge does with
//! a prediction).

use firstpaint_bundle::Tag;
use serde::{Deserialize, Serialize};

/// Tag of [`IntentSection`].
pub const INTENT: Tag = Tag(*b"INTN");

/// The trained model, as the bundle carries it (section `INTN`).
///
/// Only the hashed features seen in training are stored, sorted, with one
/// weight per class each: a few thousand floats for a store, not a dense
/// hash-space matrix.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IntentSection {
    /// Class -> top-level category index.
    pub classes: Vec<u32>,
    /// One bias per class.
    pub bias: Vec<f32>,
    /// Hashed feature ids with weights, ascending.
    pub features: Vec<u32>,
    /// `weights[f * classes.len() + c]`: feature `features[f]`, class `c`.
    pub weights: Vec<f32>,
}

impl IntentSection {
    /// Checks that the arrays agree, naming the first that does not.
    pub fn check(&self, categories: usize) -> Result<(), String> {
        let c = self.classes.len();
        if self.bias.len() != c {
            return Err(format!("{} biases for {c} classes", self.bias.len()));
        }
        if self.weights.len() != self.features.len() * c {
            return Err(format!(
                "{} weights for {} features x {c} classes",
                self.weights.len(),
                self.features.len()
            ));
        }
        if let Some(bad) = self.classes.iter().find(|&&k| k as usize >= categories) {
            return Err(format!("class names category {bad} of {categories}"));
        }
        if !self.features.is_sorted_by(|a, b| a < b) {
            return Err("feature ids are not strictly ascending".into());
        }
        Ok(())
    }

    /// Class probabilities for hashed `features` (a softmax over the
    /// classes); empty for a model without classes.
    pub fn probabilities(&self, features: &[(u32, f32)]) -> Vec<f32> {
        let c = self.classes.len();
        let mut logits = self.bias.clone();
        for &(id, value) in features {
            let Ok(f) = self.features.binary_search(&id) else {
                continue;
            };
            let row = self.weights.get(f * c..(f + 1) * c).unwrap_or_default();
            for (l, w) in logits.iter_mut().zip(row) {
                *l += value * w;
            }
        }
        softmax(&mut logits);
        logits
    }

    /// The most probable mission for `features` as (top-level category,
    /// probability), or `None` when there are no features (the model would
    /// only repeat the store's majority).
    pub fn predict(&self, features: &[(u32, f32)]) -> Option<(u32, f32)> {
        if features.is_empty() {
            return None;
        }
        let probabilities = self.probabilities(features);
        let (best, &probability) = probabilities
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))?;
        Some((*self.classes.get(best)?, probability))
    }
}

/// Turns logits into probabilities in place (stable against overflow).
pub fn softmax(logits: &mut [f32]) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for l in logits.iter_mut() {
        *l = (*l - max).exp();
        sum += *l;
    }
    if sum > 0.0 {
        for l in logits.iter_mut() {
            *l /= sum;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicts_nothing_without_features_and_checks_its_arrays() {
        let model = IntentSection {
            classes: vec![0],
            bias: vec![0.0],
            features: vec![1, 5],
            weights: vec![0.5, 0.25],
        };
        assert_eq!(model.check(2), Ok(()));
        assert_eq!(model.predict(&[]), None);
        let got = model.predict(&[(5, 1.0)]).map(|(c, _)| c);
        assert_eq!(got, Some(0));
        let broken = IntentSection {
            weights: vec![0.5],
            ..model.clone()
        };
        assert!(broken.check(2).is_err());
        let unsorted = IntentSection {
            features: vec![5, 1],
            ..model
        };
        assert!(unsorted.check(2).is_err());
    }

    #[test]
    fn softmax_sums_to_one_even_for_huge_logits() {
        let mut l = vec![1e30, 0.0, -1e30];
        softmax(&mut l);
        assert!((l.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(l.iter().all(|p| p.is_finite()));
    }
}
