//! Pruned retrieval against the exhaustive one. Properties checked, on
//! random indexes (a small vocabulary over every field, so impacts tie
//! often), random queries (one to three groups of exact, typo'd and
//! attribute alternatives), random verdicts and windows:
//!
//! 1. The same number of products matched: what pruning leaves out is
//!    counted (`matches + pruned` equals the exhaustive matches).
//! 2. The same best lexical score, so every relative score is the same.
//! 3. The same leading `window` matches in the same order, ties included,
//!    under the search's own key ([`lexical_keys`]).

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use proptest::prelude::*;

use super::query::{Alternative, Group, Via};
use super::retrieve::{self, Match, Pruning, Retrieved};
use super::{best_lexical, lexical_keys, Field, IndexBuilder, SearchIndex};
use crate::order;

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
fn leading(matches: &[Match], window: usize, attribute_groups: f32) -> Vec<Match> {
    let best = best_lexical(matches);
    let mut keys = lexical_keys(matches, best, (1.0, 0.15), attribute_groups);
    order::select(&mut keys, window);
    order::sort(&mut keys);
    keys.iter().map(|&(_, i)| matches[i as usize]).collect()
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
    retrieve::run(
        index,
        groups,
        required,
        |m| m.matched >= required && allowed(m.ord),
        window.map(|window| Pruning { window, allowed }),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn pruned_retrieval_leads_with_the_exhaustive_matches(
        docs in proptest::collection::vec(
            proptest::collection::vec((0u8..5, 0u8..8), 1..6), 1..400),
        spec in proptest::collection::vec(
            (proptest::collection::vec((0u8..8, 0u8..3, 0u8..3), 1..4), any::<bool>()), 1..4),
        blocked in proptest::collection::vec(proptest::bool::weighted(0.1), 400),
        window in 1usize..60,
    ) {
        let index = index(&docs);
        let groups = groups(&index, &spec);
        prop_assume!(!groups.is_empty());
        let attribute_groups = groups.iter().filter(|g| g.attribute).count().max(1) as f32;
        let all = retrieve(&index, &groups, &blocked, None);
        let pruned = retrieve(&index, &groups, &blocked, Some(window));
        prop_assert_eq!(all.pruned, 0);
        prop_assert_eq!(pruned.matches.len() + pruned.pruned, all.matches.len());
        prop_assert_eq!(best_lexical(&pruned.matches), best_lexical(&all.matches));
        prop_assert_eq!(
            leading(&pruned.matches, window, attribute_groups),
            leading(&all.matches, window, attribute_groups)
        );
    }
}

/// One term over many products with few impacts: pruning leaves most
/// out, and still leads with the same matches.
#[test]
fn a_long_list_is_pruned_to_its_window() {
    let docs: Vec<Vec<(u8, u8)>> = (0..2000u32)
        .map(|i| {
            // Title, description or both, with 0-2 other words.
            let mut d = vec![((i % 5) as u8 * 4 % 5, 0)];
            d.extend((0..i % 3).map(|j| (4, (1 + j) as u8)));
            d
        })
        .collect();
    let index = index(&docs);
    let groups = groups(&index, &[(vec![(0, 0, 0)], false)]);
    let blocked = vec![false; 2000];
    let all = retrieve(&index, &groups, &blocked, None);
    let pruned = retrieve(&index, &groups, &blocked, Some(50));
    assert_eq!(all.matches.len(), 2000);
    assert!(pruned.matches.len() < 1000, "{}", pruned.matches.len());
    assert_eq!(pruned.matches.len() + pruned.pruned, 2000);
    assert_eq!(
        leading(&pruned.matches, 50, 1.0),
        leading(&all.matches, 50, 1.0)
    );
}
