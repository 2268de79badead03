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
//! - several words: the group with the fewest postings is read first and
//!   makes the accumulators, the others add to them; when more than
//!   `window` of those products match every group, nothing matching fewer
//!   can be shown, and the other groups' remaining postings (kept aside,
//!   not accumulated) are dropped, the count then a lower bound too;
//! - a product first met in a group too late to match the required number
//!   of groups gets no accumulator (three words: one first met in the
//!   last group can match only one);
//! - a product that can match only the last of two groups, through a
//!   single term, and whose impact is below that of at least `window`
//!   other such products, is counted but not collected: it is in the
//!   same bucket as they are, with a lower lexical score (the attribute
//!   bonus only adds), so it cannot reach the window.

use std::cell::RefCell;
use std::collections::HashMap;

use super::query::Group;
use crate::order;
use crate::store::postings::{Tier, Tiers};
use crate::store::search_index::{Field, Posting, Postings, SearchIndex};

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

/// One alternative of a one-word query: its list, read a tier at a time.
struct Source<'a> {
    typos: u8,
    /// What an impact byte is worth.
    scale: f32,
    /// Whether a posting in an attribute or brand field names an attribute.
    names_attribute: bool,
    tiers: Tiers,
    /// Tiers read.
    read: usize,
    postings: Postings<'a>,
}

impl Source<'_> {
    fn unread(&self) -> &[Tier] {
        self.tiers.as_slice().get(self.read..).unwrap_or_default()
    }

    /// The best match a posting of `tier` can make.
    fn bound(&self, tier: &Tier) -> Match {
        Match {
            ord: 0,
            matched: 1,
            typos: self.typos,
            lexical: self.scale * f32::from(tier.max_impact),
            attributes: u8::from(self.names_attribute && tier.fields & ATTRIBUTE_FIELDS != 0),
            fields: 0,
        }
    }
}

/// What the unread tiers of a one-word query can still give a product, at
/// best (each part from whichever tier gives most).
struct Unread {
    /// Fewest typos of an unread tier (`u8::MAX` when none is left).
    typos: u8,
    /// Best lexical score of an unread tier with at most `i` typos (the
    /// last, any).
    lexical: [f32; 4],
    /// Whether an unread tier can name an attribute.
    attribute: bool,
}

