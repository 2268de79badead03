//! Next-item prediction on click sessions (session-rec's protocol), asking
//! the engine the edge runs, next to the standard baselines computed in the
//! same run on the same split.
//!
//! Data: `SessionId<TAB>ItemId<TAB>Time` with a header, as in
//! `../shared/data/yoochoose-100k/`. Training clicks become a catalog (one
//! product per item, no text: the data has none) and page-view events, built
//! into a bundle exactly as `firstpaint build` does. For every test session
//! (items unseen in training dropped; sessions shorter than 2 skipped) and
//! every prefix, each method ranks 20 items for the next click. Each
//! method's time per prediction is reported beside its scores (one thread;
//! the engine's includes resolving the session's ids, as the edge does).
//!
//! Baselines (Ludewig & Jannach's definitions, simplified where said):
//! - `pop`: the most clicked items of training.
//! - `s-pop`: items of the current session by clicks in it, then `pop`.
//! - `item-knn`: items most similar to the last one by cosine over the
//!   sessions they occur in.
//! - `session-knn`: the 100 past sessions most similar to the current one
//!   (cosine over item sets, each item of the current session weighted by
//!   its recency, linearly, as V-SkNN does; candidates from the 1,000 most
//!   recent sessions sharing an item), items scored by the summed
//!   similarity of the neighbours that contain them.
//! - `v-sknn`, `stan`, `v-stan`: V-SkNN, STAN and V-STAN as session-rec
//!   publishes and configures them ([`vsknn`], [`stan`]), the peers the
//!   engine has to beat.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use firstpaint_contracts::{Consent, Event, EventKind, Product, Rules};
use firstpaint_engine::{Engine, SlotKind, SlotRequest};
use time::OffsetDateTime;

use super::ann::{self, WithRecall};
use super::engine_for;
use super::past_sessions::{NextItem, PastSessions};
use super::{stan, vsknn};

/// Cut-offs reported.
pub const CUTOFFS: [usize; 3] = [5, 10, 20];
/// Neighbour sessions of `session-knn`.
const KNN_NEIGHBOURS: usize = 100;
/// Candidate sessions `session-knn` compares against.
const KNN_SAMPLE: usize = 1_000;

/// Click sessions in file order: (session id, [(item, unix seconds)] in time order).
#[derive(Debug, Clone, Default)]
pub struct Clicks {
    /// The sessions.
    pub sessions: Vec<(String, Vec<(String, f64)>)>,
}

impl Clicks {
    /// Clicks in all sessions.
    pub fn len(&self) -> usize {
        self.sessions.iter().map(|(_, s)| s.len()).sum()
    }

    /// Whether there are no clicks.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Splits `clicks` in time: sessions that start in the last `days` days of
/// the data are the test set, the others the training set.
pub fn split_last_days(clicks: &Clicks, days: f64) -> (Clicks, Clicks) {
    let end = clicks
        .sessions
        .iter()
        .flat_map(|(_, s)| s.iter().map(|c| c.1))
        .fold(f64::MIN, f64::max);
    let cut = end - days * 86_400.0;
    let (test, train): (Vec<_>, Vec<_>) = clicks
        .sessions
        .iter()
        .cloned()
        .partition(|(_, s)| s.first().is_some_and(|c| c.1 >= cut));
    (Clicks { sessions: train }, Clicks { sessions: test })
}

/// Reads a session-rec TSV file.
pub fn read_tsv(path: &Path) -> anyhow::Result<Clicks> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: failed to read", path.display()))?;
    parse_tsv(&path.display().to_string(), &text)
}

/// Parses session-rec TSV text (named `file` in errors).
pub fn parse_tsv(file: &str, text: &str) -> anyhow::Result<Clicks> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, header))
            if header.split('\t').collect::<Vec<_>>() == ["SessionId", "ItemId", "Time"] => {}
        _ => bail!("{file}:1: expected the header SessionId<TAB>ItemId<TAB>Time"),
    }
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut sessions: Vec<(String, Vec<(String, f64)>)> = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let [session, item, time] = f.as_slice() else {
            bail!(
                "{file}:{}: expected 3 tab-separated fields, got {}",
                i + 1,
                f.len()
            );
        };
        let time: f64 = time
            .parse()
            .ok()
            .filter(|t: &f64| t.is_finite())
            .with_context(|| format!("{file}:{}: field `Time`: not a number: {time:?}", i + 1))?;
        let at = *index.entry((*session).to_owned()).or_insert_with(|| {
            sessions.push(((*session).to_owned(), Vec::new()));
            sessions.len() - 1
        });
        if let Some((_, clicks)) = sessions.get_mut(at) {
            clicks.push(((*item).to_owned(), time));
        }
    }
    for (_, clicks) in &mut sessions {
        clicks.sort_by(|a, b| a.1.total_cmp(&b.1));
    }
    Ok(Clicks { sessions })
}

