//! Search parameters from a URL, shared by `GET /p13n/search` (strict: a
//! bad parameter is a 400) and the storefront's search page (lenient:
//! parameters the worker does not know belong to the storefront).

use firstpaint_engine::limits::{MAX_PAGE, MAX_PER_PAGE, MAX_QUERY_BYTES};
use firstpaint_engine::SearchRequest;
use worker::Url;

/// Variable naming the storefront's search page path (default `/search`).
pub const SEARCH_PATH_VAR: &str = "SEARCH_PATH";
/// The search page path when [`SEARCH_PATH_VAR`] is not set.
pub const DEFAULT_SEARCH_PATH: &str = "/search";
/// The slot type of search results, answered from the page's query.
pub const SEARCH_SLOT: &str = "search";

/// Parameters the search understands.
pub const SEARCH_PARAMS: [&str; 10] = [
    "q",
    "page",
    "per_page",
    "category",
    "brand",
    "price_min",
    "price_max",
    "in_stock",
    "explain",
    "facets",
];

/// The search `url` asks for, with the shopper's session left empty for
/// the caller to fill. `Ok(None)` when there is no `q` (the page shows its
/// own fallback). `Err` says which parameter is wrong and why.
pub fn request_from(url: &Url, strict: bool) -> Result<Option<SearchRequest>, String> {
    let mut req = SearchRequest::new("");
    let mut query = None;
    for (name, value) in url.query_pairs() {
        if value.contains('\u{FFFD}') {
            return Err(format!("parameter {name:?} is not valid UTF-8"));
        }
        let number = |what: &str| -> Result<f64, String> {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("{what} must be a number >= 0 (got {value:?})"))
        };
        let whole = |what: &str, max: usize| -> Result<usize, String> {
            value
                .parse::<usize>()
                .ok()
                .filter(|v| (1..=max).contains(v))
                .ok_or_else(|| {
                    format!("{what} must be a whole number from 1 to {max} (got {value:?})")
                })
        };
        match name.as_ref() {
            "q" => {
                if value.len() > MAX_QUERY_BYTES {
                    return Err(format!(
                        "q is {} bytes; at most {MAX_QUERY_BYTES} are accepted",
                        value.len()
                    ));
                }
                query = Some(value.into_owned());
            }
            "page" => req.page = whole("page", MAX_PAGE)?,
            "per_page" => req.per_page = whole("per_page", MAX_PER_PAGE)?,
            "category" => req.filters.category = Some(value.into_owned()),
            "brand" => req.filters.brand = Some(value.into_owned()),
            "price_min" => req.filters.price_min = Some(number("price_min")?),
            "price_max" => req.filters.price_max = Some(number("price_max")?),
            "in_stock" => req.filters.in_stock = flag("in_stock", &value)?,
            "explain" if strict => req.explain = flag("explain", &value)?,
            "facets" if strict => req.without_facets = !flag("facets", &value)?,
            other if strict => {
                return Err(format!(
                    "unknown parameter {other:?}; expected one of {}",
                    SEARCH_PARAMS.join(", ")
                ))
            }
            _ => {}
        }
    }
    if let (Some(min), Some(max)) = (req.filters.price_min, req.filters.price_max) {
        if min > max {
            return Err(format!("price_min {min} is above price_max {max}"));
        }
    }
    Ok(query.map(|query| SearchRequest { query, ..req }))
}

fn flag(name: &str, value: &str) -> Result<bool, String> {
    match value {
        "1" | "true" => Ok(true),
        "0" | "false" | "" => Ok(false),
        _ => Err(format!("{name} must be 1 or 0 (got {value:?})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str, strict: bool) -> Result<Option<SearchRequest>, String> {
        request_from(
            &Url::parse(&format!("http://x/search?{q}")).unwrap(),
            strict,
        )
    }

    #[test]
    fn reads_query_paging_and_filters() {
        let r = parse(
            "q=red+dress&page=2&per_page=12&category=Dresses&price_max=50&in_stock=1",
            true,
        )
        .unwrap()
        .unwrap();
        assert_eq!(r.query, "red dress");
        assert_eq!((r.page, r.per_page), (2, 12));
        assert_eq!(r.filters.category.as_deref(), Some("Dresses"));
        assert_eq!(r.filters.price_max, Some(50.0));
        assert!(r.filters.in_stock);
        assert!(!r.without_facets);
        assert!(parse("q=a&facets=0", true).unwrap().unwrap().without_facets);
        assert_eq!(parse("page=2", true).unwrap(), None);
    }

    #[test]
    fn names_the_bad_parameter() {
        let long = "a".repeat(300);
        for (q, needle) in [
            (format!("q={long}"), "q is 300 bytes"),
            ("q=x&page=0".into(), "page must be"),
            ("q=x&per_page=500".into(), "per_page must be"),
            ("q=x&price_max=-3".into(), "price_max must be"),
            ("q=x&price_min=9&price_max=3".into(), "above price_max"),
            ("q=x&in_stock=maybe".into(), "in_stock must be"),
            ("q=%FF%FE".into(), "not valid UTF-8"),
            (
                "q=x&utm_source=mail".into(),
                "unknown parameter \"utm_source\"",
            ),
        ] {
            let err = parse(&q, true).unwrap_err();
            assert!(err.contains(needle), "{q}: {err}");
        }
        // A storefront page keeps its own parameters.
        assert!(parse("q=x&utm_source=mail", false).unwrap().is_some());
    }
}
