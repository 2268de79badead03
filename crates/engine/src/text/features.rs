//! Text features: hashed, signed words and character trigrams.
//!
//! The same code runs at the origin (on product text, to learn the map from
//! text into the embedding space, see [`crate::store::text_map`]) and at the edge
//! (on query text, for zero-result rescue), so both see one feature space.
//! Hashing is FNV-1a: stable across platforms.

use crate::order;

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

/// Hash buckets of the text features (a power of two). The learned map
/// has one row per bucket, so this sets its size: 1024 x [`DIM`] floats.
pub const TEXT_BUCKETS: usize = 1024;
/// Weight of a word's character trigrams relative to the word.
const TRIGRAM_WEIGHT: f32 = 0.35;

/// Accumulates a text's hashed, signed features: words, and character
/// trigrams (which let "charger" and "chargers", or a typo, share most of
/// their features).
#[derive(Debug, Clone, Default)]
pub struct TextFeatures {
    acc: Vec<(u32, f32)>,
}

impl TextFeatures {
    /// Adds a word and its character trigrams with `weight`.
    pub fn word(&mut self, word: &str, weight: f32) {
        self.feature(&format!("w:{word}"), weight);
        let padded: Vec<char> = format!("^{word}$").chars().collect();
        for gram in padded.windows(3) {
            let g: String = gram.iter().collect();
            self.feature(&format!("g:{g}"), weight * TRIGRAM_WEIGHT);
        }
    }

    /// Adds one namespaced feature: a bucket, with a hashed sign so that
    /// colliding features tend to cancel rather than add up.
    fn feature(&mut self, feature: &str, weight: f32) {
        let h = fnv1a(feature.as_bytes(), 0);
        let bucket = (h % TEXT_BUCKETS as u64) as u32;
        let sign = if (h >> 32) & 1 == 0 { 1.0 } else { -1.0 };
        self.acc.push((bucket, sign * weight));
    }

    /// The features as (bucket, value), buckets ascending, repeats summed.
    pub fn finish(self) -> Vec<(u32, f32)> {
        // Through the engine's one sort routine (see `order`): wasm size.
        let mut keys: Vec<(u64, u32)> = (0u32..)
            .zip(&self.acc)
            .map(|(i, &(b, _))| (u64::from(b), i))
            .collect();
        order::sort(&mut keys);
        let mut out: Vec<(u32, f32)> = Vec::with_capacity(self.acc.len());
        for (b, v) in order::permute(self.acc, &keys) {
            match out.last_mut() {
                Some((last, sum)) if *last == b => *sum += v,
                _ => out.push((b, v)),
            }
        }
        out.retain(|&(_, v)| v != 0.0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(text: &str) -> Vec<(u32, f32)> {
        let mut f = TextFeatures::default();
        for w in words(text) {
            f.word(&w, 1.0);
        }
        f.finish()
    }

    fn cosine(a: &[(u32, f32)], b: &[(u32, f32)]) -> f32 {
        let dot: f32 = a
            .iter()
            .filter_map(|(i, x)| b.iter().find(|(j, _)| j == i).map(|(_, y)| x * y))
            .sum();
        let norm = |v: &[(u32, f32)]| v.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
        dot / (norm(a) * norm(b))
    }

    #[test]
    fn related_texts_share_more_features_than_unrelated() {
        let a = features("usb c charger fast charging");
        let b = features("fast usb c chargers");
        let c = features("organic green tea loose leaf");
        assert!(cosine(&a, &b) > cosine(&a, &c) + 0.3);
        assert!(a.windows(2).all(|w| w[0].0 < w[1].0), "sorted, merged");
        assert!(a.iter().all(|&(b, _)| (b as usize) < TEXT_BUCKETS));
        assert!(features("").is_empty());
    }
}
