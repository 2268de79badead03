//! Item templates: the merchant's own markup with `{{field}}` placeholders.
//!
//! A slot's `<template>` holds one item's HTML. Every value put into it is
//! HTML-escaped, so it is safe in text and in quoted attribute values.

use crate::error::EngineError;
use crate::limits::MAX_TEMPLATE_BYTES;
use crate::store::sections::BannerRule;
use crate::store::Product;

/// A value an item template can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    Title,
    Brand,
    Url,
    Image,
    ImageAlt,
    Price,
    Currency,
    Rating,
    Position,
    Slot,
    Text,
    Link,
}

const FIELDS: [(&str, Field); 13] = [
    ("id", Field::Id),
    ("title", Field::Title),
    ("brand", Field::Brand),
    ("url", Field::Url),
    ("image", Field::Image),
    ("image_alt", Field::ImageAlt),
    ("price", Field::Price),
    ("currency", Field::Currency),
    ("rating", Field::Rating),
    ("position", Field::Position),
    ("slot", Field::Slot),
    ("text", Field::Text),
    ("link", Field::Link),
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Field(Field),
}

/// A parsed item template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses `{{field}}` placeholders; an unknown field or an unclosed
    /// `{{` is an error that names it.
    pub fn parse(source: &str) -> Result<Self, EngineError> {
        if source.len() > MAX_TEMPLATE_BYTES {
            return Err(EngineError::Template(format!(
                "{} bytes, more than the {MAX_TEMPLATE_BYTES} allowed",
                source.len()
            )));
        }
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find("{{") {
            let (literal, tail) = rest.split_at(open);
            if !literal.is_empty() {
                parts.push(Part::Literal(literal.to_owned()));
            }
            let tail = tail.get(2..).unwrap_or_default();
            let close = tail.find("}}").ok_or_else(|| {
                EngineError::Template(format!(
                    "unclosed '{{{{' before {:?}",
                    tail.chars().take(24).collect::<String>()
                ))
            })?;
            let name = tail.get(..close).unwrap_or_default().trim();
            let field = FIELDS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, f)| *f)
                .ok_or_else(|| {
                    let names = FIELDS.map(|(n, _)| n);
                    let hint = firstpaint_contracts::did_you_mean(name, names)
                        .map(|s| format!(" (did you mean {{{{{s}}}}}?)"))
                        .unwrap_or_default();
                    EngineError::Template(format!(
                        "unknown placeholder {{{{{name}}}}}{hint}; known: {}",
                        names.join(", ")
                    ))
                })?;
            parts.push(Part::Field(field));
            rest = tail.get(close + 2..).unwrap_or_default();
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(Self { parts })
    }

    /// Renders one item at 1-based `position` of slot `slot`, escaping every value.
    pub fn render(&self, p: Product<'_>, position: usize, slot: &str, out: &mut String) {
        self.render_with(out, |f| match f {
            Field::Id => p.id().to_owned(),
            Field::Title => p.title().into_owned(),
            Field::Brand => p.brand().to_owned(),
            Field::Url => p.url().into_owned(),
            Field::Image => p.image().into_owned(),
            Field::ImageAlt => p.image_alt().into_owned(),
            Field::Price => format_price(p.price(), p.currency()),
            Field::Currency => p.currency().to_owned(),
            Field::Rating => format!("{:.1}", p.rating()),
            Field::Position => position.to_string(),
            Field::Slot => slot.to_owned(),
            Field::Text | Field::Link => String::new(),
        })
    }

    /// Renders a banner: `{{text}}`, `{{link}}` and `{{id}}`; product fields are empty.
    pub fn render_banner(&self, banner: &BannerRule, out: &mut String) {
        self.render_with(out, |f| match f {
            Field::Id => banner.id.clone(),
            Field::Text => banner.text.clone(),
            Field::Link | Field::Url => banner.link.clone(),
            Field::Slot => "banner".to_owned(),
            Field::Position => "1".to_owned(),
            _ => String::new(),
        })
    }

    fn render_with(&self, out: &mut String, value: impl Fn(Field) -> String) {
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Field(f) => escape_into(&value(*f), out),
            }
        }
    }
}

/// A price for display: symbol for the common currencies, code otherwise.
pub fn format_price(price: f64, currency: &str) -> String {
    match currency {
        "EUR" => format!("€{price:.2}"),
        "GBP" => format!("£{price:.2}"),
        "USD" => format!("${price:.2}"),
        other => format!("{price:.2} {other}"),
    }
}

/// Appends `s` with `& < > " '` escaped: safe in HTML text and quoted attributes.
pub fn escape_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sections::{CatalogSection, ProductRecord};
    use crate::store::{catalog, Catalog};

    fn catalog() -> Catalog {
        let product = ProductRecord {
            id: "P-1".into(),
            title: "<script>alert(1)</script> & \"quotes\"".into(),
            url: "/products/P-1".into(),
            price: 12.5,
            currency: "GBP".into(),
            ..ProductRecord::default()
        };
        let section = CatalogSection {
            products: vec![product],
            ..CatalogSection::default()
        };
        let bytes = catalog::write(&section);
        Catalog::open(firstpaint_bundle::Tag(*b"CATL"), bytes.into()).unwrap()
    }

    #[test]
    fn values_are_escaped_in_text_and_attributes() {
        let t = Template::parse(
            r#"<a href="{{url}}" title="{{title}}">{{title}}</a> {{price}} #{{ position }}"#,
        )
        .unwrap();
        let mut out = String::new();
        let catalog = catalog();
        t.render(catalog.product(0).unwrap(), 3, "home", &mut out);
        assert_eq!(
            out,
            "<a href=\"/products/P-1\" title=\"&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;\">&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;</a> £12.50 #3"
        );
    }

    #[test]
    fn bad_placeholders_are_named() {
        let err = Template::parse("{{titel}}").unwrap_err().to_string();
        assert!(
            err.contains("unknown placeholder {{titel}} (did you mean {{title}}?)"),
            "{err}"
        );
        let err = Template::parse("<b>{{title</b>").unwrap_err().to_string();
        assert!(err.contains("unclosed"), "{err}");
    }

    #[test]
    fn a_template_over_the_bound_is_refused_with_its_size() {
        let at_bound = "x".repeat(MAX_TEMPLATE_BYTES);
        assert!(Template::parse(&at_bound).is_ok());
        let over = format!("{at_bound}y");
        let err = Template::parse(&over).unwrap_err().to_string();
        let want = format!("{} bytes, more than the {MAX_TEMPLATE_BYTES}", over.len());
        assert!(err.contains(&want), "{err}");
    }
}
