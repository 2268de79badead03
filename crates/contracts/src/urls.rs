//! The URLs a catalog and the rules may put into a page: a product's page
//! and a banner's link (site paths), and a product's image (a site path or
//! an `http(s)` URL).
//!
//! Escaping keeps a value inside its attribute; it does not stop a
//! `javascript:` or `data:` URL from running when clicked or loaded, nor a
//! link from leaving the site. So the origin refuses, naming the field:
//! any other scheme; for a link, a protocol-relative `//host` and a
//! `/\host` (browsers read it as `//host`); and control characters
//! (browsers drop tabs and newlines inside URLs, so `/\t/host` is `//host`
//! too). An image may come from another host (`https://cdn...`, or
//! `//cdn...` as exported by many shops): an image does not run script.

/// Why `url` is not a site path (`/` then anything but a second `/` or
/// `\`, no control characters), or `None` when it is.
pub(crate) fn site_path_problem(url: &str) -> Option<String> {
    let second = url.as_bytes().get(1).copied();
    if !url.starts_with('/') || matches!(second, Some(b'/' | b'\\')) {
        return Some(format!(
            "must be a site path starting with a single '/' (got {url:?})"
        ));
    }
    unprintable_problem(url)
}

/// Why `url` is not an image address (a site path, or an `http://`,
/// `https://` or protocol-relative `//` URL with a host), or `None` when
/// it is.
pub(crate) fn image_url_problem(url: &str) -> Option<String> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        url.get(8..)
    } else if lower.starts_with("http://") {
        url.get(7..)
    } else if url.starts_with("//") {
        url.get(2..)
    } else if url.starts_with('/') {
        return site_path_problem(url);
    } else {
        None
    };
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with(['/', '\\']) => {
            unprintable_problem(url)
        }
        _ => Some(format!(
            "must be a site path or an http(s) URL with a host (got {url:?})"
        )),
    }
}

fn unprintable_problem(url: &str) -> Option<String> {
    url.chars().find(|c| c.is_control()).map(|c| {
        format!("must not contain control characters (percent-encode them; got {c:?} in {url:?})")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_paths_stay_on_the_site() {
        for ok in [
            "/",
            "/products/SKU-1",
            "/p?a=1&b=\"x\"",
            "/a\\b",
            "/%20x",
            "/blue shirt",
            "/a\u{2028}b",
        ] {
            assert_eq!(site_path_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "products/x",
            "//evil.example/x",
            "/\\evil.example",
            "/\t/evil.example",
            "/a\nb",
            "/a\u{85}b",
            "javascript:alert(1)",
            "https://shop.example/x",
        ] {
            assert!(site_path_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn images_are_site_paths_or_http() {
        for ok in [
            "/img/a.svg",
            "https://cdn.example/a.jpg",
            "HTTP://cdn.example/a.jpg",
            "//cdn.example/a.jpg",
            "https://cdn.example/a b.jpg",
        ] {
            assert_eq!(image_url_problem(ok), None, "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            " javascript:alert(1)",
            "data:image/svg+xml,<svg onload=alert(1)>",
            "///evil.example/a.jpg",
            "https://",
            "https:///x",
            "https:\\\\evil.example",
            "https://cdn.example/a\tb.jpg",
            "a.jpg",
        ] {
            assert!(image_url_problem(bad).is_some(), "{bad:?}");
        }
    }
}
