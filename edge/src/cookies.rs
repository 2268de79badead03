//! First-party cookies: reading one from a `Cookie` header, writing
//! `Set-Cookie` values, and recognising product and category pages.

use firstpaint_contracts::is_valid_id;

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    header?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: first-party, HttpOnly, Lax; `Secure` on https.
pub fn set_cookie(name: &str, value: &str, max_age_seconds: u32, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age_seconds}; SameSite=Lax; HttpOnly{secure}")
}

/// A `Set-Cookie` value that deletes cookie `name`.
pub fn delete_cookie(name: &str, secure: bool) -> String {
    set_cookie(name, "", 0, secure)
}

/// The product id of a product page path (`/products/<id>` or `/products/<id>.html`).
pub fn product_from_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/products/")?;
    let id = rest.strip_suffix(".html").unwrap_or(rest);
    is_valid_id(id).then(|| id.to_owned())
}

/// Path prefix of category pages.
pub const CATEGORY_PREFIX: &str = "/categories/";
/// Longest category slug read from a path.
const MAX_CATEGORY_SLUG_BYTES: usize = 200;

/// The category slug of a category page path (`/categories/<slug>` or
/// `/categories/<slug>.html`, percent-decoded, trailing `/` ignored), for
/// [`firstpaint_engine::Engine::category_by_slug`].
pub fn category_from_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix(CATEGORY_PREFIX)?;
    let rest = rest.strip_suffix(".html").unwrap_or(rest);
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.len() > MAX_CATEGORY_SLUG_BYTES {
        return None;
    }
    let slug = percent_encoding::percent_decode_str(rest)
        .decode_utf8()
        .ok()?;
    Some(slug.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_its_own_cookie_only() {
        let header = Some("a=1; fp_profile=xyz; b=2");
        assert_eq!(cookie_value(header, "fp_profile"), Some("xyz"));
        assert_eq!(cookie_value(header, "profile"), None);
        assert_eq!(cookie_value(None, "a"), None);
    }

    #[test]
    fn cookies_are_first_party_and_http_only() {
        assert_eq!(
            set_cookie("a", "b", 60, false),
            "a=b; Path=/; Max-Age=60; SameSite=Lax; HttpOnly"
        );
        assert!(set_cookie("a", "b", 60, true).ends_with("; Secure"));
        assert!(delete_cookie("a", false).contains("Max-Age=0"));
    }

    #[test]
    fn product_pages_are_recognised() {
        assert_eq!(product_from_path("/products/SKU-1"), Some("SKU-1".into()));
        assert_eq!(
            product_from_path("/products/SKU-1.html"),
            Some("SKU-1".into())
        );
        assert_eq!(product_from_path("/products/a%20b"), None);
        assert_eq!(product_from_path("/cart"), None);
    }

    #[test]
    fn category_pages_are_recognised() {
        let slug = |p: &str| category_from_path(p);
        assert_eq!(
            slug("/categories/home-kitchen/coffee"),
            Some("home-kitchen/coffee".into())
        );
        assert_eq!(slug("/categories/running.html"), Some("running".into()));
        assert_eq!(slug("/categories/caf%C3%A9/"), Some("café".into()));
        assert_eq!(slug("/categories/"), None);
        assert_eq!(slug("/categories/%FF"), None, "not UTF-8");
        assert_eq!(slug(&format!("/categories/{}", "a".repeat(300))), None);
        assert_eq!(slug("/products/SKU-1"), None);
    }
}
