//! The HNSW index over product embeddings (instant-distance), built here
//! with all cores and searched at the edge.

use firstpaint_engine::{AnnSection, Embedding};
use indicatif::ProgressBar;
use instant_distance::Builder;

/// Construction breadth: higher is slower to build, better recall.
pub const EF_CONSTRUCTION: usize = 100;
/// Search breadth, fixed at build time in instant-distance; also the most
/// neighbours one search returns.
pub const EF_SEARCH: usize = 64;
/// Seed for the layer assignment, so rebuilds of the same data agree.
const SEED: u64 = 0x5eed_f1a5;

/// Builds the index; values are product ordinals.
pub fn build(embeddings: Vec<Embedding>, progress: ProgressBar) -> AnnSection {
    let values: Vec<u32> = (0..embeddings.len() as u32).collect();
    Builder::default()
        .ef_construction(EF_CONSTRUCTION)
        .ef_search(EF_SEARCH)
        .seed(SEED)
        .progress(progress)
        .build(embeddings, values)
}
