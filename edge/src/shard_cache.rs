//! What an isolate keeps open of a sharded store: a least-recently-used
//! cache bounded by bytes, keyed by content address (SHA-256), so a shard
//! that two manifests share is loaded once. Plain logic, tested on the
//! host; [`crate::shards`] fills it.
//!
//! The bound counts each item's stored bytes (a shard's bundle, which the
//! engine reads in place, is most of what it holds). An item larger than
//! the whole bound is still kept, alone: a page must be able to use the
//! shard it needs.

use serde::Serialize;

/// One open item.
struct Entry<T> {
    sha256: String,
    name: String,
    bytes: u64,
    last_used: u64,
    value: T,
}

/// An open item, as `/p13n/health` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenItem {
    /// Its name (a shard's, `routes`, `terms`).
    pub name: String,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// Its stored bytes.
    pub bytes: u64,
}

/// The cache. `T` is what an open item is (an engine, the routes, …),
/// cheap to clone (it holds `Rc`s).
pub struct ShardCache<T> {
    limit: u64,
    clock: u64,
    entries: Vec<Entry<T>>,
}

impl<T: Clone> ShardCache<T> {
    /// An empty cache holding at most `limit` bytes.
    pub fn new(limit: u64) -> Self {
        ShardCache {
            limit,
            clock: 0,
            entries: Vec::new(),
        }
    }

    /// The bound, in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Changes the bound (evicting nothing until the next insert).
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    /// Bytes held.
    pub fn held(&self) -> u64 {
        self.entries.iter().map(|e| e.bytes).sum()
    }

    /// Replaces every item with `f`'s (same size, same recency).
    pub fn update(&mut self, f: impl Fn(&T) -> T) {
        for e in &mut self.entries {
            e.value = f(&e.value);
        }
    }

    /// The item with this content address, marking it used.
    pub fn get(&mut self, sha256: &str) -> Option<T> {
        self.clock += 1;
        let clock = self.clock;
        let entry = self.entries.iter_mut().find(|e| e.sha256 == sha256)?;
        entry.last_used = clock;
        Some(entry.value.clone())
    }

    /// The most recently used item named `name`, whatever its content (an
    /// older version of a shard whose new version failed to load).
    pub fn by_name(&mut self, name: &str) -> Option<T> {
        self.clock += 1;
        let clock = self.clock;
        let entry = self
            .entries
            .iter_mut()
            .filter(|e| e.name == name)
            .max_by_key(|e| e.last_used)?;
        entry.last_used = clock;
        Some(entry.value.clone())
    }

    /// Evicts least recently used items until `bytes` more fit the bound
    /// (all of them, if need be); returns the names evicted. Called before
    /// a verified item is copied in, so the old and the new are not held
    /// together past the bound.
    pub fn make_room(&mut self, bytes: u64) -> Vec<String> {
        let mut evicted = Vec::new();
        while !self.entries.is_empty() && self.held().saturating_add(bytes) > self.limit {
            let Some(oldest) = self
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(i, _)| i)
            else {
                break;
            };
            evicted.push(self.entries.swap_remove(oldest).name);
        }
        evicted
    }

    /// Keeps `value` (after [`make_room`](Self::make_room)); an item with
    /// the same name and another content is dropped (a new version
    /// replaces the old once it loaded) unless its content address is in
    /// `live` (a release arm still names it: the current set's version of
    /// a shard stays beside the canary's).
    pub fn insert(&mut self, name: &str, sha256: &str, bytes: u64, value: T, live: &[String]) {
        self.clock += 1;
        self.entries
            .retain(|e| e.sha256 != sha256 && (e.name != name || live.contains(&e.sha256)));
        self.entries.push(Entry {
            sha256: sha256.to_owned(),
            name: name.to_owned(),
            bytes,
            last_used: self.clock,
            value,
        });
    }

    /// What is open, most recently used first.
    pub fn open(&self) -> Vec<OpenItem> {
        let mut entries: Vec<&Entry<T>> = self.entries.iter().collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.last_used));
        entries
            .into_iter()
            .map(|e| OpenItem {
                name: e.name.clone(),
                sha256: e.sha256.clone(),
                bytes: e.bytes,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn names(c: &ShardCache<u32>) -> Vec<String> {
        c.open().into_iter().map(|i| i.name).collect()
    }

    fn put(c: &mut ShardCache<u32>, name: &str, sha: &str, bytes: u64) -> Vec<String> {
        put_live(c, name, sha, bytes, &[])
    }

    fn put_live(
        c: &mut ShardCache<u32>,
        name: &str,
        sha: &str,
        bytes: u64,
        live: &[&str],
    ) -> Vec<String> {
        let evicted = c.make_room(bytes);
        let live: Vec<String> = live.iter().map(|l| l.to_string()).collect();
        c.insert(name, sha, bytes, bytes as u32, &live);
        evicted
    }

    #[test]
    fn keeps_the_recently_used_within_the_bound() {
        let mut c = ShardCache::new(100);
        assert!(put(&mut c, "global", "g", 20).is_empty());
        assert!(put(&mut c, "beauty", "b", 40).is_empty());
        assert_eq!(c.held(), 60);
        // Global is used again; the next shard evicts beauty, not global.
        assert_eq!(c.get("g").unwrap(), 20);
        assert_eq!(put(&mut c, "toys", "t", 50), ["beauty"]);
        assert_eq!(names(&c), ["toys", "global"]);
        assert!(c.get("b").is_none());
        assert!(c.held() <= c.limit());
        // Larger than the bound: everything else goes, it stays alone.
        assert_eq!(put(&mut c, "huge", "h", 150).len(), 2);
        assert_eq!(names(&c), ["huge"]);
    }

    #[test]
    fn a_new_version_replaces_the_old_only_once_loaded() {
        let mut c = ShardCache::new(100);
        put(&mut c, "beauty", "v1", 30);
        // v2 failed to load: the old version is still there by name.
        assert!(c.get("v2").is_none());
        assert_eq!(c.by_name("beauty").unwrap(), 30);
        put(&mut c, "beauty", "v2", 35);
        assert_eq!(c.open().len(), 1);
        assert_eq!(c.get("v2").unwrap(), 35);
        assert!(c.get("v1").is_none());
    }

    #[test]
    fn two_arms_keep_their_own_version_of_a_shard() {
        let mut c = ShardCache::new(100);
        // The current set's beauty, then the canary's: both arms name theirs.
        put_live(&mut c, "beauty", "current", 30, &["current", "canary"]);
        put_live(&mut c, "beauty", "canary", 35, &["current", "canary"]);
        assert_eq!(c.open().len(), 2);
        assert_eq!(c.get("current").unwrap(), 30);
        assert_eq!(c.get("canary").unwrap(), 35);
        // Promoted: a third version replaces the one no arm names any more
        // and keeps the one still named.
        put_live(&mut c, "beauty", "next", 20, &["canary", "next"]);
        assert!(c.get("current").is_none());
        assert_eq!(c.get("canary").unwrap(), 35);
        assert_eq!(c.get("next").unwrap(), 20);
        // The byte bound still holds over both arms' versions.
        assert_eq!(
            put_live(&mut c, "toys", "t", 60, &["canary", "next", "t"]),
            ["beauty"]
        );
        assert!(c.held() <= c.limit());
    }
}
