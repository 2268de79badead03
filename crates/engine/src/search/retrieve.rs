//! Lexical retrieval: walks the postings of every group's alternatives and
//! accumulates, per product, the groups it matched, their typos and its
//! BM25F score.
//!
//! Accumulators are dense (one per product) and reused across queries on a
//! thread, stamped with a query generation, so a query costs only the
//! postings it reads: no hashing and no per-query allocation of the catalog.
//!
//! Pruning leaves out products that provably cannot be among the matches
//! the caller reads, and never changes those (see [`Pruning`]):
//! - a product first met in a group too late to match the required number
//!   of groups gets no accumulator (three words: one first met in the
//!   last group can match only one);
//! - a product that can match only one group (the only word, or the last
//!   of two) through a single term, and whose impact is below that of at
//!   least `window` other such products, is counted but not collected: it
//!   is in the same bucket as they are, with a lower lexical score (the
//!   attribute bonus only adds), so it cannot reach the window.
//!
//! Every posting is still read: a run's header holds its largest impact
//! but not where its products end, so a run cannot be skipped without
//! decoding its gaps. What pruning saves is the accumulators, the
//! guardrail and filter checks, and the sort of products that cannot be
//! shown. The matches' count stays exact ([`Retrieved::pruned`]).

use std::cell::RefCell;
use std::collections::HashMap;

use super::query::Group;
use crate::store::search_index::{Field, Posting, SearchIndex};

/// What one product matched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    /// Product ordinal.
    pub ord: u32,
    /// Query groups matched.
    pub matched: u8,
    /// Typos over the matched groups (each through its best alternative).
    pub typos: u8,
    /// BM25F score over the matched groups.
    pub lexical: f32,
    /// Attribute or brand words matched in the product's attribute or brand fields.
    pub attributes: u8,
    /// Fields any matched term was found in.
    pub fields: u8,
}

/// One product's running state in the current query.
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    generation: u32,
    /// The group being accumulated.
    group: u16,
    best: f32,
    best_typos: u8,
    best_attribute: bool,
    m: Match0,
}

/// The settled part of an accumulator (groups before `group`).
#[derive(Debug, Clone, Copy, Default)]
struct Match0 {
    matched: u8,
    typos: u8,
    lexical: f32,
    attributes: u8,
    fields: u8,
}

