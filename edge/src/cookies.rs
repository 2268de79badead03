//! The recently-viewed cookie: first-party, read on every page, no network.
//!
//! `fp_viewed=ID~ID~ID`, most recent first. Ids that break the id alphabet
//! are dropped on read, so a tampered cookie can only name products.

use firstpaint_contracts::is_valid_id;

use crate::limits::MAX_COOKIE_VIEWED;

/// Name of the cookie.
pub const VIEWED_COOKIE: &str = "fp_viewed";
const SEPARATOR: char = '~';

/// Recently viewed ids from a `Cookie` header, most recent first.
pub fn viewed_from_header(cookie_header: Option<&str>) -> Vec<String> {
    let Some(header) = cookie_header else {
        return Vec::new();
    };
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == VIEWED_COOKIE)
        .map(|(_, value)| {
            value
                .split(SEPARATOR)
                .filter(|id| is_valid_id(id))
                .take(MAX_COOKIE_VIEWED)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `viewed` with `product` moved to the front, deduplicated and capped.
pub fn record_view(viewed: &[String], product: &str) -> Vec<String> {
    std::iter::once(product.to_owned())
        .chain(viewed.iter().filter(|id| *id != product).cloned())
        .take(MAX_COOKIE_VIEWED)
        .collect()
}

/// The `Set-Cookie` value for `viewed`; `secure` for https origins.
pub fn set_cookie(viewed: &[String], secure: bool) -> String {
    let value = viewed.join(&SEPARATOR.to_string());
    let secure = if secure { "; Secure" } else { "" };
    format!("{VIEWED_COOKIE}={value}; Path=/; Max-Age=2592000; SameSite=Lax; HttpOnly{secure}")
}

/// The product id of a product page path (`/products/<id>` or `/products/<id>.html`).
pub fn product_from_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/products/")?;
    let id = rest.strip_suffix(".html").unwrap_or(rest);
    is_valid_id(id).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_valid_ids_from_its_own_cookie() {
        let header = "a=1; fp_viewed=SKU-1~SKU-2~<script>~SKU-3; b=2";
        assert_eq!(
            viewed_from_header(Some(header)),
            vec!["SKU-1", "SKU-2", "SKU-3"]
        );
        assert!(viewed_from_header(Some("other=SKU-1")).is_empty());
        assert!(viewed_from_header(None).is_empty());
    }

    #[test]
    fn views_move_to_front_and_are_capped() {
        let old: Vec<String> = (0..20).map(|i| format!("P{i}")).collect();
        let new = record_view(&old, "P5");
        assert_eq!(new[0], "P5");
        assert_eq!(new.len(), MAX_COOKIE_VIEWED);
        assert_eq!(new.iter().filter(|id| *id == "P5").count(), 1);
        assert_eq!(
            set_cookie(&new[..2], false),
            "fp_viewed=P5~P0; Path=/; Max-Age=2592000; SameSite=Lax; HttpOnly"
        );
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
}
