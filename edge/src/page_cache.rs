//! What the worker caches of the storefront, and for how long: the
//! origin's `Cache-Control`, read the way a shared cache reads it.
//!
//! The Cache API keeps a response for its `max-age` and knows nothing of
//! `stale-while-revalidate` or `stale-if-error`, so the worker stores each
//! page for its whole useful life (fresh, then stale) and decides itself,
//! from the page's age and the origin's directives, whether to serve it as
//! it is, serve it and revalidate in the background, serve it only if the
//! origin fails, or fetch anew ([`Freshness`]). Only what the origin says
//! any shopper may share is cached: a `200` with `s-maxage` or `max-age`,
//! not `private`, `no-store` or `no-cache`, without `Set-Cookie`, varying at
//! most by `Accept-Encoding`. `Expires` and heuristic freshness are not
//! used: an origin that wants its pages cached says so.
//!
//! ```
//! use firstpaint_edge::page_cache::{CachePolicy, Freshness};
//!
//! let policy = CachePolicy::of_origin(
//!     200,
//!     Some("public, s-maxage=60, stale-while-revalidate=30, stale-if-error=600"),
//!     false,
//!     None,
//! )
//! .unwrap();
//! assert_eq!(policy.freshness(10.0), Freshness::Fresh);
//! assert_eq!(policy.freshness(75.0), Freshness::Revalidate);
//! assert_eq!(policy.freshness(300.0), Freshness::IfOriginFails);
//! assert_eq!(policy.freshness(700.0), Freshness::Expired);
//! ```

use std::fmt;

use worker::Url;

/// The longest any lifetime is honoured, seconds (a year).
pub const MAX_CACHE_SECS: u64 = 365 * 24 * 3600;

/// Query parameters that only say where a click came from: left out of
/// the cache key (the origin still receives them), so a campaign's links
/// share one cached page.
const TRACKING_PARAMS: [&str; 9] = [
    "gclid", "gbraid", "wbraid", "dclid", "fbclid", "msclkid", "mc_cid", "mc_eid", "_ga",
];

/// How long a page may be served from the cache, per its origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    /// Seconds it is fresh (`s-maxage`, else `max-age`).
    pub fresh_secs: u64,
    /// Seconds past that it may be served while it is revalidated.
    pub stale_while_revalidate_secs: u64,
    /// Seconds past freshness it may be served when the origin fails.
    pub stale_if_error_secs: u64,
}

/// What a cached page of some age may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Serve it.
    Fresh,
    /// Serve it, and fetch a new copy in the background.
    Revalidate,
    /// Fetch a new copy; serve this one only if the origin fails.
    IfOriginFails,
    /// Useless: fetch a new copy.
    Expired,
}

/// Why a response is not cached (for the log and `x-p13n-cache`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotCached {
    /// Only `200` pages are cached.
    Status(u16),
    /// The origin set a cookie: the page is someone's.
    SetsCookie,
    /// The page varies by more than its encoding.
    Varies(String),
    /// `private`, `no-store` or `no-cache`.
    Directive(&'static str),
    /// No `s-maxage` or `max-age` above zero, and no stale window.
    NoLifetime,
    /// The header cannot be read.
    Unreadable(String),
}

impl fmt::Display for NotCached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotCached::Status(s) => write!(f, "status {s}"),
            NotCached::SetsCookie => f.write_str("the origin sets a cookie"),
            NotCached::Varies(v) => write!(f, "the page varies by `{v}`"),
            NotCached::Directive(d) => write!(f, "Cache-Control: {d}"),
            NotCached::NoLifetime => f.write_str("no shared lifetime in Cache-Control"),
            NotCached::Unreadable(why) => write!(f, "Cache-Control: {why}"),
        }
    }
}

