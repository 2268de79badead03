//! The UCI Online Retail data set (`online_retail.csv.gz`): a UK gift
//! retailer's invoice lines, 2010-12 to 2011-12.
//!
//! Columns: `InvoiceNo,StockCode,Description,Quantity,InvoiceDate,
//! UnitPrice,CustomerID,Country`. Cancellations (invoices starting with
//! `C`), non-product codes (`POST`, `M`, `BANK CHARGES`, ... : product codes
//! start with a digit), lines without a description, and non-positive
//! quantities or prices are skipped. A product's title is its most common
//! description; its price the median unit price; its listing time its first
//! sale.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use anyhow::Context;
use firstpaint_contracts::{Consent, Event, EventKind, OrderLine, Product};
use time::macros::format_description;
use time::OffsetDateTime;
use time::PrimitiveDateTime;

use super::most_common;

/// One kept invoice line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Invoice number (a basket).
    pub invoice: String,
    /// Product id (the stock code).
    pub product: String,
    /// Units.
    pub quantity: u32,
    /// Unix seconds.
    pub time: i64,
    /// Customer, when known.
    pub customer: Option<String>,
}

/// Products and invoice lines read from the file.
#[derive(Debug, Clone)]
pub struct Retail {
    /// Products in order of first sale.
    pub products: Vec<Product>,
    /// Kept lines, in file order.
    pub lines: Vec<Line>,
    /// Lines skipped, by reason.
    pub skipped: HashMap<&'static str, usize>,
}

/// Reads the gzipped CSV at `path`.
pub fn read(path: &Path) -> anyhow::Result<Retail> {
    let file =
        std::fs::File::open(path).with_context(|| format!("{}: failed to open", path.display()))?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .with_context(|| format!("{}: not a gzipped UTF-8 CSV", path.display()))?;
    parse(&path.display().to_string(), &text)
}

/// Parses the CSV text (named `file` in errors).
pub fn parse(file: &str, text: &str) -> anyhow::Result<Retail> {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut skipped: HashMap<&'static str, usize> = HashMap::new();
    let mut lines = Vec::new();
    let mut titles: HashMap<String, HashMap<String, usize>> = HashMap::new();
    let mut prices: HashMap<String, Vec<f64>> = HashMap::new();
    let mut first_sale: HashMap<String, i64> = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let r = record.with_context(|| format!("{file}:{line}: not a CSV record"))?;
        let field = |n: usize| r.get(n).unwrap_or_default().trim();
        let (invoice, code, description) = (field(0), field(1), field(2));
        let mut skip = |why: &'static str| *skipped.entry(why).or_default() += 1;
        if invoice.starts_with('C') {
            skip("cancellation");
            continue;
        }
        if !code.starts_with(|c: char| c.is_ascii_digit()) {
            skip("not a product code");
            continue;
        }
        if description.is_empty() {
            skip("no description");
            continue;
        }
        let (Ok(quantity), Ok(price)) = (field(3).parse::<i64>(), field(5).parse::<f64>()) else {
            anyhow::bail!("{file}:{line}: Quantity or UnitPrice is not a number");
        };
        if quantity <= 0 || price <= 0.0 || !price.is_finite() {
            skip("non-positive quantity or price");
            continue;
        }
        let time = PrimitiveDateTime::parse(field(4), &format)
            .with_context(|| format!("{file}:{line}: field `InvoiceDate`: {:?}", field(4)))?
            .assume_utc()
            .unix_timestamp();
        let product = code.to_ascii_uppercase();
        *titles
            .entry(product.clone())
            .or_default()
            .entry(description.to_owned())
            .or_default() += 1;
        prices.entry(product.clone()).or_default().push(price);
        let first = first_sale.entry(product.clone()).or_insert(time);
        *first = (*first).min(time);
        let customer = Some(field(6).trim_end_matches(".0").to_owned()).filter(|c| !c.is_empty());
        lines.push(Line {
            invoice: invoice.to_owned(),
            product,
            quantity: u32::try_from(quantity).unwrap_or(u32::MAX),
            time,
            customer,
        });
    }
    let mut order: Vec<(&String, &i64)> = first_sale.iter().collect();
    order.sort_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0)));
    let mut products = Vec::with_capacity(order.len());
    for (code, &first) in order {
        let title = titles
            .get(code)
            .and_then(|t| most_common(t).into_iter().next())
            .map(|(t, _)| t)
            .unwrap_or_default();
        let mut p = prices.get(code).cloned().unwrap_or_default();
        p.sort_by(f64::total_cmp);
        let price = p.get(p.len() / 2).copied().unwrap_or(0.0);
        products.push(product(code, &title, price, first)?);
    }
    Ok(Retail {
        products,
        lines,
        skipped,
    })
}

