//! The structured shape's products: clusters, series, base products and
//! their variants, titled from the long-tail lexicon.

use std::collections::{BTreeMap, HashMap};

use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use super::facets::{Facets, Kind};
use super::latent::{spread, Point, Space};
use super::{
    Cluster, Place, Taste, CLUSTER_POPULARITY, CLUSTER_SIZE, MAX_CLUSTERS, PRODUCT_POPULARITY,
    TIERS,
};
use crate::generate::catalog::{assemble, blurb, leaf_counts, price_between, sku, Generated, Text};
use crate::generate::lexicon::{distinct, draw, made_up, model_code, tech_word, Words};
use crate::generate::vocab::{materials, Leaf};
use crate::generate::{zipf, Spec};

/// Share of a base product's later variants listed away from it.
const DETACHED: f64 = 0.25;
/// Colour variants per base product: weights of 1, 2, 3, 4 and 5.
const COLOUR_VARIANTS: [f64; 5] = [0.3, 0.25, 0.2, 0.15, 0.1];
/// Devices one accessory fits, at most, counting each variant.
const MAX_FITS: usize = 6;

/// How the variants of one base product differ.
#[derive(Clone, Copy)]
enum Variety {
    /// In colours from the cluster's palette.
    Colour,
    /// In these pack sizes, smallest first.
    Pack(&'static [&'static str]),
}

fn variety(leaf: &Leaf) -> Variety {
    match (leaf.top, leaf.name) {
        (_, "Wine") => Variety::Pack(&["75 cl", "Magnum 150 cl", "Case of 6"]),
        ("Beauty", _) => Variety::Pack(&["30 ml", "50 ml", "100 ml", "200 ml"]),
        ("Health", _) => Variety::Pack(&["30 Count", "60 Count", "90 Count", "120 Count"]),
        ("Food & Drink", _) => Variety::Pack(&["250 g", "500 g", "1 kg", "Pack of 6"]),
        ("Toys & Games", _) => {
            Variety::Pack(&["Standard Edition", "Travel Edition", "Deluxe Edition"])
        }
        _ => Variety::Colour,
    }
}

/// Who a cluster dresses, where a leaf sells by it, with weights.
fn audiences(leaf: &Leaf) -> &'static [(&'static str, f64)] {
    match leaf.top {
        "Fashion" | "Sports & Outdoors" if leaf.name != "Camping Fuel" => &[
            ("for Women", 0.45),
            ("for Men", 0.35),
            ("Unisex", 0.12),
            ("for Kids", 0.08),
        ],
        _ => &[],
    }
}

/// What a cluster's products are made of, before they are drawn.
struct Recipe {
    noun: &'static str,
    tier: usize,
    price: (f64, f64),
    words: Vec<&'static str>,
    tech: String,
    brands: Vec<String>,
    palette: Vec<&'static str>,
    material: &'static str,
    audience: Option<&'static str>,
}

/// A product before its place in the catalog (and so its id) is known.
struct Draft {
    leaf: usize,
    place: Place,
    /// Its facets' keys.
    keys: Vec<(Kind, String)>,
    /// Its position in the latent taste space.
    position: Point,
    text: Text,
    price: f64,
    /// Listed away from its base product's other variants.
    detached: bool,
}

/// What every cluster's products are drawn with.
struct Context {
    words: Words,
    space: Space,
    /// Base products so far.
    bases: usize,
}

/// Generates the catalog and its tastes.
pub fn generate(leaves: &[Leaf], spec: &Spec, rng: &mut StdRng) -> (Vec<Generated>, Taste) {
    let mut context = Context {
        words: Words::new(),
        space: Space::new(rng.gen()),
        bases: 0,
    };
    let mut recipes: Vec<Recipe> = Vec::new();
    let mut drafts: Vec<Draft> = Vec::with_capacity(spec.products);
    let mut by_leaf = vec![Vec::new(); leaves.len()];
    for ((leaf_index, leaf), count) in leaves.iter().enumerate().zip(leaf_counts(leaves, spec)) {
        let k = ((count as f64 / CLUSTER_SIZE).round() as usize).clamp(1, MAX_CLUSTERS);
        let brands = brand_pool(leaf, count, rng);
        let weights: Vec<f64> = (0..k).map(|_| rng.gen_range(0.4..1.6)).collect();
        let total: f64 = weights.iter().sum();
        let mut leaf_drafts = Vec::new();
        let mut cumulative = 0.0;
        for (c, w) in weights.iter().enumerate() {
            let from = (count as f64 * cumulative / total).round() as usize;
            cumulative += w;
            let to = (count as f64 * cumulative / total).round() as usize;
            let cluster = recipes.len();
            let recipe = recipe(leaf, c, k, &brands, &context.words, rng);
            fill(
                (leaf_index, leaf, cluster),
                &recipe,
                to - from,
                &mut context,
                &mut leaf_drafts,
                rng,
            );
            by_leaf[leaf_index].push(cluster);
            recipes.push(recipe);
        }
        drafts.extend(list(leaf_drafts, rng));
    }
    let mut products = Vec::with_capacity(drafts.len());
    let mut places = Vec::with_capacity(drafts.len());
    let mut keys = Vec::with_capacity(drafts.len());
    let mut positions = Vec::with_capacity(drafts.len());
    for (i, d) in drafts.into_iter().enumerate() {
        let Some(leaf) = leaves.get(d.leaf) else {
            continue;
        };
        products.push(Generated {
            product: assemble(sku(i + 1, spec), leaf, d.text, d.price, spec, rng),
            leaf: d.leaf,
        });
        places.push(d.place);
        keys.push(d.keys);
        positions.push(d.position);
    }
    let taste = tastes(leaves, recipes, by_leaf, (places, positions), &keys, rng);
    link_accessories(leaves, &taste, &mut products, rng);
    (products, taste)
}

