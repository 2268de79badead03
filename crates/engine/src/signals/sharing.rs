//! The recent sessions that share a product with the shopper's session,
//! each read once. The session neighbourhood scores them and the
//! transitions of the session's latest products are read from them: both
//! used to decode the same rows of the bundle's [`SessionIndex`], and a
//! slot ranked twice (its fillers searched on the second pass) decoded
//! them again.
//!
//! [`SessionIndex`]: crate::store::session_index::SessionIndex

use crate::limits::MAX_SESSION_PRODUCTS;
use crate::store::session_index::SessionIndex;

/// Up to a sample of the most recent sessions holding any of some
/// products, with their products (at most [`MAX_SESSION_PRODUCTS`] each,
/// as the index holds them).
#[derive(Debug, Clone, Default)]
pub struct SharingSessions {
    /// Session numbers, most recent first.
    ids: Vec<u32>,
    /// Where each session's products end in `products`, by position in
    /// `ids`.
    ends: Vec<u32>,
    /// Every session's products, one after another.
    products: Vec<u32>,
}

impl SharingSessions {
    /// Reads the `sample` most recent sessions of `index` holding any of
    /// `products`.
    pub fn read(index: &SessionIndex, products: &[u32], sample: usize) -> Self {
        let mut ids = Vec::new();
        index.recent_sharing(products, sample, &mut ids);
        let mut read = Self {
            ends: Vec::with_capacity(ids.len()),
            products: Vec::with_capacity(ids.len() * 8),
            ids,
        };
        for &s in &read.ids {
            index
                .products_of(s)
                .append_to(&mut read.products, MAX_SESSION_PRODUCTS);
            read.ends.push(read.products.len() as u32);
        }
        read
    }

    /// Number of sessions read.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether none were.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Each session read, most recent first, with its products.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &[u32])> + '_ {
        (0..self.ids.len()).filter_map(|i| Some((*self.ids.get(i)?, self.row(i))))
    }

    /// Session `s`'s products, if it was read, for sessions asked in
    /// ascending order: `from` starts at [`len`](Self::len) and each call
    /// moves it past what it read. One walk through the sessions serves
    /// all the lookups, where a binary search each was a third of the time
    /// spent reading a product's transitions.
    pub fn products_of_ascending(&self, s: u32, from: &mut usize) -> Option<&[u32]> {
        loop {
            // The sessions not yet passed are `ids[..from]`; the oldest last.
            let i = from.checked_sub(1)?;
            let id = *self.ids.get(i)?;
            if id > s {
                return None;
            }
            *from = i;
            if id == s {
                return Some(self.row(i));
            }
        }
    }

    /// The products of the session at position `i` of `ids`.
    fn row(&self, i: usize) -> &[u32] {
        let start = match i.checked_sub(1) {
            Some(before) => self.ends.get(before).copied().unwrap_or(0),
            None => 0,
        };
        let end = self.ends.get(i).copied().unwrap_or(start);
        self.products
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::sections::SessionsSection;
    use crate::store::session_index::write;
    use firstpaint_bundle::{OwnedBytes, Tag};

    #[test]
    fn sessions_are_read_once_most_recent_first_and_found_in_one_walk() {
        let section = SessionsSection {
            products: vec![vec![0, 1], vec![2], vec![1, 2, 3], vec![3, 0], vec![4]],
            hours: vec![10, 20, 30, 40, 50],
        };
        let index =
            SessionIndex::open(Tag(*b"SNBH"), OwnedBytes::new(write(&section, 5)), 5).unwrap();
        let read = SharingSessions::read(&index, &[1, 3], 10);
        let rows: Vec<(u32, Vec<u32>)> = read.iter().map(|(s, r)| (s, r.to_vec())).collect();
        assert_eq!(rows, [(3, vec![3, 0]), (2, vec![1, 2, 3]), (0, vec![0, 1])]);
        let mut from = read.len();
        let ascending: Vec<Option<&[u32]>> = (0..5)
            .map(|s| read.products_of_ascending(s, &mut from))
            .collect();
        let (a, b, c): (&[u32], &[u32], &[u32]) = (&[0, 1], &[1, 2, 3], &[3, 0]);
        assert_eq!(ascending, [Some(a), None, Some(b), Some(c), None]);
        assert_eq!(from, 0);
        let mut from = read.len();
        assert_eq!(read.products_of_ascending(3, &mut from), Some(c));
        assert_eq!(read.products_of_ascending(3, &mut from), None);
        assert_eq!(read.products_of_ascending(0, &mut from), None);
        let sampled = SharingSessions::read(&index, &[1, 3], 1);
        assert_eq!(sampled.len(), 1);
        assert!(SharingSessions::read(&index, &[], 10).is_empty());
    }
}