#[derive(Default)]
struct Scratch {
    generation: u32,
    accs: Vec<Acc>,
    touched: Vec<u32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// What lets retrieval leave out products that cannot be shown. Only
/// valid when `keep` asks of a product nothing but `allowed` and that it
/// matched `required` groups (no filter, no regional rules, no explain),
/// and when a higher lexical score always ranks a product higher within
/// its bucket (lexical weight above 0, attribute weight not below).
pub struct Pruning<F> {
    /// How many of the best matches the caller reads (by groups matched,
    /// typos, then lexical and attribute score, ties in match order).
    pub window: usize,
    /// Whether `keep` keeps a product that matched enough groups.
    pub allowed: F,
}

/// What retrieval found.
#[derive(Debug, Default)]
pub struct Retrieved {
    /// The matches `keep` kept, in the order the products were first met;
    /// with pruning, only those that can reach the window.
    pub matches: Vec<Match>,
    /// Products kept but left out of `matches` by pruning: `matches.len()
    /// + pruned` is how many matched.
    pub pruned: usize,
}

/// Every product matching at least `required` groups that `keep` keeps
/// (checked in the same pass that settles the scores: no intermediate
/// list), less what `pruning` proves cannot reach its window.
pub fn run<F: FnMut(u32) -> bool>(
    index: &SearchIndex,
    groups: &[Group],
    required: u8,
    keep: impl FnMut(&Match) -> bool,
    pruning: Option<Pruning<F>>,
) -> Retrieved {
    if let [group] = groups {
        if let Some((typos, factor, term)) = single_term(group) {
            return match pruning {
                Some(p) => {
                    let mut newcomers = Newcomers::default();
                    newcomers.read(index, term, p.allowed, |_| false);
                    newcomers.into_matches(index, group, typos, factor, term, p.window)
                }
                None => Retrieved {
                    matches: one_list(index, group, typos, factor, term, keep),
                    pruned: 0,
                },
            };
        }
    }
    accumulate(index, groups, required, keep, pruning)
}

/// The one term a group stands for, when it has no other alternative:
/// (typos, factor, term).
fn single_term(group: &Group) -> Option<(u8, f32, u32)> {
    match group.alternatives.as_slice() {
        [alt] => match alt.terms.as_slice() {
            [term] => Some((alt.typos, alt.factor, *term)),
            _ => None,
        },
        _ => None,
    }
}

/// The general case: every alternative's postings into one accumulator per
/// product.
fn accumulate<F: FnMut(u32) -> bool>(
    index: &SearchIndex,
    groups: &[Group],
    required: u8,
    mut keep: impl FnMut(&Match) -> bool,
    pruning: Option<Pruning<F>>,
) -> Retrieved {
    // Two groups of which the last stands for one term: a product first
    // met there matches that group alone and can be pruned by impact.
    let mut last = match (groups, pruning) {
        ([_, last], Some(p)) => single_term(last).map(|t| (last, t, p)),
        _ => None,
    };
    let mut newcomers = Newcomers::default();
    let mut matches = SCRATCH.with(|cell| {
        let Ok(mut scratch) = cell.try_borrow_mut() else {
            return Vec::new();
        };
        let docs = index.docs() as usize;
        let s = &mut *scratch;
        if s.accs.len() != docs {
            s.accs = vec![Acc::default(); docs];
        }
        s.generation = s.generation.wrapping_add(1);
        if s.generation == 0 {
            // Stamps wrapped: clear them so old ones cannot pass as current.
            s.accs.iter_mut().for_each(|a| a.generation = 0);
            s.generation = 1;
        }
        s.touched.clear();
        let n = groups.len();
        for (g, group) in groups.iter().enumerate() {
            // A product first met here can match the groups from here on
            // at most: too few, and it is never a match.
            let new = n - g >= usize::from(required);
            let g = u16::try_from(g).unwrap_or(u16::MAX);
            if let Some((last, (typos, factor, term), p)) = &mut last {
                if usize::from(g) == 1 {
                    let scale = impact_scale(index, *term, *factor);
                    let generation = s.generation;
                    let accs = &s.accs;
                    let met = |doc: u32| {
                        accs.get(doc as usize)
                            .is_some_and(|a| a.generation == generation)
                    };
                    // Products met before are scored below, the rest are
                    // newcomers; `met` only reads the accumulators.
                    let mut before = Vec::new();
                    newcomers.read(index, *term, &mut p.allowed, |posting| {
                        let seen = met(posting.doc);
                        if seen {
                            before.push(posting);
                        }
                        seen
                    });
                    for posting in before {
                        let attribute = names_attribute(last, *typos, posting.fields);
                        let value = scale * f32::from(posting.impact);
                        touch(
                            s,
                            posting.doc,
                            g,
                            value,
                            *typos,
                            attribute,
                            posting.fields,
                            false,
                        );
                    }
                    continue;
                }
            }
            for alt in &group.alternatives {
                let attribute = |fields: u8| names_attribute(group, alt.typos, fields);
                if let [term] = alt.terms.as_slice() {
                    // The common case, straight from the postings.
                    let scale = impact_scale(index, *term, alt.factor);
                    for p in index.postings(*term) {
                        let value = scale * f32::from(p.impact);
                        touch(
                            s,
                            p.doc,
                            g,
                            value,
                            alt.typos,
                            attribute(p.fields),
                            p.fields,
                            new,
                        );
                    }
                } else {
                    for (doc, value, fields) in phrase_hits(index, &alt.terms) {
                        let value = value * alt.factor;
                        touch(s, doc, g, value, alt.typos, attribute(fields), fields, new);
                    }
                }
            }
        }
        let Scratch { accs, touched, .. } = s;
        touched
            .iter()
            .filter_map(|&doc| {
                let a = accs.get(doc as usize)?;
                let m = settle(a);
                let m = Match {
                    ord: doc,
                    matched: m.matched,
                    typos: m.typos,
                    lexical: m.lexical,
                    attributes: m.attributes,
                    fields: m.fields,
                };
                keep(&m).then_some(m)
            })
            .collect()
    });
    let Some((last, (typos, factor, term), p)) = last else {
        return Retrieved { matches, pruned: 0 };
    };
    // Newcomers were first met after every product met before: they
    // follow them, in the order they were met, as the accumulators
    // would have listed them.
    let rest = newcomers.into_matches(index, last, typos, factor, term, p.window);
    matches.extend(rest.matches);
    Retrieved {
        matches,
        pruned: rest.pruned,
    }
}

/// Products of one term's postings that matched nothing before it, with
/// a count of their impacts: what pruning by impact needs.
struct Newcomers {
    /// (ordinal, impact, fields), by ascending ordinal.
    docs: Vec<(u32, u8, u8)>,
    /// How many newcomers have each impact.
    impacts: [u32; 256],
}

impl Default for Newcomers {
    fn default() -> Self {
        Self {
            docs: Vec::new(),
            impacts: [0; 256],
        }
    }
}

impl Newcomers {
    /// Reads `term`'s postings: a product `before` claims is left to the
    /// caller, one not `allowed` is dropped, the rest are newcomers.
    fn read(
        &mut self,
        index: &SearchIndex,
        term: u32,
        mut allowed: impl FnMut(u32) -> bool,
        mut before: impl FnMut(Posting) -> bool,
    ) {
        let postings = index.postings(term);
        let room = postings
            .size_hint()
            .1
            .unwrap_or(0)
            .min(index.docs() as usize);
        self.docs.reserve(room);
        for p in postings {
            if before(p) || !allowed(p.doc) {
                continue;
            }
            self.docs.push((p.doc, p.impact, p.fields));
            if let Some(count) = self.impacts.get_mut(usize::from(p.impact)) {
                *count += 1;
            }
        }
    }

