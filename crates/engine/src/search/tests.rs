//! Pruned retrieval against the exhaustive one. Properties checked, on
//! random indexes (a small vocabulary over every field, so impacts tie
//! often), random queries (one to three groups of exact, typo'd and
//! attribute alternatives), random verdicts and windows:
//!
//! 1. The same number of products matched when every posting was read
//!    (`matches + pruned` equals the exhaustive matches), and a lower
//!    bound above the window when retrieval stopped early.
//! 2. The same best lexical score, so every relative score is the same.
//! 3. The same leading `window` matches in the same order, ties included,
//!    under the search's own order ([`retrieve::lead`]), every part of
//!    each match the same.
//!
//! The indexes are large enough for their lists to be split into tiers
//! (see [`crate::store::postings`]), so one-word queries stop early, and
//! for more than the window to match every word of a query of several,
//! so those stop too.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use proptest::prelude::*;

use super::query::{Alternative, Group, Via};
use super::retrieve::{self, Match, Pruning, Retrieved, WordOrder};
use super::{Field, IndexBuilder, SearchIndex};

/// The search's default weights.
fn word_order(attribute_groups: f32) -> WordOrder {
    WordOrder {
        lexical: 1.0,
        attribute: 0.15,
        attribute_groups,
    }
}

const WORDS: [&str; 8] = [
    "red", "lamp", "desk", "oak", "chair", "soft", "lumo", "tall",
];

fn index(docs: &[Vec<(u8, u8)>]) -> SearchIndex {
    let mut b = IndexBuilder::default();
    for doc in docs {
        let texts: Vec<(Field, String)> = doc
            .iter()
            .map(|&(field, word)| {
                let field = Field::ALL[usize::from(field) % Field::ALL.len()];
                (field, WORDS[usize::from(word) % WORDS.len()].to_owned())
            })
            .collect();
        let fields: Vec<(Field, &str)> = texts.iter().map(|(f, t)| (*f, t.as_str())).collect();
        b.add(&fields);
    }
    b.finish().unwrap().open().unwrap()
}

/// A group's alternatives, each (word, typos, route), and whether it names
/// an attribute.
type GroupSpec = (Vec<(u8, u8, u8)>, bool);

/// A group of one to three alternatives, each (word, typos, route).
fn groups(index: &SearchIndex, spec: &[GroupSpec]) -> Vec<Group> {
    spec.iter()
        .filter_map(|(alts, attribute)| {
            let alternatives: Vec<Alternative> = alts
                .iter()
                .filter_map(|&(word, typos, via)| {
                    let term = index.term_id(WORDS[usize::from(word) % WORDS.len()])?;
                    let via = [Via::Exact, Via::Prefix, Via::Typo][usize::from(via) % 3];
                    Some(Alternative {
                        terms: vec![term],
                        typos: typos % 3,
                        via,
                        factor: [1.0, 0.85, 0.8][usize::from(via as u8) % 3],
                    })
                })
                .collect();
            (!alternatives.is_empty()).then(|| Group {
                word: String::new(),
                alternatives,
                attribute: *attribute,
            })
        })
        .collect()
}

/// The leading `window` matches as the search orders them.
fn leading(r: &Retrieved, window: usize, attribute_groups: f32) -> Vec<Match> {
    retrieve::lead(&r.matches, &word_order(attribute_groups), r.best, window)
}

fn retrieve(
    index: &SearchIndex,
    groups: &[Group],
    blocked: &[bool],
    window: Option<usize>,
) -> Retrieved {
    let n = groups.len();
    let required = if n <= 2 { 1 } else { n - 1 } as u8;
    let allowed = |ord: u32| !blocked.get(ord as usize).copied().unwrap_or(true);
    let attribute_groups = groups.iter().filter(|g| g.attribute).count().max(1) as f32;
    retrieve::run(
        index,
        groups,
        required,
        &word_order(attribute_groups),
        |m| m.matched >= required && allowed(m.ord),
        window.map(|window| Pruning { window, allowed }),
    )
}