impl Unread {
    fn of(sources: &[Source<'_>]) -> Self {
        let mut u = Unread {
            typos: u8::MAX,
            lexical: [0.0; 4],
            attribute: false,
        };
        for s in sources {
            for tier in s.unread() {
                let b = s.bound(tier);
                u.typos = u.typos.min(b.typos);
                for (at_most, best) in (0u8..).zip(u.lexical.iter_mut()) {
                    if b.typos <= at_most || at_most == 3 {
                        *best = best.max(b.lexical);
                    }
                }
                u.attribute |= b.attributes > 0;
            }
        }
        u
    }

    /// The best `m` can still become (a product not yet met: `m` matching
    /// nothing, with any typos). Only its score's parts can change: a
    /// product's fields are its best alternative's, which an equal
    /// posting met later does not replace.
    fn best_for(&self, m: &Match) -> Match {
        let within = self.lexical.get(usize::from(m.typos.min(3))).copied();
        Match {
            matched: 1,
            typos: m.typos.min(self.typos),
            lexical: m.lexical.max(within.unwrap_or(0.0)),
            attributes: m.attributes.max(u8::from(self.attribute)),
            ..*m
        }
    }

    /// Whether nothing unread can change `m`.
    fn settles(&self, m: &Match) -> bool {
        let b = self.best_for(m);
        (b.typos, b.lexical, b.attributes) == (m.typos, m.lexical, m.attributes)
    }
}

/// Fields whose postings can name an attribute.
const ATTRIBUTE_FIELDS: u8 = Field::Attribute.bit() | Field::Brand.bit();

/// A one-word query whose alternatives are single terms: each product
/// scored through its best alternative. Tiers are read best bound first
/// (the same order with or without pruning, so ties fall the same way);
/// with pruning, reading stops once more than `window` allowed products
/// are settled: ahead of the best the unread tiers could still make of
/// any product, and unchangeable by them.
fn one_group<F: FnMut(u32) -> bool>(
    index: &SearchIndex,
    group: &Group,
    order: &WordOrder,
    mut keep: impl FnMut(&Match) -> bool,
    mut pruning: Option<Pruning<F>>,
) -> Retrieved {
    let mut sources: Vec<Source<'_>> = group
        .alternatives
        .iter()
        .filter_map(|alt| {
            let &[term] = alt.terms.as_slice() else {
                return None;
            };
            Some(Source {
                typos: alt.typos,
                scale: impact_scale(index, term, alt.factor),
                names_attribute: group.attribute && alt.typos == 0,
                tiers: index.tiers(term),
                read: 0,
                postings: index.postings(term),
            })
        })
        .collect();
    let best = sources
        .iter()
        .filter_map(|s| Some(s.scale * f32::from(s.unread().first()?.max_impact)))
        .fold(0.0f32, |best, x| if x > best { x } else { best })
        .max(f32::EPSILON);
    if let [source] = sources.as_mut_slice() {
        return one_term(source, best, order, keep, pruning);
    }
    SCRATCH.with(|cell| {
        let Ok(mut scratch) = cell.try_borrow_mut() else {
            return Retrieved::default();
        };
        let s = &mut *scratch;
        s.begin(index.docs() as usize);
        // Postings read since pruning last looked.
        let mut since = 0usize;
        let mut settled = None;
        // Each source's next tier's bound: the source whose next tier can
        // make the best match (the first of equals) is read next.
        let bound = |s: &Source<'_>| s.unread().first().map(|t| order.key(&s.bound(t), best));
        let mut next: Vec<Option<u64>> = sources.iter().map(bound).collect();
        while let Some(at) = next
            .iter()
            .enumerate()
            .filter_map(|(i, key)| Some((*key.as_ref()?, i)))
            .min()
            .map(|(_, i)| i)
        {
            let Some(source) = sources.get_mut(at) else {
                break;
            };
            let len = source.unread().first().map_or(0, |t| t.len as usize);
            source.read += 1;
            let (typos, scale, names) = (source.typos, source.scale, source.names_attribute);
            for p in source.postings.by_ref().take(len) {
                let attribute = names && p.fields & ATTRIBUTE_FIELDS != 0;
                let value = scale * f32::from(p.impact);
                touch(s, p.doc, 0, value, typos, attribute, p.fields, true);
            }
            if let Some(key) = next.get_mut(at) {
                *key = bound(source);
            }
            since += len;
            if let Some(p) = pruning.as_mut() {
                // Looking costs about what reading the products met cost:
                // worth it when the postings left are more than twice
                // those, and after a quarter more were read since the last
                // look (so looking costs at most four times the reading).
                let met = s.touched.len();
                let left: usize = sources
                    .iter()
                    .flat_map(|s| s.unread())
                    .map(|t| t.len as usize)
                    .sum();
                if met > p.window && left >= 2 * met && since * 4 >= met {
                    since = 0;
                    settled = settle_window(s, &sources, best, order, p);
                    if settled.is_some() {
                        break;
                    }
                }
            }
        }
        let mut out = Retrieved {
            best,
            complete: settled.is_none(),
            ..Retrieved::default()
        };
        let Some(p) = pruning.as_mut() else {
            out.matches = s
                .touched
                .iter()
                .filter_map(|&doc| s.matched(doc).filter(|m| keep(m)))
                .collect();
            return out;
        };
        // The settled products ahead of the limit are the leading ones (with
        // every tier read, all of them); of those, only the window (and one
        // more) can be read.
        let unread = Unread::of(&sources);
        let mut ahead = Vec::new();
        let mut allowed = 0usize;
        for &doc in &s.touched {
            let Some(m) = s.matched(doc).filter(|m| (p.allowed)(m.ord)) else {
                continue;
            };
            allowed += 1;
            if settled.is_none_or(|limit| order.key(&m, best) < limit && unread.settles(&m)) {
                ahead.push(m);
            }
        }
        out.matches = lead(&ahead, order, best, p.window.saturating_add(1));
        out.ordered = true;
        out.pruned = allowed - out.matches.len();
        out
    })
}

/// A one-word query that one term stands for: each posting is a product's
/// match as it stands (no accumulator), final once read, so reading stops
/// once more than `window` allowed ones are ahead of the next tier's best.
fn one_term<F: FnMut(u32) -> bool>(
    source: &mut Source<'_>,
    best: f32,
    order: &WordOrder,
    mut keep: impl FnMut(&Match) -> bool,
    mut pruning: Option<Pruning<F>>,
) -> Retrieved {
    let mut met: Vec<Match> = Vec::new();
    let mut complete = true;
    while let Some(&tier) = source.unread().first() {
        source.read += 1;
        for p in source.postings.by_ref().take(tier.len as usize) {
            let m = Match {
                ord: p.doc,
                matched: 1,
                typos: source.typos,
                lexical: source.scale * f32::from(p.impact),
                attributes: u8::from(source.names_attribute && p.fields & ATTRIBUTE_FIELDS != 0),
                fields: p.fields,
            };
            let kept = match pruning.as_mut() {
                Some(p) => (p.allowed)(m.ord),
                None => keep(&m),
            };
            if kept {
                met.push(m);
            }
        }
        let (Some(p), Some(next)) = (pruning.as_ref(), source.unread().first()) else {
            continue;
        };
        let left: usize = source.unread().iter().map(|t| t.len as usize).sum();
        if met.len() > p.window && left >= 2 * met.len() {
            let limit = order.key(&source.bound(next), best);
            let ahead = met.iter().filter(|m| order.key(m, best) < limit).count();
            if ahead > p.window {
                complete = false;
                break;
            }
        }
    }
    let Some(p) = pruning else {
        return Retrieved {
            matches: met,
            pruned: 0,
            best,
            complete: true,
            ordered: false,
        };
    };
    // Only the window (and one more) can be read: ahead of the unread
    // tiers when reading stopped (every other product read ranks behind
    // them).
    let matches = lead(&met, order, best, p.window.saturating_add(1));
    Retrieved {
        pruned: met.len() - matches.len(),
        matches,
        best,
        complete,
        ordered: true,
    }
}

/// Whether more than `window` allowed products are settled: each one's
/// key cannot change, and is ahead of the best any other product can
/// still reach (one not met yet, or one the unread tiers can improve).
/// Returns that bound: the settled products are those ahead of it.
fn settle_window<F: FnMut(u32) -> bool>(
    s: &Scratch,
    sources: &[Source<'_>],
    best: f32,
    order: &WordOrder,
    p: &mut Pruning<F>,
) -> Option<u64> {
    let unread = Unread::of(sources);
    if unread.typos == u8::MAX {
        // Every tier is read: nothing is left to stop for.
        return None;
    }
    let unseen = Match {
        ord: 0,
        matched: 0,
        typos: u8::MAX,
        lexical: 0.0,
        attributes: 0,
        fields: 0,
    };
    let mut limit = order.key(&unread.best_for(&unseen), best);
    let mut settled = Vec::with_capacity(s.touched.len());
    for &doc in &s.touched {
        let Some(m) = s.matched(doc).filter(|m| (p.allowed)(m.ord)) else {
            continue;
        };
        if unread.settles(&m) {
            settled.push(order.key(&m, best));
        } else {
            limit = limit.min(order.key(&unread.best_for(&m), best));
        }
    }
    let ahead = settled.iter().filter(|&&key| key < limit).count();
    (ahead > p.window).then_some(limit)
}

/// A posting of a product the first group read does not have, kept for
/// the second pass of [`accumulate`].
#[derive(Debug, Clone, Copy)]
struct Later {
    doc: u32,
    value: f32,
    /// The group's position in reading order.
    group: u16,
    typos: u8,
    attribute: bool,
    fields: u8,
}

/// Postings [`accumulate`]'s buffer keeps room for between queries
/// (16 bytes each).
const LATER_KEPT: usize = 1 << 16;

/// One alternative of one group, as [`accumulate`] reads it.
struct Step<'g> {
    group: &'g Group,
    typos: u8,
    /// The group's position in reading order.
    at: usize,
    /// Groups in the query.
    groups: usize,
    /// Groups a match needs.
    required: usize,
    /// Whether products the first group lacks are kept for a second pass.
    two_passes: bool,
}

impl Step<'_> {
    /// Records that `doc` has this alternative with `value` in `fields`:
    /// into its accumulator, or aside in `later`; `full` counts products
    /// that this makes match every group.
    #[inline(always)]
    fn visit(
        &self,
        s: &mut Scratch,
        later: &mut Vec<Later>,
        full: &mut usize,
        doc: u32,
        value: f32,
        fields: u8,
    ) {
        let k = self.at;
        let g = u16::try_from(k).unwrap_or(u16::MAX);
        let attribute = names_attribute(self.group, self.typos, fields);
        let acc = s
            .accs
            .get(doc as usize)
            .filter(|a| a.generation == s.generation);
        // First met in the last group having matched every group before:
        // it matches them all.
        if k > 0
            && k + 1 == self.groups
            && acc
                .is_some_and(|a| usize::from(a.group) + 1 == k && usize::from(a.m.matched) + 1 == k)
        {
            *full += 1;
        }
        if k == 0 || acc.is_some() {
            touch(s, doc, g, value, self.typos, attribute, fields, true);
        } else if !self.two_passes {
            // A product first met in a group too late to match the
            // required number of groups is never a match.
            let new = self.groups - k >= self.required;
            touch(s, doc, g, value, self.typos, attribute, fields, new);
        } else {
            later.push(Later {
                doc,
                value,
                group: g,
                typos: self.typos,
                attribute,
                fields,
            });
        }
    }
}