/// HitRate and MRR at [`CUTOFFS`] for one method.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    /// The method.
    pub method: String,
    /// Predictions made.
    pub predictions: usize,
    /// Per cut-off: targets found.
    pub hits: [usize; 3],
    /// Per cut-off: summed reciprocal ranks.
    pub reciprocal: [f64; 3],
    /// Time spent predicting (one thread, as the method ran here).
    pub spent: Duration,
}

impl Scores {
    fn add(&mut self, list: &[u32], target: u32) {
        self.predictions += 1;
        if let Some(rank) = list.iter().position(|&i| i == target).map(|p| p + 1) {
            for (c, &k) in CUTOFFS.iter().enumerate() {
                if rank <= k {
                    self.hits[c] += 1;
                    self.reciprocal[c] += 1.0 / rank as f64;
                }
            }
        }
    }

    /// HitRate at cut-off index `c`.
    pub fn hit_rate(&self, c: usize) -> f64 {
        self.hits.get(c).copied().unwrap_or(0) as f64 / self.predictions.max(1) as f64
    }

    /// Mean time per prediction, microseconds.
    pub fn micros(&self) -> f64 {
        self.spent.as_secs_f64() * 1e6 / self.predictions.max(1) as f64
    }

    /// MRR at cut-off index `c`.
    pub fn mrr(&self, c: usize) -> f64 {
        self.reciprocal.get(c).copied().unwrap_or(0.0) / self.predictions.max(1) as f64
    }
}

/// The training data as item indexes, and what the baselines need of it.
struct Trained {
    items: Vec<String>,
    index: HashMap<String, u32>,
    /// Per training session: its distinct items, and its last click time.
    sessions: Vec<(Vec<u32>, f64)>,
    /// Per item: the training sessions containing it.
    sessions_of: Vec<Vec<u32>>,
    /// Items by clicks, most first.
    popular: Vec<u32>,
}

fn train(clicks: &Clicks) -> Trained {
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut items: Vec<String> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    let mut sessions = Vec::new();
    for (_, s) in &clicks.sessions {
        let mut distinct: Vec<u32> = Vec::new();
        for (item, _) in s {
            let i = *index.entry(item.clone()).or_insert_with(|| {
                items.push(item.clone());
                counts.push(0);
                (items.len() - 1) as u32
            });
            if let Some(c) = counts.get_mut(i as usize) {
                *c += 1;
            }
            if !distinct.contains(&i) {
                distinct.push(i);
            }
        }
        let last = s.last().map_or(0.0, |c| c.1);
        sessions.push((distinct, last));
    }
    let mut sessions_of = vec![Vec::new(); items.len()];
    for (si, (s, _)) in sessions.iter().enumerate() {
        for &i in s {
            if let Some(v) = sessions_of.get_mut(i as usize) {
                v.push(si as u32);
            }
        }
    }
    let mut popular: Vec<u32> = (0..items.len() as u32).collect();
    popular.sort_by_key(|&i| std::cmp::Reverse(counts.get(i as usize).copied().unwrap_or(0)));
    Trained {
        items,
        index,
        sessions,
        sessions_of,
        popular,
    }
}

/// The catalog and events a merchant would have sent for `clicks`.
fn store(clicks: &Clicks, t: &Trained) -> anyhow::Result<(Vec<Product>, Vec<Event>, i64)> {
    let mut first: Vec<f64> = vec![f64::MAX; t.items.len()];
    let mut events = Vec::with_capacity(clicks.len());
    let mut last = 0f64;
    for (session, s) in &clicks.sessions {
        for (item, time) in s {
            let Some(&i) = t.index.get(item) else {
                continue;
            };
            if let Some(f) = first.get_mut(i as usize) {
                *f = f.min(*time);
            }
            last = last.max(*time);
            events.push(Event {
                id: None,
                visitor: None,
                session: session.clone(),
                user: None,
                ts: OffsetDateTime::from_unix_timestamp(*time as i64)?,
                consent: Consent {
                    analytics: true,
                    personalization: true,
                },
                region: "DE".into(),
                kind: EventKind::PageView {
                    product: Some(item.clone()),
                    category: None,
                    channel: None,
                },
            });
        }
    }
    let products = t
        .items
        .iter()
        .zip(&first)
        .map(|(id, &f)| super::product(id, id, "All", 10.0, "EUR", f as i64))
        .collect::<anyhow::Result<Vec<Product>>>()?;
    Ok((products, events, last as i64 + 86_400))
}

