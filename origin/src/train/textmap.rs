//! Fitting the map from text features into the behaviour space.
//!
//! Ridge regression, W = (XᵀX + λI)⁻¹ XᵀY, where the rows of X are warm
//! products' text features (idf-scaled, unit length) and the rows of Y their
//! behaviour embeddings. λ is chosen on a tenth of the warm products held
//! out (the one whose mapped vectors agree best, by mean cosine, with the
//! held-out products' behaviour), then the map is refitted on all of them.
//! nalgebra's Cholesky solves the normal equations.

use firstpaint_engine::text::features::TEXT_BUCKETS;
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
    // XᵀX does not depend on λ: formed once for the training products, and
    // once more for the held-out ones to make the whole set's.
    let train_normal = ridge.primal(&train).then(|| ridge.normal(&train));
    let mut best: Option<FitReport> = None;
    for &lambda in &LAMBDAS {
        let solved = match &train_normal {
            Some(normal) => ridge.solve_normal(normal, lambda),
            None => ridge.solve_dual(&train, lambda),
        };
        let Some(weights) = solved else {
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
    let solve_all = |lambda: f64| {
        if !ridge.primal(&all) {
            return ridge.solve_dual(&all, lambda);
        }
        let normal = match train_normal {
            Some(train) => train.plus(&ridge.normal(&held)),
            None => ridge.normal(&all),
        };
        ridge.solve_normal(&normal, lambda)
    };
    match best.and_then(|report| Some((solve_all(report.lambda)?, report))) {
        Some((weights, report)) => {
            map.weights = weights;
            map.learned = true;
            (map, Some(report))
        }
        None => (map, None),
    }
}

/// The primal normal equations over some warm products, before λ: XᵀX
/// (buckets x buckets) and XᵀY (buckets x [`DIM`]).
struct Normal {
    xtx: DMatrix<f64>,
    xty: DMatrix<f64>,
}

impl Normal {
    /// The equations over both sets of products.
    fn plus(self, other: &Normal) -> Normal {
        Normal {
            xtx: self.xtx + &other.xtx,
            xty: self.xty + &other.xty,
        }
    }
}

/// The regression problem over the buckets that occur: buckets no warm
/// product has get zero weights, exactly as the full problem would give.
struct Ridge {
    /// Occurring buckets, ascending; column `c` is bucket `buckets[c]`.
    buckets: Vec<u32>,
    /// Per warm product: (column, input value), columns ascending.
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
                let mut row: Vec<(usize, f64)> = x
                    .iter()
                    .map(|&(b, v)| (column[b as usize], f64::from(v)))
                    .collect();
                row.sort_unstable_by_key(|&(c, _)| c);
                row
            })
            .collect();
        let targets = warm.iter().map(|(_, e)| e.0.map(f64::from)).collect();
        Self {
            buckets,
            rows,
            targets,
        }
    }

    /// Whether `subset` is solved in the primal form (buckets), else the
    /// dual (products): whichever is smaller.
    fn primal(&self, subset: &[usize]) -> bool {
        subset.len() > self.buckets.len()
    }

    /// XᵀX and XᵀY of the warm products `subset`. Each row's columns
    /// ascend, so only the upper triangle is summed (column by column,
    /// which nalgebra stores contiguously), then mirrored.
    fn normal(&self, subset: &[usize]) -> Normal {
        let a = self.buckets.len();
        let mut xtx = DMatrix::<f64>::zeros(a, a);
        let mut xty = DMatrix::<f64>::zeros(a, DIM);
        for &k in subset {
            let row = &self.rows[k];
            for (n, &(j, vj)) in row.iter().enumerate() {
                let mut column = xtx.column_mut(j);
                for &(i, vi) in &row[..=n] {
                    column[i] += vi * vj;
                }
            }
            for (d, &t) in self.targets[k].iter().enumerate() {
                let mut column = xty.column_mut(d);
                for &(i, vi) in row {
                    column[i] += vi * t;
                }
            }
        }
        xtx.fill_lower_triangle_with_upper_triangle();
        Normal { xtx, xty }
    }

    /// W = (XᵀX + λI)⁻¹ XᵀY from the normal equations, as the section's
    /// row-major weights. `None` if Cholesky fails.
    fn solve_normal(&self, normal: &Normal, lambda: f64) -> Option<Vec<f32>> {
        let mut xtx = normal.xtx.clone();
        for i in 0..xtx.nrows() {
            xtx[(i, i)] += lambda;
        }
        Some(self.weights(&xtx.cholesky()?.solve(&normal.xty)))
    }

    /// W = Xᵀ (XXᵀ + λI)⁻¹ Y on the warm products `subset` (the dual form),
    /// as the section's row-major weights. `None` if Cholesky fails.
    fn solve_dual(&self, subset: &[usize], lambda: f64) -> Option<Vec<f32>> {
        let a = self.buckets.len();
        let n = subset.len();
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
        Some(self.weights(&(x.transpose() * gram.cholesky()?.solve(&y))))
    }

    /// The solved columns scattered to their buckets, row-major.
    fn weights(&self, w: &DMatrix<f64>) -> Vec<f32> {
        let mut out = vec![0.0f32; TEXT_BUCKETS * DIM];
        for (c, &b) in self.buckets.iter().enumerate() {
            for d in 0..DIM {
                out[b as usize * DIM + d] = w[(c, d)] as f32;
            }
        }
        out
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
            let dual = ridge.solve_dual(&subset, 0.3).expect("dual solves");
            let primal = ridge
                .solve_normal(&ridge.normal(&subset), 0.3)
                .expect("primal solves");
            assert!(primal.iter().any(|w| *w != 0.0));
            for (d, p) in dual.iter().zip(&primal) {
                assert!((d - p).abs() < 1e-4, "{d} vs {p}");
            }
        }
    }
}