/// Postings a group's alternatives hold (phrases count each term's).
fn group_postings(index: &SearchIndex, group: &Group) -> u64 {
    group
        .alternatives
        .iter()
        .flat_map(|a| &a.terms)
        .map(|&t| u64::from(index.doc_freq(t)))
        .sum()
}

/// The general case (several words, or a word with a phrase among its
/// alternatives): every alternative's postings into one accumulator per
/// product, the group with the fewest postings first. With pruning, when
/// more than the window of products match every group, nothing matching
/// fewer can be shown: only those leave retrieval. Two words whose first
/// group has more products than twice the window are read in two passes:
/// the first group makes the accumulators, the other adds to those and
/// keeps its other postings aside, never accumulated when the stop holds
/// (the count is then a lower bound), or else accumulated in the order
/// they were read.
fn accumulate<F: FnMut(u32) -> bool>(
    index: &SearchIndex,
    groups: &[Group],
    required: u8,
    order: &WordOrder,
    mut keep: impl FnMut(&Match) -> bool,
    mut pruning: Option<Pruning<F>>,
) -> Retrieved {
    let n = groups.len();
    let mut by_size: Vec<(u64, usize)> = (0..)
        .zip(groups)
        .map(|(i, g)| (group_postings(index, g), i))
        .collect();
    by_size.sort_unstable();
    let groups: Vec<&Group> = by_size.iter().filter_map(|&(_, i)| groups.get(i)).collect();
    // Two groups of which the larger stands for one term: its products the
    // other does not have match that group alone and can be pruned by
    // impact.
    let last = match (groups.as_slice(), pruning.is_some()) {
        ([_, last], true) => single_term(last).map(|t| (*last, t)),
        _ => None,
    };
    let mut newcomers = Newcomers::default();
    // Two passes pay for two words when the first group read has more
    // products than twice the window, so more than the window may match
    // both. From three words, a product the first group lacks must match
    // every other group, and most postings of the last one read belong to
    // products never accumulated: kept aside, they would cost more than
    // they save.
    let first = by_size.first().map_or(0, |&(postings, _)| postings);
    let two_passes = match pruning.as_ref() {
        Some(p) => n == 2 && (last.is_some() || first > 2 * p.window as u64),
        None => false,
    };
    SCRATCH.with(|cell| {
        let Ok(mut scratch) = cell.try_borrow_mut() else {
            return Retrieved::default();
        };
        let s = &mut *scratch;
        s.begin(index.docs() as usize);
        let mut later = std::mem::take(&mut s.later);
        later.clear();
        // Products matching every group, whether allowed or not.
        let mut full = 0usize;
        for (k, group) in groups.iter().enumerate() {
            let g = u16::try_from(k).unwrap_or(u16::MAX);
            if let (Some((last, (typos, factor, term))), Some(p), 1) = (last, pruning.as_mut(), k) {
                let scale = impact_scale(index, term, factor);
                let generation = s.generation;
                let accs = &s.accs;
                let met = |doc: u32| {
                    accs.get(doc as usize)
                        .is_some_and(|a| a.generation == generation)
                };
                // Products met before are scored below, the rest are
                // newcomers; `met` only reads the accumulators.
                let mut before = Vec::new();
                newcomers.read(index, term, &mut p.allowed, |posting| {
                    let seen = met(posting.doc);
                    if seen {
                        before.push(posting);
                    }
                    seen
                });
                // Each of these matches both groups.
                full += before.len();
                for posting in before {
                    let attribute = names_attribute(last, typos, posting.fields);
                    let value = scale * f32::from(posting.impact);
                    touch(
                        s,
                        posting.doc,
                        g,
                        value,
                        typos,
                        attribute,
                        posting.fields,
                        false,
                    );
                }
                continue;
            }
            for alt in &group.alternatives {
                let step = Step {
                    group,
                    typos: alt.typos,
                    at: k,
                    groups: n,
                    required: usize::from(required),
                    two_passes,
                };
                if let [term] = alt.terms.as_slice() {
                    // The common case, straight from the postings.
                    let scale = impact_scale(index, *term, alt.factor);
                    for p in index.postings(*term) {
                        let value = scale * f32::from(p.impact);
                        step.visit(s, &mut later, &mut full, p.doc, value, p.fields);
                    }
                } else {
                    for (doc, value, fields) in phrase_hits(index, &alt.terms) {
                        let value = value * alt.factor;
                        step.visit(s, &mut later, &mut full, doc, value, fields);
                    }
                }
            }
        }
        // With one pass every product was met: the count stays exact.
        let out = match pruning.as_mut() {
            Some(p) if n > 1 && full > p.window => {
                every_group(s, n, required, order, p, !two_passes)
            }
            _ => None,
        };
        let out = out.unwrap_or_else(|| {
            for l in &later {
                let new = n - usize::from(l.group) >= usize::from(required);
                touch(
                    s,
                    l.doc,
                    l.group,
                    l.value,
                    l.typos,
                    l.attribute,
                    l.fields,
                    new,
                );
            }
            let mut matches: Vec<Match> = s
                .touched
                .iter()
                .filter_map(|&doc| s.matched(doc).filter(|m| keep(m)))
                .collect();
            let mut pruned = 0;
            if let (Some((last, (typos, factor, term))), Some(p)) = (last, pruning.as_ref()) {
                // Newcomers were met after every product met before: they
                // follow them, in the order they were met.
                let (rest, left_out) =
                    newcomers.into_matches(index, last, typos, factor, term, p.window);
                matches.extend(rest);
                pruned = left_out;
            }
            Retrieved {
                best: best_of_top(&matches),
                matches,
                pruned,
                complete: true,
                ordered: false,
            }
        });
        // Kept for the next query, but not a rare query's worth of it.
        later.clear();
        later.shrink_to(LATER_KEPT);
        s.later = later;
        out
    })
}