/// The leaf's brands, most present first: its own, then made-up ones as
/// the leaf grows (one per 120 products, at most 40), a few with a suffix.
fn brand_pool(leaf: &Leaf, count: usize, rng: &mut StdRng) -> Vec<String> {
    let mut pool: Vec<String> = leaf.brands.iter().map(|b| (*b).to_owned()).collect();
    for _ in 0..(count / 120).min(40) {
        let name = made_up(rng, 2);
        let brand = match rng.gen_range(0..20) {
            0 => format!("{name} & Co"),
            1 => format!("{name} Studio"),
            2 => format!("{name} Works"),
            _ => name,
        };
        pool.push(brand);
    }
    pool
}

/// The recipe of cluster `c` of the leaf's `k`: clusters share a noun in
/// contiguous runs, and within a run the price tier rises.
fn recipe(
    leaf: &Leaf,
    c: usize,
    k: usize,
    brands: &[String],
    words: &Words,
    rng: &mut StdRng,
) -> Recipe {
    let nouns = leaf.nouns.len().max(1);
    let noun_of = |c: usize| c * nouns / k;
    let noun = noun_of(c);
    let run: Vec<usize> = (0..k).filter(|&o| noun_of(o) == noun).collect();
    let position = run.iter().position(|&o| o == c).unwrap_or(0);
    let tier = position * TIERS / run.len().max(1);
    let brand_zipf = zipf(brands.len(), 1.0);
    let audience = WeightedIndex::new(audiences(leaf).iter().map(|a| a.1))
        .ok()
        .and_then(|w| audiences(leaf).get(w.sample(rng)))
        .map(|a| a.0);
    Recipe {
        tier,
        noun: leaf.nouns.get(noun).copied().unwrap_or(leaf.name),
        price: tier_price(leaf.price, tier),
        words: distinct(rng.gen_range(2..=3), || words.descriptor(rng)),
        tech: tech_word(rng),
        brands: distinct(rng.gen_range(1..=3), || {
            draw(brands, brand_zipf.as_ref(), rng)
        }),
        palette: distinct(rng.gen_range(3..=6), || words.colour(rng)),
        material: materials(leaf.top).choose(rng).copied().unwrap_or_default(),
        audience,
    }
}

/// The price range of `tier` within a leaf's `(lo, hi)`: bands on a log
/// scale, each overlapping the next by half.
fn tier_price((lo, hi): (f64, f64), tier: usize) -> (f64, f64) {
    let span = (hi / lo).ln();
    let at = |x: f64| lo * (span * (x / TIERS as f64).min(1.0)).exp();
    (at(tier as f64), at(tier as f64 + 1.5))
}