    /// The newcomers as matches of `group` alone, less those whose impact
    /// is below that of `window` others (they cannot reach it: the same
    /// bucket, a lower lexical score, and an attribute bonus only for
    /// those that name one, which are kept).
    fn into_matches(
        self,
        index: &SearchIndex,
        group: &Group,
        typos: u8,
        factor: f32,
        term: u32,
        window: usize,
    ) -> Retrieved {
        let scale = impact_scale(index, term, factor);
        // A score that does not grow with the impact orders nothing.
        let floor = if scale.is_normal() && scale > 0.0 {
            impact_floor(&self.impacts, window)
        } else {
            0
        };
        let mut pruned = 0;
        let mut matches = Vec::with_capacity(self.docs.len().min(window.saturating_mul(2)));
        for (doc, impact, fields) in self.docs {
            let attribute = names_attribute(group, typos, fields);
            if impact < floor && !attribute {
                pruned += 1;
                continue;
            }
            matches.push(Match {
                ord: doc,
                matched: 1,
                typos,
                lexical: scale * f32::from(impact),
                attributes: u8::from(attribute),
                fields,
            });
        }
        Retrieved { matches, pruned }
    }
}

/// The highest impact that at least `window` of the counted products
/// reach (0 when fewer are counted): a product below it has `window`
/// products scoring more.
fn impact_floor(impacts: &[u32; 256], window: usize) -> u8 {
    let mut reached = 0usize;
    for impact in (0..=u8::MAX).rev() {
        reached += impacts.get(usize::from(impact)).copied().unwrap_or(0) as usize;
        if reached >= window.max(1) {
            return impact;
        }
    }
    0
}

/// Whether a hit in `fields` through an alternative with `typos` edits
/// counts as the shopper naming an attribute or brand: the group's word is
/// one, matched exactly, in an attribute or brand field.
fn names_attribute(group: &Group, typos: u8, fields: u8) -> bool {
    let attribute_fields = Field::Attribute.bit() | Field::Brand.bit();
    group.attribute && typos == 0 && fields & attribute_fields != 0
}

/// What an impact byte of `term`'s postings is worth through an
/// alternative scored `factor`: the term's IDF over the byte's range.
fn impact_scale(index: &SearchIndex, term: u32, factor: f32) -> f32 {
    index.idf(term) / 255.0 * factor
}

/// A query of one word that one term stands for (the common case of the
/// largest result sets): each posting is a match as it stands, so no
/// accumulator is needed.
fn one_list(
    index: &SearchIndex,
    group: &Group,
    typos: u8,
    factor: f32,
    term: u32,
    mut keep: impl FnMut(&Match) -> bool,
) -> Vec<Match> {
    let scale = impact_scale(index, term, factor);
    let postings = index.postings(term);
    // A damaged list cannot ask for more room than the catalog has products.
    let room = postings
        .size_hint()
        .1
        .unwrap_or(0)
        .min(index.docs() as usize);
    let mut out = Vec::with_capacity(room);
    for p in postings {
        let m = Match {
            ord: p.doc,
            matched: 1,
            typos,
            lexical: scale * f32::from(p.impact),
            attributes: u8::from(names_attribute(group, typos, p.fields)),
            fields: p.fields,
        };
        if keep(&m) {
            out.push(m);
        }
    }
    out
}

/// Products holding every term of a phrase, with the mean of its terms'
/// scores (a phrase stands for one word: "power bank" for "charger").
fn phrase_hits(index: &SearchIndex, terms: &[u32]) -> Vec<(u32, f32, u8)> {
    let mut found: HashMap<u32, (usize, f32, u8)> = HashMap::new();
    for &t in terms {
        let idf = index.idf(t);
        for p in index.postings(t) {
            let e = found.entry(p.doc).or_insert((0, 0.0, 0));
            e.0 += 1;
            e.1 += idf * f32::from(p.impact) / 255.0;
            e.2 |= p.fields;
        }
    }
    let mut hits: Vec<(u32, f32, u8)> = found
        .into_iter()
        .filter(|(_, (n, _, _))| *n == terms.len())
        .map(|(doc, (n, v, f))| (doc, v / n.max(1) as f32, f))
        .collect();
    hits.sort_unstable_by_key(|h| h.0);
    hits
}

/// Records that `doc` matched group `g` with `value` through an alternative
/// with `typos` edits; a product not met before is only recorded when
/// `new` allows.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn touch(
    s: &mut Scratch,
    doc: u32,
    g: u16,
    value: f32,
    typos: u8,
    attribute: bool,
    fields: u8,
    new: bool,
) {
    let generation = s.generation;
    let Some(a) = s.accs.get_mut(doc as usize) else {
        return;
    };
    if a.generation != generation {
        if !new {
            return;
        }
        *a = Acc {
            generation,
            group: g,
            best: value,
            best_typos: typos,
            best_attribute: attribute,
            m: Match0::default(),
        };
        s.touched.push(doc);
    } else if a.group != g {
        a.m = settle(a);
        a.group = g;
        a.best = value;
        a.best_typos = typos;
        a.best_attribute = attribute;
    } else if typos < a.best_typos || (typos == a.best_typos && value > a.best) {
        a.best = value;
        a.best_typos = typos;
        a.best_attribute = a.best_attribute || attribute;
    } else {
        a.best_attribute = a.best_attribute || attribute;
    }
    a.m.fields |= fields;
}

