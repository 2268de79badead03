//! Which shard of a sharded store a request needs (see
//! [`firstpaint_bundle::ShardSet`]). Plain logic, tested on the host; the
//! loader ([`crate::shards`]) opens what this names.
//!
//! - **Product page** (`/products/<id>`, or an API call naming a
//!   `product`): the product's category shard, by `routes.fst` (loaded
//!   once per manifest). An id the routes do not know goes to the global
//!   shard (its slots then keep their fallbacks).
//! - **Category page** (`/categories/<slug>`, or a `category` parameter):
//!   the one shard whose categories cover it: a shard category covers a
//!   page when the page's slug is the category's slug or begins with it
//!   and a `/` (so `electronics/phones/android` is covered by
//!   `Electronics/Phones`). When no shard or several cover it (a
//!   top-level category cut into shards along its second level, or a
//!   second-level one cut into runs), the global shard answers: it holds
//!   the store's most active products of every category, the right ones
//!   for a department page.
//! - **Anything else** (home, cart, pages about no category): global.
//! - **Search**: see [`search_shards`].

use firstpaint_bundle::{ShardSet, TermDirectory};
use firstpaint_engine::text::category_names::category_slug;

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The global shard (the manifest's own bundle).
    Global,
    /// Category shard `n` (its position in [`ShardSet::shards`]).
    Shard(usize),
}

/// What a request is about, as far as routing goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Nothing in particular: the global shard.
    Global,
    /// A product, by id.
    Product(String),
    /// A category, by page slug, catalog path or leaf name.
    Category(String),
}

/// `routes.fst`: product id -> category shard.
pub struct Routes {
    map: fst::Map<Vec<u8>>,
}

impl Routes {
    /// Reads verified `routes.fst` bytes.
    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        // Checksummed before use: fst panics walking a damaged map.
        fst::Map::new(bytes)
            .and_then(|map| map.as_fst().verify().map(|()| map))
            .map(|map| Routes { map })
            .map_err(|e| format!("routes.fst does not parse: {e}"))
    }

    /// The category shard of product `id`, if the routes know it.
    pub fn shard_of(&self, id: &str) -> Option<usize> {
        self.map.get(id).and_then(|s| usize::try_from(s).ok())
    }

    /// Product ids routed.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no product is routed.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The shard a category page is about: `name` is a page slug, a catalog
/// path or a leaf-free path prefix (see the module docs).
pub fn category_target(set: &ShardSet, name: &str) -> Target {
    // A catalog path or a slug read alike: "Home & Kitchen/Coffee" and
    // "home-kitchen/coffee" have the same slug.
    let page = category_slug(name);
    if page.is_empty() {
        return Target::Global;
    }
    let mut covering = set.shards.iter().enumerate().filter(|(_, shard)| {
        // "Electronics/Phones#2" is a run of a category cut in parts: it
        // covers no page alone (see `cut_in_runs`).
        shard
            .categories
            .iter()
            .any(|c| !c.contains('#') && covers(&category_slug(c), &page))
    });
    match (covering.next(), covering.next()) {
        (Some((n, _)), None) if !cut_in_runs(set, &page) => Target::Shard(n),
        _ => Target::Global,
    }
}

/// Whether a category at or above `page` was cut into runs across shards.
fn cut_in_runs(set: &ShardSet, page: &str) -> bool {
    set.shards
        .iter()
        .flat_map(|s| &s.categories)
        .filter_map(|c| c.split_once('#').map(|(p, _)| category_slug(p)))
        .any(|slug| covers(&slug, page))
}

