//! Behaviour embeddings: products placed by what shoppers do with them.
//!
//! Products that share sessions (within a few steps of each other) or
//! baskets co-occur. The co-occurrences become a positive pointwise mutual
//! information matrix (PPMI, with the marginals smoothed by the 0.75 power
//! so rare products are not over-trusted), and its leading eigenvectors,
//! scaled by the square roots of their eigenvalues, are the embeddings
//! (a truncated eigendecomposition of the symmetric PPMI, found by a
//! randomized range finder with power iterations: nalgebra does the QR and
//! the small symmetric eigenproblem). Products nobody touched get none.

use std::collections::HashMap;

use firstpaint_engine::{Embedding, DIM};
use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};

use super::sessions::Touch;

/// Products within this many steps of each other in a session co-occur,
/// with weight 1 / steps.
const WINDOW: usize = 5;
/// Products per session or basket considered (caps quadratic work).
const MAX_ITEMS: usize = 50;
/// Smoothing power of the marginals.
const ALPHA: f64 = 0.75;
/// Extra dimensions of the random range finder, and its power iterations.
const OVERSAMPLE: usize = 10;
const POWER_ITERATIONS: usize = 3;
const SEED: u64 = 11;

/// Behaviour embeddings and how much evidence each rests on.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Per product: its unit embedding, `None` without co-occurrences.
    pub vectors: Vec<Option<Embedding>>,
    /// Per product: its total co-occurrence weight.
    pub evidence: Vec<f32>,
}

/// Embeds `n` products from `sessions` (ordered touches) and `baskets`.
pub fn build(n: usize, sessions: &[Vec<Touch>], baskets: &[Vec<Touch>]) -> Behaviour {
    let pairs = co_occurrences(sessions, baskets);
    // Products with any co-occurrence, densely renumbered.
    let mut active: Vec<u32> = pairs.keys().flat_map(|&(a, b)| [a, b]).collect();
    active.sort_unstable();
    active.dedup();
    active.retain(|&p| (p as usize) < n);
    let mut out = Behaviour {
        vectors: vec![None; n],
        evidence: vec![0.0; n],
    };
    let m = active.len();
    let rank = DIM.min(m.saturating_sub(1));
    if rank == 0 {
        return out;
    }
    let index: HashMap<u32, usize> = active.iter().enumerate().map(|(i, &p)| (p, i)).collect();
    let mut marginal = vec![0.0f64; m];
    for (&(a, b), &w) in &pairs {
        if let (Some(&i), Some(&j)) = (index.get(&a), index.get(&b)) {
            marginal[i] += w;
            marginal[j] += w;
        }
    }
    for (i, &p) in active.iter().enumerate() {
        out.evidence[p as usize] = marginal[i] as f32;
    }
    let ppmi = Sparse::ppmi(&pairs, &index, &marginal);
    let vectors = top_eigenvectors(&ppmi, rank);
    for (i, &p) in active.iter().enumerate() {
        let mut e = [0.0f32; DIM];
        for (d, slot) in e.iter_mut().enumerate().take(rank) {
            *slot = vectors[(i, d)] as f32;
        }
        let e = Embedding(e).normalized();
        if !e.is_zero() {
            out.vectors[p as usize] = Some(e);
        }
    }
    out
}

/// Symmetric co-occurrence weights, keyed (smaller, larger) product.
fn co_occurrences(sessions: &[Vec<Touch>], baskets: &[Vec<Touch>]) -> HashMap<(u32, u32), f64> {
    let mut pairs: HashMap<(u32, u32), f64> = HashMap::new();
    let mut add = |a: u32, b: u32, w: f64| {
        if a != b {
            *pairs.entry((a.min(b), a.max(b))).or_default() += w;
        }
    };
    for s in sessions {
        let mut items: Vec<u32> = s.iter().map(|t| t.product).collect();
        items.dedup();
        items.truncate(MAX_ITEMS);
        for (i, &a) in items.iter().enumerate() {
            for (step, &b) in items.iter().skip(i + 1).take(WINDOW).enumerate() {
                add(a, b, 1.0 / (step + 1) as f64);
            }
        }
    }
    for basket in baskets {
        let mut items: Vec<u32> = basket.iter().map(|t| t.product).collect();
        items.sort_unstable();
        items.dedup();
        items.truncate(MAX_ITEMS);
        for (i, &a) in items.iter().enumerate() {
            for &b in items.iter().skip(i + 1) {
                add(a, b, 1.0);
            }
        }
    }
    pairs
}

