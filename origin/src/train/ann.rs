//! The HNSW index over product embeddings: built here with instant-distance
//! on all cores, then exported to the engine's read-in-place layout
//! (`firstpaint_engine::store::ann`), which the edge searches.

use anyhow::Context;
use firstpaint_engine::store::ann::AnnGraph;
use firstpaint_engine::{Embedding, Quantized};
use indicatif::ProgressBar;
use instant_distance::{Builder, Hnsw};
use serde::{Deserialize, Serialize};
use serde_big_array::BigArray;

/// A quantized embedding as instant-distance indexes it (the engine's
/// `Quantized` under cosine distance); serialized as the `Quantized` it
/// wraps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Point(pub Quantized);

impl instant_distance::Point for Point {
    fn distance(&self, other: &Self) -> f32 {
        distance(&self.0, &other.0)
    }
}

/// Cosine distance of two quantized unit vectors, clamped against
/// rounding: what the graph is built on, in full builds and incremental.
pub fn distance(a: &Quantized, b: &Quantized) -> f32 {
    (1.0 - a.dot(b)).max(0.0)
}

/// instant-distance's index over the products, and which product each of
/// its points is: what the origin builds before exporting the graph.
#[derive(Serialize, Deserialize)]
pub struct AnnSection {
    /// The graph and the embeddings, in point order.
    pub hnsw: Hnsw<Point>,
    /// Point id -> product ordinal.
    pub products: Vec<u32>,
}

/// Construction breadth: higher is slower to build, better recall.
pub const EF_CONSTRUCTION: usize = 100;
/// Search breadth, fixed at build time in instant-distance; also the most
/// neighbours one search returns. 32 keeps recall@10 at 0.998 on the
/// generated 100k store at 1.5x the speed of 64 (BENCHMARKS.md).
pub const EF_SEARCH: usize = 32;
/// Seed for the layer assignment, so rebuilds of the same data agree.
const SEED: u64 = 0x5eed_f1a5;
/// Share of each layer's points that are also on the layer above: 1/32,
/// the HNSW paper's `1 / M`. instant-distance's default (`1 / ln M`, 0.29)
/// puts 40% of the points on upper layers, whose links then cost ~6 B a
/// product at 8 links a node; at 1/32 they are 3% of the points and well
/// under 1 B, and recall@10 on the structured 100k store is the same
/// (0.996 with 16 links a node on every layer).
pub const LAYER_SHARE: f32 = 1.0 / 32.0;

/// Links kept per point on layer 0 by [`build_graph`] (instant-distance
/// keeps 64: its heuristic's picks, then the nearest it pruned). With
/// [`UPPER_LINKS`] and a beam of [`EXPORTED_EF_SEARCH`], recall@10 is
/// 0.996 on the structured 100k store (61 B/product; 24 links: the same
/// recall in 69 B) and 1.000 on Online Retail and YOOCHOOSE. On the harder
/// store of `origin/tests/ann.rs` (100 loose clusters, products in random
/// order) it is 0.981, where 24 links keep 0.991 and a beam of 96 0.991.
pub const LAYER0_LINKS: usize = 16;
/// Links kept per point on the upper layers by [`build_graph`] (of 32): 8
/// lose 0.004 of recall@10 on the structured 100k store, 4 lose 0.025 (the
/// greedy descent lands in the wrong place); the upper layers are small
/// (see [`LAYER_SHARE`]), so 16 cost under 1 B/product.
pub const UPPER_LINKS: usize = 16;
/// The beam [`build_graph`] stores: wider than [`EF_SEARCH`] to make up
/// for the links cut (32 would lose 0.02 of recall@10 on the harder store),
/// and as many as the engine's candidates per source, which it returns.
pub const EXPORTED_EF_SEARCH: u32 = 64;

/// Builds the index over `embeddings` (indexed by product ordinal),
/// quantized as the bundle stores them.
pub fn build(embeddings: &[Embedding], progress: ProgressBar) -> AnnSection {
    let (hnsw, point_ids) = Builder::default()
        .ef_construction(EF_CONSTRUCTION)
        .ef_search(EF_SEARCH)
        .ml(LAYER_SHARE)
        .seed(SEED)
        .progress(progress)
        .build_hnsw(
            embeddings
                .iter()
                .map(|e| Point(Quantized::new(e)))
                .collect(),
        );
    // point_ids[ordinal] is the point the builder gave that product.
    let mut products = vec![0u32; point_ids.len()];
    for (ordinal, pid) in point_ids.iter().enumerate() {
        if let Some(slot) = products.get_mut(pid.into_inner() as usize) {
            *slot = ordinal as u32;
        }
    }
    AnnSection { hnsw, products }
}

/// Builds the index as [`build`] does and exports its graph with at most
/// [`LAYER0_LINKS`] and [`UPPER_LINKS`] links a point and a beam of
/// [`EXPORTED_EF_SEARCH`]: what the bundle stores, written by
/// `firstpaint_engine::store::ann::write_ann`.
pub fn build_graph(embeddings: &[Embedding], progress: ProgressBar) -> anyhow::Result<AnnGraph> {
    let mut graph = export(&build(embeddings, progress))?;
    compact(&mut graph);
    Ok(graph)
}

/// Cuts `graph` to what the bundle stores (see [`build_graph`]).
pub fn compact(graph: &mut AnnGraph) {
    graph.cap_degree(LAYER0_LINKS, UPPER_LINKS);
    graph.ef_search = EXPORTED_EF_SEARCH;
}

/// instant-distance's `Hnsw<Quantized>` as its serde derive writes it: its
/// fields are private, so they are read back through bincode.
#[derive(Deserialize)]
struct HnswFields {
    ef_search: usize,
    points: Vec<Quantized>,
    /// Layer 0: per point, 2M = 64 slots, nearest (or the heuristic's picks)
    /// first, padded with `u32::MAX`.
    zero: Vec<ZeroNode>,
    /// Layers 1.. bottom up: per point on the layer, M = 32 slots, padded.
    layers: Vec<Vec<UpperNode>>,
}

#[derive(Deserialize)]
struct ZeroNode(#[serde(with = "BigArray")] [u32; 64]);

#[derive(Deserialize)]
struct UpperNode([u32; 32]);

/// instant-distance's empty slot (`PointId` `INVALID`).
const INVALID: u32 = u32::MAX;

/// The whole graph of an instant-distance index, each list cut at its first
/// empty slot (where instant-distance's own search stops reading it), with
/// its beam: written and opened, it answers as instant-distance does.
/// instant-distance always enters at point 0.
pub fn export(section: &AnnSection) -> anyhow::Result<AnnGraph> {
    let config = bincode::config::legacy();
    let bytes = bincode::serde::encode_to_vec(&section.hnsw, config)
        .context("HNSW: failed to serialize the instant-distance index")?;
    let (fields, _): (HnswFields, usize) = bincode::serde::decode_from_slice(&bytes, config)
        .context("HNSW: failed to read back the instant-distance index's fields")?;
    drop(bytes);
    let row = |slots: &[u32]| -> Vec<u32> {
        slots
            .iter()
            .copied()
            .take_while(|&p| p != INVALID)
            .collect()
    };
    Ok(AnnGraph {
        products: section.products.clone(),
        zero: fields.zero.iter().map(|z| row(&z.0)).collect(),
        layers: fields
            .layers
            .iter()
            .map(|layer| layer.iter().map(|u| row(&u.0)).collect())
            .collect(),
        entry: 0,
        ef_search: u32::try_from(fields.ef_search).context("HNSW: ef_search over u32")?,
        vectors: fields.points,
    })
}
