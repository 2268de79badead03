//! Category paths by name: how a rule, a query parameter or a page
//! address (`/categories/<slug>`) names a category of the catalog.

/// The category index named by `name`: a full path, or a leaf name when
/// exactly that leaf exists (compared without case).
pub fn resolve_category(categories: &[String], name: &str) -> Option<u32> {
    let name = name.trim();
    let position = categories
        .iter()
        .position(|c| c.eq_ignore_ascii_case(name))
        .or_else(|| {
            categories.iter().position(|c| {
                c.rsplit('/')
                    .next()
                    .is_some_and(|leaf| leaf.eq_ignore_ascii_case(name))
            })
        })?;
    u32::try_from(position).ok()
}

/// The URL slug of a category path: each level lowercased, its runs of
/// letters and digits joined by `-`, levels joined by `/`
/// (`Home & Kitchen/Coffee` -> `home-kitchen/coffee`). Storefronts address
/// category pages by it (`/categories/<slug>`).
pub fn category_slug(path: &str) -> String {
    slug_chars(path).collect()
}

/// Whether `slug` is the slug of category `path`, without building it
/// (a category page compares its address with every category).
pub fn is_category_slug(path: &str, slug: &str) -> bool {
    slug_chars(path).eq(slug.chars())
}

/// The characters of [`category_slug`], one at a time.
fn slug_chars(path: &str) -> impl Iterator<Item = char> + '_ {
    path.split('/').enumerate().flat_map(|(i, level)| {
        let words = level
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .enumerate()
            .flat_map(|(j, word)| {
                let dash = (j > 0).then_some('-');
                dash.into_iter()
                    .chain(word.chars().flat_map(char::to_lowercase))
            });
        (i > 0).then_some('/').into_iter().chain(words)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_slugs_are_lowercase_words_by_level() {
        assert_eq!(
            category_slug("Home & Kitchen/Coffee"),
            "home-kitchen/coffee"
        );
        assert_eq!(category_slug("T-Shirts"), "t-shirts");
        assert_eq!(category_slug("Sports & Outdoors"), "sports-outdoors");
        assert_eq!(category_slug("Café/Crème Brûlée"), "café/crème-brûlée");
        assert_eq!(category_slug(""), "");
        assert!(is_category_slug(
            "Home & Kitchen/Coffee",
            "home-kitchen/coffee"
        ));
        assert!(!is_category_slug(
            "Home & Kitchen/Coffee",
            "home-kitchen/cof"
        ));
        assert!(!is_category_slug("Home & Kitchen", "home-kitchen/coffee"));
    }
}