/// Appends `size` products of one cluster to `out`: series of base
/// products, each base in one or more variants.
fn fill(
    (leaf_index, leaf, cluster): (usize, &Leaf, usize),
    recipe: &Recipe,
    size: usize,
    context: &mut Context,
    out: &mut Vec<Draft>,
    rng: &mut StdRng,
) {
    let brand_zipf = zipf(recipe.brands.len(), 1.0);
    let goal = out.len() + size;
    let mut series = 0;
    while out.len() < goal {
        let brand = draw(&recipe.brands, brand_zipf.as_ref(), rng);
        let syllables = rng.gen_range(2..=3);
        let name = rng.gen_bool(0.8).then(|| made_up(rng, syllables));
        let series_price = price_between(rng, recipe.price);
        let in_series = 1 + (rng.gen::<f64>().powi(2) * 7.0) as usize;
        for _ in 0..in_series {
            let place = Place {
                cluster,
                series,
                base: context.bases,
            };
            context.bases += 1;
            let model = rng.gen_bool(0.7).then(|| model_code(rng));
            let descriptors = distinct(rng.gen_range(1..=2), || {
                if rng.gen_bool(0.5) {
                    recipe.words.choose(rng).copied().unwrap_or_default()
                } else {
                    context.words.descriptor(rng)
                }
            });
            let mut stem: Vec<&str> = vec![brand.as_str()];
            stem.extend(name.as_deref());
            stem.extend(model.as_deref());
            stem.extend(descriptors.iter().copied());
            if rng.gen_bool(0.3) {
                stem.push(&recipe.tech);
            }
            stem.push(recipe.noun);
            stem.extend(recipe.audience);
            let stem = stem.join(" ");
            let price = (series_price * rng.gen_range(0.8..1.25)).floor() + 0.99;
            let variants: Vec<(&str, &str, f64)> = match variety(leaf) {
                Variety::Colour => {
                    let n = WeightedIndex::new(COLOUR_VARIANTS).map_or(1, |w| w.sample(rng) + 1);
                    let chosen: Vec<&str> =
                        recipe.palette.choose_multiple(rng, n).copied().collect();
                    chosen.into_iter().map(|c| ("colour", c, price)).collect()
                }
                Variety::Pack(packs) => {
                    let n = rng.gen_range(1..=packs.len().min(3));
                    let first = rng.gen_range(0..=packs.len() - n);
                    (0..n)
                        .filter_map(|i| packs.get(first + i))
                        .zip([1.0, 1.7, 2.9])
                        .map(|(p, f)| ("size", *p, (price * f).floor() + 0.99))
                        .collect()
                }
            };
            let about = descriptors.join(", ").to_lowercase();
            for (v, (attribute, value, price)) in variants.into_iter().enumerate() {
                if out.len() == goal {
                    return;
                }
                let title = format!("{stem}, {value}");
                let description = format!(
                    "{stem} from {brand} in {value}: {about}, made with {} and {} \
                     technology. {}",
                    recipe.material,
                    recipe.tech,
                    blurb(rng),
                );
                let attributes = BTreeMap::from([
                    (attribute.to_owned(), value.to_lowercase()),
                    ("material".to_owned(), recipe.material.to_owned()),
                ]);
                let mut keys = vec![
                    (Kind::Base, format!("b{}", place.base)),
                    (Kind::Series, format!("s{cluster}/{series}")),
                    (Kind::Cluster, format!("c{cluster}")),
                    (Kind::Leaf, format!("l{leaf_index}")),
                    (Kind::Brand, format!("l{leaf_index}/b/{brand}")),
                    (Kind::Variant, format!("l{leaf_index}/v/{value}")),
                    (Kind::Look, format!("t{}/b/{brand}", leaf.top)),
                    (Kind::Look, format!("t{}/v/{value}", leaf.top)),
                ];
                for w in &descriptors {
                    keys.push((Kind::Word, format!("l{leaf_index}/w/{w}")));
                    keys.push((Kind::Look, format!("t{}/w/{w}", leaf.top)));
                }
                let position = context.space.position(&[
                    (format!("t{}", leaf.top), spread::TOP),
                    (format!("l{leaf_index}"), spread::LEAF),
                    (format!("l{leaf_index}/n/{}", recipe.noun), spread::NOUN),
                    (format!("l{leaf_index}/t/{}", recipe.tier), spread::TIER),
                    (format!("c{cluster}"), spread::CLUSTER),
                    (format!("l{leaf_index}/b/{brand}"), spread::BRAND),
                    (format!("s{cluster}/{series}"), spread::SERIES),
                    (format!("b{}", place.base), spread::BASE),
                    (format!("v/{value}"), spread::VARIANT),
                    (format!("b{}/{v}", place.base), spread::OWN),
                ]);
                out.push(Draft {
                    leaf: leaf_index,
                    place,
                    keys,
                    position,
                    text: Text {
                        title,
                        description,
                        brand: brand.clone(),
                        attributes,
                    },
                    price,
                    detached: v > 0 && rng.gen_bool(DETACHED),
                });
            }
        }
        series += 1;
    }
}

/// One leaf's drafts in catalog order: base products in random order, each
/// with its variants next to it, except the detached ones, listed apart.
fn list(drafts: Vec<Draft>, rng: &mut StdRng) -> Vec<Draft> {
    let mut units: Vec<Vec<Draft>> = Vec::new();
    let mut last_base = None;
    for d in drafts {
        if d.detached || last_base != Some(d.place.base) {
            last_base = Some(d.place.base);
            units.push(vec![d]);
        } else if let Some(unit) = units.last_mut() {
            unit.push(d);
        }
    }
    units.shuffle(rng);
    units.into_iter().flatten().collect()
}