/// Invoices split in time: the earlier ones as order events to build
/// from, the later ones as baskets to test on.
#[derive(Debug, Clone)]
pub struct Split<'a> {
    /// The cut, unix seconds.
    pub cut: i64,
    /// Invoices before the cut as order events, in time order.
    pub events: Vec<Event>,
    /// Invoices from the cut on: (invoice, product ordinals in line order,
    /// without repeats), by invoice number.
    pub test: Vec<(&'a str, Vec<u32>)>,
    /// Per product: sold before the cut.
    pub sold_before: Vec<bool>,
    /// Product id -> ordinal.
    pub index: HashMap<&'a str, u32>,
}

/// Holds out the invoices of the last `held_out_days` days.
pub fn split(retail: &Retail, held_out_days: i64) -> anyhow::Result<Split<'_>> {
    let end = retail.lines.iter().map(|l| l.time).max().unwrap_or(0);
    let cut = end - held_out_days * 86_400;
    let index: HashMap<&str, u32> = retail
        .products
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i as u32))
        .collect();
    let mut train: HashMap<&str, (i64, Option<&str>, Vec<OrderLine>)> = HashMap::new();
    let mut test: HashMap<&str, Vec<u32>> = HashMap::new();
    let mut sold_before = vec![false; retail.products.len()];
    for l in &retail.lines {
        let Some(&i) = index.get(l.product.as_str()) else {
            continue;
        };
        if l.time < cut {
            if let Some(s) = sold_before.get_mut(i as usize) {
                *s = true;
            }
            let price = retail.products.get(i as usize).map_or(0.0, |p| p.price);
            let e = train.entry(l.invoice.as_str()).or_insert((
                l.time,
                l.customer.as_deref(),
                Vec::new(),
            ));
            e.2.push(OrderLine {
                product: l.product.clone(),
                qty: l.quantity,
                price,
                discount: 0.0,
            });
        } else {
            let basket = test.entry(l.invoice.as_str()).or_default();
            if !basket.contains(&i) {
                basket.push(i);
            }
        }
    }
    let mut events: Vec<Event> = train
        .into_iter()
        .map(|(invoice, (time, customer, items))| {
            Ok(Event {
                id: None,
                visitor: None,
                session: format!("inv-{invoice}"),
                user: customer.map(|c| format!("c-{c}")),
                ts: OffsetDateTime::from_unix_timestamp(time)?,
                consent: Consent {
                    analytics: true,
                    personalization: true,
                },
                region: "GB".into(),
                kind: EventKind::Order {
                    order: invoice.to_owned(),
                    items,
                    fulfilment: None,
                    returned: false,
                },
            })
        })
        .collect::<anyhow::Result<_>>()?;
    events.sort_by(|a, b| a.ts.cmp(&b.ts).then(a.session.cmp(&b.session)));
    let mut test: Vec<(&str, Vec<u32>)> = test.into_iter().collect();
    test.sort_by(|a, b| a.0.cmp(b.0));
    Ok(Split {
        cut,
        events,
        test,
        sold_before,
        index,
    })
}

