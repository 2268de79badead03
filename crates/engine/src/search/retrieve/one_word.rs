//! One word: its alternatives' lists read a tier at a time, best bound
//! first, until more than the window of products are settled (see the
//! parent module).

use super::{
    impact_scale, lead, touch, Match, Pruning, Retrieved, Scratch, WordOrder, ATTRIBUTE_FIELDS,
    SCRATCH,
};
use crate::search::query::Group;
use crate::store::postings::{Tier, Tiers};
use crate::store::search_index::Postings;
use crate::store::search_index::SearchIndex;

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
    /// nothing, with any typos). Only its score's parts are bounded: its
    /// reported fields could still gain those of a posting of exactly
    /// equal value read later (another alternative's), which ranks
    /// nothing.
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

/// A one-word query whose alternatives are single terms: each product
/// scored through its best alternative. Tiers are read best bound first
/// (the same order with or without pruning, so ties fall the same way);
/// with pruning, reading stops once more than `window` allowed products
/// are settled: ahead of the best the unread tiers could still make of
/// any product, and unchangeable by them.
pub(super) fn one_group<F: FnMut(u32) -> bool>(
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