/// When more than the window of the products met match every one of the
/// `n` groups: those, ahead of anything matching fewer (the window and
/// one more of them), with the count of the others met that match
/// `required` groups as pruned (`complete` when every product was met);
/// `None` otherwise.
fn every_group<F: FnMut(u32) -> bool>(
    s: &Scratch,
    n: usize,
    required: u8,
    order: &WordOrder,
    p: &mut Pruning<F>,
    complete: bool,
) -> Option<Retrieved> {
    let mut full = Vec::new();
    let mut others = 0usize;
    for m in s.touched.iter().filter_map(|&doc| s.matched(doc)) {
        if !(p.allowed)(m.ord) {
            continue;
        }
        if usize::from(m.matched) == n {
            full.push(m);
        } else if m.matched >= required {
            others += 1;
        }
    }
    if full.len() <= p.window {
        return None;
    }
    let best = best_of_top(&full);
    let matches = lead(&full, order, best, p.window.saturating_add(1));
    Some(Retrieved {
        pruned: full.len() - matches.len() + others,
        matches,
        best,
        complete,
        ordered: true,
    })
}

/// The score lexical scores are relative to when several groups are
/// matched: the best of the matches that match the most groups (those
/// that rank first; at least `f32::EPSILON`).
fn best_of_top(matches: &[Match]) -> f32 {
    let top = matches.iter().map(|m| m.matched).max().unwrap_or(0);
    matches
        .iter()
        .filter(|m| m.matched == top)
        .map(|m| m.lexical)
        // Not `f32::max`: in wasm that is a call to `fmaxf` per match.
        .fold(0.0f32, |best, x| if x > best { x } else { best })
        .max(f32::EPSILON)
}

/// Products of one term's postings that matched nothing before it, with
/// a count of their impacts: what pruning by impact needs.
struct Newcomers {
    /// (ordinal, impact, fields), in the order the postings list them.
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
    ) -> (Vec<Match>, usize) {
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
        (matches, pruned)
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
    group.attribute && typos == 0 && fields & ATTRIBUTE_FIELDS != 0
}

/// What an impact byte of `term`'s postings is worth through an
/// alternative scored `factor`: the term's IDF over the byte's range.
fn impact_scale(index: &SearchIndex, term: u32, factor: f32) -> f32 {
    index.idf(term) / 255.0 * factor
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
