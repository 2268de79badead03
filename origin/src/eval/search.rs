//! Known-item search on a real catalog: for each product, a query made of
//! 1-3 of its title's words (as a shopper remembers them), once as written
//! and once with one random typo in its longest word; is the product in
//! the top 10, and at what rank?
//!
//! Products with the same title as the target count as the target (they
//! cannot be told apart by any query). The same queries also run against
//! the same index with typo tolerance switched off, in the same run, so the
//! gain of tolerance is measured rather than claimed.

use std::collections::HashMap;

use firstpaint_contracts::{Product, Rules};
use firstpaint_engine::{Engine, SearchOutcome, SearchRequest};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::{engine_for, Tally};

/// Results are judged in the first this many.
pub const K: usize = 10;

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Row {
    /// `exact` or `typo`.
    pub queries: &'static str,
    /// Which engine answered.
    pub engine: &'static str,
    /// Words per query (0 = all queries).
    pub words: usize,
    /// What it scored.
    pub tally: Tally,
}

/// Queries a shopper who remembers a product might type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownItem {
    /// The product's ordinal.
    pub target: u32,
    /// Words in the query.
    pub words: usize,
    /// 1-3 of its title's words, in title order.
    pub exact: String,
    /// The same with one random edit in the longest word.
    pub typo: String,
}

/// Runs the test over `products` (in ordinal order) with `seed`.
pub fn run(products: Vec<Product>, seed: u64, now: i64) -> anyhow::Result<Vec<Row>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let cases: Vec<KnownItem> = products
        .iter()
        .enumerate()
        .filter_map(|(i, p)| known_item(i as u32, &p.title, &mut rng))
        .collect();
    let mut same_title: HashMap<String, Vec<u32>> = HashMap::new();
    for (i, p) in products.iter().enumerate() {
        same_title
            .entry(p.title.to_lowercase())
            .or_default()
            .push(i as u32);
    }
    let twins: Vec<Vec<u32>> = products
        .iter()
        .map(|p| {
            same_title
                .get(&p.title.to_lowercase())
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let tolerant = engine_for(products.clone(), Vec::new(), Rules::default(), now)?;
    let mut strict_rules = Rules::default();
    strict_rules.search.typo_one_from = u8::MAX;
    strict_rules.search.typo_two_from = u8::MAX;
    let strict = engine_for(products, Vec::new(), strict_rules, now)?;

    let mut rows = Vec::new();
    for (queries, pick) in [("exact", 0), ("typo", 1)] {
        for (name, engine) in [("firstpaint", &tolerant), ("no typo tolerance", &strict)] {
            let mut by_words: [Tally; 4] = Default::default();
            for c in &cases {
                let q = if pick == 0 { &c.exact } else { &c.typo };
                let (rank, outcome) = ask(engine, q, twins.get(c.target as usize))?;
                for t in [0, c.words] {
                    if let Some(tally) = by_words.get_mut(t) {
                        tally.add(rank);
                        tally.empty += usize::from(outcome == SearchOutcome::Empty);
                        tally.rescued += usize::from(outcome == SearchOutcome::Rescued);
                    }
                }
            }
            for (words, tally) in by_words.into_iter().enumerate() {
                rows.push(Row {
                    queries,
                    engine: name,
                    words,
                    tally,
                });
            }
        }
    }
    Ok(rows)
}

/// The 1-based rank of the first of `targets` in the top [`K`], and how the search ended.
fn ask(
    engine: &Engine,
    query: &str,
    targets: Option<&Vec<u32>>,
) -> anyhow::Result<(Option<usize>, SearchOutcome)> {
    let mut req = SearchRequest::new(query);
    req.per_page = K;
    let r = engine.search(&req)?;
    let rank = r
        .items
        .iter()
        .position(|i| targets.is_some_and(|t| t.contains(&i.ordinal)))
        .map(|p| p + 1);
    Ok((rank, r.outcome))
}

/// Queries for the product at `target` titled `title`; `None` when the
/// title has no word of two letters or more.
pub fn known_item(target: u32, title: &str, rng: &mut StdRng) -> Option<KnownItem> {
    let mut words: Vec<String> = title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_lowercase)
        .collect();
    words.dedup();
    if words.is_empty() {
        return None;
    }
    let n = rng.gen_range(1..=3).min(words.len());
    let mut chosen: Vec<usize> = (0..words.len()).collect();
    chosen.shuffle(rng);
    chosen.truncate(n);
    chosen.sort_unstable();
    let picked: Vec<String> = chosen
        .iter()
        .filter_map(|&i| words.get(i).cloned())
        .collect();
    let longest = (0..picked.len()).max_by_key(|&i| picked.get(i).map_or(0, String::len))?;
    let mut typo = picked.clone();
    if let Some(w) = typo.get_mut(longest) {
        *w = one_edit(w, rng);
    }
    Some(KnownItem {
        target,
        words: n,
        exact: picked.join(" "),
        typo: typo.join(" "),
    })
}

/// `word` with one random deletion, insertion, substitution or swap of
/// neighbours (the four edits typo tolerance counts as one).
fn one_edit(word: &str, rng: &mut StdRng) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    let letter = char::from(b'a' + rng.gen_range(0..26u8));
    let at = rng.gen_range(0..chars.len().max(1));
    match rng.gen_range(0..4) {
        0 if chars.len() > 1 => {
            chars.remove(at);
        }
        1 => chars.insert(at, letter),
        2 => {
            if let Some(c) = chars.get_mut(at) {
                // A different letter, so the edit is real.
                *c = if *c == letter {
                    if letter == 'z' {
                        'a'
                    } else {
                        'z'
                    }
                } else {
                    letter
                };
            }
        }
        _ if at + 1 < chars.len() && chars.get(at) != chars.get(at + 1) => chars.swap(at, at + 1),
        _ => chars.insert(at, letter),
    }
    chars.into_iter().collect()
}

/// The report as a Markdown table.
pub fn table(rows: &[Row]) -> String {
    let header = [
        "queries",
        "engine",
        "words",
        "n",
        "success@10",
        "MRR@10",
        "empty",
        "rescued",
    ];
    super::markdown(
        &header,
        rows.iter().map(|r| {
            let t = &r.tally;
            let words = if r.words == 0 {
                "all".to_owned()
            } else {
                r.words.to_string()
            };
            vec![
                r.queries.to_owned(),
                r.engine.to_owned(),
                words,
                t.queries.to_string(),
                format!("{:.3}", t.success()),
                format!("{:.3}", t.mrr()),
                format!("{:.1}%", 100.0 * t.empty_rate()),
                format!("{:.1}%", 100.0 * t.rescue_rate()),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_is_exactly_one_edit() {
        let mut rng = StdRng::seed_from_u64(1);
        for word in ["lantern", "heart", "ab", "mug"] {
            for _ in 0..200 {
                let t = one_edit(word, &mut rng);
                assert_ne!(t, word);
                assert_eq!(strsim::osa_distance(word, &t), 1, "{word} -> {t}");
            }
        }
    }
}
