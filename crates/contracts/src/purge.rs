//! Storefront cache purges: which cached pages the edge must stop serving.
//!
//! The edge keeps the origin's unpersonalized pages in the Cache API of each
//! data centre. `firstpaint cache purge` cannot reach those caches (the
//! Cache API's `delete` reaches only the data centre it runs in), so it
//! keeps one small JSON document in KV under [`PURGES_KEY`] instead: each
//! [`PurgeRule`] says "pages at this path, or under this prefix, cached at
//! or before this time, are gone". Every isolate re-reads the document
//! every few seconds and treats a cached page a rule covers as never
//! cached: it is fetched from the origin again and never served stale.
//!
//! ```
//! use firstpaint_contracts::{PurgeRule, Purges};
//!
//! let mut purges = Purges::default();
//! purges.add(PurgeRule::new("/c/shoes/*", 1_000).unwrap());
//! assert_eq!(purges.purged_at("/c/shoes/boots"), Some(1_000));
//! assert_eq!(purges.purged_at("/c/hats"), None);
//! assert!(PurgeRule::new("shoes", 1_000).is_err());
//! ```

use serde::{Deserialize, Serialize};

/// KV key of the purge document, beside the bundles' manifest.
pub const PURGES_KEY: &str = "storefront/purges";
/// Most rules the document keeps; older ones are folded into one purge of
/// everything at the newest of their times (purging more than asked, never
/// less).
pub const MAX_PURGE_RULES: usize = 256;
/// Longest path pattern accepted.
pub const MAX_PURGE_PATTERN: usize = 1024;

/// Every purge still in force, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purges {
    /// The purges, oldest first.
    pub rules: Vec<PurgeRule>,
}

/// One purge: pages matching `path` cached at or before `at_ms` are gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurgeRule {
    /// A page's path (`/p/SKU-1`, every query of it), or a prefix ending
    /// in `*` (`/c/shoes/*`); `/*` is every page.
    pub path: String,
    /// When it was asked for, unix milliseconds.
    pub at_ms: i64,
}

impl PurgeRule {
    /// A rule for `path`, or why the pattern is not one: it must start with
    /// `/`, may end in one `*` and has no other `*`, `?` or `#`.
    pub fn new(path: &str, at_ms: i64) -> Result<PurgeRule, String> {
        let body = path.strip_suffix('*').unwrap_or(path);
        if !path.starts_with('/') {
            return Err(format!("`{path}`: a purge path starts with `/`"));
        }
        if path.len() > MAX_PURGE_PATTERN {
            return Err(format!(
                "`{}…`: longer than {MAX_PURGE_PATTERN} bytes",
                path.chars().take(40).collect::<String>()
            ));
        }
        if let Some(c) = body.chars().find(|c| matches!(c, '*' | '?' | '#')) {
            return Err(format!(
                "`{path}`: `{c}` is not allowed (a pattern is a path, or a prefix ending in `*`)"
            ));
        }
        Ok(PurgeRule {
            path: percent_encoded(path),
            at_ms,
        })
    }

    /// Whether the rule covers the page at `path` (no query).
    pub fn covers(&self, path: &str) -> bool {
        match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == self.path,
        }
    }

    fn is_everything(&self) -> bool {
        self.path == "/*"
    }
}

/// `path` as a URL carries it (the edge compares against the request's
/// encoded path): spaces, quotes, `<>`, backticks, braces, controls and
/// every non-ASCII byte percent-encoded; `%XX` already there kept.
fn percent_encoded(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        if b <= b' ' || b >= 0x7f || matches!(b, b'"' | b'<' | b'>' | b'`' | b'{' | b'}') {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

impl Purges {
    /// The latest purge covering the page at `path`, unix ms: a page
    /// cached at or before it must not be served from the cache.
    pub fn purged_at(&self, path: &str) -> Option<i64> {
        self.rules
            .iter()
            .filter(|r| r.covers(path))
            .map(|r| r.at_ms)
            .max()
    }

    /// Adds `rule`: it replaces an older rule of the same pattern, a purge
    /// of everything replaces every older rule, and past
    /// [`MAX_PURGE_RULES`] the oldest are folded into a purge of
    /// everything.
    pub fn add(&mut self, rule: PurgeRule) {
        if rule.is_everything() {
            self.rules.retain(|r| r.at_ms > rule.at_ms);
        }
        self.rules.retain(|r| r.path != rule.path);
        self.rules.push(rule);
        self.rules.sort_by_key(|r| r.at_ms);
        if self.rules.len() > MAX_PURGE_RULES {
            let excess = self.rules.len() - MAX_PURGE_RULES + 1;
            let folded: Vec<PurgeRule> = self.rules.drain(..excess).collect();
            let at_ms = folded.iter().map(|r| r.at_ms).max().unwrap_or_default();
            self.add(PurgeRule {
                path: "/*".to_owned(),
                at_ms,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(path: &str, at_ms: i64) -> PurgeRule {
        PurgeRule::new(path, at_ms).unwrap()
    }

    #[test]
    fn paths_and_prefixes() {
        let mut p = Purges::default();
        p.add(rule("/p/SKU-1", 10));
        p.add(rule("/c/*", 20));
        assert_eq!(p.purged_at("/p/SKU-1"), Some(10));
        assert_eq!(p.purged_at("/p/SKU-10"), None);
        assert_eq!(p.purged_at("/c/shoes"), Some(20));
        assert_eq!(p.purged_at("/"), None);
        p.add(rule("/*", 30));
        assert_eq!(p.rules, vec![rule("/*", 30)]);
        assert_eq!(p.purged_at("/anything"), Some(30));
    }

    #[test]
    fn the_same_pattern_keeps_its_latest_time() {
        let mut p = Purges::default();
        p.add(rule("/p/1", 10));
        p.add(rule("/p/1", 40));
        assert_eq!(p.rules, vec![rule("/p/1", 40)]);
        // A purge of everything keeps the rules asked for after it.
        p.add(rule("/*", 30));
        assert_eq!(p.rules, vec![rule("/*", 30), rule("/p/1", 40)]);
    }

    #[test]
    fn too_many_rules_fold_into_a_purge_of_everything() {
        let mut p = Purges::default();
        for i in 0..MAX_PURGE_RULES as i64 + 5 {
            p.add(rule(&format!("/p/{i}"), i));
        }
        assert!(p.rules.len() <= MAX_PURGE_RULES);
        // Nothing asked for is forgotten: every page purged still is.
        for i in 0..MAX_PURGE_RULES as i64 + 5 {
            assert!(p.purged_at(&format!("/p/{i}")).is_some_and(|at| at >= i));
        }
    }

    #[test]
    fn bad_patterns_say_what_is_wrong() {
        assert!(PurgeRule::new("p/1", 0)
            .unwrap_err()
            .contains("starts with `/`"));
        assert!(PurgeRule::new("/p/*/x", 0).unwrap_err().contains("`*`"));
        assert!(PurgeRule::new("/p?x=1", 0).unwrap_err().contains("`?`"));
        assert!(PurgeRule::new(&format!("/{}", "é".repeat(600)), 0)
            .unwrap_err()
            .contains("longer than"));
        assert!(PurgeRule::new("/", 0).is_ok());
    }

    #[test]
    fn paths_are_compared_as_urls_carry_them() {
        let rule = PurgeRule::new("/p/café mug", 1).unwrap();
        assert_eq!(rule.path, "/p/caf%C3%A9%20mug");
        assert!(rule.covers("/p/caf%C3%A9%20mug"));
        assert_eq!(PurgeRule::new("/p/a%20b", 1).unwrap().path, "/p/a%20b");
    }
}