/// A next-item method: the current session's items (oldest first) and the
/// time of the click to predict -> ranked items.
type Method<'a> = Box<dyn Fn(&[u32], f64) -> Vec<u32> + 'a>;

/// A session-rec peer as a [`Method`].
fn peer<'a>(past: &'a PastSessions, model: &'a dyn NextItem, k: usize) -> Method<'a> {
    Box::new(move |s: &[u32], now: f64| {
        model
            .predict(past, s, now, k)
            .into_iter()
            .map(|(i, _)| i)
            .collect()
    })
}

/// Trains on `train`, evaluates on `test`; with `recs_out`, writes the
/// engine's lists in session-rec's format.
pub fn run(
    train_clicks: &Clicks,
    test: &Clicks,
    rules: Rules,
    recs_out: Option<&mut dyn Write>,
) -> anyhow::Result<WithRecall<Vec<Scores>>> {
    let t = train(train_clicks);
    let (products, events, now) = store(train_clicks, &t)?;
    let engine = engine_for(products, events, rules, now)?;
    let past = PastSessions::fit(&clicks_of(train_clicks, &t), t.items.len());
    // The engine's products by ordinal, as this eval numbers them: reading
    // its answers back costs the eval nothing the engine is timed for.
    let item_of: Vec<Option<u32>> = engine
        .store()
        .products()
        .map(|p| t.index.get(p.id()).copied())
        .collect();
    let k = *CUTOFFS.last().unwrap_or(&20);
    let methods: Vec<(&str, Method<'_>)> = vec![
        (
            "firstpaint (engine)",
            Box::new(|s: &[u32], _| ask_engine(&engine, &t, &item_of, s, k, now)),
        ),
        (
            "pop",
            Box::new(|_: &[u32], _| t.popular.iter().take(k).copied().collect()),
        ),
        ("s-pop", Box::new(|s: &[u32], _| session_pop(&t, s, k))),
        ("item-knn", Box::new(|s: &[u32], _| item_knn(&t, s, k))),
        (
            "session-knn",
            Box::new(|s: &[u32], _| session_knn(&t, s, k)),
        ),
        ("v-sknn (session-rec)", peer(&past, &vsknn::SESSION_REC, k)),
        ("stan-mrr (session-rec)", peer(&past, &stan::STAN_MRR, k)),
        ("v-stan-hr (session-rec)", peer(&past, &stan::VSTAN_HR, k)),
    ];
    let mut scores: Vec<Scores> = methods
        .iter()
        .map(|(name, _)| Scores {
            method: (*name).to_owned(),
            ..Scores::default()
        })
        .collect();
    let mut out = recs_out;
    if let Some(w) = out.as_mut() {
        writeln!(w, "SessionId;Position;Recommendations;Scores")?;
    }
    for (session, clicks) in &test.sessions {
        let (items, times) = known(&t, clicks);
        if items.len() < 2 {
            continue;
        }
        for position in 0..items.len() - 1 {
            let (prefix, target) = (&items[..=position], items[position + 1]);
            let now = times[position + 1];
            for ((_, method), score) in methods.iter().zip(scores.iter_mut()) {
                let started = Instant::now();
                let list = method(prefix, now);
                score.spent += started.elapsed();
                score.add(&list, target);
                if let (Some(w), true) = (out.as_mut(), score.method.starts_with("firstpaint")) {
                    let ids: Vec<&str> = list
                        .iter()
                        .filter_map(|&i| t.items.get(i as usize).map(String::as_str))
                        .collect();
                    let ranks: Vec<String> = (0..list.len())
                        .map(|r| format!("{:.4}", 1.0 / (r + 1) as f64))
                        .collect();
                    writeln!(
                        w,
                        "{session};{position};{};{}",
                        ids.join(","),
                        ranks.join(",")
                    )?;
                }
            }
        }
    }
    Ok(WithRecall {
        rows: scores,
        ann: ann::recall(&engine, ann::EVAL_QUERIES, 1),
    })
}

