//! How a shopper arrived: the inbound channel of a visit's landing page,
//! one of the intent model's inputs.
//!
//! Campaign tags win (`utm_medium`, then `utm_source`); otherwise the
//! referring site is classified (a search engine, a social network, a
//! webmail); a landing page without either is `direct`. A page reached from
//! the store itself says nothing (the visit's channel stays what it was).

/// The channels the intent model is trained on (the values of a landing
/// page event's `channel`).
pub const CHANNELS: [&str; 5] = ["search", "social", "email", "referral", "direct"];

/// Referrer hosts by channel: a host matches when it is the name or ends
/// with `.name`.
const SEARCH_HOSTS: [&str; 7] = [
    "google.com",
    "bing.com",
    "duckduckgo.com",
    "yahoo.com",
    "ecosia.org",
    "baidu.com",
    "yandex.ru",
];
const SOCIAL_HOSTS: [&str; 10] = [
    "facebook.com",
    "instagram.com",
    "t.co",
    "twitter.com",
    "x.com",
    "pinterest.com",
    "tiktok.com",
    "reddit.com",
    "linkedin.com",
    "youtube.com",
];
const EMAIL_HOSTS: [&str; 4] = [
    "mail.google.com",
    "outlook.live.com",
    "mail.yahoo.com",
    "outlook.office.com",
];

/// The channel of a request to `url` (the store page) from `referer`, or
/// `None` when it came from the store itself.
pub fn inbound(url: &worker::Url, referer: Option<&str>) -> Option<&'static str> {
    for (key, value) in url.query_pairs() {
        if key == "utm_medium" {
            if let Some(c) = from_medium(&value) {
                return Some(c);
            }
        }
    }
    for (key, value) in url.query_pairs() {
        if key == "utm_source" {
            if let Some(c) = from_host(&value.to_ascii_lowercase()) {
                return Some(c);
            }
        }
    }
    let Some(referer) = referer.and_then(|r| worker::Url::parse(r).ok()) else {
        return Some("direct");
    };
    let host = referer.host_str().unwrap_or_default().to_ascii_lowercase();
    if Some(host.as_str()) == url.host_str() {
        return None;
    }
    Some(from_host(&host).unwrap_or("referral"))
}

/// A `utm_medium` value as a channel (`cpc` and `organic` are search).
fn from_medium(medium: &str) -> Option<&'static str> {
    let m = medium.trim().to_ascii_lowercase();
    match m.as_str() {
        "cpc" | "ppc" | "paid" | "paidsearch" | "paid_search" | "organic" | "search" | "sem" => {
            Some("search")
        }
        "social" | "paid_social" | "paidsocial" | "social-media" | "social_media" => Some("social"),
        "email" | "e-mail" | "newsletter" => Some("email"),
        "referral" | "affiliate" => Some("referral"),
        _ => None,
    }
}

/// A host (or a `utm_source` like `google`) as a channel.
fn from_host(host: &str) -> Option<&'static str> {
    let matches = |names: &[&str]| {
        names.iter().any(|n| {
            host == *n || host.ends_with(&format!(".{n}")) || n.split('.').next() == Some(host)
        })
    };
    if matches(&EMAIL_HOSTS) || host.starts_with("mail.") || host == "newsletter" {
        Some("email")
    } else if matches(&SEARCH_HOSTS) || host.starts_with("google.") || host.contains(".google.") {
        Some("search")
    } else if matches(&SOCIAL_HOSTS) {
        Some("social")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(url: &str, referer: Option<&str>) -> Option<&'static str> {
        inbound(&worker::Url::parse(url).unwrap(), referer)
    }

    #[test]
    fn campaign_tags_win_over_the_referrer() {
        let got = at(
            "https://shop.example/?utm_medium=email&utm_source=spring",
            Some("https://www.google.com/"),
        );
        assert_eq!(got, Some("email"));
        assert_eq!(
            at("https://shop.example/?utm_medium=cpc", None),
            Some("search")
        );
        assert_eq!(
            at("https://shop.example/?utm_source=facebook", None),
            Some("social")
        );
        // An unknown medium falls back to the source, then the referrer.
        let got = at(
            "https://shop.example/?utm_medium=zz",
            Some("https://t.co/x"),
        );
        assert_eq!(got, Some("social"));
    }

    #[test]
    fn referrers_are_classified_and_the_store_itself_says_nothing() {
        assert_eq!(
            at(
                "https://shop.example/",
                Some("https://www.google.co.uk/search?q=x")
            ),
            Some("search")
        );
        assert_eq!(
            at("https://shop.example/", Some("https://duckduckgo.com/")),
            Some("search")
        );
        assert_eq!(
            at("https://shop.example/", Some("https://l.instagram.com/")),
            Some("social")
        );
        assert_eq!(
            at(
                "https://shop.example/",
                Some("https://mail.google.com/mail/u/0")
            ),
            Some("email")
        );
        assert_eq!(
            at("https://shop.example/", Some("https://blog.example/post")),
            Some("referral")
        );
        assert_eq!(
            at("https://shop.example/a", Some("https://shop.example/b")),
            None
        );
        assert_eq!(at("https://shop.example/", None), Some("direct"));
        assert_eq!(
            at("https://shop.example/", Some("not a url")),
            Some("direct")
        );
        for c in [
            Some("search"),
            Some("social"),
            Some("email"),
            Some("referral"),
            Some("direct"),
        ] {
            assert!(CHANNELS.contains(&c.unwrap()));
        }
    }
}
