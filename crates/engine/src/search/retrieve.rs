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
//! - one word (a group whose alternatives are single terms): the lists
//!   are read a tier at a time, the tier that can give the best match
//!   first (see [`crate::store::postings`]), and reading stops once more
//!   than `window` products are settled ahead of anything the unread
//!   tiers could still give or change. A word found in half the catalog
//!   reads its first tier or two, not half the catalog; the count of
//!   matches is then a lower bound ([`Retrieved::complete`]);
//! - several words: the group with the fewest postings is read first;
//!   when more than `window` products match every group, nothing
//!   matching fewer can be shown and only those leave retrieval (for two
//!   words, read in two passes, the products the first group lacks are
//!   never accumulated, and the count is then a lower bound too);
//! - a product first met in a group too late to match the required number
//!   of groups gets no accumulator (three words: one first met in the
//!   last group can match only one);
//! - a product that can match only the last of two groups, through a
//!   single term, and whose impact is below that of at least `window`
//!   other such products, is counted but not collected: it is in the
//!   same bucket as they are, with a lower lexical score (the attribute
//!   bonus only adds), so it cannot reach the window.
//!
//! [`one_word`] reads one word's tiers, [`several_words`] accumulates the
//! rest; both share the accumulators, the order and the lead here.

mod one_word;
mod several_words;

use std::cell::RefCell;

use super::query::Group;
use crate::order;
use crate::store::search_index::{Field, SearchIndex};
use one_word::one_group;
use several_words::{accumulate, Later};

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
    /// Fields each matched group's best alternative was found in.
    pub fields: u8,
}

/// How the search orders matches by their words alone: more groups
/// matched first, then fewer typos, then `lexical` x the lexical score
/// relative to the best plus `attribute` x the share of the query's
/// attribute groups matched.
#[derive(Debug, Clone, Copy)]
pub struct WordOrder {
    /// Weight of the relative lexical score.
    pub lexical: f32,
    /// Weight of the attribute share.
    pub attribute: f32,
    /// The query's attribute groups (at least 1).
    pub attribute_groups: f32,
}

impl WordOrder {
    /// `m`'s sort key (smaller first) when lexical scores are relative to
    /// `best`.
    pub fn key(&self, m: &Match, best: f32) -> u64 {
        let words = self.lexical * m.lexical / best
            + self.attribute * f32::from(m.attributes) / self.attribute_groups;
        bucket(m) | order::desc(words)
    }
}

/// The high bits of a result's sort key: more groups matched first, then
/// fewer typos (the low 32 bits take a score through [`order::desc`]).
pub fn bucket(m: &Match) -> u64 {
    u64::from(u8::MAX - m.matched) << 41 | u64::from(m.typos) << 33
}

/// The leading `n` of `matches` by `order` with lexical scores relative to
/// `best`, best first; equal keys by product ordinal, so the lead does
/// not depend on the order the products were met in (and pruned
/// retrieval, which reads in another order, leads with the same).
pub fn lead(matches: &[Match], order: &WordOrder, best: f32, n: usize) -> Vec<Match> {
    if n == 0 {
        return Vec::new();
    }
    let mut keys: Vec<(u64, u32, u32)> = (0u32..)
        .zip(matches)
        .map(|(i, m)| (order.key(m, best), m.ord, i))
        .collect();
    if n < keys.len() {
        keys.select_nth_unstable(n - 1);
        keys.truncate(n);
    }
    keys.sort_unstable();
    keys.iter()
        .filter_map(|&(_, _, i)| matches.get(i as usize).copied())
        .collect()
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
    best_fields: u8,
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
    /// Postings kept for [`accumulate`]'s second pass (reused).
    later: Vec<Later>,
}

impl Scratch {
    /// Starts a query over `docs` products: no accumulator is current.
    fn begin(&mut self, docs: usize) {
        if self.accs.len() != docs {
            self.accs = vec![Acc::default(); docs];
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // Stamps wrapped: clear them so old ones cannot pass as current.
            self.accs.iter_mut().for_each(|a| a.generation = 0);
            self.generation = 1;
        }
        self.touched.clear();
    }

