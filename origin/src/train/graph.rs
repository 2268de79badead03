//! The HNSW graph as an incremental build changes it, without rebuilding
//! it: removed products leave (each neighbour that linked to one is
//! relinked among its own and the removed one's neighbours), the rest are
//! renumbered as the new catalog orders them, and new products are
//! inserted as HNSW inserts a point (greedy descent from the entry, a beam
//! of [`EF_CONSTRUCTION`] on each of its layers, links chosen by the
//! neighbour heuristic, reverse links pruned the same way).
//!
//! A full build ([`super::ann::build_graph`]) makes the graph with
//! instant-distance; [`Graph::from_ann`] takes it from there, and
//! [`Graph::to_ann`] gives back the plain description the bundle writer
//! takes. Links are capped as the full build caps them ([`LAYER0_LINKS`],
//! [`UPPER_LINKS`]), with the heuristic's picks first and then the nearest
//! it passed over, as instant-distance orders them.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use anyhow::{bail, Context};
use firstpaint_engine::store::ann::AnnGraph;
use firstpaint_engine::Quantized;
use serde::{Deserialize, Serialize};

use super::ann::{distance, EF_CONSTRUCTION, LAYER0_LINKS, LAYER_SHARE, UPPER_LINKS};

/// Highest layer an inserted node is given (a 100k store's full build
/// reaches 3 or 4).
const MAX_LEVEL: u8 = 12;

/// An HNSW graph whose nodes are product ordinals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    /// Per node, its vector; `None` for a slot without a node yet.
    vectors: Vec<Option<Quantized>>,
    /// Per node, the highest layer it is on.
    level: Vec<u8>,
    /// `links[l][node]`: the node's neighbours on layer `l` (empty above
    /// its level).
    links: Vec<Vec<Vec<u32>>>,
    /// Where searches start: a node on the top layer.
    entry: Option<u32>,
    /// The beam of a search on layer 0, as the bundle stores it.
    ef_search: u32,
}

/// A node and its distance to the point being placed, ordered by distance
/// (then by node, so the order is total and builds repeat).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Near(f32, u32);

impl Eq for Near {}

impl PartialOrd for Near {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Near {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// Which nodes one search has seen: a stamp per node, so clearing is free.
#[derive(Debug, Default)]
struct Visited {
    stamp: Vec<u32>,
    now: u32,
}

impl Visited {
    fn start(&mut self, nodes: usize) {
        self.stamp.resize(nodes, 0);
        self.now = self.now.wrapping_add(1);
        if self.now == 0 {
            self.stamp.fill(0);
            self.now = 1;
        }
    }

    /// Marks `node`; whether it was new to this search.
    fn first(&mut self, node: u32) -> bool {
        match self.stamp.get_mut(node as usize) {
            Some(s) if *s != self.now => {
                *s = self.now;
                true
            }
            _ => false,
        }
    }
}

impl Graph {
    /// Slots (product ordinals), filled or not.
    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    /// Whether the graph has no slots.
    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    /// The graph of a full build, its points renumbered as the products
    /// they are.
    pub fn from_ann(g: &AnnGraph) -> anyhow::Result<Graph> {
        let n = g.vectors.len();
        if g.products.len() != n || g.zero.len() != n {
            bail!(
                "HNSW graph: {n} vectors, {} products, {} layer-0 rows",
                g.products.len(),
                g.zero.len()
            );
        }
        let node = |p: u32| -> anyhow::Result<u32> {
            g.products
                .get(p as usize)
                .copied()
                .with_context(|| format!("HNSW graph: link to point {p} of {n}"))
        };
        let mut graph = Graph {
            vectors: vec![None; n],
            level: vec![0; n],
            links: vec![vec![Vec::new(); n]; 1 + g.layers.len()],
            entry: Some(node(g.entry)?),
            ef_search: g.ef_search,
        };
        for (p, &ordinal) in g.products.iter().enumerate() {
            let slot = graph
                .vectors
                .get_mut(ordinal as usize)
                .with_context(|| format!("HNSW graph: product {ordinal} of {n}"))?;
            *slot = Some(g.vectors[p]);
            graph.links[0][ordinal as usize] = g.zero[p]
                .iter()
                .map(|&q| node(q))
                .collect::<Result<_, _>>()?;
        }
        for (l, layer) in g.layers.iter().enumerate() {
            for (p, row) in layer.iter().enumerate() {
                let ordinal = node(p as u32)? as usize;
                graph.level[ordinal] = (l + 1) as u8;
                graph.links[l + 1][ordinal] =
                    row.iter().map(|&q| node(q)).collect::<Result<_, _>>()?;
            }
        }
        Ok(graph)
    }

