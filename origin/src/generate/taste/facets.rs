//! Facets: what products have in common (a base product, a series, a
//! taste cluster, a brand, a colour, a descriptor word, a leaf), each with
//! its products and a sampler by popularity. Shoppers move from a product
//! to another that shares one of its facets, so two products co-occur in
//! proportion to what they share: graded, product by product, the way real
//! co-views are, rather than in blocks of interchangeable products.

use std::collections::HashMap;

use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;
use rand::Rng;

/// The kinds of facet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The other variants of the same base product.
    Base,
    /// The brand's named range, within one cluster.
    Series,
    /// The taste cluster.
    Cluster,
    /// The brand, within the leaf.
    Brand,
    /// The colour or pack size, within the leaf.
    Variant,
    /// A descriptor word of the title, within the leaf.
    Word,
    /// The leaf category.
    Leaf,
    /// The brand, colour or a descriptor word across the top-level
    /// category ("complete the look").
    Look,
}

/// One facet's products and their sampler.
struct Facet {
    products: Vec<usize>,
    popularity: Option<WeightedIndex<f64>>,
}

/// Every facet of a catalog, and each product's.
pub struct Facets {
    facets: Vec<Facet>,
    /// Per product: (kind, facet index).
    of: Vec<Vec<(Kind, usize)>>,
}

impl Facets {
    /// The facets of products whose facet keys (a kind and a name unique
    /// within the catalog) are `keys`, each product drawn in proportion to
    /// its `popularity`.
    pub fn new(keys: &[Vec<(Kind, String)>], popularity: &[f64]) -> Facets {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut members: Vec<Vec<usize>> = Vec::new();
        let mut of = Vec::with_capacity(keys.len());
        for (p, product) in keys.iter().enumerate() {
            let mut mine = Vec::with_capacity(product.len());
            for (kind, key) in product {
                let next = members.len();
                let f = *index.entry(key.as_str()).or_insert(next);
                if f == next {
                    members.push(Vec::new());
                }
                if let Some(m) = members.get_mut(f) {
                    m.push(p);
                }
                mine.push((*kind, f));
            }
            of.push(mine);
        }
        let facets = members
            .into_iter()
            .map(|products| Facet {
                popularity: WeightedIndex::new(
                    products
                        .iter()
                        .map(|&p| popularity.get(p).copied().unwrap_or(0.0)),
                )
                .ok(),
                products,
            })
            .collect();
        Facets { facets, of }
    }

    /// One of `product`'s facets of `kind`, at random.
    pub fn pick(&self, product: usize, kind: Kind, rng: &mut StdRng) -> Option<usize> {
        let mine = self.of.get(product)?;
        let n = mine.iter().filter(|(k, _)| *k == kind).count();
        if n == 0 {
            return None;
        }
        let nth = rng.gen_range(0..n);
        mine.iter()
            .filter(|(k, _)| *k == kind)
            .nth(nth)
            .map(|&(_, f)| f)
    }

    /// The facet of `kind` that `product` has (the first, if several).
    pub fn facet(&self, product: usize, kind: Kind) -> Option<usize> {
        self.of
            .get(product)?
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|&(_, f)| f)
    }

    /// A product of facet `facet`, by popularity.
    pub fn draw(&self, facet: usize, rng: &mut StdRng) -> Option<usize> {
        let f = self.facets.get(facet)?;
        f.products.get(f.popularity.as_ref()?.sample(rng)).copied()
    }
}
