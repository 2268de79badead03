//! Fitting the map from text features into the behaviour space.
//!
//! Ridge regression, W = (XᵀX + λI)⁻¹ XᵀY, where the rows of X are warm
//! products' text features (idf-scaled, unit length) and the rows of Y their
//! behaviour embeddings. λ is chosen on a tenth of the warm products held
//! out (the one whose mapped vectors agree best, by mean cosine, with the
//! held-out products' behaviour), then the map is refitted on all of them.
//! nalgebra's Cholesky solves the normal equations.

use firstpaint_engine::features::TEXT_BUCKETS;
use firstpaint_engine::{Embedding, TextMapSection, DIM};
use nalgebra::DMatrix;

/// Ridge strengths tried.
const LAMBDAS: [f64; 4] = [0.03, 0.3, 3.0, 30.0];
/// Fewest warm products worth learning from; below it the random
/// projection is kept.
const MIN_WARM: usize = 20;

/// How the fit went, for the build report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FitReport {
    /// Warm products fitted on.
    pub warm: usize,
    /// λ chosen.
    pub lambda: f64,
    /// Mean cosine between mapped text and behaviour on the held-out tenth.
    pub held_out_cosine: f64,
}

/// Per-bucket inverse document frequency of `texts` (hashed features).
pub fn idf(texts: &[Vec<(u32, f32)>]) -> Vec<f32> {
    let mut df = vec![0u32; TEXT_BUCKETS];
    for t in texts {
        for &(b, _) in t {
            if let Some(d) = df.get_mut(b as usize) {
                *d += 1;
            }
        }
    }
    let n = texts.len().max(1) as f32;
    df.iter()
        .map(|&d| (1.0 + n / (1.0 + d as f32)).ln())
        .collect()
}

/// Fits the map on `warm` (product index, behaviour vector) pairs given
/// every product's hashed text features. Too few warm products: the random
/// projection (with the catalog's idf) and no report.
pub fn fit(
    texts: &[Vec<(u32, f32)>],
    warm: &[(usize, Embedding)],
) -> (TextMapSection, Option<FitReport>) {
    let mut map = TextMapSection::random();
    map.idf = idf(texts);
    if warm.len() < MIN_WARM {
        return (map, None);
    }
    let text = |i: usize| texts.get(i).map_or(&[][..], Vec::as_slice);
    let ridge = Ridge::new(warm.iter().map(|&(i, _)| map.input(text(i))), warm);
    // Every tenth warm product is held out to choose λ.
    let (held, train): (Vec<usize>, Vec<usize>) = (0..warm.len()).partition(|k| k % 10 == 9);
    let mut best: Option<FitReport> = None;
    for &lambda in &LAMBDAS {
        let Some(weights) = ridge.solve(&train, lambda) else {
            continue;
        };
        let candidate = TextMapSection {
            idf: map.idf.clone(),
            weights,
            learned: true,
        };
        let cosine = held
            .iter()
            .filter_map(|&k| warm.get(k))
            .map(|(i, behaviour)| f64::from(candidate.project(text(*i)).dot(behaviour)))
            .sum::<f64>()
            / held.len().max(1) as f64;
        if best.as_ref().is_none_or(|b| cosine > b.held_out_cosine) {
            best = Some(FitReport {
                warm: warm.len(),
                lambda,
                held_out_cosine: cosine,
            });
        }
    }
    let all: Vec<usize> = (0..warm.len()).collect();
    match best.and_then(|report| Some((ridge.solve(&all, report.lambda)?, report))) {
        Some((weights, report)) => {
            map.weights = weights;
            map.learned = true;
            (map, Some(report))
        }
        None => (map, None),
    }
}

/// The regression problem over the buckets that occur: buckets no warm
/// product has get zero weights, exactly as the full problem would give.
struct Ridge {
    /// Occurring buckets, ascending; column `c` is bucket `buckets[c]`.
    buckets: Vec<u32>,
    /// Per warm product: (column, input value).
    rows: Vec<Vec<(usize, f64)>>,
    /// Per warm product: its behaviour vector.
    targets: Vec<[f64; DIM]>,
}

