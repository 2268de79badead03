//! How well the edge's HNSW finds a store's nearest neighbours: recall@10
//! against an exact scan of the same (8-bit) embeddings, ties counted as
//! hits, and how much of the exact ten's similarity the ANN's ten keep.
//! The bench reports it on the fixtures and a generated store; the real-data
//! evaluations report it on the stores they build.

use firstpaint_engine::{Embedding, Engine};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Neighbours judged per query.
pub const K: usize = 10;

/// Recall of the ANN on one store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnnRecall {
    /// Queries run (products picked at random).
    pub queries: usize,
    /// Share of the exact ten the ANN found (ties with the tenth count).
    pub recall: f64,
    /// Sum of the ANN ten's cosines over the exact ten's.
    pub similarity_kept: f64,
}

/// An evaluation's rows with the ANN's recall on the store it built.
#[derive(Debug, Clone)]
pub struct WithRecall<T> {
    /// The evaluation's own results.
    pub rows: T,
    /// The HNSW's recall on the evaluated store.
    pub ann: AnnRecall,
}

/// Queries run by the evaluations' recall line.
pub const EVAL_QUERIES: usize = 1_000;

impl AnnRecall {
    /// One Markdown line for under an evaluation's table.
    pub fn line(&self) -> String {
        format!(
            "ANN recall@{K} vs an exact scan on this store: {:.3} ({} queries; the ANN's ten keep {:.2}% of the exact ten's similarity)",
            self.recall,
            self.queries,
            100.0 * self.similarity_kept
        )
    }
}

/// Runs `queries` product embeddings of `engine` as queries (seeded).
pub fn recall(engine: &Engine, queries: usize, seed: u64) -> AnnRecall {
    let embeddings: Vec<Embedding> = (0..engine.store().products().len() as u32)
        .map(|o| engine.store().embedding(o).unwrap_or(Embedding::ZERO))
        .collect();
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut hits, mut judged) = (0usize, 0usize);
    let (mut ann_sum, mut exact_sum) = (0.0f64, 0.0f64);
    for _ in 0..queries.min(embeddings.len() * 4) {
        let q = &embeddings[rng.gen_range(0..embeddings.len())];
        if q.is_zero() {
            continue;
        }
        let truth = exact_top(&embeddings, q, K);
        let found: Vec<u32> = engine
            .store()
            .nearest(q, K)
            .into_iter()
            .map(|(o, _)| o)
            .collect();
        hits += hits_with_ties(&embeddings, q, &found, &truth);
        judged += truth.len();
        let similarity = |o: u32| {
            embeddings
                .get(o as usize)
                .map_or(0.0, |e| f64::from(q.dot(e)))
        };
        exact_sum += truth.iter().map(|&o| similarity(o)).sum::<f64>();
        ann_sum += found.iter().map(|&o| similarity(o)).sum::<f64>();
    }
    AnnRecall {
        queries,
        recall: hits as f64 / judged.max(1) as f64,
        similarity_kept: ann_sum / exact_sum.max(1e-9),
    }
}

/// How many of `found` are in `truth` or as similar to `q` as its last.
pub fn hits_with_ties(all: &[Embedding], q: &Embedding, found: &[u32], truth: &[u32]) -> usize {
    let similarity = |o: u32| all.get(o as usize).map_or(f32::MIN, |e| q.dot(e));
    let last = truth.last().map_or(f32::MAX, |&o| similarity(o));
    found
        .iter()
        .filter(|&&o| truth.contains(&o) || similarity(o) >= last - 1e-6)
        .count()
        .min(truth.len())
}

/// The `k` most similar of `all` to `q`, best first, by a full scan.
pub fn exact_top(all: &[Embedding], q: &Embedding, k: usize) -> Vec<u32> {
    let mut scored: Vec<(f32, u32)> = all
        .iter()
        .enumerate()
        .map(|(i, e)| (q.dot(e), i as u32))
        .collect();
    let k = k.min(scored.len());
    scored.select_nth_unstable_by(k.saturating_sub(1), |a, b| b.0.total_cmp(&a.0));
    scored.truncate(k);
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().map(|(_, i)| i).collect()
}
