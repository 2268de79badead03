//! The training sessions as session-rec's neighbourhood methods (V-SkNN,
//! STAN, V-STAN) index them, shared so each is fitted once and compared on
//! the same index.

/// A next-item method of the session-kNN family, asked over
/// [`PastSessions`].
pub trait NextItem {
    /// The items and scores for the next click after `session` (its
    /// clicks oldest first, repeats kept) at unix time `now` (session-rec
    /// passes the time of the click being predicted), best first, at most
    /// `top`, scores above 0 only.
    fn predict(
        &self,
        past: &PastSessions,
        session: &[u32],
        now: f64,
        top: usize,
    ) -> Vec<(u32, f64)>;
}

/// Past sessions, item to sessions, and item idf.
#[derive(Debug, Clone)]
pub struct PastSessions {
    /// Per session: its clicks in time order, repeats kept.
    pub(super) clicks: Vec<Vec<u32>>,
    /// Per session: its distinct items, sorted.
    pub(super) items: Vec<Vec<u32>>,
    /// Per session: its last click's time.
    time: Vec<f64>,
    /// Per item: the sessions holding it, ascending.
    sessions_of: Vec<Vec<u32>>,
    /// Per item: ln(sessions / its clicks).
    idf: Vec<f64>,
}

impl PastSessions {
    /// From the training sessions: each one's clicks (item indexes below
    /// `items`, repeats kept, oldest first) and the time of its last click.
    pub fn fit(sessions: &[(Vec<u32>, f64)], items: usize) -> PastSessions {
        let mut clicks = vec![0usize; items];
        let mut sessions_of: Vec<Vec<u32>> = vec![Vec::new(); items];
        let mut distinct = Vec::with_capacity(sessions.len());
        let mut time = Vec::with_capacity(sessions.len());
        for (s, (session, last)) in sessions.iter().enumerate() {
            let mut set = session.clone();
            set.sort_unstable();
            set.dedup();
            for &i in session {
                if let Some(c) = clicks.get_mut(i as usize) {
                    *c += 1;
                }
            }
            for &i in &set {
                if let Some(v) = sessions_of.get_mut(i as usize) {
                    v.push(s as u32);
                }
            }
            distinct.push(set);
            time.push(*last);
        }
        let n = sessions.len().max(1) as f64;
        let idf = clicks
            .iter()
            .map(|&c| if c == 0 { 0.0 } else { (n / c as f64).ln() })
            .collect();
        PastSessions {
            clicks: sessions.iter().map(|(s, _)| s.clone()).collect(),
            items: distinct,
            time,
            sessions_of,
            idf,
        }
    }

    /// The sessions sharing an item with `current` (its distinct items),
    /// at most `sample_size` of them: the most recent by their last click
    /// (session-rec's `recent` sampling), ascending by index.
    pub(super) fn candidates<'a>(
        &self,
        current: impl IntoIterator<Item = &'a u32>,
        sample_size: usize,
    ) -> Vec<u32> {
        let mut candidates: Vec<u32> = current
            .into_iter()
            .filter_map(|&i| self.sessions_of.get(i as usize))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        if candidates.len() > sample_size {
            candidates.sort_by(|&a, &b| self.time(b).total_cmp(&self.time(a)).then(b.cmp(&a)));
            candidates.truncate(sample_size);
            candidates.sort_unstable();
        }
        candidates
    }

    /// Session `s`'s last click's time (0 for an unknown session).
    pub(super) fn time(&self, s: u32) -> f64 {
        self.time.get(s as usize).copied().unwrap_or(0.0)
    }

    /// Item `i`'s idf (0 for an unknown item).
    pub(super) fn idf(&self, i: u32) -> f64 {
        self.idf.get(i as usize).copied().unwrap_or(0.0)
    }
}

/// The `top` best of `scores` (above 0), best first, ties by item index
/// (where session-rec's order is arbitrary).
pub(super) fn best(scores: impl IntoIterator<Item = (u32, f64)>, top: usize) -> Vec<(u32, f64)> {
    let mut ranked: Vec<(u32, f64)> = scores.into_iter().filter(|s| s.1 > 0.0).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(top);
    ranked
}

/// The `k` most similar of `neighbours` (session, similarity), most
/// similar first, ties by session index.
pub(super) fn nearest(mut neighbours: Vec<(u32, f64)>, k: usize) -> Vec<(u32, f64)> {
    neighbours.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    neighbours.truncate(k);
    neighbours
}