/// The tastes: each leaf's clusters get a popularity order, each cluster's
/// base products another (a base's variants together), and a product's
/// popularity is its leaf's demand times the Zipf weights of its cluster's
/// rank in the leaf and of its own rank in the cluster.
fn tastes(
    leaves: &[Leaf],
    recipes: Vec<Recipe>,
    by_leaf: Vec<Vec<usize>>,
    (places, latent): (Vec<Place>, Vec<Point>),
    keys: &[Vec<(Kind, String)>],
    rng: &mut StdRng,
) -> Taste {
    let mut bases_of: Vec<BTreeMap<usize, Vec<usize>>> = vec![BTreeMap::new(); recipes.len()];
    for (i, place) in places.iter().enumerate() {
        if let Some(bases) = bases_of.get_mut(place.cluster) {
            bases.entry(place.base).or_default().push(i);
        }
    }
    let mut popularity = vec![0.0; places.len()];
    let mut cluster_weight = vec![0.0; recipes.len()];
    for (leaf, clusters) in leaves.iter().zip(&by_leaf) {
        let mut ranked = clusters.clone();
        ranked.shuffle(rng);
        for (rank, &c) in ranked.iter().enumerate() {
            if let Some(w) = cluster_weight.get_mut(c) {
                *w = leaf.demand * zipf_weight(rank, ranked.len(), CLUSTER_POPULARITY);
            }
        }
    }
    for (bases, weight) in bases_of.into_iter().zip(&cluster_weight) {
        let mut bases: Vec<Vec<usize>> = bases.into_values().collect();
        bases.shuffle(rng);
        let ranked: Vec<usize> = bases.into_iter().flatten().collect();
        for (rank, &p) in ranked.iter().enumerate() {
            if let Some(w) = popularity.get_mut(p) {
                *w = weight * zipf_weight(rank, ranked.len(), PRODUCT_POPULARITY);
            }
        }
    }
    Taste {
        clusters: recipes
            .into_iter()
            .map(|r| Cluster {
                noun: r.noun,
                words: r.words,
                brands: r.brands,
            })
            .collect(),
        by_leaf,
        facets: Facets::new(keys, &popularity),
        places,
        latent,
    }
}

/// Rank `rank`'s share of a Zipf distribution over `n` ranks.
fn zipf_weight(rank: usize, n: usize, exponent: f64) -> f64 {
    let w = |r: usize| 1.0 / (r as f64 + 1.0).powf(exponent);
    w(rank) / (0..n).map(w).sum::<f64>()
}

/// Each accessory base product fits one to three base products (all their
/// variants, up to [`MAX_FITS`] ids) of the device leaf's cluster at the
/// same position in taste order.
fn link_accessories(leaves: &[Leaf], taste: &Taste, products: &mut [Generated], rng: &mut StdRng) {
    let mut variants: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, place) in taste.places.iter().enumerate() {
        variants.entry(place.base).or_default().push(i);
    }
    let ids: Vec<String> = products.iter().map(|g| g.product.id.clone()).collect();
    let mut fits: HashMap<usize, Vec<String>> = HashMap::new();
    for (g, place) in products.iter_mut().zip(&taste.places) {
        let leaf = g.leaf;
        let Some(device_leaf) = leaves
            .get(leaf)
            .and_then(|l| l.accessory_of)
            .and_then(|name| leaves.iter().position(|l| l.name == name))
        else {
            continue;
        };
        let list = fits.entry(place.base).or_insert_with(|| {
            let Some(devices) = paired(taste, leaf, place.cluster, device_leaf) else {
                return Vec::new();
            };
            let mut bases: Vec<usize> = taste
                .places
                .iter()
                .filter(|d| d.cluster == devices)
                .map(|d| d.base)
                .collect();
            bases.sort_unstable();
            bases.dedup();
            let n = rng.gen_range(1..=3).min(bases.len());
            let mut list: Vec<String> = bases
                .choose_multiple(rng, n)
                .flat_map(|b| variants.get(b).into_iter().flatten())
                .filter_map(|&j| ids.get(j).cloned())
                .collect();
            list.truncate(MAX_FITS);
            list
        });
        g.product.compatible_with = list.clone();
    }
}

/// The cluster of `device_leaf` at the same relative position in taste
/// order as `cluster` in `leaf`.
fn paired(taste: &Taste, leaf: usize, cluster: usize, device_leaf: usize) -> Option<usize> {
    let own = taste.by_leaf.get(leaf)?;
    let devices = taste.by_leaf.get(device_leaf)?;
    let position = own.iter().position(|&c| c == cluster)?;
    let at = position * devices.len() / own.len().max(1);
    devices.get(at).copied()
}
