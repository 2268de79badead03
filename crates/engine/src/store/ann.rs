//! The HNSW index over product embeddings, read in place.
//!
//! [`AnnIndex`] is a view over the bytes of one section: [`AnnIndex::open`]
//! checks every count, offset and id once; then [`AnnIndex::search`] walks
//! the graph reading the columns where they lie (layer 0's links decoded
//! as they are read, nothing copied), with search state reused per thread,
//! so a query allocates only the results it returns. The graph is
//! instant-distance's (built at the origin, exported to an [`AnnGraph`] and
//! written by [`write_ann`]); the search is the same algorithm, so both
//! return the same neighbours in the same order (but for exact ties in
//! distance).
//!
//! # Layout
//!
//! Little-endian throughout; `n` points, one per product: point `p` is
//! product ordinal `p`, so no map between the two. `L` upper layers hold
//! `size_1 >= ... >= size_L` *nodes*: node `u` is the upper layers' own
//! number for product `members[u]`, and upper layer `l` holds nodes
//! `0..size_l` (instant-distance numbers its points that way). Every column
//! starts on a multiple of 4 bytes from the section start.
//!
//! ```text
//! offset        bytes              field
//! 0             4                  magic "FPAN"
//! 4             u32                layout version (2)
//! 8             u32                n: points (one per product), <= 2^30
//! 12            u32                dimensions (32)
//! 16            u32                ef_search: beam width on layer 0
//! 20            u32                entry: a node of the top layer (a point
//!                                    if L = 0)
//! 24            u32                L: upper layers
//! 28            u32                D_0: the most links a point has on
//!                                    layer 0
//! 32            u32                B: bits of layer 0's codes
//! 36            8 x L              per upper layer l = 1..=L, bottom up:
//!                                    u32 size_l (it holds nodes 0..size_l),
//!                                    u32 S_l (slots per row)
//! H = 36 + 8L   36 x n             vectors by product ordinal: 32 x i8
//!                                    codes, then the f32 scale that makes
//!                                    the vector unit length
//!               4 x size_1         members: u32 product ordinal of each
//!                                    upper node (size_1 = 0 if L = 0)
//!               packed(n + 1, W_B) layer 0's offsets: where each point's
//!                                    row starts in the codes, in bits (the
//!                                    last = B); W_B = bit length of B
//!               4 x (ceil(B/32)+2) layer 0's codes (the last two words are
//!                                    padding, so any code is one 8-byte
//!                                    load)
//!               rows(size_l, S_l)  layer l's links, nodes to nodes, for
//!                                    l = 1..=L
//!
//! packed(m, W): m numbers W bits wide, bit-packed least significant bit
//!   first in u32 words: 4 x (ceil(m x W / 32) + 1) bytes (the last word is
//!   padding, so any number is one 8-byte load).
//!
//! layer 0's row of point p, bits offset[p]..offset[p + 1] of the codes
//!   (empty if they are equal): k in 5 bits, then p's links in increasing
//!   order, the first as zigzag(link - p), each next as its gap from the one
//!   before less one, each number x Exp-Golomb-coded: with y = x + 2^k and
//!   z = bit length of y - k - 1, z zero bits, a one bit, then the low z + k
//!   bits of y (at most 56 bits in all). Neighbours mostly share a category
//!   and a catalog lists a category's products together, so the numbers
//!   are small: 61 B/product at 100k (`coded.rs` has the figures).
//!
//! rows(m, S) = packed(m x S, W) with W = bit length of m (17 for m =
//!   100,000): m rows of S slots, slot j of row r is number r x S + j. A
//!   slot holds an id < m, or 2^W - 1 = empty; a row's links end at its
//!   first empty slot.
//! ```
//!
//! Version 1 had no members column: its points were instant-distance's,
//! with two u32 maps between points and products (8 bytes a product), its
//! layer 0 had fixed-stride rows like the upper layers', and its scales
//! were a vector's largest magnitude / 127 rather than one over its length.
//! This engine refuses it ([`AnnError::Version`]): rebuild the bundle.
//!
//! `open` requires: the magic, version 2, 32 dimensions, the exact length
//! the counts above give, `1 <= size_L <= ... <= size_1 <= n`, the entry
//! below the top layer's size, finite non-negative scales, members distinct
//! products below `n`; layer 0's offsets from 0 to B, each row decoding to
//! at most D_0 points below `n` and ending exactly where the next starts;
//! and every upper slot an id below its layer's size or empty, with only
//! empty slots after an empty one.

use super::{f32_at, u32_at};
use crate::embedding::{Embedding, Quantized, DIM};

mod coded;
mod rows;
mod search;
#[cfg(feature = "build")]
mod write;

use coded::Coded;
use rows::Rows;

#[cfg(feature = "build")]
pub use write::{write_ann, AnnGraph};

