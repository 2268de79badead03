//! Related words: what a shopper may type that the catalog never says,
//! and the catalog's words and phrases that mean nearly the same.
//!
//! The catalog's own words anchor it in WordNet: a product title's or leaf
//! category's word or phrase that WordNet knows as a kind of goods (an
//! artifact, a food, a substance, or a game). From each anchor the
//! hierarchy is walked:
//!
//! - down, to more specific words: `merlot` is a red wine is a wine, so a
//!   search for merlot finds the wines;
//! - up, to more general ones: `footwear` finds the shoes and sneakers;
//! - across, to sister words under a specific enough parent: `cologne`
//!   and `eau de toilette` are both perfumes.
//!
//! Each step costs a quarter of the weight. A walk down from a general
//! anchor (`machine` covers computers and espresso machines alike), across
//! under a general parent, or up to a general word says too little, and is
//! not taken: generality is WordNet's own count of what lies below a
//! meaning ([`WordNet::specificity`]). A one-word anchor stands for its
//! most frequent sense among goods only (`case` in a shop is the
//! container, not the lawsuit), a phrase for each of its senses among
//! goods (phrases are rarely ambiguous); an attribute value or a brand is
//! no anchor (a `canvas` sneaker says nothing of tarpaulins). Words of
//! other kinds (places, people, acts other than games) are never keys:
//! `cologne` the city finds nothing.

use std::collections::{HashMap, HashSet, VecDeque};

use firstpaint_contracts::Product;
use firstpaint_engine::text::normalize;

use super::read::WordNet;

/// Lexicographer files of goods: `noun.artifact`, `noun.food`,
/// `noun.substance`.
const GOODS: [u8; 3] = [6, 13, 27];
/// `noun.act`: goods only below a game (chess, board games).
const ACTS: u8 = 4;
/// Steps up from an anchor.
const MAX_UP: u8 = 2;
/// Steps down from an anchor, or from the parent reached going up.
const MAX_DOWN: u8 = 3;
/// Weight kept per step.
const STEP: f32 = 0.75;
/// Least weight worth an entry: two steps (`merlot` -> `wine`) pass,
/// three do not.
const MIN_WEIGHT: f32 = 0.5;
/// Least specificity of a synset a walk goes down from (the anchor, or
/// the parent sisters share), some sixty synsets below it: `shoe`, `lamp`
/// and `dress` pass; `bag` (handbags and sleeping bags), `wine` and
/// `toiletry` do not.
const MIN_SPECIFIC: f32 = 0.65;
/// Least specificity of a more general word (not `entity` or `artifact`).
const MIN_GENERAL: f32 = 0.4;
/// Targets kept per word, heaviest first.
pub const MAX_TARGETS: usize = 4;

/// A word the catalog does not use, and what it stands for there.
#[derive(Debug, Clone, PartialEq)]
pub struct Related {
    /// The word, normalized as queries are.
    pub word: String,
    /// The catalog's words or phrases (normalized terms), with a weight in
    /// `(0, 1]`, heaviest first.
    pub to: Vec<(Vec<String>, f32)>,
}

/// The related words of the catalog `products` (sorted by word).
pub fn build(wordnet: &WordNet, products: &[Product]) -> Vec<Related> {
    let vocabulary = vocabulary(products);
    let describing = describing(products);
    let goods = Goods::new(wordnet);
    // Anchor synset -> the catalog phrases that name it, with their sense rank.
    let mut anchors: HashMap<u32, Vec<(Vec<String>, usize)>> = HashMap::new();
    for (lemma, senses) in &wordnet.senses {
        let terms = normalize::terms(lemma);
        if terms.is_empty() || !terms.iter().all(|t| vocabulary.contains(t)) {
            continue;
        }
        // A material or a brand describes products; it does not name them
        // ("canvas" sneakers are not tarpaulins).
        if let [term] = terms.as_slice() {
            if describing.contains(term) {
                continue;
            }
        }
        let mut goods_senses = senses.iter().enumerate().filter(|(_, &s)| goods.has(s));
        let chosen: Vec<(usize, &u32)> = if terms.len() == 1 {
            goods_senses.next().into_iter().collect()
        } else {
            goods_senses.collect()
        };
        for (rank, &s) in chosen {
            anchors.entry(s).or_default().push((terms.clone(), rank));
        }
    }
    let mut found: HashMap<String, HashMap<Vec<String>, f32>> = HashMap::new();
    let mut anchors: Vec<_> = anchors.into_iter().collect();
    anchors.sort_unstable_by_key(|(s, _)| *s);
    for (anchor, phrases) in anchors {
        for (top, up) in walk(wordnet, anchor, MAX_UP, |s| &s.hypernyms) {
            if !goods.has(top) {
                continue;
            }
            let down_limit = if up == 0 { MAX_DOWN } else { 1 };
            for (word_synset, down) in walk(wordnet, top, down_limit, |s| &s.hyponyms) {
                let allowed = match (up, down) {
                    (0, 0) => true,
                    (_, 0) => wordnet.specificity(word_synset) >= MIN_GENERAL,
                    _ => wordnet.specificity(top) >= MIN_SPECIFIC,
                };
                if !allowed || !goods.has(word_synset) {
                    continue;
                }
                let Some(synset) = wordnet.synset(word_synset) else {
                    continue;
                };
                let steps = i32::from(up) + i32::from(down);
                for (phrase, rank) in &phrases {
                    let weight = STEP.powi(steps) / (1.0 + 0.1 * *rank as f32);
                    if weight < MIN_WEIGHT {
                        continue;
                    }
                    for lemma in &synset.lemmas {
                        let [word] = normalize::terms(lemma).try_into().unwrap_or_default();
                        if word.is_empty() || vocabulary.contains(&word) {
                            continue;
                        }
                        let best = found
                            .entry(word)
                            .or_default()
                            .entry(phrase.clone())
                            .or_insert(0.0);
                        *best = best.max(weight);
                    }
                }
            }
        }
    }
    let mut related: Vec<Related> = found
        .into_iter()
        .map(|(word, targets)| {
            let mut to: Vec<(Vec<String>, f32)> = targets.into_iter().collect();
            to.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            to.truncate(MAX_TARGETS);
            Related { word, to }
        })
        .collect();
    related.sort_by(|a, b| a.word.cmp(&b.word));
    related
}

