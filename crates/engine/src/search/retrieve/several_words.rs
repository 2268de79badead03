//! Several words (or a word with a phrase among its alternatives): every
//! alternative's postings into one accumulator per product, the group with
//! the fewest postings first (see the parent module).

use std::collections::HashMap;

use super::{
    impact_scale, lead, names_attribute, single_term, touch, Match, Pruning, Retrieved, Scratch,
    WordOrder, SCRATCH,
};
use crate::search::query::Group;
use crate::store::search_index::{Posting, SearchIndex};

/// A posting of a product the first group read does not have, kept for
/// the second pass of [`accumulate`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Later {
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
pub(super) fn accumulate<F: FnMut(u32) -> bool>(
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
