//! Writing the layout from a plain description of the graph (at the origin):
//! the graph's points renumbered as the products they are, its upper layers
//! kept in its own numbering with the members column between the two.

use super::{coded, rows, AnnError, AnnIndex, MAGIC, VERSION};
use crate::embedding::{Quantized, DIM};

/// An HNSW graph as plain owned lists, the input of [`write_ann`].
///
/// Points are numbered `0..n` (in any order: the section renumbers them as
/// the products they are); upper layer `l` (`layers[l - 1]`) holds points
/// `0..layers[l - 1].len()`, each layer no larger than the one below
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
    if n32 > coded::MAX_POINTS {
        return Err(AnnError::TooLarge { what: "points" });
    }
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
    // Product -> point, checking that the points name each product once.
    let mut points = vec![u32::MAX; n];
    for (point, &product) in (0u32..).zip(&graph.products) {
        match points.get_mut(product as usize) {
            Some(slot) if *slot == u32::MAX => *slot = point,
            _ => {
                return Err(AnnError::Products {
                    point,
                    product,
                    points: n32,
                })
            }
        }
    }
    // Layer 0 in products' numbering; a link off the layer is reported in
    // the graph's.
    let product = |point: u32| graph.products.get(point as usize).copied();
    let mut zero = Vec::with_capacity(n);
    for &point in &points {
        let row = graph
            .zero
            .get(point as usize)
            .map_or(&[][..], Vec::as_slice);
        let mapped: Option<Vec<u32>> = row.iter().map(|&p| product(p)).collect();
        let Some(mapped) = mapped else {
            let (slot, neighbour) = (0u32..)
                .zip(row)
                .find(|&(_, &p)| product(p).is_none())
                .map_or((0, 0), |(slot, &p)| (slot, p));
            return Err(AnnError::Link {
                layer: 0,
                node: point,
                slot,
                neighbour,
                size: n32,
            });
        };
        zero.push(mapped);
    }
    // Without upper layers the entry is a point, hence a product.
    let entry = if graph.layers.is_empty() && n > 0 {
        product(graph.entry).ok_or(AnnError::Entry {
            entry: graph.entry,
            top: n32,
        })?
    } else {
        graph.entry
    };
    let stride = |rows: &[Vec<u32>]| count(rows.iter().map(Vec::len).max().unwrap_or(0), "degree");
    let encoded = coded::encode(&zero)?;
    drop(zero);
    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC);
    for word in [
        VERSION,
        n32,
        DIM as u32,
        graph.ef_search,
        entry,
        count(graph.layers.len(), "layers")?,
        encoded.degree,
        encoded.bits,
    ] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    for layer in &graph.layers {
        out.extend_from_slice(&count(layer.len(), "layer size")?.to_le_bytes());
        out.extend_from_slice(&stride(layer)?.to_le_bytes());
    }
    for v in points.iter().filter_map(|&p| graph.vectors.get(p as usize)) {
        out.extend(v.q.iter().map(|&x| x as u8));
        out.extend_from_slice(&v.scale.to_le_bytes());
    }
    let members = graph.layers.first().map_or(0, Vec::len);
    for product in graph.products.iter().take(members) {
        out.extend_from_slice(&product.to_le_bytes());
    }
    rows::pack(&mut out, encoded.offsets, rows::width(encoded.bits));
    let codes = out.len();
    out.extend(encoded.words);
    // Then the padding words.
    out.resize(codes + coded::codes_bytes(encoded.bits) as usize, 0);
    for (l, layer) in (1u32..).zip(&graph.layers) {
        rows::write(&mut out, l, layer, stride(layer)?)?;
    }
    AnnIndex::open(out.as_slice())?;
    Ok(out)
}
