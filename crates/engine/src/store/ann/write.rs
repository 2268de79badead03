//! Writing the layout from a plain description of the graph (at the origin).

use super::{rows, AnnError, AnnIndex, MAGIC, VECTOR_BYTES, VERSION};
use crate::embedding::{Quantized, DIM};

/// An HNSW graph as plain owned lists, the input of [`write_ann`].
///
/// Points are numbered `0..n`; upper layer `l` (`layers[l - 1]`) holds
/// points `0..layers[l - 1].len()`, each layer no larger than the one below
/// (instant-distance numbers its points that way).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnnGraph {
    /// Per point, its 8-bit vector.
    pub vectors: Vec<Quantized>,
    /// Per point, its product ordinal: a permutation of `0..n`.
    pub products: Vec<u32>,
    /// Per point, its neighbours on layer 0, in the builder's order.
    pub zero: Vec<Vec<u32>>,
    /// Upper layers bottom up: `layers[l - 1][p]` are point `p`'s
    /// neighbours on layer `l`.
    pub layers: Vec<Vec<Vec<u32>>>,
    /// Where searches start (a point on the top layer).
    pub entry: u32,
    /// The beam width of a search on layer 0.
    pub ef_search: u32,
}

impl AnnGraph {
    /// Keeps at most the first `layer0` neighbours of every point on layer
    /// 0 and `upper` on the layers above (instant-distance lists its
    /// heuristic's picks first, then the nearest of those it pruned).
    pub fn cap_degree(&mut self, layer0: usize, upper: usize) {
        for row in &mut self.zero {
            row.truncate(layer0);
        }
        for row in self.layers.iter_mut().flatten() {
            row.truncate(upper);
        }
    }

    /// Average and largest degree on layer 0.
    pub fn layer0_degree(&self) -> (f64, usize) {
        let links: usize = self.zero.iter().map(Vec::len).sum();
        let max = self.zero.iter().map(Vec::len).max().unwrap_or(0);
        (links as f64 / self.zero.len().max(1) as f64, max)
    }
}

/// Writes `graph` in the layout of the module docs, and checks the result
/// as [`AnnIndex::open`] will (so what the origin writes, the edge opens).
pub fn write_ann(graph: &AnnGraph) -> Result<Vec<u8>, AnnError> {
    let n = graph.vectors.len();
    let count = |len: usize, what: &'static str| {
        u32::try_from(len)
            .ok()
            .filter(|&c| c < u32::MAX)
            .ok_or(AnnError::TooLarge { what })
    };
    let n32 = count(n, "points")?;
    for (what, got) in [
        ("product ordinals", graph.products.len()),
        ("layer-0 rows", graph.zero.len()),
    ] {
        if got != n {
            return Err(AnnError::Mismatch {
                what,
                got,
                expected: n,
            });
        }
    }
    let stride = |rows: &[Vec<u32>]| count(rows.iter().map(Vec::len).max().unwrap_or(0), "degree");
    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC);
    for word in [
        VERSION,
        n32,
        DIM as u32,
        graph.ef_search,
        graph.entry,
        count(graph.layers.len(), "layers")?,
        stride(&graph.zero)?,
    ] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    for layer in &graph.layers {
        out.extend_from_slice(&count(layer.len(), "layer size")?.to_le_bytes());
        out.extend_from_slice(&stride(layer)?.to_le_bytes());
    }
    out.reserve(n * (VECTOR_BYTES + 16));
    for v in &graph.vectors {
        out.extend(v.q.iter().map(|&x| x as u8));
        out.extend_from_slice(&v.scale.to_le_bytes());
    }
    // Product -> point; products that no point (or two) name stay u32::MAX
    // and fail the check below.
    let mut points = vec![u32::MAX; n];
    for (point, &product) in (0u32..).zip(&graph.products) {
        if let Some(slot) = points.get_mut(product as usize) {
            *slot = point;
        }
    }
    for column in [&graph.products, &points] {
        for x in column {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    for (l, layer) in (0u32..).zip(std::iter::once(&graph.zero).chain(&graph.layers)) {
        rows::write(&mut out, l, layer, stride(layer)?)?;
    }
    AnnIndex::open(out.as_slice())?;
    Ok(out)
}
