//! The structured shape: a catalog with tastes inside every leaf.
//!
//! Each leaf is split into taste clusters: one sub-type (the leaf's nouns)
//! at one price tier, with its own descriptor words, technology name,
//! brands, palette and material. Neighbouring clusters of a leaf share the
//! sub-type and differ by one tier, so tastes form a line from cheap to
//! dear within each sub-type. A cluster holds series (a brand's named
//! range), a series holds base products (model codes), and a base product
//! comes in variants (colours or pack sizes) that share the rest of the
//! title. Titles draw on the long-tail [`super::lexicon`].
//!
//! Every product also has a position in a latent taste space ([`latent`]):
//! the sum of offsets of its department, leaf, sub-type, tier, cluster,
//! brand, series, base product and colour, smaller at each level. Shoppers
//! ([`browse`]) keep mostly to one or two clusters per session, move along
//! what products share ([`facets`]: base, series, cluster, brand, colour,
//! words) and favour products close to the last one viewed, so
//! co-occurrence, and the embeddings learned from it, has structure at
//! every scale down to the product: a product's co-views are its own, not
//! those of a block of interchangeable products (the classic shape's, where
//! a leaf's products are only told apart by noise).

mod browse;
mod catalog;
mod facets;
mod latent;

pub use browse::Shoppers;
pub use catalog::generate;

use facets::Facets;

/// Price tiers per sub-type, cheapest first.
const TIERS: usize = 3;
/// Products per taste cluster, on average.
const CLUSTER_SIZE: f64 = 80.0;
/// Most taste clusters in one leaf.
const MAX_CLUSTERS: usize = 64;
/// Zipf exponent of the clusters' popularity within a leaf.
const CLUSTER_POPULARITY: f64 = 1.0;
/// Zipf exponent of the products' popularity within a cluster.
const PRODUCT_POPULARITY: f64 = 0.9;

/// One taste cluster: a leaf's sub-type at one price tier.
pub struct Cluster {
    /// The sub-type (one of the leaf's nouns).
    pub noun: &'static str,
    /// Descriptor words that mark its products.
    pub words: Vec<&'static str>,
    /// Its brands, the most present first.
    pub brands: Vec<String>,
}

/// Where a product sits in the tastes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// Index into [`Taste::clusters`].
    pub cluster: usize,
    /// Index of its series within the cluster.
    pub series: usize,
    /// Base product (shared by its variants), numbered over the catalog.
    pub base: usize,
}

/// The taste clusters of a generated catalog.
pub struct Taste {
    /// Every cluster, leaf by leaf, in taste order within a leaf.
    pub clusters: Vec<Cluster>,
    /// Per leaf: its clusters in taste order (neighbours adjacent).
    pub by_leaf: Vec<Vec<usize>>,
    /// Per product: where it sits.
    pub places: Vec<Place>,
    /// What products share, with popularity samplers.
    facets: Facets,
    /// Per product: its position in the latent taste space.
    latent: Vec<latent::Point>,
}
