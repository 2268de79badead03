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

/// An embedding as the bundle stores it: 8-bit components (the largest
/// magnitude at 127) and one scale that makes the vector unit length (36
/// bytes instead of 128). The round trip changes a cosine by well under
/// 0.01, and the dot product of two is exactly (to float rounding) the
/// cosine of what they stand for: with the largest magnitude / 127 as the
/// scale, each vector's length strays by up to ~0.5% and the error ranks
/// near ties wrongly (recall@10 of an exact scan of the 8-bit vectors
/// against their cosine: 0.977 on the structured 100k store).
///
/// Encoded as a tuple of the 32 components and the scale, by loops rather
/// than serde's unrolled array code (wasm size).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantized {
    /// Components divided by `scale`, times 127, rounded.
    pub q: [i8; DIM],
    /// One over the length of `q`, so `q x scale` has length 1 (0 for the
    /// zero vector).
    pub scale: f32,
}

impl Quantized {
    /// Quantizes `e`.
    pub fn new(e: &Embedding) -> Self {
        let max = e.0.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        if max <= 0.0 {
            return Self {
                q: [0; DIM],
                scale: 0.0,
            };
        }
        let step = max / 127.0;
        let q = e.0.map(|x| (x / step).round().clamp(-127.0, 127.0) as i8);
        // Exact in i32 (at most 32 x 127^2).
        let squares: i32 = q.iter().map(|&x| i32::from(x) * i32::from(x)).sum();
        let scale = if squares > 0 {
            1.0 / (squares as f32).sqrt()
        } else {
            0.0
        };
        Self { q, scale }
    }

    /// Back to floats, at unit length.
    pub fn embedding(&self) -> Embedding {
        Embedding(self.q.map(|x| f32::from(x) * self.scale)).normalized()
    }

    /// Approximate dot product of the two vectors.
    pub fn dot(&self, other: &Quantized) -> f32 {
        let sum: i32 = self
            .q
            .iter()
            .zip(other.q.iter())
            .map(|(&a, &b)| i32::from(a) * i32::from(b))
            .sum();
        sum as f32 * self.scale * other.scale
    }
}

impl Serialize for Quantized {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut t = serializer.serialize_tuple(DIM + 1)?;
        for x in &self.q {
            t.serialize_element(x)?;
        }
        t.serialize_element(&self.scale)?;
        t.end()
    }
}

impl<'de> Deserialize<'de> for Quantized {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Quantized;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{DIM} components and a scale")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Quantized, A::Error> {
                let missing = |i| serde::de::Error::invalid_length(i, &self);
                let mut q = [0i8; DIM];
                for (i, x) in q.iter_mut().enumerate() {
                    *x = seq.next_element()?.ok_or_else(|| missing(i))?;
                }
                let scale = seq.next_element()?.ok_or_else(|| missing(DIM))?;
                Ok(Quantized { q, scale })
            }
        }
        deserializer.deserialize_tuple(DIM + 1, Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantizing_keeps_cosines_to_within_a_hundredth() {
        let mut state = 12345u64;
        let mut random = || {
            let mut e = [0.0f32; DIM];
            for x in &mut e {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                *x = ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5;
            }
            Embedding(e).normalized()
        };
        for _ in 0..200 {
            let (a, b) = (random(), random());
            let (qa, qb) = (Quantized::new(&a), Quantized::new(&b));
            assert!((qa.dot(&qb) - a.dot(&b)).abs() < 0.01);
            assert!((qa.embedding().dot(&a) - 1.0).abs() < 0.001);
        }
        let zero = Quantized::new(&Embedding::ZERO);
        assert!(zero.embedding().is_zero());
    }

    #[test]
    fn encodes_as_the_components_then_the_scale() {
        use firstpaint_bundle::{codec, Tag};
        let mut e = [0.0f32; DIM];
        e[0] = 1.0;
        e[5] = -0.5;
        let q = Quantized::new(&Embedding(e));
        let bytes = codec::encode(Tag(*b"TEST"), &q).expect("encodes");
        assert_eq!(
            bytes.len(),
            DIM + 4,
            "one byte a component, four for the scale"
        );
        let back: Quantized = codec::decode(Tag(*b"TEST"), &bytes).expect("decodes");
        assert_eq!(back, q);
        assert!(codec::decode::<Quantized>(Tag(*b"TEST"), &bytes[..DIM]).is_err());
    }
}
