//! Searching the graph: the HNSW algorithm as instant-distance 0.6 runs it,
//! so an index exported from it answers as it does.
//!
//! From the entry point, a greedy descent (a beam of one) through the upper
//! layers, then a beam of `ef` on layer 0 (the paper's algorithm 2): pop the
//! nearest unexpanded candidate; stop once it is farther than the farthest
//! of the `ef` nearest found; else measure each of its unvisited neighbours
//! and keep those that rank among the `ef` nearest. Distances are cosine
//! distances of the 8-bit vectors, `(1 - a.b).max(0)`, computed in the same
//! order of operations as [`Quantized::dot`], so they agree to the bit; and
//! ties fall to the lower id.
//!
//! The upper layers are searched over their own node numbers (as
//! instant-distance numbers them), each node's vector found through the
//! members column; layer 0 over product ordinals. So ties on layer 0 fall
//! to the lower product ordinal where instant-distance's fall to its lower
//! point id: the two answer alike but for exact ties in distance.
//!
//! The visited set (stamped with a per-search generation), the candidate
//! heap and the result list live in a per-thread scratch, so a search
//! allocates only the list it returns.

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::coded::{Coded, CodedLinks};
use super::rows::Links;
use super::{AnnIndex, Rows, VECTOR_BYTES};
use crate::embedding::{Quantized, DIM};

/// A point and its distance to the query; ordered by distance, then id.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    distance: f32,
    point: u32,
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        // Distances are never NaN (`max(0.0)` turns NaN into 0), so this is
        // the order instant-distance's `OrderedFloat` gives them.
        self.distance
            .total_cmp(&other.distance)
            .then(self.point.cmp(&other.point))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Candidate {}

/// A layer's links: fixed-stride rows above, coded rows on layer 0.
trait Adjacency {
    /// The links of one node.
    type Links<'a>: Iterator<Item = u32>;
    /// The links of `node` in the section's bytes `b`.
    fn links<'a>(&self, b: &'a [u8], node: u32) -> Self::Links<'a>;
}

impl Adjacency for Rows {
    type Links<'a> = Links<'a>;
    #[inline]
    fn links<'a>(&self, b: &'a [u8], node: u32) -> Links<'a> {
        Rows::links(self, b, node)
    }
}

impl Adjacency for Coded {
    type Links<'a> = CodedLinks<'a>;
    #[inline]
    fn links<'a>(&self, b: &'a [u8], node: u32) -> CodedLinks<'a> {
        Coded::links(self, b, node)
    }
}

/// Which numbering a layer's links are in.
#[derive(Debug, Clone, Copy)]
enum Layer {
    /// Upper-layer nodes (the members column names their products).
    Upper,
    /// Layer 0's points: product ordinals.
    Zero,
}

/// One thread's search state, reused by every search on it.
#[derive(Default)]
struct Scratch {
    /// Per point: the generation that last visited it.
    stamps: Vec<u16>,
    generation: u16,
    /// Candidates to expand, nearest on top (`C` in the paper).
    candidates: BinaryHeap<Reverse<Candidate>>,
    /// The nearest found, nearest first, at most `ef` after each expansion
    /// (`W` in the paper).
    nearest: Vec<Candidate>,
    /// The beam width of the current layer.
    ef: usize,
}