/// The engine's `next` slot for a shopper who clicked `session` (oldest
/// first), read back through `item_of` (the eval's item by the engine's
/// ordinal).
fn ask_engine(
    engine: &Engine,
    t: &Trained,
    item_of: &[Option<u32>],
    session: &[u32],
    k: usize,
    now: i64,
) -> Vec<u32> {
    let mut req = SlotRequest::new(SlotKind::Next);
    req.k = Some(k);
    req.visitor.now = now;
    req.visitor.viewed = session
        .iter()
        .rev()
        .filter_map(|&i| t.items.get(i as usize).cloned())
        .collect();
    // The visit's moves, counted as the edge counts them.
    let mut visit = crate::train::returns::VisitViews::default();
    for &i in session {
        visit.view(i);
    }
    req.visitor.view_counts = visit.counts;
    engine
        .rank(&req)
        .map(|r| {
            r.items
                .iter()
                .filter_map(|i| item_of.get(i.ordinal as usize).copied().flatten())
                .collect()
        })
        .unwrap_or_default()
}

fn session_pop(t: &Trained, session: &[u32], k: usize) -> Vec<u32> {
    let mut counts: Vec<(u32, usize, usize)> = Vec::new();
    for (pos, &i) in session.iter().enumerate() {
        match counts.iter_mut().find(|c| c.0 == i) {
            Some(c) => {
                c.1 += 1;
                c.2 = pos;
            }
            None => counts.push((i, 1, pos)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)));
    let mut out: Vec<u32> = counts.into_iter().map(|c| c.0).collect();
    for &i in &t.popular {
        if out.len() >= k {
            break;
        }
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out.truncate(k);
    out
}

fn item_knn(t: &Trained, session: &[u32], k: usize) -> Vec<u32> {
    let Some(&last) = session.last() else {
        return Vec::new();
    };
    let empty = Vec::new();
    let of = |i: u32| t.sessions_of.get(i as usize).unwrap_or(&empty);
    let mut co: HashMap<u32, usize> = HashMap::new();
    for &s in of(last) {
        if let Some((items, _)) = t.sessions.get(s as usize) {
            for &j in items.iter().filter(|&&j| j != last) {
                *co.entry(j).or_default() += 1;
            }
        }
    }
    let n_last = of(last).len() as f64;
    let mut scored: Vec<(u32, f64)> = co
        .into_iter()
        .map(|(j, c)| (j, c as f64 / (n_last * of(j).len() as f64).sqrt()))
        .collect();
    top(&mut scored, k)
}

fn session_knn(t: &Trained, session: &[u32], k: usize) -> Vec<u32> {
    let n = session.len();
    // Linear recency weights: the last click 1, the first 1/n.
    let mut weight: HashMap<u32, f64> = HashMap::new();
    for (pos, &i) in session.iter().enumerate() {
        weight.insert(i, (pos + 1) as f64 / n as f64);
    }
    let mut candidates: HashSet<u32> = HashSet::new();
    for &i in weight.keys() {
        if let Some(s) = t.sessions_of.get(i as usize) {
            candidates.extend(s.iter().copied());
        }
    }
    let mut candidates: Vec<u32> = candidates.into_iter().collect();
    // The most recent sessions sharing an item.
    candidates.sort_by(|a, b| {
        let time = |s: &u32| t.sessions.get(*s as usize).map_or(0.0, |x| x.1);
        time(b).total_cmp(&time(a)).then(a.cmp(b))
    });
    candidates.truncate(KNN_SAMPLE);
    let norm = (weight.len() as f64).sqrt();
    let mut neighbours: Vec<(u32, f64)> = candidates
        .into_iter()
        .filter_map(|s| {
            let (items, _) = t.sessions.get(s as usize)?;
            let dot: f64 = items.iter().filter_map(|i| weight.get(i)).sum();
            (dot > 0.0).then(|| (s, dot / (norm * (items.len() as f64).sqrt())))
        })
        .collect();
    neighbours.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    neighbours.truncate(KNN_NEIGHBOURS);
    let mut scores: HashMap<u32, f64> = HashMap::new();
    for (s, sim) in neighbours {
        if let Some((items, _)) = t.sessions.get(s as usize) {
            for &i in items {
                *scores.entry(i).or_default() += sim;
            }
        }
    }
    let mut scored: Vec<(u32, f64)> = scores.into_iter().collect();
    top(&mut scored, k)
}

/// The `k` best (item, score) pairs, best first, ties by item.
fn top(scored: &mut [(u32, f64)], k: usize) -> Vec<u32> {
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.iter().take(k).map(|x| x.0).collect()
}

/// The report as a Markdown table.
pub fn table(scores: &[Scores]) -> String {
    let header = [
        "method",
        "predictions",
        "HR@5",
        "MRR@5",
        "HR@10",
        "MRR@10",
        "HR@20",
        "MRR@20",
        "µs per prediction",
    ];
    super::markdown(
        &header,
        scores.iter().map(|s| {
            let mut row = vec![s.method.clone(), s.predictions.to_string()];
            for c in 0..CUTOFFS.len() {
                row.push(format!("{:.3}", s.hit_rate(c)));
                row.push(format!("{:.3}", s.mrr(c)));
            }
            row.push(format!("{:.0}", s.micros()));
            row
        }),
    )
}

/// A test session's clicks on items known in training: their indexes and
/// times, oldest first.
fn known(t: &Trained, clicks: &[(String, f64)]) -> (Vec<u32>, Vec<f64>) {
    clicks
        .iter()
        .filter_map(|(i, time)| Some((t.index.get(i).copied()?, *time)))
        .unzip()
}

/// The clicks of every training session (item indexes, repeats kept)
/// and its last click's time, as [`PastSessions::fit`] takes them.
fn clicks_of(clicks: &Clicks, t: &Trained) -> Vec<(Vec<u32>, f64)> {
    clicks
        .sessions
        .iter()
        .map(|(_, s)| {
            let items = s
                .iter()
                .filter_map(|(i, _)| t.index.get(i).copied())
                .collect();
            (items, s.last().map_or(0.0, |c| c.1))
        })
        .collect()
}

/// How a session-rec method agrees with the framework's saved predictions
/// (`SessionId;Position;Recommendations;Scores`, gzipped, as in
/// `../shared/data/yoochoose-100k/peers/`) on the same split.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    /// The method's own scores.
    pub scores: Scores,
    /// Predictions found in both.
    pub compared: usize,
    /// Share of them with the same first item.
    pub same_first: f64,
    /// Mean share of the peer's scored top 20 (scores above 0) that
    /// the method's top 20 holds too.
    pub overlap: f64,
}

