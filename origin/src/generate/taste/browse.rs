//! The structured shape's shoppers. A session is after one taste cluster
//! of a leaf and a second, usually next to it in taste order. Its first view
//! is a popular product of the first cluster; each later view moves from the
//! last product to another variant of it, its series, its cluster or the
//! session's clusters, or (about one view in six) wanders to a product
//! sharing its brand, colour or a descriptor word, the same look across the
//! department, a fitting accessory, the rest of the leaf or a sibling leaf.
//! Within a move, of products drawn by popularity the one viewed is drawn by
//! closeness to the last in the latent space ([`super::latent`]): of
//! [`CANDIDATES`] when it stays, of [`WANDER`] when it wanders.

use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use super::facets::Kind;
use super::latent::distance;
use super::Taste;
use crate::generate::catalog::Generated;
use crate::generate::events::{Browse, World};
use crate::generate::vocab::Leaf;

/// Chance that a session's second cluster is a neighbour of the first in
/// taste order (else another popular cluster of the leaf).
const NEIGHBOUR: f64 = 0.7;
/// Products drawn by popularity for a view that stays with the last
/// product's base, series or cluster or the session's clusters; the one
/// viewed is drawn by closeness to the last.
const CANDIDATES: usize = 32;
/// The same for a view that wanders (brand, colour, word, look, leaf):
/// fewer candidates, so it lands further away.
const WANDER: usize = 4;
/// The latent distance at which a candidate's odds fall by e^-½ (the
/// spread of a base product's offset is 0.25 per dimension).
const CLOSENESS: f64 = 0.5;

/// Where a view goes from the last one.
#[derive(Debug, Clone, Copy)]
enum Move {
    /// A product sharing a facet of this kind with the last one (for the
    /// base, series or cluster: else the series, else the cluster).
    Share(Kind),
    /// A product of the session's first cluster.
    First,
    /// A product of the session's second cluster.
    Second,
    /// An accessory that fits the last product (or a device it fits).
    Accessory,
    /// A popular product of a sibling leaf.
    Sibling,
}

/// The moves and their odds: 82% of views stay in the session's clusters,
/// most of them in the last product's series.
const MOVES: [(Move, f64); 12] = [
    (Move::Share(Kind::Base), 0.20),
    (Move::Share(Kind::Series), 0.40),
    (Move::Share(Kind::Cluster), 0.10),
    (Move::First, 0.08),
    (Move::Second, 0.04),
    (Move::Share(Kind::Brand), 0.02),
    (Move::Share(Kind::Variant), 0.02),
    (Move::Share(Kind::Word), 0.03),
    (Move::Share(Kind::Look), 0.01),
    (Move::Accessory, 0.06),
    (Move::Share(Kind::Leaf), 0.02),
    (Move::Sibling, 0.02),
];

/// What one session is after: a leaf and two of its clusters.
pub struct Mission {
    leaf: usize,
    first: usize,
    second: usize,
}

/// Shoppers of a catalog with tastes.
pub struct Shoppers<'a> {
    world: World<'a>,
    taste: &'a Taste,
    /// Per cluster: its facet.
    cluster_facets: Vec<Option<usize>>,
    /// Per leaf: its facet.
    leaf_facets: Vec<Option<usize>>,
    /// Sampler over [`MOVES`].
    moves: Option<WeightedIndex<f64>>,
}

