//! STAN and V-STAN (sequence and time aware neighbourhood), as Ludewig &
//! Jannach publish them in the session-rec framework (`knn/stan.py`,
//! `knn/vstan.py`), the strongest peers on the validation split.
//!
//! For the current session (its clicks in order, repeats kept) at time
//! `now`:
//! - each click at position p of n weighs exp((p - n) / λspw) (an item
//!   clicked twice keeps its later weight);
//! - candidate neighbours are the most recent past sessions sharing an item
//!   ([`PastSessions::candidates`]); a candidate's similarity is the
//!   cosine between the weighted current items and its distinct items,
//!   times exp(-(now - its last click) / λsnh);
//! - the `k` most similar each add their similarity to every item they
//!   hold, times exp(-|p_item - p*| / λinh), where p* is the position in the
//!   neighbour of its last item shared with the current session and p_item
//!   the item's last position there;
//! - V-STAN also multiplies by (1 + λidf x idf(item)) and by
//!   exp((q + 1 - n) / λipw), q being the position in the current session
//!   of the last item the neighbour holds. STAN is V-STAN without these
//!   two ([`Params::lambda_ipw`] and [`Params::lambda_idf`] `None`).
//!
//! Ties are broken by index here, where the framework's order is arbitrary.

use std::collections::HashMap;

use super::past_sessions::{best, nearest, NextItem, PastSessions};

/// session-rec's `stan-mrr` on YOOCHOOSE (`conf/save/rsc15/window/
/// window_rsc15_stan.yml`), the configuration of `peers/stan-mrr`.
pub const STAN_MRR: Params = Params {
    k: 1_000,
    sample_size: 10_000,
    lambda_spw: 0.00001,
    lambda_snh_days: 10.0,
    lambda_inh: 2.0,
    lambda_ipw: None,
    lambda_idf: None,
};

/// session-rec's `vstan-hr` on YOOCHOOSE (`conf/save/rsc15/single/
/// single_rsc15_vstan.yml`), the configuration of `peers/vstan-hr`. The
/// file also says `similarity: 'vec'`, which `vstan.py` never reads: it
/// always takes the cosine, as here.
pub const VSTAN_HR: Params = Params {
    k: 2_000,
    sample_size: 2_500,
    lambda_spw: 8.0,
    lambda_snh_days: 10.0,
    lambda_inh: 8.0,
    lambda_ipw: Some(0.5),
    lambda_idf: Some(2.0),
};

/// STAN's (and V-STAN's) settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Neighbours.
    pub k: usize,
    /// Candidate sessions, the most recent.
    pub sample_size: usize,
    /// Position decay of the current session's clicks (λspw).
    pub lambda_spw: f64,
    /// Recency decay of neighbours, in days (λsnh).
    pub lambda_snh_days: f64,
    /// Decay of a neighbour's items by their distance from its last shared
    /// item (λinh).
    pub lambda_inh: f64,
    /// V-STAN: decay of a neighbour by how far back in the current session
    /// its last shared item is (λipw).
    pub lambda_ipw: Option<f64>,
    /// V-STAN: weight of items' idf in their scores (λidf).
    pub lambda_idf: Option<f64>,
}

impl NextItem for Params {
    fn predict(
        &self,
        past: &PastSessions,
        session: &[u32],
        now: f64,
        top: usize,
    ) -> Vec<(u32, f64)> {
        let n = session.len() as f64;
        // The later occurrence of a repeated item keeps its weight.
        let mut weight: HashMap<u32, f64> = HashMap::new();
        for (pos, &i) in session.iter().enumerate() {
            weight.insert(i, ((pos + 1) as f64 - n) / self.lambda_spw);
        }
        for w in weight.values_mut() {
            *w = w.exp();
        }
        let norm = weight.values().map(|w| w * w).sum::<f64>().sqrt();
        let recency = self.lambda_snh_days * 86_400.0;
        let neighbours = past
            .candidates(weight.keys(), self.sample_size)
            .into_iter()
            .filter_map(|s| {
                let items = past.items.get(s as usize)?;
                let dot: f64 = items.iter().filter_map(|i| weight.get(i)).sum();
                let cosine = dot / (norm * (items.len() as f64).sqrt());
                let similarity = cosine * (-(now - past.time(s)) / recency).exp();
                (similarity > 0.0).then_some((s, similarity))
            })
            .collect();
        let mut scores: HashMap<u32, f64> = HashMap::new();
        let mut last_at: Vec<usize> = Vec::new();
        for (s, similarity) in nearest(neighbours, self.k) {
            let (Some(items), Some(clicks)) =
                (past.items.get(s as usize), past.clicks.get(s as usize))
            else {
                continue;
            };
            // Each item's last position in the neighbour (from 1), and p*.
            last_at.clear();
            last_at.resize(items.len(), 0);
            let mut shared_at = None;
            for (p, c) in clicks.iter().enumerate() {
                if let Some(at) = items.binary_search(c).ok().and_then(|x| last_at.get_mut(x)) {
                    *at = p + 1;
                }
                if weight.contains_key(c) {
                    shared_at = Some(p + 1);
                }
            }
            let Some(shared_at) = shared_at else {
                continue;
            };
            let ipw = match self.lambda_ipw {
                Some(lambda) => {
                    let Some(q) = session.iter().rposition(|i| items.binary_search(i).is_ok())
                    else {
                        continue;
                    };
                    (((q + 1) as f64 - n) / lambda).exp()
                }
                None => 1.0,
            };
            for (&i, &at) in items.iter().zip(&last_at) {
                let distance = at.abs_diff(shared_at) as f64;
                let mut score = similarity * (-distance / self.lambda_inh).exp();
                if let Some(lambda) = self.lambda_idf {
                    score += score * past.idf(i) * lambda;
                }
                *scores.entry(i).or_default() += score * ipw;
            }
        }
        best(scores, top)
    }
}