impl Ridge {
    fn new(inputs: impl Iterator<Item = Vec<(u32, f32)>>, warm: &[(usize, Embedding)]) -> Self {
        let inputs: Vec<Vec<(u32, f32)>> = inputs.collect();
        let mut buckets: Vec<u32> = inputs.iter().flatten().map(|&(b, _)| b).collect();
        buckets.sort_unstable();
        buckets.dedup();
        let mut column = vec![usize::MAX; TEXT_BUCKETS];
        for (c, &b) in buckets.iter().enumerate() {
            column[b as usize] = c;
        }
        let rows = inputs
            .iter()
            .map(|x| {
                x.iter()
                    .map(|&(b, v)| (column[b as usize], f64::from(v)))
                    .collect()
            })
            .collect();
        let targets = warm.iter().map(|(_, e)| e.0.map(f64::from)).collect();
        Self {
            buckets,
            rows,
            targets,
        }
    }

    /// W = (XᵀX + λI)⁻¹ XᵀY on the warm products `subset`, as the
    /// section's row-major weights; solved in whichever of the primal
    /// (buckets) or dual (products) form is smaller. `None` if Cholesky
    /// fails.
    fn solve(&self, subset: &[usize], lambda: f64) -> Option<Vec<f32>> {
        self.solve_in(subset, lambda, subset.len() <= self.buckets.len())
    }

    /// [`Ridge::solve`] in the dual form or not.
    fn solve_in(&self, subset: &[usize], lambda: f64, dual: bool) -> Option<Vec<f32>> {
        let a = self.buckets.len();
        let n = subset.len();
        let w = if dual {
            // Dual: W = Xᵀ (XXᵀ + λI)⁻¹ Y.
            let mut x = DMatrix::<f64>::zeros(n, a);
            let mut y = DMatrix::<f64>::zeros(n, DIM);
            for (r, &k) in subset.iter().enumerate() {
                for &(c, v) in &self.rows[k] {
                    x[(r, c)] += v;
                }
                for (d, &t) in self.targets[k].iter().enumerate() {
                    y[(r, d)] = t;
                }
            }
            let mut gram = &x * x.transpose();
            for i in 0..n {
                gram[(i, i)] += lambda;
            }
            x.transpose() * gram.cholesky()?.solve(&y)
        } else {
            let mut xtx = DMatrix::<f64>::zeros(a, a);
            let mut xty = DMatrix::<f64>::zeros(a, DIM);
            for &k in subset {
                let row = &self.rows[k];
                for &(i, vi) in row {
                    for &(j, vj) in row {
                        xtx[(i, j)] += vi * vj;
                    }
                    for (d, &t) in self.targets[k].iter().enumerate() {
                        xty[(i, d)] += vi * t;
                    }
                }
            }
            for i in 0..a {
                xtx[(i, i)] += lambda;
            }
            xtx.cholesky()?.solve(&xty)
        };
        let mut out = vec![0.0f32; TEXT_BUCKETS * DIM];
        for (c, &b) in self.buckets.iter().enumerate() {
            for d in 0..DIM {
                out[b as usize * DIM + d] = w[(c, d)] as f32;
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_primal_and_dual_forms_agree() {
        let warm: Vec<(usize, Embedding)> = (0..30)
            .map(|i| {
                let mut e = [0.0f32; DIM];
                e[i % DIM] = 1.0;
                e[(i * 7) % DIM] += 0.5;
                (i, Embedding(e).normalized())
            })
            .collect();
        let inputs: Vec<Vec<(u32, f32)>> = (0..30u32)
            .map(|i| vec![(i % 8, 1.0), ((i * 3) % 8 + 1, 0.5)])
            .collect();
        let ridge = Ridge::new(inputs.into_iter(), &warm);
        for subset in [(0..3).collect::<Vec<_>>(), (0..30).collect()] {
            let dual = ridge.solve_in(&subset, 0.3, true).expect("dual solves");
            let primal = ridge.solve_in(&subset, 0.3, false).expect("primal solves");
            assert!(primal.iter().any(|w| *w != 0.0));
            for (d, p) in dual.iter().zip(&primal) {
                assert!((d - p).abs() < 1e-4, "{d} vs {p}");
            }
        }
    }
}