impl<'a> Shoppers<'a> {
    /// Shoppers of `products`, placed in `taste`.
    pub fn new(leaves: &'a [Leaf], products: &'a [Generated], taste: &'a Taste) -> Shoppers<'a> {
        let mut cluster_facets = vec![None; taste.clusters.len()];
        let mut leaf_facets = vec![None; leaves.len()];
        for (p, (place, g)) in taste.places.iter().zip(products).enumerate() {
            if let Some(slot @ None) = cluster_facets.get_mut(place.cluster) {
                *slot = taste.facets.facet(p, Kind::Cluster);
            }
            if let Some(slot @ None) = leaf_facets.get_mut(g.leaf) {
                *slot = taste.facets.facet(p, Kind::Leaf);
            }
        }
        Shoppers {
            world: World::new(leaves, products),
            taste,
            cluster_facets,
            leaf_facets,
            moves: WeightedIndex::new(MOVES.iter().map(|m| m.1)).ok(),
        }
    }

    /// A product of `cluster`, by popularity.
    fn popular_of(&self, cluster: usize, rng: &mut StdRng) -> Option<usize> {
        let facet = (*self.cluster_facets.get(cluster)?)?;
        self.taste.facets.draw(facet, rng)
    }

    /// The cluster of a popular product of `leaf`.
    fn popular_cluster(&self, leaf: usize, rng: &mut StdRng) -> Option<usize> {
        let p = self.popular_in(leaf, rng)?;
        Some(self.taste.places.get(p)?.cluster)
    }

    /// A cluster next to `cluster` in its leaf's taste order.
    fn neighbour(&self, leaf: usize, cluster: usize, rng: &mut StdRng) -> Option<usize> {
        let order = self.taste.by_leaf.get(leaf)?;
        let at = order.iter().position(|&c| c == cluster)?;
        let near: Vec<usize> = [at.checked_sub(1), Some(at + 1)]
            .into_iter()
            .flatten()
            .filter_map(|i| order.get(i).copied())
            .collect();
        near.choose(rng).copied()
    }

    /// [`Shoppers::closest_of`] [`CANDIDATES`].
    fn closest(
        &self,
        last: usize,
        rng: &mut StdRng,
        draw: impl FnMut(&mut StdRng) -> Option<usize>,
    ) -> Option<usize> {
        self.closest_of(CANDIDATES, last, rng, draw)
    }

    /// Of `n` products drawn by `draw` (other than `last`), one drawn by
    /// closeness to `last`; `None` if every draw was `last`.
    fn closest_of(
        &self,
        n: usize,
        last: usize,
        rng: &mut StdRng,
        mut draw: impl FnMut(&mut StdRng) -> Option<usize>,
    ) -> Option<usize> {
        let here = self.taste.latent.get(last)?;
        let candidates: Vec<usize> = (0..n)
            .filter_map(|_| draw(rng))
            .filter(|&c| c != last)
            .collect();
        let odds = candidates.iter().map(|&c| {
            let d = self
                .taste
                .latent
                .get(c)
                .map_or(f32::MAX, |p| distance(here, p));
            // The floor keeps the odds valid when every candidate is far.
            (-f64::from(d) / (2.0 * CLOSENESS * CLOSENESS)).exp() + f64::MIN_POSITIVE
        });
        let pick = WeightedIndex::new(odds).ok()?.sample(rng);
        candidates.get(pick).copied()
    }
}

impl Browse for Shoppers<'_> {
    type Mission = Mission;

    fn world(&self) -> &World<'_> {
        &self.world
    }

    fn mission(&self, rng: &mut StdRng) -> Option<Mission> {
        let leaf = self.world.mission_leaf(rng)?;
        let first = self.popular_cluster(leaf, rng)?;
        let second = if rng.gen_bool(NEIGHBOUR) {
            self.neighbour(leaf, first, rng)
        } else {
            self.popular_cluster(leaf, rng)
        };
        Some(Mission {
            leaf,
            first,
            second: second.unwrap_or(first),
        })
    }

    fn leaf(&self, mission: &Mission) -> usize {
        mission.leaf
    }

    fn popular_in(&self, leaf: usize, rng: &mut StdRng) -> Option<usize> {
        let facet = (*self.leaf_facets.get(leaf)?)?;
        self.taste.facets.draw(facet, rng)
    }

    /// The cluster's sub-type, alone or after one of its words or brands.
    fn query(&self, mission: &Mission, rng: &mut StdRng) -> Option<String> {
        let c = self.taste.clusters.get(mission.first)?;
        let roll: f64 = rng.gen();
        let query = if roll < 0.5 {
            c.noun.to_owned()
        } else if roll < 0.8 {
            format!("{} {}", c.words.choose(rng)?, c.noun)
        } else {
            format!("{} {}", c.brands.choose(rng)?, c.noun)
        };
        Some(query.to_lowercase())
    }

    fn next(&self, mission: &Mission, viewed: &[usize], rng: &mut StdRng) -> Option<usize> {
        let Some(&last) = viewed.last() else {
            return self.popular_of(mission.first, rng);
        };
        let facets = &self.taste.facets;
        let (mv, _) = MOVES.get(self.moves.as_ref()?.sample(rng))?;
        match *mv {
            Move::Share(kind @ (Kind::Base | Kind::Series | Kind::Cluster)) => {
                [kind, Kind::Series, Kind::Cluster]
                    .into_iter()
                    .find_map(|k| {
                        let f = facets.pick(last, k, rng)?;
                        self.closest(last, rng, |r| facets.draw(f, r))
                    })
            }
            Move::Share(kind) => {
                let f = facets.pick(last, kind, rng)?;
                self.closest_of(WANDER, last, rng, |r| facets.draw(f, r))
            }
            Move::First => self.closest(last, rng, |r| self.popular_of(mission.first, r)),
            Move::Second => self.closest(last, rng, |r| self.popular_of(mission.second, r)),
            Move::Accessory => self.accessory_for(Some(last), mission.leaf, rng),
            Move::Sibling => {
                let siblings = self.world.siblings(mission.leaf);
                let leaf = *siblings.choose(rng)?;
                self.popular_in(leaf, rng)
            }
        }
    }
}