/// Pruned retrieval against the exhaustive one on `docs` (see the
/// module's documentation).
fn same_lead(
    docs: &[Vec<(u8, u8)>],
    spec: &[GroupSpec],
    blocked: &[bool],
    window: usize,
) -> Result<(), TestCaseError> {
    let index = index(docs);
    let groups = groups(&index, spec);
    prop_assume!(!groups.is_empty());
    let attribute_groups = groups.iter().filter(|g| g.attribute).count().max(1) as f32;
    let all = retrieve(&index, &groups, blocked, None);
    let pruned = retrieve(&index, &groups, blocked, Some(window));
    prop_assert_eq!(all.pruned, 0);
    prop_assert!(all.complete);
    let found = pruned.matches.len() + pruned.pruned;
    if pruned.complete {
        prop_assert_eq!(found, all.matches.len());
    } else {
        prop_assert!(found > window && found <= all.matches.len());
    }
    prop_assert_eq!(pruned.best, all.best);
    prop_assert_eq!(
        leading(&pruned, window, attribute_groups),
        leading(&all, window, attribute_groups)
    );
    Ok(())
}

/// One to three alternatives, each (word, typos, route).
fn alternatives() -> impl Strategy<Value = Vec<(u8, u8, u8)>> {
    proptest::collection::vec((0u8..8, 0u8..3, 0u8..3), 1..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn pruned_retrieval_leads_with_the_exhaustive_matches(
        docs in proptest::collection::vec(
            proptest::collection::vec((0u8..5, 0u8..8), 1..6), 1..3000),
        spec in proptest::collection::vec((alternatives(), any::<bool>()), 1..4),
        blocked in proptest::collection::vec(proptest::bool::weighted(0.1), 3000),
        window in prop_oneof![1usize..60, 200usize..900],
    ) {
        same_lead(&docs, &spec, &blocked, window)?;
    }

    /// One word over catalogs large enough for its lists to have tiers:
    /// about half of these stop early (measured when written: 35 of 64).
    #[test]
    fn one_word_stops_early_with_the_same_lead(
        docs in proptest::collection::vec(
            proptest::collection::vec((0u8..5, 0u8..2), 1..6), 4500..7000),
        alternatives in proptest::collection::vec((0u8..2, 0u8..3, 0u8..3), 1..4),
        attribute in any::<bool>(),
        blocked in proptest::collection::vec(proptest::bool::weighted(0.1), 7000),
        window in prop_oneof![1usize..60, 200usize..600],
    ) {
        same_lead(&docs, &[(alternatives, attribute)], &blocked, window)?;
    }
}

/// One term over many products with few impacts: pruning stops after its
/// first tier, and still leads with the same matches.
#[test]
fn a_long_list_is_pruned_to_its_window() {
    let docs: Vec<Vec<(u8, u8)>> = (0..5000u32)
        .map(|i| {
            // Title, description or both, with 0-2 other words.
            let mut d = vec![((i % 5) as u8 * 4 % 5, 0)];
            d.extend((0..i % 3).map(|j| (4, (1 + j) as u8)));
            d
        })
        .collect();
    let index = index(&docs);
    let groups = groups(&index, &[(vec![(0, 0, 0)], false)]);
    let blocked = vec![false; 5000];
    let all = retrieve(&index, &groups, &blocked, None);
    let pruned = retrieve(&index, &groups, &blocked, Some(50));
    assert_eq!(all.matches.len(), 5000);
    assert!(all.complete);
    let tiers = index.tiers(index.term_id("red").unwrap());
    let first = tiers.as_slice()[0].len as usize;
    assert!(tiers.as_slice().len() > 1, "{tiers:?}");
    // Only the first tier was read: the count says "at least" that many.
    assert!(!pruned.complete);
    assert_eq!(pruned.matches.len() + pruned.pruned, first);
    assert!(pruned.matches.len() > 50);
    assert_eq!(leading(&pruned, 50, 1.0), leading(&all, 50, 1.0));
}
