//! Sequential transitions: for each product, what shoppers opened after it.
//!
//! Within a session, each later product up to [`WINDOW`] steps ahead counts
//! `1 / steps` (the next one most), as sequential-rules recommenders do;
//! a product opened again counts too (shoppers return to what they
//! compare). A row keeps the strongest [`ROW_LEN`] successors, each scored
//! by its share of the row's total weight, shrunk when the evidence is thin.

use std::collections::HashMap;

use firstpaint_engine::CoViewSection;

use super::coview::compress;

use super::sessions::Touch;

/// How many steps ahead a successor counts.
pub const WINDOW: usize = 3;
/// Longest row kept per product.
pub const ROW_LEN: usize = 32;
/// Shrinkage: a product followed `c` times (weighted) keeps `c / (c + SHRINK)`.
const SHRINK: f32 = 1.0;

/// Builds rows for `n` products from time-ordered `sessions`.
pub fn build(n: usize, sessions: &[Vec<Touch>]) -> CoViewSection {
    let mut rows: Vec<HashMap<u32, f32>> = vec![HashMap::new(); n];
    let mut items: Vec<u32> = Vec::new();
    for s in sessions {
        items.clear();
        items.extend(s.iter().map(|t| t.product));
        for (i, &a) in items.iter().enumerate() {
            let Some(row) = rows.get_mut(a as usize) else {
                continue;
            };
            for (step, &b) in items.iter().skip(i + 1).take(WINDOW).enumerate() {
                *row.entry(b).or_default() += 1.0 / (step + 1) as f32;
            }
        }
    }
    let rows = rows
        .into_iter()
        .map(|row| {
            let total: f32 = row.values().sum::<f32>().max(f32::EPSILON);
            row.into_iter()
                .map(|(next, weight)| (next, weight / total * weight / (weight + SHRINK)))
                .collect()
        })
        .collect();
    compress(rows, ROW_LEN)
}

#[cfg(test)]
mod tests {
    use super::super::sessions::views_from;
    use super::*;

    fn session(items: &[u32]) -> Vec<Touch> {
        views_from(items, 0, 1)
    }

    #[test]
    fn the_next_product_counts_most_and_returns_count() {
        let sessions = vec![
            session(&[0, 1, 2]),
            session(&[0, 1, 0]),
            session(&[0, 0, 1]),
        ];
        let s = build(3, &sessions);
        let row: Vec<(u32, f32)> = s.row(0).collect();
        assert_eq!(row[0].0, 1, "{row:?}");
        assert!(
            row.iter().any(|&(p, _)| p == 0),
            "a return to 0 counts: {row:?}"
        );
        assert!(row.iter().all(|&(_, v)| v > 0.0 && v <= 1.0));
        assert_eq!(s.row(2).count(), 0);
        assert_eq!(s.offsets.len(), 4);
    }
}