/// Whether category slug `slug` is page slug `page` or one of its parents.
fn covers(slug: &str, page: &str) -> bool {
    !slug.is_empty()
        && page
            .strip_prefix(slug)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The target of `need`; `routes` for a product (`None` until loaded: a
/// product then needs them first).
pub fn target(set: &ShardSet, need: &Need, routes: Option<&Routes>) -> Option<Target> {
    Some(match need {
        Need::Global => Target::Global,
        Need::Category(name) => category_target(set, name),
        Need::Product(id) => routes?
            .shard_of(id)
            .filter(|&n| n < set.shards.len())
            .map_or(Target::Global, Target::Shard),
    })
}

/// Most category shards one search reads, besides the global shard.
pub const MAX_SEARCH_SHARDS: usize = 2;
/// A second shard is read only when it holds at least this share of the
/// first's matches (estimated): a word in every shard ("red") does not
/// load two shards when one holds most of what the query means.
pub const SECOND_SHARD_SHARE: f64 = 0.5;
/// Terms an as-you-type prefix may stand for in the directory.
pub const MAX_PREFIX_TERMS: usize = 64;

/// One word of a query, as the directory is asked about it: the forms it
/// may match (as typed, corrected, synonyms), and whether it may also be
/// the beginning of a word (the last word, typed on).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryWord {
    /// Normalized forms; a shard holds the word when it holds any.
    pub forms: Vec<String>,
    /// Match words beginning with the first form too.
    pub prefix: bool,
}

/// **Search policy.** The global shard is always searched (it answers
/// alone when nothing better is known). Besides it, at most
/// [`MAX_SEARCH_SHARDS`] category shards, chosen with `terms.dir`: each
/// shard is scored by how many of the query's words it holds (any form),
/// then by its estimated matches, the fewest products holding any one of
/// those words (an upper bound on the products holding all of them). The
/// best shard is read when it holds at least one word; the next only
/// when it holds as many words and at least [`SECOND_SHARD_SHARE`] of the
/// best's estimate.
///
/// What it gives up: a query whose matches spread over many shards shows
/// the best of two of them (and the global shard's, which holds the most
/// active products of every category), not of all; a typo is corrected
/// only to a word the global shard knows (its search reports the
/// correction; the directory holds exact words); the scores of different
/// shards (each with its own term statistics) are compared as they are.
pub fn search_shards(directory: &TermDirectory, words: &[QueryWord]) -> Vec<usize> {
    let shards = directory.shards() as usize;
    // Per shard: words held, and the fewest products holding one of them.
    let mut held = vec![(0usize, u64::MAX); shards];
    for word in words {
        let mut counts = vec![0u64; shards];
        for (i, form) in word.forms.iter().enumerate() {
            let found = if word.prefix && i == 0 {
                directory.lookup_prefix(form, MAX_PREFIX_TERMS)
            } else {
                directory.lookup(form)
            };
            for (shard, n) in found {
                if let Some(c) = counts.get_mut(shard as usize) {
                    *c += u64::from(n);
                }
            }
        }
        for (h, c) in held.iter_mut().zip(counts) {
            if c > 0 {
                h.0 += 1;
                h.1 = h.1.min(c);
            }
        }
    }
    let mut ranked: Vec<(usize, usize, u64)> = held
        .into_iter()
        .enumerate()
        .filter(|(_, (words, _))| *words > 0)
        .map(|(n, (words, matches))| (n, words, matches))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    let Some(&(first, words, matches)) = ranked.first() else {
        return Vec::new();
    };
    let mut chosen = vec![first];
    for &(n, w, m) in ranked.iter().skip(1) {
        if chosen.len() == MAX_SEARCH_SHARDS {
            break;
        }
        if w == words && m as f64 >= matches as f64 * SECOND_SHARD_SHARE {
            chosen.push(n);
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use firstpaint_bundle::{Blob, ShardRef, TermDirectoryBuilder};

    fn set(shards: &[(&str, &[&str])]) -> ShardSet {
        let blob = Blob {
            key: String::new(),
            sha256: String::new(),
            bytes: 0,
        };
        ShardSet {
            global: "global".into(),
            shards: shards
                .iter()
                .map(|(name, categories)| ShardRef {
                    name: (*name).into(),
                    categories: categories.iter().map(|c| (*c).into()).collect(),
                    key: String::new(),
                    sha256: String::new(),
                    head_sha256: None,
                    bytes: 0,
                })
                .collect(),
            routes: blob.clone(),
            terms: blob,
        }
    }

    fn store() -> ShardSet {
        set(&[
            ("beauty", &["Beauty"]),
            (
                "electronics-1",
                &["Electronics/Phones", "Electronics/Audio"],
            ),
            ("electronics-2", &["Electronics/Laptops"]),
            ("home-kitchen-1", &["Home & Kitchen/Coffee#1"]),
            (
                "home-kitchen-2",
                &["Home & Kitchen/Coffee#2", "Home & Kitchen/Pans"],
            ),
        ])
    }

    #[test]
    fn a_category_page_goes_to_the_one_shard_that_covers_it() {
        let s = store();
        let t = |name: &str| category_target(&s, name);
        assert_eq!(t("beauty"), Target::Shard(0));
        assert_eq!(t("beauty/lipstick"), Target::Shard(0));
        assert_eq!(t("Beauty/Lipstick"), Target::Shard(0));
        assert_eq!(t("electronics/phones/android"), Target::Shard(1));
        assert_eq!(t("electronics/audio"), Target::Shard(1));
        assert_eq!(t("electronics/laptops"), Target::Shard(2));
        // A prefix of a word is not a parent category.
        assert_eq!(t("beautyx"), Target::Global);
        assert_eq!(t("electronics/phonesx"), Target::Global);
        // Cut into shards: the department page reads the global shard.
        assert_eq!(t("electronics"), Target::Global);
        // Cut into runs: no one shard holds it.
        assert_eq!(t("home-kitchen/coffee"), Target::Global);
        assert_eq!(t("home-kitchen/coffee/beans"), Target::Global);
        assert_eq!(t("home-kitchen/pans"), Target::Shard(4));
        assert_eq!(t("toys"), Target::Global);
        assert_eq!(t(""), Target::Global);
    }

    #[test]
    fn a_product_goes_to_its_shard_by_the_routes() {
        let s = store();
        let mut b = fst::MapBuilder::memory();
        b.insert("SKU-1", 2).unwrap();
        b.insert("SKU-2", 0).unwrap();
        b.insert("SKU-9", 99).unwrap();
        let routes = Routes::new(b.into_inner().unwrap()).unwrap();
        let product = |id: &str| Need::Product(id.into());
        assert_eq!(target(&s, &product("SKU-1"), None), None);
        assert_eq!(
            target(&s, &product("SKU-1"), Some(&routes)),
            Some(Target::Shard(2))
        );
        assert_eq!(
            target(&s, &product("SKU-2"), Some(&routes)),
            Some(Target::Shard(0))
        );
        // Unknown, or routed past the set: global.
        assert_eq!(
            target(&s, &product("SKU-3"), Some(&routes)),
            Some(Target::Global)
        );
        assert_eq!(
            target(&s, &product("SKU-9"), Some(&routes)),
            Some(Target::Global)
        );
        assert_eq!(target(&s, &Need::Global, None), Some(Target::Global));
        assert_eq!(
            target(&s, &Need::Category("beauty".into()), None),
            Some(Target::Shard(0))
        );
        assert!(Routes::new(b"not an fst".to_vec()).is_err());
    }

    fn directory() -> TermDirectory {
        let mut b = TermDirectoryBuilder::new();
        let t = |s: &str, n: u32| (s.to_owned(), n);
        b.add_shard(0, [t("red", 50), t("lipstick", 40), t("matte", 10)])
            .unwrap();
        b.add_shard(1, [t("red", 10), t("phone", 60), t("case", 20)])
            .unwrap();
        b.add_shard(2, [t("red", 20), t("dress", 45), t("case", 3)])
            .unwrap();
        b.add_shard(3, [t("red", 24), t("dress", 40), t("phonecase", 2)])
            .unwrap();
        TermDirectory::new(&b.finish().unwrap()).unwrap()
    }

    fn words(q: &[&str]) -> Vec<QueryWord> {
        q.iter()
            .map(|w| QueryWord {
                forms: vec![(*w).into()],
                prefix: false,
            })
            .collect()
    }

    #[test]
    fn a_query_reads_the_shards_its_words_are_in() {
        let d = directory();
        // One shard holds both words.
        assert_eq!(search_shards(&d, &words(&["red", "lipstick"])), [0]);
        assert_eq!(search_shards(&d, &words(&["phone", "case"])), [1]);
        // Two shards hold both, comparably: both are read.
        assert_eq!(search_shards(&d, &words(&["red", "dress"])), [3, 2]);
        // A word in every shard reads the one holding most, not two.
        assert_eq!(search_shards(&d, &words(&["red"])), [0]);
        // Unknown words read no category shard (global answers alone).
        assert_eq!(search_shards(&d, &words(&["tent"])), Vec::<usize>::new());
        assert_eq!(search_shards(&d, &[]), Vec::<usize>::new());
        // A correction or synonym is another form of the same word.
        let fixed = vec![QueryWord {
            forms: vec!["lipstik".into(), "lipstick".into()],
            prefix: false,
        }];
        assert_eq!(search_shards(&d, &fixed), [0]);
        // As you type: "phon" stands for phone and phonecase.
        let typing = vec![QueryWord {
            forms: vec!["phon".into()],
            prefix: true,
        }];
        assert_eq!(search_shards(&d, &typing), [1]);
    }
}
