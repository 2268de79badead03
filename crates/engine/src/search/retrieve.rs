//! Lexical retrieval: walks the postings of every group's alternatives and
//! accumulates, per product, the groups it matched, their typos and its
//! BM25F score.
//!
//! Accumulators are dense (one per product) and reused across queries on a
//! thread, stamped with a query generation, so a query costs only the
//! postings it reads: no hashing and no per-query allocation of the catalog.

use std::cell::RefCell;
use std::collections::HashMap;

use super::query::Group;
use crate::store::search_index::{Field, SearchIndex};

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

/// Every product matching at least one group that `keep` keeps (checked
/// in the same pass that settles the scores: no intermediate list).
pub fn run(index: &SearchIndex, groups: &[Group], keep: impl FnMut(&Match) -> bool) -> Vec<Match> {
    if let [group] = groups {
        if let [alt] = group.alternatives.as_slice() {
            if let [term] = alt.terms.as_slice() {
                return one_list(index, group, alt.typos, alt.factor, *term, keep);
            }
        }
    }
    accumulate(index, groups, keep)
}

/// The general case: every alternative's postings into one accumulator per
/// product.
fn accumulate(
    index: &SearchIndex,
    groups: &[Group],
    mut keep: impl FnMut(&Match) -> bool,
) -> Vec<Match> {
    SCRATCH.with(|cell| {
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
        for (g, group) in groups.iter().enumerate() {
            let g = u16::try_from(g).unwrap_or(u16::MAX);
            for alt in &group.alternatives {
                let attribute = |fields: u8| names_attribute(group, alt.typos, fields);
                if let [term] = alt.terms.as_slice() {
                    // The common case, straight from the postings.
                    let scale = impact_scale(index, *term, alt.factor);
                    for p in index.postings(*term) {
                        let value = scale * f32::from(p.impact);
                        touch(s, p.doc, g, value, alt.typos, attribute(p.fields), p.fields);
                    }
                } else {
                    for (doc, value, fields) in phrase_hits(index, &alt.terms) {
                        let value = value * alt.factor;
                        touch(s, doc, g, value, alt.typos, attribute(fields), fields);
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
    })
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
/// with `typos` edits.
#[inline(always)]
fn touch(s: &mut Scratch, doc: u32, g: u16, value: f32, typos: u8, attribute: bool, fields: u8) {
    let generation = s.generation;
    let Some(a) = s.accs.get_mut(doc as usize) else {
        return;
    };
    if a.generation != generation {
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

    #[test]
    fn one_list_matches_what_the_accumulators_give() {
        let mut b = IndexBuilder::default();
        let titles = ["red lamp", "lamp", "red desk lamp", "chair", "red red lamp"];
        for (i, title) in titles.iter().enumerate() {
            let brand = if i % 2 == 0 { "Lumo" } else { "red" };
            b.add(&[(Field::Title, title), (Field::Brand, brand)]);
        }
        let parts = b.finish().unwrap();
        let index = SearchIndex::new(
            parts.section,
            (&parts.terms).into(),
            (&parts.postings).into(),
        )
        .unwrap();
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
            let fast = run(&index, &groups, odd);
            let general = accumulate(&index, &groups, odd);
            assert!(!fast.is_empty());
            assert_eq!(fast, general, "{word}");
        }
    }
}
