//! How often a session's next click goes back to a product it viewed
//! before: the `returns` signal of the engine's `next` slot.
//!
//! The edge knows a session as its viewed products, each once at its latest
//! view, most recent first. For every view after a session's first, this
//! counts where the product stood in that list (0: it repeats the latest
//! view; 1: it goes back to the one before; none: a product the session had
//! not viewed). On YOOCHOOSE's clicks a quarter of next clicks repeat the
//! latest product and a sixteenth go back one further; where shoppers never
//! go back, every share is 0 and the signal is silent.

use firstpaint_engine::limits::MAX_VIEWED;

use super::sessions::{Signal, Touch};

/// Per position back (0 up to [`MAX_VIEWED`] - 1): the share of the
/// sessions' next views (every view after a session's first) that went
/// back to the product viewed that many products back.
pub fn shares(sessions: &[Vec<Touch>]) -> Vec<f32> {
    let mut back = [0u64; MAX_VIEWED];
    let mut next_views = 0u64;
    let mut recent: Vec<u32> = Vec::with_capacity(MAX_VIEWED);
    for session in sessions {
        recent.clear();
        for t in session.iter().filter(|t| t.signal == Signal::View) {
            if !recent.is_empty() {
                next_views += 1;
            }
            if let Some(at) = recent.iter().position(|&p| p == t.product) {
                if let Some(count) = back.get_mut(at) {
                    *count += 1;
                }
                recent.remove(at);
            }
            recent.insert(0, t.product);
            recent.truncate(MAX_VIEWED);
        }
    }
    if next_views == 0 {
        return Vec::new();
    }
    back.iter()
        .map(|&n| (n as f64 / next_views as f64) as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::sessions::views;

    #[test]
    fn shares_count_where_next_views_went_back_to() {
        // Next views: 2 (new), 2 (repeat, 0 back), 1 (1 back), 3 (new),
        // 2 (2 back); and 5 (new). Six in all.
        let sessions = vec![views(&[1, 2, 2, 1, 3, 2]), views(&[4, 5]), views(&[7])];
        let s = shares(&sessions);
        assert_eq!(s.len(), MAX_VIEWED);
        let sixth = 1.0 / 6.0;
        assert!(s[..3].iter().all(|&x| (x - sixth).abs() < 1e-6), "{s:?}");
        assert!(s[3..].iter().all(|&x| x == 0.0), "{s:?}");
        // Carts and orders are not views; sessions of one view say nothing.
        assert!(shares(&[views(&[9])]).is_empty());
    }
}
