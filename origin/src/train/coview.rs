//! Viewed-together and bought-together lists.
//!
//! A pair is kept only when sharing sessions (or baskets) is significant:
//! Dunning's log-likelihood ratio on the pair's 2x2 table (together, one
//! without the other, neither) must pass the 5% level and the pair must be
//! seen together more often than independence predicts. Kept pairs score
//! by how often they share a session relative to how often each appears
//! (cosine of their session sets), shrunk towards zero when the evidence is
//! thin, so popular items do not top every list.

use std::collections::HashMap;

use firstpaint_engine::CoViewSection;

use super::sessions::Touch;

/// Longest row kept per product.
pub const ROW_LEN: usize = 24;
/// Fewest shared sessions for a pair to count.
pub const MIN_SHARED: u32 = 2;
/// Shrinkage: a pair seen `c` times keeps `c / (c + SHRINK)` of its score.
const SHRINK: f32 = 3.0;
/// Products per session considered (the first ones); caps quadratic work.
const MAX_SESSION_ITEMS: usize = 40;
/// Log-likelihood ratio at the 5% level (chi-squared, one degree of freedom).
const SIGNIFICANT_LLR: f64 = 3.84;

/// Builds rows for `n` products from `sessions`.
pub fn build(n: usize, sessions: &[Vec<Touch>]) -> CoViewSection {
    let mut count = vec![0u32; n];
    let mut pairs: HashMap<(u32, u32), u32> = HashMap::new();
    let mut items: Vec<u32> = Vec::new();
    for s in sessions {
        items.clear();
        for t in s {
            if !items.contains(&t.product) && items.len() < MAX_SESSION_ITEMS {
                items.push(t.product);
            }
        }
        for (i, &a) in items.iter().enumerate() {
            if let Some(c) = count.get_mut(a as usize) {
                *c += 1;
            }
            for &b in items.iter().skip(i + 1) {
                *pairs.entry((a.min(b), a.max(b))).or_default() += 1;
            }
        }
    }
    let total = sessions.len() as u64;
    let mut rows: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n];
    for (&(a, b), &c) in &pairs {
        let (ca, cb) = (
            count.get(a as usize).copied().unwrap_or(0),
            count.get(b as usize).copied().unwrap_or(0),
        );
        if c < MIN_SHARED || !significant(c, ca, cb, total) {
            continue;
        }
        let na = count.get(a as usize).copied().unwrap_or(1).max(1) as f32;
        let nb = count.get(b as usize).copied().unwrap_or(1).max(1) as f32;
        let c = c as f32;
        let score = (c / (na * nb).sqrt()) * (c / (c + SHRINK));
        if let Some(r) = rows.get_mut(a as usize) {
            r.push((b, score));
        }
        if let Some(r) = rows.get_mut(b as usize) {
            r.push((a, score));
        }
    }
    compress(rows, ROW_LEN)
}

/// Whether `both` shared sessions of two products seen in `a` and `b` of
/// `total` sessions are more than chance: more than independence predicts,
/// and a log-likelihood ratio (G²) above [`SIGNIFICANT_LLR`].
pub fn significant(both: u32, a: u32, b: u32, total: u64) -> bool {
    let (k11, a, b, n) = (u64::from(both), u64::from(a), u64::from(b), total);
    if k11 * n <= a * b || a > n || b > n || k11 > a.min(b) {
        return false;
    }
    let k12 = a - k11;
    let k21 = b - k11;
    let k22 = n.saturating_sub(a + b - k11);
    llr(k11, k12, k21, k22) >= SIGNIFICANT_LLR
}

/// Dunning's G² of a 2x2 table, 2 (H(rows) + H(columns) - H(cells)) in
/// unnormalized entropies.
fn llr(k11: u64, k12: u64, k21: u64, k22: u64) -> f64 {
    fn x_log_x(x: u64) -> f64 {
        if x == 0 {
            0.0
        } else {
            let x = x as f64;
            x * x.ln()
        }
    }
    let entropy = |counts: &[u64]| {
        let sum: u64 = counts.iter().sum();
        x_log_x(sum) - counts.iter().map(|&c| x_log_x(c)).sum::<f64>()
    };
    let rows = entropy(&[k11 + k12, k21 + k22]);
    let columns = entropy(&[k11 + k21, k12 + k22]);
    let cells = entropy(&[k11, k12, k21, k22]);
    (2.0 * (rows + columns - cells)).max(0.0)
}

/// Rows of (product, score) as a [`CoViewSection`]: each row sorted best
/// first (ties by product), cut to `row_len`, scores capped at 1.
pub fn compress(rows: Vec<Vec<(u32, f32)>>, row_len: usize) -> CoViewSection {
    let mut section = CoViewSection {
        offsets: Vec::with_capacity(rows.len() + 1),
        ..CoViewSection::default()
    };
    section.offsets.push(0);
    for mut row in rows {
        row.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        row.truncate(row_len);
        for (neighbor, score) in row {
            section.neighbors.push(neighbor);
            section.scores.push(score.min(1.0));
        }
        section.offsets.push(section.neighbors.len() as u32);
    }
    section
}

#[cfg(test)]
mod tests {
    use super::super::sessions::views as session;
    use super::*;

    #[test]
    fn only_pairs_seen_together_beyond_chance_are_significant() {
        // Seen together in 10 of 1000 sessions, each in 12: far beyond chance.
        assert!(significant(10, 12, 12, 1000));
        // Two best-sellers in half the sessions each, together in a quarter:
        // exactly what independence predicts.
        assert!(!significant(250, 500, 500, 1000));
        // Together less often than chance.
        assert!(!significant(2, 500, 500, 1000));
        // G² of [[10, 2], [2, 986]] from its definition, 2 Σ O ln(O / E): 90.384.
        assert!(
            (llr(10, 2, 2, 986) - 90.384).abs() < 0.001,
            "{}",
            llr(10, 2, 2, 986)
        );
        // Inconsistent counts never pass.
        assert!(!significant(5, 3, 9, 100));
    }

    #[test]
    fn pairs_seen_together_rank_above_a_popular_stranger() {
        let mut sessions = Vec::new();
        for _ in 0..5 {
            sessions.push(session(&[0, 1]));
        }
        for _ in 0..30 {
            sessions.push(session(&[2, 3]));
        }
        sessions.push(session(&[0, 2]));
        sessions.push(session(&[0, 2]));
        let cv = build(4, &sessions);
        let row: Vec<(u32, f32)> = cv.row(0).collect();
        assert_eq!(row[0].0, 1, "{row:?}");
        assert!(row.iter().all(|(n, _)| *n != 3));
        assert_eq!(cv.offsets.len(), 5);
    }
}