/// The terms that say what the products are: their titles' and leaf
/// categories' words, normalized.
fn vocabulary(products: &[Product]) -> HashSet<String> {
    let mut words = HashSet::new();
    for p in products {
        words.extend(normalize::terms(&p.title));
        if let Some(leaf) = p.category.last() {
            words.extend(normalize::terms(leaf));
        }
    }
    words
}

/// The one-word values of the products' attributes and brands.
fn describing(products: &[Product]) -> HashSet<String> {
    let mut words = HashSet::new();
    for p in products {
        for value in p.attributes.values().chain(&p.brand) {
            if let [term] = normalize::terms(value).as_slice() {
                words.insert(term.clone());
            }
        }
    }
    words
}

/// Synsets `steps` links or fewer from `from` along `next`, each with its
/// fewest steps, `from` itself at 0; breadth first.
fn walk(
    wordnet: &WordNet,
    from: u32,
    steps: u8,
    next: impl Fn(&super::read::Synset) -> &Vec<u32>,
) -> Vec<(u32, u8)> {
    let mut seen: HashMap<u32, u8> = HashMap::from([(from, 0)]);
    let mut out = vec![(from, 0)];
    let mut queue = VecDeque::from([(from, 0u8)]);
    while let Some((s, d)) = queue.pop_front() {
        if d >= steps {
            continue;
        }
        let Some(synset) = wordnet.synset(s) else {
            continue;
        };
        for &n in next(synset) {
            if let std::collections::hash_map::Entry::Vacant(e) = seen.entry(n) {
                e.insert(d + 1);
                out.push((n, d + 1));
                queue.push_back((n, d + 1));
            }
        }
    }
    out
}

/// Which synsets are goods a shop may sell.
struct Goods {
    /// Per synset.
    goods: Vec<bool>,
}

impl Goods {
    fn new(wordnet: &WordNet) -> Self {
        // Acts are goods below a game ("chess" is a board game is a game);
        // materials and fabrics say what goods are made of, not what they
        // are (a "canvas" sneaker is no tarpaulin).
        let games = Self::senses(wordnet, "game", ACTS);
        let materials: HashSet<u32> = Self::senses(wordnet, "material", 27)
            .union(&Self::senses(wordnet, "fabric", 6))
            .copied()
            .collect();
        let goods = wordnet
            .synsets
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let above = walk(wordnet, i as u32, 16, |s| &s.hypernyms);
                let below = |roots: &HashSet<u32>| above.iter().any(|(up, _)| roots.contains(up));
                let kind = GOODS.contains(&s.lexfile) || (s.lexfile == ACTS && below(&games));
                kind && !below(&materials)
            })
            .collect();
        Self { goods }
    }

    /// The synsets of `lemma` in lexicographer file `lexfile`.
    fn senses(wordnet: &WordNet, lemma: &str, lexfile: u8) -> HashSet<u32> {
        wordnet
            .senses
            .get(lemma)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&s| wordnet.synset(s).is_some_and(|s| s.lexfile == lexfile))
            .collect()
    }

    fn has(&self, s: u32) -> bool {
        self.goods.get(s as usize).copied().unwrap_or(false)
    }
}