impl Scratch {
    /// Forgets what the last search (or layer) visited.
    fn new_generation(&mut self, points: usize) {
        if self.stamps.len() < points {
            self.stamps.resize(points, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // Stamps wrapped: clear them so old ones cannot pass as current.
            self.stamps.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
    }

    /// Marks `point` visited; false if it already was.
    #[inline]
    fn visit(&mut self, point: u32) -> bool {
        match self.stamps.get_mut(point as usize) {
            Some(s) if *s != self.generation => {
                *s = self.generation;
                true
            }
            _ => false,
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// Runs `f` while this thread's scratch is borrowed.
#[cfg(test)]
pub(super) fn hold_scratch<R>(f: impl FnOnce() -> R) -> R {
    SCRATCH.with(|cell| {
        let _held = cell.borrow_mut();
        f()
    })
}

/// Sets the generation the next search on this thread starts from.
#[cfg(test)]
pub(super) fn set_generation(generation: u16) {
    SCRATCH.with(|cell| cell.borrow_mut().generation = generation);
}

impl<B: AsRef<[u8]>> AnnIndex<B> {
    /// The (up to `k`) products nearest to `query`, as (product ordinal,
    /// similarity = 1 - cosine distance), nearest first: the same answer
    /// as instant-distance's `Hnsw::search` on the same graph and beam. The
    /// beam is [`ef_search`](Self::ef_search) wide, so at most that many
    /// come back; [`search_ef`](Self::search_ef) sets it per query.
    pub fn search(&self, query: &Quantized, k: usize) -> Vec<(u32, f32)> {
        self.search_ef(query, k, self.ef_search as usize)
    }

    /// As [`search`](Self::search) with a beam of `ef` on layer 0 (at
    /// least 1): a wider beam finds more of the true nearest and returns
    /// more results, more slowly.
    pub fn search_ef(&self, query: &Quantized, k: usize, ef: usize) -> Vec<(u32, f32)> {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => self.search_with(&mut scratch, query, k, ef),
            // Only reentry (a search inside a search) gets here.
            Err(_) => self.search_with(&mut Scratch::default(), query, k, ef),
        })
    }

    fn search_with(
        &self,
        s: &mut Scratch,
        query: &Quantized,
        k: usize,
        ef: usize,
    ) -> Vec<(u32, f32)> {
        s.candidates.clear();
        s.nearest.clear();
        if self.n == 0 || k == 0 {
            return Vec::new();
        }
        let Some(view) = self.view(query) else {
            return Vec::new();
        };
        s.new_generation(self.n as usize);
        s.ef = 1;
        let layer0 = if self.upper.is_empty() {
            Layer::Zero
        } else {
            Layer::Upper
        };
        view.push(s, self.entry, layer0);
        for (layer, rows) in self.upper.iter().enumerate().rev() {
            view.search_layer(s, rows, Layer::Upper);
            if layer == 0 {
                // Layer 1's nodes become the points (products) they are:
                // distinct products, so the order holds but for ties.
                for c in s.nearest.iter_mut() {
                    c.point = view.member(c.point).unwrap_or(u32::MAX);
                }
                s.nearest.retain(|c| c.point != u32::MAX);
                s.nearest.sort_unstable();
            }
            // Descend: the nearest found become the entry points below.
            s.candidates.clear();
            s.candidates.extend(s.nearest.iter().map(|&c| Reverse(c)));
            s.new_generation(self.n as usize);
            for c in &s.nearest {
                if let Some(stamp) = s.stamps.get_mut(c.point as usize) {
                    *stamp = s.generation;
                }
            }
        }
        s.ef = ef.max(1);
        view.search_layer(s, &self.zero, Layer::Zero);
        s.nearest
            .iter()
            .take(k)
            .map(|c| (c.point, 1.0 - c.distance))
            .collect()
    }

    /// The columns one search reads, borrowed once for all its distances
    /// (not per point: the section's bytes are behind an `Arc`).
    pub(super) fn view<'a>(&'a self, query: &'a Quantized) -> Option<View<'a>> {
        let b = self.bytes.as_ref();
        let vectors_end = VECTOR_BYTES
            .checked_mul(self.n as usize)?
            .checked_add(self.vectors)?;
        let size_1 = self.upper.first().map_or(0, |rows| rows.size) as usize;
        let members_end = size_1.checked_mul(4)?.checked_add(self.members)?;
        let vectors = b.get(self.vectors..vectors_end)?;
        let members = b.get(self.members..members_end)?;
        Some(View {
            b,
            vectors,
            members,
            query,
        })
    }
}

/// What one search reads: the section's bytes (for the links), its vectors
/// and members columns, and the query.
pub(super) struct View<'a> {
    b: &'a [u8],
    /// `n` records of [`VECTOR_BYTES`], by product ordinal.
    vectors: &'a [u8],
    /// The product of each upper-layer node, `u32` each.
    members: &'a [u8],
    query: &'a Quantized,
}

impl View<'_> {
    /// Expands candidates on one layer until none can improve the beam.
    fn search_layer<A: Adjacency>(&self, s: &mut Scratch, rows: &A, layer: Layer) {
        while let Some(Reverse(candidate)) = s.candidates.pop() {
            if let Some(farthest) = s.nearest.last() {
                if candidate.distance > farthest.distance {
                    break;
                }
            }
            for point in rows.links(self.b, candidate.point) {
                self.push(s, point, layer);
            }
            // Truncated after the whole row, as instant-distance does: the
            // row's later neighbours compete with its earlier ones.
            s.nearest.truncate(s.ef);
        }
    }

    /// Measures `point` (a node of `layer`) if it is new, and keeps it if
    /// it ranks within the beam.
    #[inline]
    fn push(&self, s: &mut Scratch, point: u32, layer: Layer) {
        if !s.visit(point) {
            return;
        }
        let product = match layer {
            Layer::Zero => Some(point),
            Layer::Upper => self.member(point),
        };
        let Some(distance) = product.and_then(|p| self.distance(p)) else {
            return;
        };
        let new = Candidate { distance, point };
        // Beyond the beam's edge: where the search below would put it
        // (points are distinct, so it cannot equal the edge).
        if s.ef > 0 && s.nearest.get(s.ef - 1).is_some_and(|edge| new > *edge) {
            return;
        }
        match s.nearest.binary_search(&new) {
            Err(at) if at < s.ef => {
                s.nearest.insert(at, new);
                s.candidates.push(Reverse(new));
            }
            // Beyond the beam, or (impossible, being unvisited) already in it.
            _ => {}
        }
    }

    /// The product that upper-layer node `node` is.
    #[inline]
    pub(super) fn member(&self, node: u32) -> Option<u32> {
        let at = (node as usize).checked_mul(4)?;
        let word = self.members.get(at..)?.first_chunk::<4>()?;
        Some(u32::from_le_bytes(*word))
    }

    /// `(1 - query . product's vector).max(0)`, as `Quantized`'s `Point`
    /// impl computes it: the vector read straight from its record, the
    /// integer sum (exact in any order), then the same two products as
    /// [`Quantized::dot`], so the two agree to the bit.
    #[inline]
    fn distance(&self, product: u32) -> Option<f32> {
        let at = (product as usize).checked_mul(VECTOR_BYTES)?;
        let record = self.vectors.get(at..)?.first_chunk::<VECTOR_BYTES>()?;
        let (codes, scale) = record.split_at(DIM);
        let sum: i32 = self
            .query
            .q
            .iter()
            .zip(codes)
            .map(|(&a, &b)| i32::from(a) * i32::from(b as i8))
            .sum();
        let scale = f32::from_le_bytes(*scale.first_chunk::<4>()?);
        Some((1.0 - sum as f32 * self.query.scale * scale).max(0.0))
    }
}
