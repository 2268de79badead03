//! A latent taste space: every product has a position, the sum of random
//! offsets of everything it belongs to, from the department down to the
//! product itself, each level's spread smaller than the one above. Products
//! of one series lie closer together than products of one cluster, which lie
//! closer than products of one leaf: similarity at several scales, product by
//! product. Shoppers' next views favour products close to the last one
//! ([`super::browse`]), the way a product page's "similar items" steer real
//! sessions, so each product's co-views are its own, not those of a block of
//! interchangeable products.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Dimensions of the space.
const DIM: usize = 24;

/// A position in the space.
pub type Point = [f32; DIM];

/// Spread (standard deviation per dimension) of each level's offset.
pub mod spread {
    /// The top-level category.
    pub const TOP: f32 = 1.0;
    /// The leaf category.
    pub const LEAF: f32 = 0.8;
    /// The sub-type within the leaf.
    pub const NOUN: f32 = 0.6;
    /// The price tier within the leaf.
    pub const TIER: f32 = 0.4;
    /// The taste cluster.
    pub const CLUSTER: f32 = 0.4;
    /// The brand within the leaf.
    pub const BRAND: f32 = 0.3;
    /// The series.
    pub const SERIES: f32 = 0.35;
    /// The base product.
    pub const BASE: f32 = 0.25;
    /// The colour or pack size (the same offset in every leaf).
    pub const VARIANT: f32 = 0.1;
    /// The product itself.
    pub const OWN: f32 = 0.08;
}

/// The offsets drawn so far, by the name of what they belong to.
pub struct Space {
    rng: StdRng,
    offsets: HashMap<String, Point>,
}

impl Space {
    /// An empty space whose offsets are drawn from `seed`.
    pub fn new(seed: u64) -> Space {
        Space {
            rng: StdRng::seed_from_u64(seed),
            offsets: HashMap::new(),
        }
    }

    /// The position of a product belonging to `levels` (a unique name and
    /// a spread each): the sum of their offsets, each drawn the first time
    /// its name is seen.
    pub fn position(&mut self, levels: &[(String, f32)]) -> Point {
        let mut p = [0.0; DIM];
        for (name, spread) in levels {
            let rng = &mut self.rng;
            let offset = self.offsets.entry(name.clone()).or_insert_with(|| {
                let mut o = [0.0; DIM];
                for x in &mut o {
                    *x = gaussian(rng) * spread;
                }
                o
            });
            for (x, y) in p.iter_mut().zip(offset.iter()) {
                *x += y;
            }
        }
        p
    }
}

/// A standard normal draw (Box-Muller).
fn gaussian(rng: &mut StdRng) -> f32 {
    let u: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
    let v: f64 = rng.gen();
    ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
}

/// Squared distance between two positions.
pub fn distance(a: &Point, b: &Point) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}