/// A symmetric sparse matrix as rows of (column, value).
struct Sparse {
    rows: Vec<Vec<(usize, f64)>>,
}

impl Sparse {
    /// PPMI of the co-occurrence `pairs`: ln(P(a, b) / (Pα(a) Pα(b))),
    /// kept where positive.
    fn ppmi(
        pairs: &HashMap<(u32, u32), f64>,
        index: &HashMap<u32, usize>,
        marginal: &[f64],
    ) -> Sparse {
        let total: f64 = marginal.iter().sum::<f64>() / 2.0;
        let smoothed: Vec<f64> = marginal.iter().map(|m| m.powf(ALPHA)).collect();
        let z: f64 = smoothed.iter().sum();
        let mut rows = vec![Vec::new(); marginal.len()];
        for (&(a, b), &w) in pairs {
            let (Some(&i), Some(&j)) = (index.get(&a), index.get(&b)) else {
                continue;
            };
            let pmi = ((w / total) / ((smoothed[i] / z) * (smoothed[j] / z))).ln();
            if pmi > 0.0 {
                rows[i].push((j, pmi));
                rows[j].push((i, pmi));
            }
        }
        Sparse { rows }
    }

    /// `self * x`.
    fn times(&self, x: &DMatrix<f64>) -> DMatrix<f64> {
        let mut y = DMatrix::zeros(self.rows.len(), x.ncols());
        for (i, row) in self.rows.iter().enumerate() {
            for &(j, v) in row {
                for c in 0..x.ncols() {
                    y[(i, c)] += v * x[(j, c)];
                }
            }
        }
        y
    }
}

/// The `rank` leading eigenvectors of symmetric `m`, each scaled by the
/// square root of its (positive part of the) eigenvalue, as columns.
fn top_eigenvectors(m: &Sparse, rank: usize) -> DMatrix<f64> {
    let n = m.rows.len();
    let k = (rank + OVERSAMPLE).min(n);
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED);
    let omega = DMatrix::from_fn(n, k, |_, _| rng.gen_range(-1.0..1.0));
    let mut q = m.times(&omega).qr().q();
    for _ in 0..POWER_ITERATIONS {
        q = m.times(&q).qr().q();
    }
    // The small problem: B = Qᵀ M Q, symmetric k x k.
    let mq = m.times(&q);
    let b = q.transpose() * &mq;
    let b = (&b + b.transpose()) * 0.5;
    let eig = b.symmetric_eigen();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&x, &y| eig.eigenvalues[y].total_cmp(&eig.eigenvalues[x]));
    let mut out = DMatrix::zeros(n, rank);
    for (d, &e) in order.iter().take(rank).enumerate() {
        let scale = eig.eigenvalues[e].max(0.0).sqrt();
        let v = &q * eig.eigenvectors.column(e);
        for i in 0..n {
            out[(i, d)] = v[i] * scale;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::sessions::views as session;

    #[test]
    fn products_used_together_land_together() {
        // Two groups that never mix: 0-4 and 5-9; product 10 never touched.
        let mut sessions = Vec::new();
        for i in 0..40u32 {
            let base = if i % 2 == 0 { 0 } else { 5 };
            sessions.push(session(&[
                base + i % 5,
                base + (i + 1) % 5,
                base + (i + 3) % 5,
            ]));
        }
        let b = build(11, &sessions, &[]);
        let v = |p: usize| b.vectors[p].expect("touched products have vectors");
        let within = v(0).dot(&v(3));
        let across = v(0).dot(&v(7));
        assert!(within > across + 0.5, "within {within}, across {across}");
        assert!(b.vectors[10].is_none());
        assert_eq!(b.evidence[10], 0.0);
        assert!(b.evidence[0] > 0.0);
    }

    #[test]
    fn nothing_to_learn_from_gives_no_vectors() {
        let b = build(3, &[session(&[1])], &[]);
        assert!(b.vectors.iter().all(Option::is_none));
    }
}