/// The accumulator with its current group counted.
fn settle(a: &Acc) -> Match0 {
    Match0 {
        matched: a.m.matched.saturating_add(1),
        typos: a.m.typos.saturating_add(a.best_typos),
        lexical: a.m.lexical + a.best,
        attributes: a.m.attributes.saturating_add(u8::from(a.best_attribute)),
        fields: a.m.fields,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::search::query::{Alternative, Via};
    use crate::search::IndexBuilder;

    /// Retrieval without pruning.
    type Unpruned = Option<Pruning<fn(u32) -> bool>>;
    const NO_PRUNING: Unpruned = None;

    #[test]
    fn one_list_matches_what_the_accumulators_give() {
        let mut b = IndexBuilder::default();
        let titles = ["red lamp", "lamp", "red desk lamp", "chair", "red red lamp"];
        for (i, title) in titles.iter().enumerate() {
            let brand = if i % 2 == 0 { "Lumo" } else { "red" };
            b.add(&[(Field::Title, title), (Field::Brand, brand)]);
        }
        let index = b.finish().unwrap().open().unwrap();
        for (word, typos, attribute) in [("red", 0, true), ("lamp", 1, false), ("red", 2, true)] {
            let group = Group {
                word: word.to_owned(),
                alternatives: vec![Alternative {
                    terms: vec![index.term_id(word).unwrap()],
                    typos,
                    via: Via::Exact,
                    factor: 0.8,
                }],
                attribute,
            };
            let groups = [group];
            let odd = |m: &Match| m.ord % 2 == 1 || m.ord == 0;
            let fast = run(&index, &groups, 1, odd, NO_PRUNING).matches;
            let general = accumulate(&index, &groups, 1, odd, NO_PRUNING).matches;
            assert!(!fast.is_empty());
            assert_eq!(fast, general, "{word}");
        }
    }
}
