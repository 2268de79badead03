//! The guardrails' verdicts on products in search, remembered per product.
//!
//! Each product is checked the first time a search meets it: not at open
//! (on the first page's path; many isolates never search), nor all at once
//! (the first search of an isolate paid ~25 ms in wasm for 100k checks).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use crate::policy::guardrails::{Guardrails, SlotContext};
use crate::store::Store;

/// Per-product states.
const UNCHECKED: u8 = 0;
const ALLOWED: u8 = 1;
const BLOCKED: u8 = 2;

/// Where the verdicts are kept, one state per product: an engine holds one
/// for its store's lifetime.
#[derive(Default)]
pub struct VerdictCache(OnceLock<Box<[AtomicU8]>>);

impl VerdictCache {
    /// The verdicts on `store`'s products (the store this cache belongs
    /// to: the engine keeps the two together).
    pub fn verdicts<'a>(&'a self, store: &'a Store) -> SearchVerdicts<'a> {
        let verdicts = self.0.get_or_init(|| {
            (0..store.catalog().len())
                .map(|_| AtomicU8::new(UNCHECKED))
                .collect()
        });
        SearchVerdicts { store, verdicts }
    }
}

/// Which products the guardrails keep out of search results in every
/// region (regional rules are checked per query), as far as searches have
/// asked.
pub struct SearchVerdicts<'a> {
    store: &'a Store,
    verdicts: &'a [AtomicU8],
}

impl SearchVerdicts<'_> {
    /// Whether product `ord` is kept out of search results in every
    /// region; an ordinal past the catalog is.
    #[inline(always)]
    pub fn blocked(&self, ord: u32) -> bool {
        match self
            .verdicts
            .get(ord as usize)
            .map(|v| v.load(Ordering::Relaxed))
        {
            Some(ALLOWED) => false,
            Some(UNCHECKED) => self.check(ord),
            _ => true,
        }
    }

    /// Checks product `ord` and remembers the verdict.
    #[cold]
    fn check(&self, ord: u32) -> bool {
        let store = self.store;
        let slot = SlotContext {
            searching: true,
            ..SlotContext::default()
        };
        let blocked = store.product_at(ord).is_none_or(|p| {
            Guardrails::new(store.rules())
                .refusal(p, &slot, store)
                .is_some()
        });
        if let Some(v) = self.verdicts.get(ord as usize) {
            v.store(if blocked { BLOCKED } else { ALLOWED }, Ordering::Relaxed);
        }
        blocked
    }
}
