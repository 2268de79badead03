//! What an isolate keeps open of a sharded store: a least-recently-used
//! cache bounded by bytes, keyed by content address (SHA-256), so a shard
//! that two manifests share is loaded once. Plain logic, tested on the
//! host; [`crate::shards`] fills it.
//!
//! The bound counts each item's stored bytes (a shard's bundle, which the
//! engine reads in place, is most of what it holds), and the bytes of the
//! loads in flight ([`reserve`](ShardCache::reserve)): items of different
//! names load at once (one load per content address), and each must make
//! room for the others too. An item larger than the whole bound is still
//! kept, alone: a page must be able to use the shard it needs.
//!
//! While a new version of an item loads, the version it replaces stays
//! (beyond the bound by that one version, until the new one is in): if the
//! new one fails to open, the older good one keeps serving.

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
    /// Bytes reserved by the loads in flight.
    pending: u64,
    entries: Vec<Entry<T>>,
}

impl<T: Clone> ShardCache<T> {
    /// An empty cache holding at most `limit` bytes.
    pub fn new(limit: u64) -> Self {
        ShardCache {
            limit,
            clock: 0,
            pending: 0,
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

    /// The most recently used item named `name` whose content address is
    /// not in `live`, with that address: an older version of a shard whose
    /// new version failed to load. A version a release arm names is never
    /// the answer: the item asked for is that arm's and it failed, so a
    /// live one of the same name is the other arm's (the current set's
    /// shard must not answer for the canary's, nor the reverse).
    pub fn by_name(&mut self, name: &str, live: &[String]) -> Option<(String, T)> {
        self.clock += 1;
        let clock = self.clock;
        let entry = self
            .entries
            .iter_mut()
            .filter(|e| e.name == name && !live.contains(&e.sha256))
            .max_by_key(|e| e.last_used)?;
        entry.last_used = clock;
        Some((entry.sha256.clone(), entry.value.clone()))
    }

    /// Reserves `bytes` for a load about to start, counted against the
    /// bound until [`release`](Self::release)d; false (nothing reserved)
    /// when other loads in flight already hold so much that these bytes
    /// would not fit beside them. The first load always gets its bytes.
    pub fn reserve(&mut self, bytes: u64) -> bool {
        if self.pending > 0 && self.pending.saturating_add(bytes) > self.limit {
            return false;
        }
        self.pending = self.pending.saturating_add(bytes);
        true
    }

    /// Gives back what [`reserve`](Self::reserve) took, once the load's
    /// item is in (or the load failed).
    pub fn release(&mut self, bytes: u64) {
        self.pending = self.pending.saturating_sub(bytes);
    }

    /// Evicts least recently used items until what stays and the loads in
    /// flight (this one's reserved bytes among them) fit the bound, all of
    /// them if need be; returns the names evicted. Called before a
    /// verified item `name` is copied in, so the old and the new are not
    /// held together past the bound; `name`'s versions that
    /// [`insert`](Self::insert) will replace (not in `live`) are neither
    /// counted nor evicted: they answer if the new version fails to open.
    pub fn make_room(&mut self, name: &str, live: &[String]) -> Vec<String> {
        let replaced = |e: &Entry<T>| e.name == name && !live.contains(&e.sha256);
        let mut evicted = Vec::new();
        loop {
            let staying: u64 = self
                .entries
                .iter()
                .filter(|e| !replaced(e))
                .map(|e| e.bytes)
                .sum();
            if staying.saturating_add(self.pending) <= self.limit {
                break;
            }
            let Some(oldest) = self
                .entries
                .iter()
                .enumerate()
                .filter(|(_, e)| !replaced(e))
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
        let live = strings(live);
        assert!(c.reserve(bytes));
        let evicted = c.make_room(name, &live);
        c.insert(name, sha, bytes, bytes as u32, &live);
        c.release(bytes);
        evicted
    }

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|l| l.to_string()).collect()
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
        assert_eq!(c.by_name("beauty", &[]).unwrap(), ("v1".to_string(), 30));
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

    #[test]
    fn a_new_version_that_fails_to_open_leaves_the_old_one_serving() {
        let mut c = ShardCache::new(100);
        put(&mut c, "beauty", "v1", 40);
        put(&mut c, "global", "g", 20);
        put(&mut c, "toys", "t", 40);
        c.get("t");
        // beauty v2 (45) loads: room is made from the others, though beauty
        // v1 is the least recently used; then v2 fails to open.
        assert!(c.reserve(45));
        assert_eq!(c.make_room("beauty", &[]), ["global"]);
        c.release(45);
        assert_eq!(c.by_name("beauty", &[]).unwrap(), ("v1".to_string(), 40));
        // Once v2 does open, it replaces v1.
        put(&mut c, "beauty", "v2", 45);
        assert_eq!(names(&c), ["beauty", "toys"]);
        assert_eq!(c.get("v2").unwrap(), 45);
        assert!(c.held() <= c.limit());
    }

    #[test]
    fn loads_in_flight_count_against_the_bound() {
        let mut c = ShardCache::new(100);
        put(&mut c, "global", "g", 30);
        // Two shards load at once: the second makes room for the first too.
        assert!(c.reserve(40));
        assert!(c.make_room("beauty", &[]).is_empty());
        assert!(c.reserve(40));
        assert_eq!(c.make_room("toys", &[]), ["global"]);
        // A third would not fit beside them: it is refused, not let past.
        assert!(!c.reserve(40));
        c.insert("beauty", "b", 40, 40, &[]);
        c.release(40);
        c.insert("toys", "t", 40, 40, &[]);
        c.release(40);
        assert!(c.held() <= c.limit());
        // With nothing in flight, even an item past the bound may load.
        assert!(c.reserve(150));
        assert_eq!(c.make_room("huge", &[]).len(), 2);
    }

    #[test]
    fn the_fallback_is_never_the_other_arms_version() {
        let mut c = ShardCache::new(100);
        let live = ["current", "canary"];
        put_live(&mut c, "beauty", "current", 30, &live);
        put_live(&mut c, "beauty", "canary", 35, &live);
        // A new current set names beauty "current2", which fails to open:
        // the current arm's older version answers, not the canary's.
        let now_live = strings(&["current2", "canary"]);
        assert_eq!(c.by_name("beauty", &now_live).unwrap().0, "current");
        // With only the canary's version open, nothing answers.
        let mut c = ShardCache::new(100);
        put_live(&mut c, "beauty", "canary", 35, &live);
        assert!(c.by_name("beauty", &now_live).is_none());
    }
}