/// `model` trained on `training` and asked every prefix of `test`,
/// compared with the framework's predictions in `peer`.
pub fn agreement(
    training: &Clicks,
    test: &Clicks,
    model: &dyn NextItem,
    peer: &Path,
) -> anyhow::Result<Agreement> {
    let t = train(training);
    let past = PastSessions::fit(&clicks_of(training, &t), t.items.len());
    let theirs = read_peer(peer)?;
    let k = *CUTOFFS.last().unwrap_or(&20);
    let mut out = Agreement {
        scores: Scores {
            method: "session-rec".into(),
            ..Scores::default()
        },
        compared: 0,
        same_first: 0.0,
        overlap: 0.0,
    };
    for (session, clicks) in &test.sessions {
        let (items, times) = known(&t, clicks);
        for position in 0..items.len().saturating_sub(1) {
            let list: Vec<u32> = model
                .predict(&past, &items[..=position], times[position + 1], k)
                .into_iter()
                .map(|(i, _)| i)
                .collect();
            out.scores.add(&list, items[position + 1]);
            let Some(peer_list) = theirs.get(&(session.clone(), position)) else {
                continue;
            };
            let peer_items: Vec<u32> = peer_list
                .iter()
                .filter_map(|i| t.index.get(i).copied())
                .collect();
            out.compared += 1;
            if !peer_items.is_empty() && peer_items.first() == list.first() {
                out.same_first += 1.0;
            }
            if !peer_items.is_empty() {
                let shared = peer_items.iter().filter(|i| list.contains(i)).count();
                out.overlap += shared as f64 / peer_items.len() as f64;
            }
        }
    }
    let n = out.compared.max(1) as f64;
    out.same_first /= n;
    out.overlap /= n;
    Ok(out)
}

/// A peer's saved predictions: (session, position) to its items with a
/// score above 0, best first.
fn read_peer(path: &Path) -> anyhow::Result<HashMap<(String, usize), Vec<String>>> {
    use std::io::Read;
    let name = path.display().to_string();
    let mut text = String::new();
    flate2::read::GzDecoder::new(
        std::fs::File::open(path).with_context(|| format!("{name}: failed to open"))?,
    )
    .read_to_string(&mut text)
    .with_context(|| format!("{name}: not gzipped text"))?;
    let mut out = HashMap::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(';').collect();
        let [session, position, items, scores] = f.as_slice() else {
            bail!(
                "{name}:{}: expected SessionId;Position;Recommendations;Scores",
                n + 1
            );
        };
        let position: usize = position
            .parse()
            .with_context(|| format!("{name}:{}: field `Position`: not a number", n + 1))?;
        let scored: Vec<String> = items
            .split(',')
            .zip(scores.split(','))
            .filter(|(_, s)| s.parse::<f64>().is_ok_and(|s| s > 0.0))
            .map(|(i, _)| i.to_owned())
            .collect();
        out.insert(((*session).to_owned(), position), scored);
    }
    Ok(out)
}