/// The first four bytes of an ANN section.
pub const MAGIC: [u8; 4] = *b"FPAN";
/// The layout version this engine reads and writes.
pub const VERSION: u32 = 2;
/// Bytes before the per-layer sizes.
const HEADER: usize = 36;
/// Bytes of one point's vector: its codes, then its scale (together, so a
/// distance reads one place in memory: separate columns cost a second
/// cache miss, ~25% of search time at 100k points).
const VECTOR_BYTES: usize = DIM + 4;

/// Why an ANN section was refused. Byte offsets are from the section start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AnnError {
    /// Shorter than its header says it must be, or longer.
    #[error("ANN section is {got} bytes; its header describes {expected}")]
    Length {
        /// Bytes the header describes (at least the header itself).
        expected: u64,
        /// Bytes there are.
        got: usize,
    },
    /// Not an ANN section.
    #[error("ANN section starts with {got:?}, not {expected:?}")]
    Magic {
        /// [`MAGIC`].
        expected: [u8; 4],
        /// The first bytes found.
        got: [u8; 4],
    },
    /// Written in a layout this engine does not read (version 1: by an
    /// origin older than this engine).
    #[error("ANN section is layout version {got}; this engine reads only version {expected} (rebuild the bundle with a matching origin)")]
    Version {
        /// [`VERSION`].
        expected: u32,
        /// The section's.
        got: u32,
    },
    /// Vectors of another width.
    #[error("ANN section has {got}-dimensional vectors; the engine's have {expected}")]
    Dimensions {
        /// [`DIM`].
        expected: u32,
        /// The section's.
        got: u32,
    },
    /// More points or links than this layout (or this machine) can address.
    #[error("ANN graph too large: {what}")]
    TooLarge {
        /// What overflowed.
        what: &'static str,
    },
    /// A graph to write whose lists do not have one entry per point.
    #[error("ANN graph has {got} {what} for {expected} points")]
    Mismatch {
        /// The list.
        what: &'static str,
        /// Its length.
        got: usize,
        /// Points.
        expected: usize,
    },
    /// An upper layer that is empty or larger than the layer below it.
    #[error("ANN layer {layer} holds {size} points, the layer below {below} (each must hold 1 to as many as the one below)")]
    LayerSize {
        /// The layer (1 = just above layer 0).
        layer: u32,
        /// Its size.
        size: u32,
        /// The size of the layer below.
        below: u32,
    },
    /// The entry point is not on the top layer.
    #[error("ANN entry {entry} is not below the top layer's size {top}")]
    Entry {
        /// The entry point.
        entry: u32,
        /// Points on the top layer.
        top: u32,
    },
    /// A point's scale is negative, infinite or NaN.
    #[error("ANN point {point}'s scale {scale} (byte {at}) is not finite and non-negative")]
    Scale {
        /// The point.
        point: u32,
        /// Its scale.
        scale: f32,
        /// Where it is.
        at: usize,
    },
    /// A graph to write whose points do not name each product once.
    #[error("ANN graph: point {point} names product {product}, which is not below {points} or another point names too")]
    Products {
        /// The point.
        point: u32,
        /// The product ordinal it names.
        product: u32,
        /// Points (and products) in the graph.
        points: u32,
    },
    /// An upper-layer node that is not a product, or the same as another.
    #[error("ANN upper node {node} is product {product} (byte {at}), not below {points} or another node's too")]
    Member {
        /// The node.
        node: u32,
        /// The product it names.
        product: u32,
        /// Where the product is.
        at: usize,
        /// Products in the index.
        points: u32,
    },
    /// A row of layer 0 that does not decode (see the module docs).
    #[error("ANN layer 0: point {point}'s row, at bit {bit} of the codes: {why}")]
    Row {
        /// The point (`n` for the end of the offsets).
        point: u32,
        /// Where in the codes (or the offset found).
        bit: u64,
        /// What is wrong.
        why: &'static str,
    },
    /// A link to a point (or node) that is not on its layer, or after an
    /// empty slot.
    #[error("ANN layer {layer}: node {node}'s slot {slot} links to {neighbour}, not one below the layer's {size} or after an empty slot")]
    Link {
        /// The layer (0 = all points).
        layer: u32,
        /// The node.
        node: u32,
        /// The slot in its row.
        slot: u32,
        /// The point linked to.
        neighbour: u32,
        /// Points on the layer.
        size: u32,
    },
}