    /// The plain description the bundle writer takes: points ordered by
    /// level, highest first, so each upper layer holds the lowest-numbered
    /// points. Fails if a product has no vector (a slot never filled).
    pub fn to_ann(&self) -> anyhow::Result<AnnGraph> {
        if let Some(missing) = self.vectors.iter().position(Option::is_none) {
            bail!("HNSW graph: product {missing} was never inserted");
        }
        let mut order: Vec<u32> = (0..self.vectors.len() as u32).collect();
        order.sort_by_key(|&node| (std::cmp::Reverse(self.level[node as usize]), node));
        let mut point = vec![0u32; order.len()];
        for (p, &node) in order.iter().enumerate() {
            point[node as usize] = p as u32;
        }
        let renumber = |row: &[u32]| row.iter().map(|&q| point[q as usize]).collect::<Vec<u32>>();
        let layers = (1..self.links.len())
            .map(|l| {
                order
                    .iter()
                    .take_while(|&&node| usize::from(self.level[node as usize]) >= l)
                    .map(|&node| renumber(&self.links[l][node as usize]))
                    .collect::<Vec<_>>()
            })
            .filter(|layer| !layer.is_empty())
            .collect();
        Ok(AnnGraph {
            vectors: order
                .iter()
                .filter_map(|&node| self.vectors[node as usize])
                .collect(),
            products: order.clone(),
            zero: order
                .iter()
                .map(|&node| renumber(&self.links[0][node as usize]))
                .collect(),
            layers,
            entry: self.entry.map_or(0, |e| point[e as usize]),
            ef_search: self.ef_search,
        })
    }

    /// Takes the nodes marked in `removed` out of the graph. Every node
    /// that linked to one is relinked, on that layer, among its other
    /// neighbours and the removed node's, by the neighbour heuristic; the
    /// entry moves to a remaining node of the highest level.
    pub fn remove(&mut self, removed: &[bool]) {
        let gone = |node: u32| removed.get(node as usize).copied().unwrap_or(false);
        for l in 0..self.links.len() {
            let cap = links_on(l);
            let touched: Vec<u32> = (0..self.links[l].len() as u32)
                .filter(|&u| !gone(u) && self.links[l][u as usize].iter().any(|&v| gone(v)))
                .collect();
            let mut relinked = Vec::with_capacity(touched.len());
            for &u in &touched {
                let Some(base) = self.vectors[u as usize] else {
                    continue;
                };
                let mut candidates: Vec<u32> = Vec::new();
                for &v in &self.links[l][u as usize] {
                    if gone(v) {
                        candidates.extend(
                            self.links[l][v as usize]
                                .iter()
                                .copied()
                                .filter(|&w| w != u && !gone(w)),
                        );
                    } else {
                        candidates.push(v);
                    }
                }
                candidates.sort_unstable();
                candidates.dedup();
                let mut near: Vec<Near> = candidates
                    .into_iter()
                    .filter_map(|v| self.vectors[v as usize].map(|q| Near(distance(&base, &q), v)))
                    .collect();
                near.sort();
                relinked.push((u, self.select(&near, cap)));
            }
            for (u, row) in relinked {
                self.links[l][u as usize] = row;
            }
        }
        for (node, _) in removed.iter().enumerate().filter(|(_, &r)| r) {
            if let Some(v) = self.vectors.get_mut(node) {
                *v = None;
            }
            for layer in &mut self.links {
                if let Some(row) = layer.get_mut(node) {
                    *row = Vec::new();
                }
            }
            if let Some(level) = self.level.get_mut(node) {
                *level = 0;
            }
        }
        if self.entry.is_some_and(gone) {
            self.entry = self.highest();
        }
    }

    /// Renumbers the nodes: node `o` becomes `new_of_old[o]` in a graph of
    /// `n` slots; nodes without a new number must have been removed first.
    pub fn renumber(&mut self, new_of_old: &[Option<u32>], n: usize) -> anyhow::Result<()> {
        let mut vectors = vec![None; n];
        let mut level = vec![0u8; n];
        let mut links = vec![vec![Vec::new(); n]; self.links.len()];
        let map = |o: u32| new_of_old.get(o as usize).copied().flatten();
        for (o, vector) in self.vectors.iter().enumerate() {
            let Some(vector) = vector else { continue };
            let new = map(o as u32)
                .filter(|&new| (new as usize) < n)
                .with_context(|| format!("HNSW graph: node {o} has no place among {n}"))?;
            vectors[new as usize] = Some(*vector);
            level[new as usize] = self.level[o];
            for (l, layer) in self.links.iter().enumerate() {
                links[l][new as usize] = layer[o].iter().filter_map(|&v| map(v)).collect();
            }
        }
        self.vectors = vectors;
        self.level = level;
        self.links = links;
        self.entry = self.entry.and_then(map);
        Ok(())
    }