impl CachePolicy {
    /// The policy of an origin response with `status`, `Cache-Control`
    /// value `cache_control`, a `Set-Cookie` or not, and `Vary` value
    /// `vary`; why it is not cached otherwise.
    pub fn of_origin(
        status: u16,
        cache_control: Option<&str>,
        sets_cookie: bool,
        vary: Option<&str>,
    ) -> Result<CachePolicy, NotCached> {
        if status != 200 {
            return Err(NotCached::Status(status));
        }
        if sets_cookie {
            return Err(NotCached::SetsCookie);
        }
        if let Some(vary) = vary {
            let other = vary
                .split(',')
                .map(str::trim)
                .find(|v| !v.is_empty() && !v.eq_ignore_ascii_case("accept-encoding"));
            if let Some(v) = other {
                return Err(NotCached::Varies(v.to_owned()));
            }
        }
        let cc = Directives::parse(cache_control.unwrap_or_default())?;
        for (set, name) in [
            (cc.no_store, "no-store"),
            (cc.private, "private"),
            (cc.no_cache, "no-cache"),
        ] {
            if set {
                return Err(NotCached::Directive(name));
            }
        }
        let fresh_secs = cc.s_maxage.or(cc.max_age).ok_or(NotCached::NoLifetime)?;
        let stale = |window: Option<u64>| {
            if cc.must_revalidate {
                0
            } else {
                window.unwrap_or(0)
            }
        };
        let policy = CachePolicy {
            fresh_secs,
            stale_while_revalidate_secs: stale(cc.stale_while_revalidate),
            stale_if_error_secs: stale(cc.stale_if_error),
        };
        if policy.kept_secs() == 0 {
            return Err(NotCached::NoLifetime);
        }
        Ok(policy)
    }

    /// How long the cache must keep the page: fresh, then the longer of
    /// its stale windows.
    pub fn kept_secs(&self) -> u64 {
        self.fresh_secs
            .saturating_add(
                self.stale_while_revalidate_secs
                    .max(self.stale_if_error_secs),
            )
            .min(MAX_CACHE_SECS)
    }

    /// What a copy `age_secs` old may be used for.
    pub fn freshness(&self, age_secs: f64) -> Freshness {
        let fresh = self.fresh_secs as f64;
        if age_secs < fresh {
            Freshness::Fresh
        } else if age_secs < fresh + self.stale_while_revalidate_secs as f64 {
            Freshness::Revalidate
        } else if age_secs < fresh + self.stale_if_error_secs as f64 {
            Freshness::IfOriginFails
        } else {
            Freshness::Expired
        }
    }
}

/// The directives of a `Cache-Control` value a shared cache acts on.
#[derive(Debug, Default)]
struct Directives {
    s_maxage: Option<u64>,
    max_age: Option<u64>,
    stale_while_revalidate: Option<u64>,
    stale_if_error: Option<u64>,
    no_store: bool,
    private: bool,
    no_cache: bool,
    must_revalidate: bool,
}

impl Directives {
    /// Reads `value`; a lifetime that is not a number is an error (the
    /// page is then not cached), a repeated one counts at its smallest,
    /// unknown directives are ignored.
    fn parse(value: &str) -> Result<Directives, NotCached> {
        let mut d = Directives::default();
        for part in split_outside_quotes(value) {
            let (name, arg) = match part.split_once('=') {
                Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
                None => (part.trim(), None),
            };
            let name = name.to_ascii_lowercase();
            let seconds = || -> Result<u64, NotCached> {
                let arg = arg.unwrap_or_default();
                if arg.is_empty() || !arg.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(NotCached::Unreadable(format!(
                        "`{name}` needs a number of seconds (got `{arg}`)"
                    )));
                }
                // Digits only: past u64 is simply "very long".
                Ok(arg.parse::<u64>().unwrap_or(u64::MAX).min(MAX_CACHE_SECS))
            };
            let slot = match name.as_str() {
                "s-maxage" => &mut d.s_maxage,
                "max-age" => &mut d.max_age,
                "stale-while-revalidate" => &mut d.stale_while_revalidate,
                "stale-if-error" => &mut d.stale_if_error,
                "no-store" => {
                    d.no_store = true;
                    continue;
                }
                "private" => {
                    d.private = true;
                    continue;
                }
                "no-cache" => {
                    d.no_cache = true;
                    continue;
                }
                "must-revalidate" | "proxy-revalidate" => {
                    d.must_revalidate = true;
                    continue;
                }
                _ => continue,
            };
            let secs = seconds()?;
            *slot = Some(slot.map_or(secs, |old| old.min(secs)));
        }
        Ok(d)
    }
}

/// `value` split at commas that are not inside a quoted string.
fn split_outside_quotes(value: &str) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    let mut start = 0;
    let mut cuts = Vec::new();
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                cuts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    cuts.push(&value[start..]);
    cuts.into_iter().filter(|p| !p.trim().is_empty())
}

