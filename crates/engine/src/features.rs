//! Text features: hashed words and character trigrams projected into the
//! embedding space.
//!
//! The same function runs at the origin (to embed products) and at the edge
//! (to embed queries for zero-result rescue), so both land in one space. Each
//! feature is hashed (FNV-1a, stable across platforms) to a few signed
//! dimensions: a sparse random projection of the bag of features.

use crate::embedding::{Embedding, DIM};

/// How many signed dimensions each feature touches.
const SPREAD: usize = 4;

/// Lower-cased alphanumeric words of `text`.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// FNV-1a, 64-bit: stable, fast, and the same on every target.
pub fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325_u64 ^ seed;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Accumulates weighted text features into a vector.
#[derive(Debug, Clone)]
pub struct TextProjector {
    acc: [f32; DIM],
}

impl Default for TextProjector {
    fn default() -> Self {
        Self { acc: [0.0; DIM] }
    }
}

impl TextProjector {
    /// Adds one feature (already namespaced, e.g. `w:phone`) with `weight`.
    pub fn feature(&mut self, feature: &str, weight: f32) {
        let mut h = fnv1a(feature.as_bytes(), 0);
        for _ in 0..SPREAD {
            let dim = (h % DIM as u64) as usize;
            let sign = if (h >> 32) & 1 == 0 { 1.0 } else { -1.0 };
            if let Some(slot) = self.acc.get_mut(dim) {
                *slot += sign * weight;
            }
            h = fnv1a(&h.to_le_bytes(), 0x9e37_79b9);
        }
    }

    /// Adds a word and its character trigrams (which let "charger" and
    /// "chargers", or a typo, land near each other).
    pub fn word(&mut self, word: &str, weight: f32) {
        self.feature(&format!("w:{word}"), weight);
        let padded: Vec<char> = format!("^{word}$").chars().collect();
        let trigram_weight = weight * 0.35;
        for gram in padded.windows(3) {
            let g: String = gram.iter().collect();
            self.feature(&format!("g:{g}"), trigram_weight);
        }
    }

    /// The unit vector of everything added.
    pub fn finish(self) -> Embedding {
        Embedding(self.acc).normalized()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embed(text: &str) -> Embedding {
        let mut p = TextProjector::default();
        for w in words(text) {
            p.word(&w, 1.0);
        }
        p.finish()
    }

    #[test]
    fn related_texts_are_closer_than_unrelated() {
        let a = embed("usb c charger fast charging");
        let b = embed("fast usb c chargers");
        let c = embed("organic green tea loose leaf");
        assert!(
            a.dot(&b) > a.dot(&c) + 0.3,
            "{} vs {}",
            a.dot(&b),
            a.dot(&c)
        );
        assert!((a.dot(&a) - 1.0).abs() < 1e-5);
        assert!(embed("").is_zero());
    }
}