    /// What product `doc` matched so far.
    fn matched(&self, doc: u32) -> Option<Match> {
        let m = settle(self.accs.get(doc as usize)?);
        Some(Match {
            ord: doc,
            matched: m.matched,
            typos: m.typos,
            lexical: m.lexical,
            attributes: m.attributes,
            fields: m.fields,
        })
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// What lets retrieval leave out products that cannot be shown. Only
/// valid when `keep` asks of a product nothing but `allowed` and that it
/// matched `required` groups (no filter, no regional rules, no explain),
/// and when the [`WordOrder`] given to [`run`] is how the caller ranks
/// the matches, with weights above 0 (a higher lexical score or more
/// attributes never ranks lower).
pub struct Pruning<F> {
    /// How many of the best matches the caller reads (by the order, ties
    /// in match order); retrieval settles one more, so the caller knows
    /// whether more follow.
    pub window: usize,
    /// Whether `keep` keeps a product that matched enough groups.
    pub allowed: F,
}

/// What retrieval found.
#[derive(Debug, Default)]
pub struct Retrieved {
    /// The matches `keep` kept, in the order the products were first met;
    /// with pruning, only those that can reach the window (when retrieval
    /// stopped early, the window and one more).
    pub matches: Vec<Match>,
    /// Products kept but left out of `matches` by pruning.
    pub pruned: usize,
    /// The score lexical scores are relative to: for one word, the best
    /// any of its postings gives (known before reading them); for more,
    /// the best of the matches that match the most groups.
    pub best: f32,
    /// Whether every posting was read, so `matches.len() + pruned` is how
    /// many matched; otherwise it is a lower bound (above the window).
    pub complete: bool,
    /// Whether `matches` are already the caller's lead ([`lead`]): the
    /// window and one more, best first.
    pub ordered: bool,
}

/// Every product matching at least `required` groups that `keep` keeps
/// (checked in the same pass that settles the scores: no intermediate
/// list), less what `pruning` proves cannot reach its window when the
/// caller ranks the matches by `order`.
pub fn run<F: FnMut(u32) -> bool>(
    index: &SearchIndex,
    groups: &[Group],
    required: u8,
    order: &WordOrder,
    keep: impl FnMut(&Match) -> bool,
    pruning: Option<Pruning<F>>,
) -> Retrieved {
    if let [group] = groups {
        if group.alternatives.iter().all(|a| a.terms.len() == 1) {
            return one_group(index, group, order, keep, pruning);
        }
    }
    accumulate(index, groups, required, order, keep, pruning)
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

/// Fields whose postings can name an attribute.
const ATTRIBUTE_FIELDS: u8 = Field::Attribute.bit() | Field::Brand.bit();

/// Whether a hit in `fields` through an alternative with `typos` edits
/// counts as the shopper naming an attribute or brand: the group's word is
/// one, matched exactly, in an attribute or brand field.
fn names_attribute(group: &Group, typos: u8, fields: u8) -> bool {
    group.attribute && typos == 0 && fields & ATTRIBUTE_FIELDS != 0
}

/// What an impact byte of `term`'s postings is worth through an
/// alternative scored `factor`: the term's IDF over the byte's range.
fn impact_scale(index: &SearchIndex, term: u32, factor: f32) -> f32 {
    index.idf(term) / 255.0 * factor
}

/// Records that `doc` matched group `g` with `value` through an alternative
/// with `typos` edits, in `fields`; a product not met before is only
/// recorded when `new` allows. A group counts its best alternative (fewest
/// typos, then highest value) with its fields (those of all equals), and
/// names an attribute if any alternative did: the same whatever order
/// the postings come in.
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
            best_fields: fields,
            m: Match0::default(),
        };
        s.touched.push(doc);
    } else if a.group != g {
        a.m = settle(a);
        a.group = g;
        a.best = value;
        a.best_typos = typos;
        a.best_attribute = attribute;
        a.best_fields = fields;
    } else if typos < a.best_typos || (typos == a.best_typos && value > a.best) {
        a.best = value;
        a.best_typos = typos;
        a.best_attribute = a.best_attribute || attribute;
        a.best_fields = fields;
    } else {
        if typos == a.best_typos && value == a.best {
            // As good: either is its best, whichever was met first.
            a.best_fields |= fields;
        }
        a.best_attribute = a.best_attribute || attribute;
    }
}

/// The accumulator with its current group counted.
fn settle(a: &Acc) -> Match0 {
    Match0 {
        matched: a.m.matched.saturating_add(1),
        typos: a.m.typos.saturating_add(a.best_typos),
        lexical: a.m.lexical + a.best,
        attributes: a.m.attributes.saturating_add(u8::from(a.best_attribute)),
        fields: a.m.fields | a.best_fields,
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
    fn one_group_matches_what_the_accumulators_give() {
        let mut b = IndexBuilder::default();
        let titles = ["red lamp", "lamp", "red desk lamp", "chair", "red red lamp"];
        for (i, title) in titles.iter().enumerate() {
            let brand = if i % 2 == 0 { "Lumo" } else { "red" };
            b.add(&[(Field::Title, title), (Field::Brand, brand)]);
        }
        let index = b.finish().unwrap().open().unwrap();
        let alt = |word: &str, typos: u8| Alternative {
            terms: vec![index.term_id(word).unwrap()],
            typos,
            via: Via::Exact,
            factor: 0.8,
        };
        for (words, attribute) in [
            (vec![("red", 0)], true),
            (vec![("lamp", 1)], false),
            (vec![("red", 2), ("lamp", 0)], true),
        ] {
            let group = Group {
                word: String::new(),
                alternatives: words.iter().map(|&(w, t)| alt(w, t)).collect(),
                attribute,
            };
            let groups = [group];
            let odd = |m: &Match| m.ord % 2 == 1 || m.ord == 0;
            let order = WordOrder {
                lexical: 1.0,
                attribute: 0.15,
                attribute_groups: 1.0,
            };
            let mut tiered = run(&index, &groups, 1, &order, odd, NO_PRUNING).matches;
            let mut general = accumulate(&index, &groups, 1, &order, odd, NO_PRUNING).matches;
            assert!(!tiered.is_empty());
            tiered.sort_by_key(|m| m.ord);
            general.sort_by_key(|m| m.ord);
            assert_eq!(tiered, general, "{words:?}");
        }
    }
}