/// The cache key of the page at `url`: no fragment, no tracking
/// parameters (`utm_*`, click ids), everything else as it is. Cookies and
/// other headers are never part of it.
pub fn cache_key(url: &Url) -> String {
    let mut key = url.clone();
    key.set_fragment(None);
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(name, _)| !name.starts_with("utm_") && !TRACKING_PARAMS.contains(&name.as_ref()))
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    if kept.len() != url.query_pairs().count() {
        if kept.is_empty() {
            key.set_query(None);
        } else {
            key.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    key.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(cc: &str) -> Result<CachePolicy, NotCached> {
        CachePolicy::of_origin(200, Some(cc), false, None)
    }

    #[test]
    fn shared_lifetime_wins_over_the_browsers() {
        let p = policy("max-age=10, s-maxage=120").unwrap();
        assert_eq!(p.fresh_secs, 120);
        assert_eq!(policy("max-age=10").unwrap().fresh_secs, 10);
        assert_eq!(policy("MAX-AGE=\"15\"").unwrap().fresh_secs, 15);
    }

    #[test]
    fn only_what_anyone_may_share_is_cached() {
        assert_eq!(
            policy("private, max-age=60"),
            Err(NotCached::Directive("private"))
        );
        assert_eq!(policy("no-store"), Err(NotCached::Directive("no-store")));
        assert_eq!(
            policy("no-cache, s-maxage=60"),
            Err(NotCached::Directive("no-cache"))
        );
        assert_eq!(policy("public"), Err(NotCached::NoLifetime));
        assert_eq!(policy("s-maxage=0"), Err(NotCached::NoLifetime));
        assert_eq!(
            CachePolicy::of_origin(404, Some("s-maxage=60"), false, None),
            Err(NotCached::Status(404))
        );
        assert_eq!(
            CachePolicy::of_origin(200, Some("s-maxage=60"), true, None),
            Err(NotCached::SetsCookie)
        );
        assert_eq!(
            CachePolicy::of_origin(
                200,
                Some("s-maxage=60"),
                false,
                Some("Accept-Encoding, Cookie")
            ),
            Err(NotCached::Varies("Cookie".into()))
        );
        assert!(
            CachePolicy::of_origin(200, Some("s-maxage=60"), false, Some("accept-encoding"))
                .is_ok()
        );
        assert_eq!(
            CachePolicy::of_origin(200, None, false, None),
            Err(NotCached::NoLifetime)
        );
    }

    #[test]
    fn unreadable_lifetimes_are_not_guessed() {
        let err = policy("s-maxage=soon").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cache-Control: `s-maxage` needs a number of seconds (got `soon`)"
        );
        assert!(policy("max-age=-5").is_err());
        assert!(policy("max-age").is_err());
        // Huge is a year; repeated counts at its smallest.
        assert_eq!(
            policy("max-age=99999999999999999999999")
                .unwrap()
                .fresh_secs,
            MAX_CACHE_SECS
        );
        assert_eq!(policy("max-age=60, max-age=5").unwrap().fresh_secs, 5);
        // A comma inside quotes does not split directives.
        assert_eq!(
            policy("community=\"a, no-store\", s-maxage=9")
                .unwrap()
                .fresh_secs,
            9
        );
    }

    #[test]
    fn stale_windows() {
        let p = policy("s-maxage=60, stale-while-revalidate=30, stale-if-error=600").unwrap();
        assert_eq!(p.kept_secs(), 660);
        assert_eq!(p.freshness(0.0), Freshness::Fresh);
        assert_eq!(p.freshness(60.0), Freshness::Revalidate);
        assert_eq!(p.freshness(89.9), Freshness::Revalidate);
        assert_eq!(p.freshness(90.0), Freshness::IfOriginFails);
        assert_eq!(p.freshness(660.0), Freshness::Expired);
        // must-revalidate forbids serving stale.
        let strict = policy("s-maxage=60, stale-if-error=600, must-revalidate").unwrap();
        assert_eq!(strict.freshness(61.0), Freshness::Expired);
        // A stale window alone keeps a page that is never fresh.
        let swr = policy("max-age=0, stale-while-revalidate=30").unwrap();
        assert_eq!(swr.freshness(0.0), Freshness::Revalidate);
    }

    #[test]
    fn keys_ignore_fragments_and_tracking() {
        let key = |u: &str| cache_key(&Url::parse(u).unwrap());
        assert_eq!(
            key("https://shop.example/c/shoes?utm_source=mail&page=2&gclid=x#top"),
            "https://shop.example/c/shoes?page=2"
        );
        assert_eq!(
            key("https://shop.example/p/1?utm_medium=a"),
            "https://shop.example/p/1"
        );
        assert_eq!(
            key("https://shop.example/search?q=a+b"),
            "https://shop.example/search?q=a+b"
        );
    }
}
