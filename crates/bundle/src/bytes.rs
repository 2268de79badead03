//! Shared, immutable bytes: what a bundle is opened over, so the engine's
//! views can keep windows into it without copying (as tantivy's
//! `OwnedBytes` does).

use std::ops::Range;
use std::sync::Arc;

/// Immutable bytes behind an `Arc`, and a window into them. Cloning and
/// slicing share the bytes: a view over one section holds a window, not a
/// copy. A concrete `Vec` rather than a `dyn` owner, so a read (every
/// column value the engine looks at) is a bounds check, not a virtual call.
#[derive(Clone)]
pub struct OwnedBytes {
    data: Arc<Vec<u8>>,
    window: Range<usize>,
}

impl OwnedBytes {
    /// Takes ownership of `data` (moved in without a copy).
    pub fn new(data: Vec<u8>) -> Self {
        let len = data.len();
        Self {
            data: Arc::new(data),
            window: 0..len,
        }
    }

    /// The bytes of the window.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        self.data.get(self.window.clone()).unwrap_or_default()
    }

    /// Length of the window.
    pub fn len(&self) -> usize {
        self.window.len()
    }

    /// Whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.window.is_empty()
    }

    /// A window into this one (`range` relative to it), sharing the bytes;
    /// `None` when it does not fit.
    pub fn slice(&self, range: Range<usize>) -> Option<OwnedBytes> {
        let start = self.window.start.checked_add(range.start)?;
        let end = self.window.start.checked_add(range.end)?;
        (start <= end && end <= self.window.end).then(|| Self {
            data: Arc::clone(&self.data),
            window: start..end,
        })
    }
}

impl AsRef<[u8]> for OwnedBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl From<Vec<u8>> for OwnedBytes {
    fn from(v: Vec<u8>) -> Self {
        Self::new(v)
    }
}

impl From<&[u8]> for OwnedBytes {
    /// Copies: for callers that only hold a borrow (tests, tools).
    fn from(v: &[u8]) -> Self {
        Self::new(v.to_vec())
    }
}

impl From<&Vec<u8>> for OwnedBytes {
    /// Copies: for callers that only hold a borrow (tests, tools).
    fn from(v: &Vec<u8>) -> Self {
        Self::new(v.clone())
    }
}

impl std::fmt::Debug for OwnedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OwnedBytes({} bytes)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_share_and_stay_inside_their_window() {
        let b = OwnedBytes::new(vec![1u8, 2, 3, 4, 5]);
        let mid = b.slice(1..4).expect("fits");
        assert_eq!(mid.as_slice(), &[2, 3, 4]);
        assert_eq!(mid.slice(1..3).expect("fits").as_slice(), &[3, 4]);
        assert!(mid.slice(2..4).is_none(), "past the window");
        assert!(mid.slice(usize::MAX..usize::MAX).is_none());
        assert!(b.slice(0..0).expect("empty fits").is_empty());
    }
}
