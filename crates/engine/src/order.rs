//! One way to sort rankings: by a packed `u64` key, then the product
//! ordinal, ascending.
//!
//! Every sort with its own comparator closure compiles its own copy of the
//! sort routine (several KB of wasm each); the worker has a size budget. So
//! rankings pack what they order by into a `u64` ([`desc`] turns a score
//! into bits that sort best first) and sort `(key, index)` pairs through
//! [`sort`] and [`select`], which share one instantiation. Ties fall to the
//! index, which callers make the product ordinal or the position, so the
//! order is deterministic.

/// A score as 32 bits that sort ascending when the scores sort descending
/// (NaN last). The usual total-order trick on the IEEE bits, inverted.
pub(crate) fn desc(score: f32) -> u64 {
    let bits = score.to_bits();
    let ascending = if bits >> 31 == 1 {
        !bits
    } else {
        bits | 1 << 31
    };
    let key = u64::from(!ascending);
    if score.is_nan() {
        u64::from(u32::MAX)
    } else {
        key
    }
}

/// A number as 64 bits that sort as the numbers do, ascending (negative
/// NaN first, positive NaN last): the total-order trick on the IEEE bits.
pub(crate) fn asc_f64(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// Sorts `(key, index)` pairs ascending.
pub(crate) fn sort(pairs: &mut [(u64, u32)]) {
    pairs.sort_unstable();
}

/// Moves the `n` smallest pairs to the front (in no order) and drops the rest.
pub(crate) fn select(pairs: &mut Vec<(u64, u32)>, n: usize) {
    if n == 0 {
        pairs.clear();
    } else if n < pairs.len() {
        pairs.select_nth_unstable(n - 1);
        pairs.truncate(n);
    }
}

/// Moves the `n` smallest pairs to the front, sorted; the rest follow in no
/// order. For a ranking whose head is read in order and whose tail only as
/// a set: sorting only the head is most of a full sort's saving.
pub(crate) fn sort_head(pairs: &mut [(u64, u32)], n: usize) {
    if n == 0 {
        return;
    }
    if n < pairs.len() {
        pairs.select_nth_unstable(n - 1);
    }
    if let Some(head) = pairs.get_mut(..n.min(pairs.len())) {
        head.sort_unstable();
    }
}

/// `(key, index)` pairs read in ascending order, sorted a block at a time
/// as they are read (each block twice the last): a slot reads its head (k
/// items, a few more when caps turn some away) and its tail only when a
/// protected share reaches into it, so a full sort mostly orders pairs
/// nobody reads.
pub(crate) struct Ascending {
    pairs: Vec<(u64, u32)>,
    /// `pairs[..sorted]` are the smallest, in order.
    sorted: usize,
    /// The next pair to read.
    next: usize,
    /// How many the next block sorts.
    block: usize,
}

impl Ascending {
    /// Reads `pairs` in order, sorting `first` of them before the first
    /// read.
    pub(crate) fn new(pairs: Vec<(u64, u32)>, first: usize) -> Self {
        Self {
            pairs,
            sorted: 0,
            next: 0,
            block: first.max(1),
        }
    }
}

impl Iterator for Ascending {
    type Item = (u64, u32);

    fn next(&mut self) -> Option<(u64, u32)> {
        if self.next == self.sorted {
            // Everything past `sorted` is no smaller than what came before.
            let rest = self.pairs.get_mut(self.sorted..)?;
            let block = self.block.min(rest.len());
            sort_head(rest, block);
            self.sorted += block;
            self.block = self.block.saturating_mul(2);
        }
        let pair = *self.pairs.get(self.next)?;
        self.next += 1;
        Some(pair)
    }
}

/// `items` reordered as `pairs` (built over their indexes) says; items whose
/// index is not in `pairs` are dropped.
pub(crate) fn permute<T>(items: Vec<T>, pairs: &[(u64, u32)]) -> Vec<T> {
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    pairs
        .iter()
        .filter_map(|&(_, i)| slots.get_mut(i as usize).and_then(Option::take))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_is_the_smallest_in_order_and_the_tail_the_rest() {
        let mut pairs: Vec<(u64, u32)> = (0..50u32).map(|i| (u64::from(i * 37 % 50), i)).collect();
        for n in [0, 1, 7, 50, 80] {
            let mut got = pairs.clone();
            sort_head(&mut got, n);
            let mut all = pairs.clone();
            sort(&mut all);
            let head = n.min(50);
            assert_eq!(got[..head], all[..head], "{n}");
            let mut tail = got[head..].to_vec();
            sort(&mut tail);
            assert_eq!(tail, all[head..], "{n}");
        }
        pairs.clear();
        sort_head(&mut pairs, 3);
        assert!(pairs.is_empty());
    }

    #[test]
    fn pairs_are_read_in_order_whatever_the_first_block() {
        let pairs: Vec<(u64, u32)> = (0..100u32).map(|i| (u64::from(i * 37 % 10), i)).collect();
        let mut all = pairs.clone();
        sort(&mut all);
        for first in [0, 1, 3, 64, 100, 500] {
            let read: Vec<(u64, u32)> = Ascending::new(pairs.clone(), first).collect();
            assert_eq!(read, all, "{first}");
            let head: Vec<(u64, u32)> = Ascending::new(pairs.clone(), first).take(5).collect();
            assert_eq!(head, all[..5], "{first}");
        }
        assert_eq!(Ascending::new(Vec::new(), 4).next(), None);
    }

    #[test]
    fn scores_sort_best_first_and_nan_last() {
        let scores = [0.5f32, -1.0, 3.0, f32::NAN, 0.0, -0.0, 1e-9, f32::INFINITY];
        let mut pairs: Vec<(u64, u32)> = scores
            .iter()
            .enumerate()
            .map(|(i, &s)| (desc(s), i as u32))
            .collect();
        sort(&mut pairs);
        let order: Vec<u32> = pairs.iter().map(|p| p.1).collect();
        assert_eq!(order, [7, 2, 0, 6, 4, 5, 1, 3]);
    }

    #[test]
    fn numbers_sort_ascending_by_their_keys() {
        let xs = [
            3.5f64,
            -1.0,
            f64::INFINITY,
            0.0,
            -0.0,
            1e-300,
            f64::NEG_INFINITY,
        ];
        let mut keys: Vec<(u64, u32)> = (0u32..).zip(xs).map(|(i, x)| (asc_f64(x), i)).collect();
        sort(&mut keys);
        let order: Vec<u32> = keys.iter().map(|p| p.1).collect();
        assert_eq!(order, [6, 1, 4, 3, 5, 0, 2]);
    }

    #[test]
    fn select_keeps_the_smallest_and_permute_follows() {
        let mut pairs = vec![(5, 0), (1, 1), (3, 2), (2, 3)];
        select(&mut pairs, 2);
        sort(&mut pairs);
        assert_eq!(pairs, [(1, 1), (2, 3)]);
        assert_eq!(permute(vec!["a", "b", "c", "d"], &pairs), ["b", "d"]);
    }
}
