//! The HNSW index over product embeddings (instant-distance), built here
//! with all cores and searched at the edge.

use firstpaint_engine::{AnnSection, Embedding, Quantized};
use indicatif::ProgressBar;
use instant_distance::Builder;

/// Construction breadth: higher is slower to build, better recall.
pub const EF_CONSTRUCTION: usize = 100;
/// Search breadth, fixed at build time in instant-distance; also the most
/// neighbours one search returns. 32 keeps recall@10 at 0.998 on the
/// generated 100k store at 1.5x the speed of 64 (BENCHMARKS.md).
pub const EF_SEARCH: usize = 32;
/// Seed for the layer assignment, so rebuilds of the same data agree.
const SEED: u64 = 0x5eed_f1a5;

/// Builds the index over `embeddings` (indexed by product ordinal),
/// quantized as the bundle stores them.
pub fn build(embeddings: &[Embedding], progress: ProgressBar) -> AnnSection {
    let (hnsw, point_ids) = Builder::default()
        .ef_construction(EF_CONSTRUCTION)
        .ef_search(EF_SEARCH)
        .seed(SEED)
        .progress(progress)
        .build_hnsw(embeddings.iter().map(Quantized::new).collect());
    // point_ids[ordinal] is the point the builder gave that product.
    let mut products = vec![0u32; point_ids.len()];
    for (ordinal, pid) in point_ids.iter().enumerate() {
        if let Some(slot) = products.get_mut(pid.into_inner() as usize) {
            *slot = ordinal as u32;
        }
    }
    AnnSection { hnsw, products }
}