/// The product's department, for the intent evaluation: the data has no
/// categories, so the first product-type word of the title (in this
/// order: seasonal first, as "CHRISTMAS MUG" is bought for Christmas)
/// names one of a few gift-shop departments; titles without one are
/// "Other".
pub fn department(title: &str) -> &'static str {
    const DEPARTMENTS: [(&str, &[&str]); 9] = [
        (
            "Seasonal",
            &[
                "CHRISTMAS",
                "XMAS",
                "EASTER",
                "ADVENT",
                "SANTA",
                "REINDEER",
                "HALLOWEEN",
                "SNOWFLAKE",
                "BAUBLE",
            ],
        ),
        (
            "Jewellery",
            &[
                "NECKLACE", "EARRINGS", "BRACELET", "RING", "CHARM", "BEAD", "DIAMANTE", "BROOCH",
            ],
        ),
        (
            "Lighting",
            &[
                "CANDLE",
                "CANDLES",
                "LIGHT",
                "LIGHTS",
                "LANTERN",
                "NIGHTLIGHT",
            ],
        ),
        (
            "Kitchen",
            &[
                "MUG",
                "CUP",
                "CUPS",
                "BOWL",
                "PLATE",
                "PLATES",
                "CAKE",
                "TEA",
                "CUTLERY",
                "JAR",
                "TRAY",
                "LUNCH",
                "BOTTLE",
                "TIN",
                "SPOON",
                "NAPKINS",
                "PANTRY",
                "BAKING",
                "JUG",
                "TEAPOT",
                "SAUCER",
                "COASTER",
                "COASTERS",
                "KITCHEN",
                "CHOPSTICKS",
            ],
        ),
        (
            "Stationery",
            &[
                "CARD",
                "CARDS",
                "PAPER",
                "WRAP",
                "NOTEBOOK",
                "PEN",
                "PENCIL",
                "PENCILS",
                "STICKER",
                "STICKERS",
                "TAPE",
                "ENVELOPE",
                "BOOK",
                "CALENDAR",
                "STATIONERY",
            ],
        ),
        (
            "Bags & storage",
            &[
                "BAG", "BAGS", "BOX", "BOXES", "BASKET", "STORAGE", "DRAWER", "CASE", "CASES",
                "PURSE", "HOLDER",
            ],
        ),
        (
            "Toys & party",
            &[
                "PARTY",
                "TOY",
                "GAME",
                "DOLLY",
                "DOLL",
                "BALLOON",
                "BALLOONS",
                "PUZZLE",
                "BIRTHDAY",
                "KIT",
                "PLAYHOUSE",
            ],
        ),
        (
            "Garden",
            &["GARDEN", "PLANT", "PLANTER", "WATERING", "FEEDER", "POT"],
        ),
        (
            "Home decor",
            &[
                "SIGN",
                "FRAME",
                "MIRROR",
                "CLOCK",
                "CUSHION",
                "DOORMAT",
                "HOOK",
                "HOOKS",
                "DECORATION",
                "GARLAND",
                "ORNAMENT",
                "WALL",
                "TILE",
                "PLAQUE",
                "VASE",
                "BUNTING",
                "DOORSTOP",
            ],
        ),
    ];
    let words: Vec<String> = title
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_ascii_uppercase)
        .collect();
    DEPARTMENTS
        .iter()
        .find(|(_, keys)| words.iter().any(|w| keys.contains(&w.as_str())))
        .map_or("Other", |(name, _)| name)
}

/// A catalog product for a stock code. The data has no categories, brands
/// or stock: one category for all.
fn product(code: &str, title: &str, price: f64, first_sale: i64) -> anyhow::Result<Product> {
    super::product(code, title, "Gifts", price, "GBP", first_sale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_products_and_skips_what_is_not_a_sale() {
        let text =
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
536366,85123A,WHITE HANGING HEART T-LIGHT HOLDER,2,2010-12-02 08:26:00,2.95,,United Kingdom
536367,85123A,CREAM HANGING HEART T-LIGHT HOLDER,2,2010-12-02 09:00:00,2.75,13047.0,United Kingdom
C536379,71053,WHITE METAL LANTERN,-1,2010-12-01 09:41:00,3.39,14527.0,United Kingdom
536368,POST,POSTAGE,1,2010-12-01 09:00:00,18.0,12583.0,France
536369,22139,,5,2010-12-01 09:00:00,0,,United Kingdom
";
        let r = parse("retail.csv", text).unwrap();
        assert_eq!(r.products.len(), 1);
        let p = &r.products[0];
        assert_eq!(
            (p.id.as_str(), p.title.as_str()),
            ("85123A", "WHITE HANGING HEART T-LIGHT HOLDER")
        );
        assert_eq!(p.price, 2.75);
        assert_eq!(r.lines.len(), 3);
        assert_eq!(r.lines[0].customer.as_deref(), Some("17850"));
        assert_eq!(r.lines[1].customer, None);
        assert_eq!(r.skipped.get("cancellation"), Some(&1));
        assert_eq!(r.skipped.get("not a product code"), Some(&1));
        assert_eq!(r.skipped.get("no description"), Some(&1));
        let bad = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n1,2,x,1,yesterday,1,,UK\n";
        let err = parse("retail.csv", bad).unwrap_err().to_string();
        assert!(err.contains("retail.csv:2: field `InvoiceDate`"), "{err}");
    }
}