    /// Inserts `vector` as `node` (a slot [`Graph::renumber`] left empty)
    /// on layers `0..=level` ([`level_of`]).
    pub fn insert(&mut self, node: u32, vector: Quantized, level: u8) {
        let n = self.vectors.len().max(node as usize + 1);
        self.vectors.resize(n, None);
        self.level.resize(n, 0);
        while self.links.len() <= usize::from(level) {
            self.links.push(Vec::new());
        }
        for layer in &mut self.links {
            layer.resize(n, Vec::new());
        }
        self.vectors[node as usize] = Some(vector);
        self.level[node as usize] = level;
        let Some(entry) = self.entry.filter(|&e| e != node) else {
            self.entry = Some(node);
            return;
        };
        let top = self.level[entry as usize];
        let mut visited = Visited::default();
        let mut from = vec![Near(self.distance_to(&vector, entry), entry)];
        for l in (usize::from(level) + 1..=usize::from(top)).rev() {
            from = self.search_layer(&vector, &from, l, 1, &mut visited);
        }
        for l in (0..=usize::from(level.min(top))).rev() {
            let found = self.search_layer(&vector, &from, l, EF_CONSTRUCTION, &mut visited);
            let cap = links_on(l);
            let picked = self.select(&found, cap);
            for &v in &picked {
                self.link_back(v, node, l, cap);
            }
            self.links[l][node as usize] = picked;
            from = found;
        }
        if level > top {
            self.entry = Some(node);
        }
    }

    /// The remaining node of the highest level (the lowest such ordinal).
    fn highest(&self) -> Option<u32> {
        (0..self.vectors.len())
            .filter(|&i| self.vectors[i].is_some())
            .max_by_key(|&i| (self.level[i], std::cmp::Reverse(i)))
            .map(|i| i as u32)
    }

    fn distance_to(&self, q: &Quantized, node: u32) -> f32 {
        self.vectors
            .get(node as usize)
            .copied()
            .flatten()
            .map_or(f32::INFINITY, |v| distance(q, &v))
    }

    /// The `ef` nodes nearest `q` on layer `l` found by a beam search
    /// starting at `from`, nearest first.
    fn search_layer(
        &self,
        q: &Quantized,
        from: &[Near],
        l: usize,
        ef: usize,
        visited: &mut Visited,
    ) -> Vec<Near> {
        visited.start(self.vectors.len());
        let mut candidates: BinaryHeap<std::cmp::Reverse<Near>> = BinaryHeap::new();
        let mut best: BinaryHeap<Near> = BinaryHeap::new();
        for &near in from {
            if visited.first(near.1) {
                candidates.push(std::cmp::Reverse(near));
                best.push(near);
            }
        }
        while best.len() > ef {
            best.pop();
        }
        let Some(layer) = self.links.get(l) else {
            return best.into_sorted_vec();
        };
        while let Some(std::cmp::Reverse(c)) = candidates.pop() {
            if best.len() >= ef && best.peek().is_some_and(|worst| c.0 > worst.0) {
                break;
            }
            for &v in layer.get(c.1 as usize).map_or(&[][..], Vec::as_slice) {
                if !visited.first(v) {
                    continue;
                }
                let d = self.distance_to(q, v);
                if best.len() < ef || best.peek().is_some_and(|worst| d < worst.0) {
                    candidates.push(std::cmp::Reverse(Near(d, v)));
                    best.push(Near(d, v));
                    if best.len() > ef {
                        best.pop();
                    }
                }
            }
        }
        best.into_sorted_vec()
    }

    /// Up to `cap` of `near` (nearest first): the neighbour heuristic's
    /// picks (each nearer the point than to any node picked before it),
    /// then the nearest of those it passed over.
    fn select(&self, near: &[Near], cap: usize) -> Vec<u32> {
        let mut picked: Vec<u32> = Vec::with_capacity(cap);
        let mut passed: Vec<u32> = Vec::new();
        for &Near(d, v) in near {
            if picked.len() == cap {
                break;
            }
            let Some(vector) = self.vectors.get(v as usize).copied().flatten() else {
                continue;
            };
            if picked.iter().all(|&r| self.distance_to(&vector, r) > d) {
                picked.push(v);
            } else {
                passed.push(v);
            }
        }
        let room = cap - picked.len();
        picked.extend(passed.into_iter().take(room));
        picked
    }

    /// Adds `node` to `v`'s links on layer `l`, choosing again among them
    /// when `v` already has `cap`.
    fn link_back(&mut self, v: u32, node: u32, l: usize, cap: usize) {
        let Some(base) = self.vectors.get(v as usize).copied().flatten() else {
            return;
        };
        let row = &self.links[l][v as usize];
        if row.len() < cap {
            self.links[l][v as usize].push(node);
            return;
        }
        let mut near: Vec<Near> = row
            .iter()
            .chain(std::iter::once(&node))
            .map(|&w| Near(self.distance_to(&base, w), w))
            .collect();
        near.sort();
        self.links[l][v as usize] = self.select(&near, cap);
    }
}

/// Links a node keeps on layer `l`.
fn links_on(l: usize) -> usize {
    if l == 0 {
        LAYER0_LINKS
    } else {
        UPPER_LINKS
    }
}

/// The layer an inserted product goes up to, from a uniform draw `u` in
/// `(0, 1]` (a hash of its id, so rebuilds agree): each layer holds
/// [`LAYER_SHARE`] of the one below, as in a full build.
pub fn level_of(u: f64) -> u8 {
    let u = u.clamp(f64::MIN_POSITIVE, 1.0);
    let level = (u.ln() / f64::from(LAYER_SHARE).ln()).floor();
    if level >= f64::from(MAX_LEVEL) {
        MAX_LEVEL
    } else {
        level.max(0.0) as u8
    }
}