/// The HNSW index of one bundle, read in place from `B`'s bytes.
///
/// ```
/// use firstpaint_engine::store::ann::{write_ann, AnnGraph, AnnIndex};
/// use firstpaint_engine::{Embedding, Quantized};
///
/// let unit = |i: usize| {
///     let mut e = [0.0; 32];
///     e[i] = 1.0;
///     Quantized::new(&Embedding(e))
/// };
/// // Two points linked to each other, no upper layer.
/// let graph = AnnGraph {
///     vectors: vec![unit(0), unit(1)],
///     products: vec![1, 0],
///     zero: vec![vec![1], vec![0]],
///     layers: Vec::new(),
///     entry: 0,
///     ef_search: 8,
/// };
/// let bytes = write_ann(&graph)?;
/// let index = AnnIndex::open(bytes.as_slice())?;
/// let hits = index.search(&unit(1), 2);
/// assert_eq!(hits.first(), Some(&(0, 1.0))); // point 1 is product 0
/// assert_eq!(index.vector(0), Some(unit(1)));
/// # Ok::<(), firstpaint_engine::store::ann::AnnError>(())
/// ```
#[derive(Clone)]
pub struct AnnIndex<B> {
    bytes: B,
    n: u32,
    ef_search: u32,
    entry: u32,
    vectors: usize,
    /// Where the members column starts.
    members: usize,
    zero: Coded,
    /// Layers 1..=L, bottom up.
    upper: Vec<Rows>,
}

impl<B> std::fmt::Debug for AnnIndex<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnnIndex")
            .field("points", &self.n)
            .field("ef_search", &self.ef_search)
            .field("layer0_degree", &self.zero.degree)
            .field("upper_layers", &self.upper.len())
            .finish_non_exhaustive()
    }
}

/// Lays out columns one after another, in `u64` so that no size can wrap.
struct Cursor {
    at: u64,
}

impl Cursor {
    /// Reserves `count` items of `width` bytes; returns where they start.
    fn take(&mut self, count: u64, width: u64) -> Result<usize, AnnError> {
        let start = usize::try_from(self.at).map_err(|_| AnnError::TooLarge {
            what: "section length",
        })?;
        self.at = count
            .checked_mul(width)
            .and_then(|b| b.checked_add(self.at))
            .ok_or(AnnError::TooLarge {
                what: "section length",
            })?;
        Ok(start)
    }
}

impl<B: AsRef<[u8]>> AnnIndex<B> {
    /// Checks the whole section (see the module docs for what) and returns
    /// the view; every later read stays inside what was checked here.
    pub fn open(bytes: B) -> Result<Self, AnnError> {
        let b = bytes.as_ref();
        let head = |i: usize| u32_at(b, 4 * i);
        let (
            Some(version),
            Some(n),
            Some(dim),
            Some(ef),
            Some(entry),
            Some(l),
            Some(degree),
            Some(bits),
        ) = (
            head(1),
            head(2),
            head(3),
            head(4),
            head(5),
            head(6),
            head(7),
            head(8),
        )
        else {
            return Err(AnnError::Length {
                expected: HEADER as u64,
                got: b.len(),
            });
        };
        let magic: [u8; 4] = b.get(..4).and_then(|m| m.try_into().ok()).unwrap_or([0; 4]);
        if magic != MAGIC {
            return Err(AnnError::Magic {
                expected: MAGIC,
                got: magic,
            });
        }
        if version != VERSION {
            return Err(AnnError::Version {
                expected: VERSION,
                got: version,
            });
        }
        if dim != DIM as u32 {
            return Err(AnnError::Dimensions {
                expected: DIM as u32,
                got: dim,
            });
        }
        if n > coded::MAX_POINTS {
            return Err(AnnError::TooLarge { what: "points" });
        }
        let mut cursor = Cursor { at: 0 };
        cursor.take(1, HEADER as u64)?;
        let sizes_at = cursor.take(u64::from(l), 8)?;
        // Without the sizes the rest cannot be laid out: say how long the
        // header alone must be.
        if b.len() < cursor.at as usize {
            return Err(AnnError::Length {
                expected: cursor.at,
                got: b.len(),
            });
        }
        let n64 = u64::from(n);
        let vectors = cursor.take(n64, VECTOR_BYTES as u64)?;
        let size_1 = if l > 0 {
            u32_at(b, sizes_at).ok_or(AnnError::TooLarge { what: "layers" })?
        } else {
            0
        };
        let members = cursor.take(u64::from(size_1), 4)?;
        let offsets_bytes = Coded::offsets_bytes(n, bits).ok_or(AnnError::TooLarge {
            what: "layer-0 offsets",
        })?;
        let offsets = cursor.take(offsets_bytes, 1)?;
        let codes = cursor.take(coded::codes_bytes(bits), 1)?;
        let zero = Coded::new(n, degree, bits, offsets, codes);
        let mut rows = |size: u32, stride: u32| -> Result<Rows, AnnError> {
            let bytes = rows::column_bytes(size, stride).ok_or(AnnError::TooLarge {
                what: "links column",
            })?;
            Ok(Rows::new(size, stride, cursor.take(bytes, 1)?))
        };
        let mut upper = Vec::with_capacity(l as usize);
        let mut below = n;
        for layer in 1..=l {
            let at = sizes_at + 8 * (layer as usize - 1);
            let (Some(size), Some(stride)) = (u32_at(b, at), u32_at(b, at + 4)) else {
                return Err(AnnError::TooLarge { what: "layers" });
            };
            if size == 0 || size > below {
                return Err(AnnError::LayerSize { layer, size, below });
            }
            upper.push(rows(size, stride)?);
            below = size;
        }
        if cursor.at != b.len() as u64 {
            return Err(AnnError::Length {
                expected: cursor.at,
                got: b.len(),
            });
        }
        // From here every column is inside `b`.
        if n > 0 && entry >= below {
            return Err(AnnError::Entry { entry, top: below });
        }
        let index = Self {
            bytes,
            n,
            ef_search: ef,
            entry,
            vectors,
            members,
            zero,
            upper,
        };
        index.check_columns()?;
        Ok(index)
    }

