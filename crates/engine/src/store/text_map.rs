//! The map from text into the product embedding space.
//!
//! Product embeddings live in a space learned from behaviour (what shoppers
//! view and buy together; see the origin's `train::behaviour`). A product
//! nobody has touched yet, or a search query, has only words: this map
//! takes the hashed text features of [`crate::text::features::TextFeatures`]
//! (scaled by each bucket's inverse document frequency) to a vector in that
//! same space. The origin fits it by ridge regression on the products that
//! have both text and behaviour, so a new SKU lands beside the SKUs its
//! words resemble *as shoppers treat them*. Without behaviour to learn
//! from, the origin stores a fixed sparse random projection instead (plain
//! text similarity).

use serde::{Deserialize, Serialize};

use crate::embedding::{Embedding, DIM};
use crate::text::features::{fnv1a, TEXT_BUCKETS};

/// How many signed dimensions each bucket touches in the random projection.
const SPREAD: usize = 4;

/// The text map as the bundle carries it (section `TXMP`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextMapSection {
    /// Per bucket: its inverse document frequency over the catalog.
    pub idf: Vec<f32>,
    /// `weights[b * DIM + d]`: bucket `b`'s contribution to dimension `d`.
    pub weights: Vec<f32>,
    /// Whether the weights were learned from behaviour (`false`: the random
    /// projection).
    pub learned: bool,
}

impl TextMapSection {
    /// The untrained map: every bucket's idf 1 and a sparse random signed
    /// projection (each bucket adds ±1 to [`SPREAD`] hashed dimensions).
    pub fn random() -> Self {
        let mut weights = vec![0.0; TEXT_BUCKETS * DIM];
        for b in 0..TEXT_BUCKETS {
            let mut h = fnv1a(&(b as u64).to_le_bytes(), 0x7e47);
            for _ in 0..SPREAD {
                let d = (h % DIM as u64) as usize;
                let sign = if (h >> 32) & 1 == 0 { 1.0 } else { -1.0 };
                if let Some(w) = weights.get_mut(b * DIM + d) {
                    *w += sign;
                }
                h = fnv1a(&h.to_le_bytes(), 0x9e37_79b9);
            }
        }
        Self {
            idf: vec![1.0; TEXT_BUCKETS],
            weights,
            learned: false,
        }
    }

    /// Checks the array sizes.
    pub fn check(&self) -> Result<(), String> {
        if self.idf.len() != TEXT_BUCKETS || self.weights.len() != TEXT_BUCKETS * DIM {
            return Err(format!(
                "{} idf values and {} weights for {TEXT_BUCKETS} buckets of {DIM} dimensions",
                self.idf.len(),
                self.weights.len()
            ));
        }
        Ok(())
    }

    /// `features` scaled by the buckets' idf and to unit length: the input
    /// the map was fitted on.
    pub fn input(&self, features: &[(u32, f32)]) -> Vec<(u32, f32)> {
        let mut x: Vec<(u32, f32)> = features
            .iter()
            .map(|&(b, v)| (b, v * self.idf.get(b as usize).copied().unwrap_or(0.0)))
            .collect();
        let norm = x.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 1e-9 {
            for (_, v) in &mut x {
                *v /= norm;
            }
        }
        x
    }

    /// The unit vector in the embedding space for text `features` (zero
    /// when there are none).
    pub fn project(&self, features: &[(u32, f32)]) -> Embedding {
        let mut out = [0.0f32; DIM];
        for (b, v) in self.input(features) {
            let start = b as usize * DIM;
            let row = self.weights.get(start..start + DIM).unwrap_or_default();
            for (o, w) in out.iter_mut().zip(row) {
                *o += v * w;
            }
        }
        Embedding(out).normalized()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::features::{words, TextFeatures};

    fn embed(map: &TextMapSection, text: &str) -> Embedding {
        let mut f = TextFeatures::default();
        for w in words(text) {
            f.word(&w, 1.0);
        }
        map.project(&f.finish())
    }

    #[test]
    fn the_random_map_keeps_text_similarity() {
        let map = TextMapSection::random();
        assert_eq!(map.check(), Ok(()));
        let a = embed(&map, "usb c charger fast charging");
        let b = embed(&map, "fast usb c chargers");
        let c = embed(&map, "organic green tea loose leaf");
        assert!(
            a.dot(&b) > a.dot(&c) + 0.3,
            "{} vs {}",
            a.dot(&b),
            a.dot(&c)
        );
        assert!((a.dot(&a) - 1.0).abs() < 1e-5);
        assert!(embed(&map, "").is_zero());
    }

    #[test]
    fn a_map_of_the_wrong_size_is_refused() {
        let mut map = TextMapSection::random();
        map.weights.pop();
        assert!(map.check().is_err());
    }
}
