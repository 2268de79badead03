//! `GET /p13n/recommend` parameters from a URL: what the handler in
//! [`crate::api`] ranks, or a 400 reason naming the bad parameter. Kept
//! apart from the handler so the parsing is tested and fuzzed on the host.

use firstpaint_contracts::is_valid_id;
use firstpaint_engine::limits::MAX_K;
use firstpaint_engine::SlotKind;
use worker::Url;

use crate::limits::{MAX_COOKIE_VIEWED, MAX_QUERY_BYTES};

/// Parameters `/p13n/recommend` understands.
pub const RECOMMEND_PARAMS: [&str; 7] = [
    "slot", "product", "category", "k", "viewed", "cart", "explain",
];

/// A recommendation request as its URL states it; the shopper's own
/// history and the bundle's rules are the handler's to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecommendParams {
    /// The slot to rank.
    pub kind: SlotKind,
    /// The product the page shows.
    pub product: Option<String>,
    /// The category the page shows.
    pub category: Option<String>,
    /// How many items (the slot's default when absent).
    pub k: Option<usize>,
    /// Recently viewed products passed by the caller, at most
    /// [`MAX_COOKIE_VIEWED`], most recent first.
    pub viewed: Option<Vec<String>>,
    /// The cart's products, at most [`MAX_K`].
    pub cart: Vec<String>,
    /// Whether to return each item's reasons.
    pub explain: bool,
}

/// The request `url` makes, or why it is refused: a query string over
/// [`MAX_QUERY_BYTES`], a parameter that is not UTF-8 or not known, `k`
/// not a whole number, a list entry that is not a product id, no `slot`
/// or an unknown one.
pub fn params_from(url: &Url) -> Result<RecommendParams, String> {
    if url.query().map_or(0, str::len) > MAX_QUERY_BYTES {
        return Err(format!("query string longer than {MAX_QUERY_BYTES} bytes"));
    }
    let mut slot = None;
    let mut product = None;
    let mut category = None;
    let mut k = None;
    let mut explain = false;
    let mut viewed = None;
    let mut cart = Vec::new();
    for (name, value) in url.query_pairs() {
        if value.contains('\u{FFFD}') {
            return Err(format!("parameter {name:?} is not valid UTF-8"));
        }
        match name.as_ref() {
            "slot" => slot = Some(value.into_owned()),
            "product" => product = Some(value.into_owned()),
            "category" => category = Some(value.into_owned()),
            "k" => {
                let n = value
                    .parse::<usize>()
                    .map_err(|_| format!("k must be a whole number (got {value:?})"))?;
                k = Some(n);
            }
            "viewed" => {
                let ids = id_list("viewed", &value)?;
                viewed = Some(ids.into_iter().take(MAX_COOKIE_VIEWED).collect());
            }
            "cart" => cart = id_list("cart", &value)?.into_iter().take(MAX_K).collect(),
            "explain" => explain = matches!(value.as_ref(), "1" | "true"),
            other => {
                return Err(format!(
                    "unknown parameter {other:?}; expected one of {}",
                    RECOMMEND_PARAMS.join(", ")
                ))
            }
        }
    }
    let slot = slot.ok_or("missing parameter slot")?;
    let kind = slot.parse::<SlotKind>().map_err(|e| e.to_string())?;
    Ok(RecommendParams {
        kind,
        product,
        category,
        k,
        viewed,
        cart,
        explain,
    })
}

/// Comma-separated product ids, or a reason naming the bad one.
fn id_list(name: &str, value: &str) -> Result<Vec<String>, String> {
    let ids: Vec<String> = value
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    match ids.iter().find(|id| !is_valid_id(id)) {
        Some(bad) => Err(format!("{name}: {bad:?} is not a product id")),
        None => Ok(ids),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<RecommendParams, String> {
        params_from(&Url::parse(&format!("http://x/p13n/recommend?{q}")).unwrap())
    }

    #[test]
    fn reads_slot_product_lists_and_flags() {
        let p = parse("slot=similar&product=SKU-1&k=4&viewed=A,B,,C&cart=D&explain=1").unwrap();
        assert_eq!(p.kind.as_str(), "similar");
        assert_eq!(p.product.as_deref(), Some("SKU-1"));
        assert_eq!(p.k, Some(4));
        assert_eq!(p.viewed, Some(vec!["A".into(), "B".into(), "C".into()]));
        assert_eq!(p.cart, vec!["D".to_string()]);
        assert!(p.explain);
        assert_eq!(parse("slot=home").unwrap().viewed, None);
    }

    #[test]
    fn names_the_bad_parameter() {
        let long = format!("slot=home&product={}", "a".repeat(MAX_QUERY_BYTES));
        for (q, needle) in [
            ("product=A", "missing parameter slot"),
            ("slot=nope", "nope"),
            ("slot=home&k=-1", "k must be a whole number"),
            (
                "slot=home&viewed=A,%3Cb%3E",
                "viewed: \"<b>\" is not a product id",
            ),
            ("slot=home&cart=%20", "cart: \" \" is not a product id"),
            ("slot=home&colour=red", "unknown parameter \"colour\""),
            ("slot=%FF", "not valid UTF-8"),
            (long.as_str(), "query string longer than"),
        ] {
            let err = parse(q).unwrap_err();
            assert!(err.contains(needle), "{q}: {err}");
        }
    }

    #[test]
    fn lists_are_capped() {
        let many: Vec<String> = (0..100).map(|i| format!("P{i}")).collect();
        let q = format!("slot=home&viewed={0}&cart={0}", many.join(","));
        let p = parse(&q).unwrap();
        assert_eq!(p.viewed.map(|v| v.len()), Some(MAX_COOKIE_VIEWED));
        assert_eq!(p.cart.len(), MAX_K);
    }
}
