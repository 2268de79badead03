//! Product embeddings: small unit vectors compared by cosine distance.

use serde::{Deserialize, Serialize};

/// Dimensions of every embedding. Small on purpose: the bundle must fit one
/// KV value and a rank call must cost microseconds.
pub const DIM: usize = 32;

/// A unit-length vector in the shared product space.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Embedding(pub [f32; DIM]);

impl Embedding {
    /// The zero vector (no information).
    pub const ZERO: Embedding = Embedding([0.0; DIM]);

    /// Dot product; equals cosine similarity for unit vectors.
    pub fn dot(&self, other: &Embedding) -> f32 {
        self.0.iter().zip(other.0.iter()).map(|(a, b)| a * b).sum()
    }

    /// Scales to unit length; a (near-)zero vector stays zero.
    pub fn normalized(mut self) -> Embedding {
        let norm = self.dot(&self).sqrt();
        if norm > 1e-9 {
            for x in &mut self.0 {
                *x /= norm;
            }
        } else {
            self = Embedding::ZERO;
        }
        self
    }

    /// Adds `weight * other` to `self`.
    pub fn add_scaled(&mut self, other: &Embedding, weight: f32) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a += weight * b;
        }
    }

    /// Whether every component is zero.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|x| *x == 0.0)
    }
}

impl instant_distance::Point for Embedding {
    fn distance(&self, other: &Self) -> f32 {
        // Cosine distance for unit vectors, clamped against rounding.
        (1.0 - self.dot(other)).max(0.0)
    }
}