    /// Scales, members and every layer's rows.
    fn check_columns(&self) -> Result<(), AnnError> {
        let b = self.bytes.as_ref();
        for point in 0..self.n {
            let at = self.vectors + VECTOR_BYTES * point as usize + DIM;
            let scale = f32_at(b, at).unwrap_or(f32::NAN);
            if !(scale.is_finite() && scale >= 0.0) {
                return Err(AnnError::Scale { point, scale, at });
            }
        }
        let members = self.upper.first().map_or(0, |rows| rows.size);
        let mut seen = vec![0u64; (self.n as usize).div_ceil(64)];
        for node in 0..members {
            let at = self.members + 4 * node as usize;
            let product = u32_at(b, at).unwrap_or(u32::MAX);
            let word = seen
                .get_mut(product as usize / 64)
                .filter(|_| product < self.n);
            let bit = 1u64 << (product % 64);
            match word {
                Some(w) if *w & bit == 0 => *w |= bit,
                _ => {
                    return Err(AnnError::Member {
                        node,
                        product,
                        at,
                        points: self.n,
                    })
                }
            }
        }
        self.zero.check(b)?;
        for (layer, rows) in (1u32..).zip(&self.upper) {
            rows.check(b, layer)?;
        }
        Ok(())
    }

    /// Points (and products) in the index.
    pub fn len(&self) -> usize {
        self.n as usize
    }

    /// Whether the index has no points.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The beam width [`search`](Self::search) uses on layer 0, set when the
    /// index was built; also the most results one search returns.
    pub fn ef_search(&self) -> usize {
        self.ef_search as usize
    }

    /// Upper layers above layer 0.
    pub fn upper_layers(&self) -> usize {
        self.upper.len()
    }

    /// The most neighbours a point has on layer 0.
    pub fn layer0_degree(&self) -> usize {
        self.zero.degree as usize
    }

    /// The section's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.as_ref()
    }

    /// The dot product of `query` with product `ordinal`'s stored vector
    /// (its cosine similarity, `query` being of unit length), read straight
    /// from the record: what `vector(ordinal)?.embedding().dot(query)` gives,
    /// to float rounding, without unquantizing and renormalizing the vector
    /// first. Rankings score every candidate this way.
    #[inline]
    pub fn dot(&self, ordinal: u32, query: &Embedding) -> Option<f32> {
        let (codes, scale) = self.record(ordinal)?;
        // Eight sums side by side: one running sum is a chain of DIM
        // dependent additions, eight are vector lanes.
        let mut lanes = [0.0f32; 8];
        for (xs, cs) in query.0.chunks_exact(8).zip(codes.chunks_exact(8)) {
            for ((lane, &x), &c) in lanes.iter_mut().zip(xs).zip(cs) {
                *lane += x * f32::from(c as i8);
            }
        }
        Some(lanes.iter().sum::<f32>() * scale)
    }

    /// The stored (8-bit) vector of product `ordinal`.
    #[inline]
    pub fn vector(&self, ordinal: u32) -> Option<Quantized> {
        let (codes, scale) = self.record(ordinal)?;
        let mut q = [0i8; DIM];
        for (x, &c) in q.iter_mut().zip(codes) {
            *x = c as i8;
        }
        Some(Quantized { q, scale })
    }

    /// Product `ordinal`'s record: its [`DIM`] 8-bit codes and its scale.
    #[inline]
    fn record(&self, ordinal: u32) -> Option<(&[u8], f32)> {
        if ordinal >= self.n {
            return None;
        }
        let at = self.vectors + VECTOR_BYTES * ordinal as usize;
        let record = self.bytes.as_ref().get(at..at + VECTOR_BYTES)?;
        let (codes, scale) = record.split_at(DIM);
        Some((codes, f32_at(scale, 0)?))
    }
}

#[cfg(test)]
mod tests;
