//! Viewed-together lists.
//!
//! Two products score by how often they share a session relative to how
//! often each appears (cosine of their session sets), shrunk towards zero
//! when the evidence is thin, so popular items do not top every list.

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
    let mut rows: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n];
    for (&(a, b), &c) in &pairs {
        if c < MIN_SHARED {
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
