//! The search page's filters: the results' facets (category, brand, price
//! band) rendered into the page's `[data-p13n-facets]` element, each value
//! a link to the same page with that filter added (and `page` reset).
//!
//! ```html
//! <section data-p13n-facet="category"><h3>Category</h3><ul>
//!   <li><a href="/search?q=pan&amp;category=Home+%26+Kitchen%2FCookware">Cookware</a>
//!       <span data-p13n-count>14</span></li>
//! </ul></section>
//! ```
//!
//! A filter the page already has is marked `aria-current="true"`, its link
//! taking it off. Every value is escaped; the markup is fixed, styled by
//! the storefront's CSS through the data attributes.

use firstpaint_engine::search::{FacetValue, Facets};
use firstpaint_engine::{escape_into, format_price};
use worker::Url;

/// The facets as the page's filters, linking from `url` (the search
/// page's own); prices are written in `currency`. Empty when there is
/// nothing to filter by.
pub fn render(facets: &Facets, url: &Url, currency: &str) -> String {
    let mut out = String::new();
    let categories = value_links(&facets.categories, "category", |v| {
        v.rsplit('/').next().unwrap_or(v)
    });
    section(&mut out, url, "category", "Category", &categories);
    let brands = value_links(&facets.brands, "brand", |v| v);
    section(&mut out, url, "brand", "Brand", &brands);
    let prices: Vec<Link> = facets
        .prices
        .iter()
        .map(|b| {
            let min = format_price(b.min, currency);
            let mut set = vec![("price_min", number(b.min))];
            let label = match b.max {
                Some(max) => {
                    set.push(("price_max", number(max)));
                    format!("{min} to {}", format_price(max, currency))
                }
                None => format!("{min} and over"),
            };
            Link {
                label,
                count: b.count,
                set,
            }
        })
        .collect();
    section(&mut out, url, "price", "Price", &prices);
    out
}

/// A link per value of a facet that sets `param` to it, labelled by
/// `label` of the value.
fn value_links(values: &[FacetValue], param: &'static str, label: fn(&str) -> &str) -> Vec<Link> {
    values
        .iter()
        .map(|v| Link {
            label: label(&v.value).to_owned(),
            count: v.count,
            set: vec![(param, v.value.clone())],
        })
        .collect()
}

/// One value of a facet: its label, its count, the parameters it sets.
struct Link {
    label: String,
    count: usize,
    set: Vec<(&'static str, String)>,
}

/// A price as a query parameter (no trailing zeros).
fn number(price: f64) -> String {
    let s = format!("{price:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Appends one facet's section; nothing when it has no values.
fn section(out: &mut String, url: &Url, facet: &str, title: &str, links: &[Link]) {
    if links.is_empty() {
        return;
    }
    out.push_str("<section data-p13n-facet=\"");
    out.push_str(facet);
    out.push_str("\"><h3>");
    out.push_str(title);
    out.push_str("</h3><ul>");
    for link in links {
        let active = link
            .set
            .iter()
            .all(|(name, value)| url.query_pairs().any(|(n, v)| n == *name && v == *value));
        out.push_str("<li><a href=\"");
        escape_into(&href(url, &link.set, active), out);
        out.push('"');
        if active {
            out.push_str(" aria-current=\"true\"");
        }
        out.push('>');
        escape_into(&link.label, out);
        out.push_str("</a> <span data-p13n-count>");
        out.push_str(&link.count.to_string());
        out.push_str("</span></li>");
    }
    out.push_str("</ul></section>");
}

/// `url`'s path and query with the parameters of `set` replaced (or, when
/// `remove`, taken off) and `page` dropped.
fn href(url: &Url, set: &[(&'static str, String)], remove: bool) -> String {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(name, _)| name != "page" && !set.iter().any(|(n, _)| n == name))
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let mut link = url.clone();
    {
        let mut pairs = link.query_pairs_mut();
        pairs.clear();
        pairs.extend_pairs(kept);
        if !remove {
            pairs.extend_pairs(set.iter().map(|(n, v)| (*n, v.as_str())));
        }
    }
    match link.query() {
        Some(q) if !q.is_empty() => format!("{}?{q}", link.path()),
        _ => link.path().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use firstpaint_engine::search::{FacetValue, PriceBand};

    fn facets() -> Facets {
        Facets {
            categories: vec![FacetValue {
                value: "Home & Kitchen/Cookware".into(),
                count: 14,
            }],
            brands: vec![FacetValue {
                value: "Cucina <b>".into(),
                count: 3,
            }],
            prices: vec![
                PriceBand {
                    min: 25.0,
                    max: Some(49.99),
                    count: 6,
                },
                PriceBand {
                    min: 10_000.0,
                    max: None,
                    count: 1,
                },
            ],
            exact: true,
        }
    }

    #[test]
    fn each_value_links_to_the_page_with_its_filter_and_escapes_what_it_shows() {
        let url = Url::parse("https://shop.test/search?q=pan&page=3").unwrap();
        let html = render(&facets(), &url, "GBP");
        assert!(html.contains(
            "<a href=\"/search?q=pan&amp;category=Home+%26+Kitchen%2FCookware\">Cookware</a> <span data-p13n-count>14</span>"
        ), "{html}");
        assert!(html.contains(">Cucina &lt;b&gt;</a>"), "{html}");
        assert!(
            html.contains("?q=pan&amp;price_min=25&amp;price_max=49.99\">£25.00 to £49.99</a>"),
            "{html}"
        );
        assert!(html.contains(">£10000.00 and over</a>"), "{html}");
        assert!(!html.contains("page=3"));
    }

    #[test]
    fn an_active_filter_is_marked_and_its_link_takes_it_off() {
        let url = Url::parse("https://shop.test/search?q=pan&brand=Cucina+%3Cb%3E").unwrap();
        let html = render(&facets(), &url, "GBP");
        assert!(
            html.contains("<a href=\"/search?q=pan\" aria-current=\"true\">Cucina &lt;b&gt;</a>"),
            "{html}"
        );
        assert!(
            html.contains("/search?q=pan&amp;brand=Cucina+%3Cb%3E&amp;category="),
            "{html}"
        );
        assert_eq!(render(&Facets::default(), &url, "GBP"), "");
    }
}
