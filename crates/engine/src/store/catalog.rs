//! The catalog, read in place: fixed-width columns per product, one string
//! arena, compressed rows for stock, compatibility, safety flags and tags,
//! and an index of ids sorted for lookup. Only the small tables (category
//! paths, locations, currencies, flag and tag names, URL templates) are
//! decoded at open.
//!
//! Blocks of section `CATL` (layout `CAT3`), product `i` at row `i`;
//! integers bit-packed in the bits their range needs ([`Packed`]), prices
//! as scaled integers ([`Decimals`]):
//!
//! | block | content |
//! | --- | --- |
//! | 0 | [`CatalogMeta`] through the codec: categories, locations, currencies, safety flag and tag names, URL and image templates |
//! | 1, 2 | ids: offsets (`n + 1`), arena (kept plain: the id index compares them) |
//! | 3 | the symbol table of the texts ([`symbols`](super::symbols)) |
//! | 4, 5 | texts, four per product (title, url, image, image alt), compressed: offsets (`4n + 1`), codes |
//! | 6, 7 | brand names, each once: offsets, arena |
//! | 8 | brand index per product |
//! | 9, 10 | price, cost (decimals) |
//! | 11 | units available over all locations |
//! | 12 | delivery days |
//! | 13, 14 | rating (decimals), rating count |
//! | 15 | listing time, unix seconds (`i64`) |
//! | 16 | leaf category index + 1 (0: none) |
//! | 17 | flags ([`REGULATED`], [`URL_FROM_TEMPLATE`], [`IMAGE_FROM_TEMPLATE`], [`ALT_IS_TITLE`]) |
//! | 18 | currency index |
//! | 19, 20 | stock rows: location indexes |
//! | 21, 22 | parallel to the locations: lead days, units |
//! | 23, 24 | compatible product rows: ordinals |
//! | 25, 26 | safety flag rows: indexes into the meta's names |
//! | 27, 28 | tag rows: indexes into the meta's names |
//! | 29 | ordinals sorted by id |
//!
//! A merchant's URLs mostly follow one pattern (`/products/{id}`), so a
//! product whose URL (or image) is its template with its id filled in
//! stores nothing for it.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;

use firstpaint_bundle::{codec, OwnedBytes, Tag};
use serde::{Deserialize, Serialize};

#[cfg(feature = "build")]
use super::columns::SectionWriter;
use super::columns::{Blocks, Rows, Strings};
use super::packed::{Decimals, Packed, PackedSlice};
#[cfg(feature = "build")]
use super::symbols;
use super::symbols::{CompressedStrings, SymbolTable};
use crate::error::EngineError;
use crate::store::live::LiveValues;
#[cfg(feature = "build")]
use crate::store::sections::CatalogSection;
use crate::store::sections::StockAt;

/// The layout's magic: catalog, version 2.
const MAGIC: [u8; 4] = *b"CAT3";
/// Blocks in the layout.
const BLOCKS: usize = 30;
/// Compressed texts stored per product.
const TEXTS: usize = 4;
const TITLE: usize = 0;
const URL: usize = 1;
const IMAGE: usize = 2;
const ALT: usize = 3;
/// The placeholder templates use for the product id.
const ID_PLACEHOLDER: &str = "{id}";

/// Flag: regulated goods.
pub const REGULATED: u8 = 1;
/// Flag: the URL is the catalog's URL template with the id filled in.
pub const URL_FROM_TEMPLATE: u8 = 2;
/// Flag: the image is the catalog's image template with the id filled in.
pub const IMAGE_FROM_TEMPLATE: u8 = 4;
/// Flag: the image's alt text is the title.
pub const ALT_IS_TITLE: u8 = 8;

/// The catalog's small tables, decoded at open.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CatalogMeta {
    /// Category paths (`Top/Leaf`).
    pub categories: Vec<String>,
    /// Fulfilment locations.
    pub locations: Vec<String>,
    /// Currency codes.
    pub currencies: Vec<String>,
    /// Safety flag names.
    pub safety: Vec<String>,
    /// Tag names.
    pub tags: Vec<String>,
    /// Product URL pattern with `{id}`, when most URLs follow one.
    pub url_template: Option<String>,
    /// Image URL pattern with `{id}`, when most images follow one.
    pub image_template: Option<String>,
}

/// The catalog read in place.
#[derive(Debug, Clone)]
pub struct Catalog {
    meta: CatalogMeta,
    /// Per category: its path as category indexes, top first.
    paths: Vec<Vec<u32>>,
    ids: Strings,
    texts: CompressedStrings,
    brands: Strings,
    brand: Packed<u32>,
    price: Decimals,
    cost: Decimals,
    available: Packed<u32>,
    ship_days: Packed<u16>,
    rating: Decimals,
    rating_count: Packed<u32>,
    created_at: Packed<i64>,
    /// Leaf category + 1, 0 for none.
    leaf: Packed<u32>,
    flags: Packed<u8>,
    currency: Packed<u16>,
    stock: Rows<u16>,
    stock_lead_days: Packed<u16>,
    stock_units: Packed<u32>,
    compatible: Rows<u32>,
    safety: Rows<u16>,
    tags: Rows<u16>,
    by_id: Packed<u32>,
}

impl Catalog {
    /// Opens section `tag` over `bytes`, checking that every column holds
    /// one value per product.
    pub fn open(tag: Tag, bytes: OwnedBytes) -> Result<Self, EngineError> {
        let b = Blocks::open(tag, bytes, MAGIC, BLOCKS)?;
        let meta: CatalogMeta = codec::decode(tag, b.bytes(0).as_slice())?;
        let leaf = b.view::<Packed<u32>>(16, None)?;
        let n = Some(leaf.len());
        let table = SymbolTable::open(b.bytes(3).as_slice()).ok_or(EngineError::Inconsistent {
            section: tag,
            detail: "block 3 (the texts' symbol table) is malformed".into(),
        })?;
        let stock = b.rows(19, n)?;
        let stock_entries = b.view::<Packed<u16>>(20, None)?.len();
        let paths = category_paths(&meta.categories);
        Ok(Self {
            ids: b.strings(1, n)?,
            texts: CompressedStrings::new(table, b.strings(4, Some(leaf.len() * TEXTS))?),
            brands: b.strings(6, None)?,
            brand: b.view(8, n)?,
            price: b.view(9, n)?,
            cost: b.view(10, n)?,
            available: b.view(11, n)?,
            ship_days: b.view(12, n)?,
            rating: b.view(13, n)?,
            rating_count: b.view(14, n)?,
            created_at: b.view(15, n)?,
            leaf,
            flags: b.view(17, n)?,
            currency: b.view(18, n)?,
            stock,
            stock_lead_days: b.view(21, Some(stock_entries))?,
            stock_units: b.view(22, Some(stock_entries))?,
            compatible: b.rows(23, n)?,
            safety: b.rows(25, n)?,
            tags: b.rows(27, n)?,
            by_id: b.view(29, n)?,
            paths,
            meta,
        })
    }

    /// Number of products.
    pub fn len(&self) -> usize {
        self.leaf.len()
    }

    /// Whether the catalog has no products.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Product `ord`, if there is one, as the bundle has it (the
    /// [`Store`](super::Store)'s products carry its live data).
    pub fn product(&self, ord: u32) -> Option<Product<'_>> {
        ((ord as usize) < self.len()).then_some(Product {
            catalog: self,
            ord,
            live: None,
        })
    }

    /// Every product, in ordinal order, as the bundle has them.
    pub fn products(&self) -> impl ExactSizeIterator<Item = Product<'_>> + '_ {
        (0..self.len() as u32).map(|ord| Product {
            catalog: self,
            ord,
            live: None,
        })
    }

    /// The ordinal of product `id` (a binary search over the sorted index,
    /// comparing bytes: no UTF-8 check per step).
    pub fn ordinal(&self, id: &str) -> Option<u32> {
        self.ordinal_within(id, 0, self.by_id.len()).0
    }

    /// As [`ordinal`](Self::ordinal), for ids asked in ascending order
    /// (a live overlay's): `cursor` is where the last one was, and the
    /// search gallops forward from there, so `m` sorted ids cost about
    /// `m log(n / m)` compares instead of `m log n`. An id below the
    /// last one searches from the start again.
    pub fn ordinal_after(&self, id: &str, cursor: &mut usize) -> Option<u32> {
        let n = self.by_id.len();
        let below = |at: usize| {
            self.by_id
                .get(at)
                .is_some_and(|o| self.ids.bytes(o as usize) < id.as_bytes())
        };
        if *cursor > 0 && !below(*cursor - 1) {
            *cursor = 0;
        }
        let (mut lo, mut step) = (*cursor, 1usize);
        while lo + step <= n && below(lo + step - 1) {
            lo += step;
            step *= 2;
        }
        let (found, at) = self.ordinal_within(id, lo, (lo + step).min(n));
        *cursor = at;
        found
    }

    /// Binary search for `id` in positions `lo..hi` of the id index: its
    /// ordinal, and the position where the search ended.
    fn ordinal_within(&self, id: &str, mut lo: usize, mut hi: usize) -> (Option<u32>, usize) {
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let Some(ord) = self.by_id.get(mid) else {
                return (None, lo);
            };
            let found = self.ids.bytes(ord as usize);
            match found.cmp(id.as_bytes()) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return (Some(ord), mid),
            }
        }
        (None, lo)
    }

    /// Category paths, by index.
    pub fn categories(&self) -> &[String] {
        &self.meta.categories
    }

    /// Fulfilment locations, by index.
    pub fn locations(&self) -> &[String] {
        &self.meta.locations
    }

    /// Category `c`'s path as category indexes, top first (empty when out
    /// of range).
    pub fn path_of(&self, c: u32) -> &[u32] {
        self.paths.get(c as usize).map_or(&[], Vec::as_slice)
    }

    /// The top-level category of category `c` (itself when it is one).
    pub fn top_of(&self, c: u32) -> Option<u32> {
        self.path_of(c).first().copied()
    }

    fn text(&self, ord: u32, field: usize) -> Cow<'_, str> {
        self.texts.get(ord as usize * TEXTS + field)
    }

    fn flag(&self, ord: u32, flag: u8) -> bool {
        self.flags.get(ord as usize).unwrap_or(0) & flag != 0
    }
}

/// Each category's path as indexes, top first, from the interned paths
/// (`A`, `A/B`, `A/B/C`); a level missing from the table is skipped.
fn category_paths(categories: &[String]) -> Vec<Vec<u32>> {
    let index: HashMap<&str, u32> = categories
        .iter()
        .zip(0u32..)
        .map(|(c, i)| (c.as_str(), i))
        .collect();
    categories
        .iter()
        .map(|path| {
            path.match_indices('/')
                .map(|(at, _)| path.get(..at).unwrap_or_default())
                .chain(std::iter::once(path.as_str()))
                .filter_map(|prefix| index.get(prefix).copied())
                .collect()
        })
        .collect()
}

/// One product of the catalog: a position and accessors reading its
/// columns, or its live values where an overlay gives them.
#[derive(Debug, Clone, Copy)]
pub struct Product<'a> {
    catalog: &'a Catalog,
    ord: u32,
    live: Option<LiveValues<'a>>,
}

impl<'a> Product<'a> {
    /// This product with `live` values read before the bundle's columns.
    pub(crate) fn with_live(self, live: Option<LiveValues<'a>>) -> Self {
        Self { live, ..self }
    }

    /// Its ordinal.
    pub fn ordinal(&self) -> u32 {
        self.ord
    }

    /// Merchant id.
    pub fn id(&self) -> &'a str {
        self.catalog.ids.get(self.ord as usize)
    }

    /// Display title.
    pub fn title(&self) -> Cow<'a, str> {
        self.catalog.text(self.ord, TITLE)
    }

    /// Brand, empty when none.
    pub fn brand(&self) -> &'a str {
        let brand = self.catalog.brand.get(self.ord as usize).unwrap_or(0);
        self.catalog.brands.get(brand as usize)
    }

    /// The brand's index among the catalog's brands (each brand is stored
    /// once, so two products share a brand exactly when they share its
    /// index); `None` when it has none. Cheaper than comparing
    /// [`brand`](Self::brand)s.
    pub fn brand_id(&self) -> Option<u32> {
        let brand = self.catalog.brand.get(self.ord as usize).unwrap_or(0);
        (!self.catalog.brands.bytes(brand as usize).is_empty()).then_some(brand)
    }

    /// Product page path.
    pub fn url(&self) -> Cow<'a, str> {
        self.templated(URL_FROM_TEMPLATE, &self.catalog.meta.url_template, URL)
    }

    /// First image URL, empty when none.
    pub fn image(&self) -> Cow<'a, str> {
        self.templated(
            IMAGE_FROM_TEMPLATE,
            &self.catalog.meta.image_template,
            IMAGE,
        )
    }

    /// The image's alt text (the title when the merchant gave none).
    pub fn image_alt(&self) -> Cow<'a, str> {
        if self.catalog.flag(self.ord, ALT_IS_TITLE) {
            self.title()
        } else {
            self.catalog.text(self.ord, ALT)
        }
    }

    fn templated(&self, flag: u8, template: &'a Option<String>, field: usize) -> Cow<'a, str> {
        match template {
            Some(t) if self.catalog.flag(self.ord, flag) => {
                Cow::Owned(t.replace(ID_PLACEHOLDER, self.id()))
            }
            _ => self.catalog.text(self.ord, field),
        }
    }

    /// Selling price, major units: the live price, else the bundle's.
    pub fn price(&self) -> f64 {
        match self.live.and_then(|l| l.price()) {
            Some(price) => price,
            None => self.catalog.price.get(self.ord as usize).unwrap_or(0.0),
        }
    }

    /// Unit cost, 0 when the merchant did not give one.
    pub fn cost(&self) -> f64 {
        self.catalog.cost.get(self.ord as usize).unwrap_or(0.0)
    }

    /// Margin, (price - cost) / price, when the cost is known.
    pub fn margin(&self) -> Option<f64> {
        let (price, cost) = (self.price(), self.cost());
        (cost > 0.0 && price > 0.0).then(|| (price - cost) / price)
    }

    /// Currency code.
    pub fn currency(&self) -> &'a str {
        let c = self.catalog.currency.get(self.ord as usize).unwrap_or(0);
        self.catalog
            .meta
            .currencies
            .get(usize::from(c))
            .map_or("", String::as_str)
    }

    /// Category path as category indexes, top first.
    pub fn category_path(&self) -> &'a [u32] {
        match self.leaf() {
            Some(leaf) => self.catalog.path_of(leaf),
            None => &[],
        }
    }

    /// The most specific category, if any.
    pub fn leaf(&self) -> Option<u32> {
        self.catalog
            .leaf
            .get(self.ord as usize)
            .and_then(|c| c.checked_sub(1))
    }

    /// The top-level category, if any.
    pub fn top(&self) -> Option<u32> {
        self.category_path().first().copied()
    }

    /// Units available over all locations (saturating): live, else the
    /// bundle's.
    pub fn available(&self) -> u32 {
        match self.live.and_then(|l| l.available()) {
            Some(units) => units,
            None => self.catalog.available.get(self.ord as usize).unwrap_or(0),
        }
    }

    /// Stock per location: live, else the bundle's.
    pub fn stock(&self) -> impl Iterator<Item = StockAt> + 'a {
        let live = self.live.and_then(|l| l.stock());
        let c = self.catalog;
        // The bundle's rows only when there is no live stock.
        let rows = live.is_none().then(|| {
            let span = c.stock.span(self.ord as usize);
            c.stock
                .row(self.ord as usize)
                .zip(span)
                .map(|(location, i)| StockAt {
                    location,
                    lead_days: c.stock_lead_days.get(i).unwrap_or(0),
                    available: c.stock_units.get(i).unwrap_or(0),
                })
        });
        live.into_iter()
            .flatten()
            .copied()
            .chain(rows.into_iter().flatten())
    }

    /// Whether it can be bought now: `false` only when live data took it
    /// off sale.
    pub fn buyable(&self) -> bool {
        self.live.is_none_or(|l| l.buyable())
    }

    /// Ordinals of the products this one works with, both directions.
    pub fn compatible(&self) -> PackedSlice<'a, u32> {
        self.catalog.compatible.row(self.ord as usize)
    }

    /// Delivery days.
    pub fn ship_days(&self) -> u16 {
        self.catalog.ship_days.get(self.ord as usize).unwrap_or(0)
    }

    /// Mean rating, 0 when unrated.
    pub fn rating(&self) -> f32 {
        self.catalog.rating.get(self.ord as usize).unwrap_or(0.0) as f32
    }

    /// Number of ratings.
    pub fn rating_count(&self) -> u32 {
        self.catalog
            .rating_count
            .get(self.ord as usize)
            .unwrap_or(0)
    }

    /// Regulated goods.
    pub fn regulated(&self) -> bool {
        self.catalog.flag(self.ord, REGULATED)
    }

    /// Safety flags.
    pub fn safety(&self) -> impl Iterator<Item = &'a str> + 'a {
        let names = &self.catalog.meta.safety;
        self.catalog
            .safety
            .row(self.ord as usize)
            .filter_map(move |i| names.get(usize::from(i)).map(String::as_str))
    }

    /// Merchant tags.
    pub fn tags(&self) -> impl Iterator<Item = &'a str> + 'a {
        let names = &self.catalog.meta.tags;
        self.catalog
            .tags
            .row(self.ord as usize)
            .filter_map(move |i| names.get(usize::from(i)).map(String::as_str))
    }

    /// Listing time, unix seconds.
    pub fn created_at(&self) -> i64 {
        self.catalog.created_at.get(self.ord as usize).unwrap_or(0)
    }
}

#[cfg(feature = "build")]
/// Writes `catalog` in the layout above (the origin's side).
pub fn write(catalog: &CatalogSection) -> Vec<u8> {
    let products = &catalog.products;
    let mut meta = CatalogMeta {
        categories: catalog.categories.clone(),
        locations: catalog.locations.clone(),
        url_template: template_of(products.iter().map(|p| (p.id.as_str(), p.url.as_str()))),
        image_template: template_of(products.iter().map(|p| (p.id.as_str(), p.image.as_str()))),
        ..CatalogMeta::default()
    };
    let fills = |template: &Option<String>, id: &str, value: &str| {
        template
            .as_deref()
            .is_some_and(|t| !value.is_empty() && t.replace(ID_PLACEHOLDER, id) == value)
    };
    let mut flags = Vec::with_capacity(products.len());
    let mut texts: Vec<&str> = Vec::with_capacity(products.len() * TEXTS);
    for p in products {
        let url = fills(&meta.url_template, &p.id, &p.url);
        let image = fills(&meta.image_template, &p.id, &p.image);
        let alt = p.image_alt == p.title;
        flags.push(
            [
                (p.regulated, REGULATED),
                (url, URL_FROM_TEMPLATE),
                (image, IMAGE_FROM_TEMPLATE),
                (alt, ALT_IS_TITLE),
            ]
            .iter()
            .filter(|(on, _)| *on)
            .fold(0, |flags, (_, flag)| flags | flag),
        );
        texts.extend([
            p.title.as_str(),
            if url { "" } else { &p.url },
            if image { "" } else { &p.image },
            if alt { "" } else { &p.image_alt },
        ]);
    }
    let currency: Vec<u16> = products
        .iter()
        .map(|p| intern(&mut meta.currencies, &p.currency))
        .collect();
    let mut brands: Vec<&str> = Vec::new();
    let mut brand_index: HashMap<&str, u32> = HashMap::new();
    let brand: Vec<u32> = products
        .iter()
        .map(|p| {
            *brand_index.entry(p.brand.as_str()).or_insert_with(|| {
                brands.push(&p.brand);
                brands.len() as u32 - 1
            })
        })
        .collect();
    let safety: Vec<Vec<u16>> = products
        .iter()
        .map(|p| {
            p.safety
                .iter()
                .map(|s| intern(&mut meta.safety, s))
                .collect()
        })
        .collect();
    let tags: Vec<Vec<u16>> = products
        .iter()
        .map(|p| p.tags.iter().map(|s| intern(&mut meta.tags, s)).collect())
        .collect();
    let mut by_id: Vec<u32> = (0..products.len() as u32).collect();
    by_id.sort_by(|&a, &b| {
        let id = |o: u32| products.get(o as usize).map_or("", |p| p.id.as_str());
        id(a).cmp(id(b))
    });
    let mut w = SectionWriter::new(MAGIC);
    let stock = || products.iter().flat_map(|p| &p.stock);
    let prices: Vec<f64> = products.iter().map(|p| p.price).collect();
    let costs: Vec<f64> = products.iter().map(|p| p.cost).collect();
    let ratings: Vec<f64> = products.iter().map(|p| decimal_of(p.rating)).collect();
    let (table, codes) = symbols::compress(&texts);
    w.bytes(codec::encode(Tag(MAGIC), &meta).unwrap_or_default())
        .strings(products.iter().map(|p| p.id.as_str()))
        .bytes(table)
        .strings(&codes)
        .strings(brands)
        .packed(brand)
        .decimals(&prices)
        .decimals(&costs)
        .packed(products.iter().map(|p| p.available))
        .packed(products.iter().map(|p| p.ship_days))
        .decimals(&ratings)
        .packed(products.iter().map(|p| p.rating_count))
        .packed(products.iter().map(|p| p.created_at))
        .packed(
            products
                .iter()
                .map(|p| p.leaf().map_or(0, |c| c.saturating_add(1))),
        )
        .packed(flags)
        .packed(currency)
        .rows(products.iter().map(|p| p.stock.iter().map(|s| s.location)))
        .packed(stock().map(|s| s.lead_days))
        .packed(stock().map(|s| s.available))
        .rows(products.iter().map(|p| p.compatible.iter().copied()))
        .rows(safety)
        .rows(tags)
        .packed(by_id);
    w.finish()
}

#[cfg(feature = "build")]
/// The `f64` a rating's shortest decimal form reads as (4.3, not the
/// 4.300000190734863 its `f32` widens to), so it packs as a decimal.
fn decimal_of(rating: f32) -> f64 {
    rating.to_string().parse().unwrap_or(0.0)
}

#[cfg(feature = "build")]
/// The index of `name` in `names`, added when new (saturating at `u16`).
fn intern(names: &mut Vec<String>, name: &str) -> u16 {
    let i = names.iter().position(|n| n == name).unwrap_or_else(|| {
        names.push(name.to_owned());
        names.len() - 1
    });
    u16::try_from(i).unwrap_or(u16::MAX)
}

#[cfg(feature = "build")]
/// The pattern most (id, value) pairs follow, with the id as `{id}`, when
/// at least half of them do: found from the first value that contains its
/// id.
fn template_of<'p>(pairs: impl Iterator<Item = (&'p str, &'p str)> + Clone) -> Option<String> {
    let (id, value) = pairs
        .clone()
        .find(|(id, value)| !id.is_empty() && value.contains(id))?;
    let template = value.replacen(id, ID_PLACEHOLDER, 1);
    let (mut total, mut follow) = (0usize, 0usize);
    for (id, value) in pairs {
        total += 1;
        follow += usize::from(template.replace(ID_PLACEHOLDER, id) == value);
    }
    (follow * 2 >= total).then_some(template)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::store::sections::ProductRecord;

    fn record(id: &str, leaf: u32) -> ProductRecord {
        ProductRecord {
            id: id.into(),
            title: format!("Title {id}"),
            brand: "Acme".into(),
            url: format!("/products/{id}"),
            image: format!("https://cdn.example/{id}.jpg"),
            image_alt: format!("Title {id}"),
            price: 12.5,
            cost: 5.0,
            currency: "EUR".into(),
            category_path: vec![0, leaf],
            available: 7,
            stock: vec![StockAt {
                location: 1,
                available: 7,
                lead_days: 2,
            }],
            compatible: vec![],
            ship_days: 2,
            rating: 4.5,
            rating_count: 10,
            regulated: false,
            safety: vec![],
            tags: vec!["new".into()],
            created_at: 1_700_000_000,
        }
    }

    fn sample() -> CatalogSection {
        let mut odd = record("Z-9", 2);
        odd.url = "/special/z".into();
        odd.image.clear();
        odd.image_alt = "A zebra".into();
        odd.regulated = true;
        odd.safety = vec!["flammable".into()];
        odd.compatible = vec![0];
        odd.currency = "USD".into();
        CatalogSection {
            products: vec![record("B-2", 1), odd, record("A-1", 1)],
            categories: vec!["Home".into(), "Home/Coffee".into(), "Home/Tea".into()],
            locations: vec!["north".into(), "south".into()],
        }
    }

    #[test]
    fn every_field_reads_back_as_written() {
        let source = sample();
        let catalog = Catalog::open(Tag(*b"CATL"), OwnedBytes::new(write(&source))).unwrap();
        assert_eq!(catalog.len(), 3);
        for (p, r) in catalog.products().zip(&source.products) {
            assert_eq!(p.id(), r.id);
            assert_eq!(p.title(), r.title);
            assert_eq!(p.brand(), r.brand);
            assert_eq!(p.url(), r.url);
            assert_eq!(p.image(), r.image);
            assert_eq!(p.image_alt(), r.image_alt);
            assert_eq!((p.price(), p.cost()), (r.price, r.cost));
            assert_eq!(p.currency(), r.currency);
            assert_eq!(p.category_path(), &r.category_path[..]);
            assert_eq!(p.available(), r.available);
            assert_eq!(p.stock().collect::<Vec<_>>(), r.stock);
            assert_eq!(p.compatible().collect::<Vec<_>>(), r.compatible);
            assert_eq!(p.ship_days(), r.ship_days);
            assert_eq!((p.rating(), p.rating_count()), (r.rating, r.rating_count));
            assert_eq!(p.regulated(), r.regulated);
            assert_eq!(p.safety().collect::<Vec<_>>(), r.safety);
            assert_eq!(p.tags().collect::<Vec<_>>(), r.tags);
            assert_eq!(p.created_at(), r.created_at);
        }
        assert_eq!(catalog.ordinal("A-1"), Some(2));
        assert_eq!(catalog.ordinal("Z-9"), Some(1));
        assert_eq!(catalog.ordinal("C-3"), None);
        assert_eq!(catalog.top_of(2), Some(0));
        assert!(catalog.product(3).is_none());
    }

    #[test]
    fn urls_that_follow_the_pattern_are_not_stored() {
        let mut source = sample();
        source.products = (0..50).map(|i| record(&format!("SKU-{i:03}"), 1)).collect();
        let mut explicit = source.clone();
        for (i, p) in explicit.products.iter_mut().enumerate() {
            p.url = format!("/p?x={i:03}");
            p.image = format!("/img/{i:03}.png");
        }
        let stored = |source: &CatalogSection| {
            let c = Catalog::open(Tag(*b"CATL"), OwnedBytes::new(write(source))).unwrap();
            let mut bytes = 0;
            for ord in 0..50 {
                for field in [URL, IMAGE] {
                    bytes += c.texts.codes_of(ord * TEXTS + field).len();
                }
                let p = c.product(ord as u32).unwrap();
                assert_eq!(p.url(), source.products[ord].url);
                assert_eq!(p.image(), source.products[ord].image);
            }
            bytes
        };
        assert_eq!(stored(&source), 0, "templated URLs take no space");
        assert!(stored(&explicit) >= 100);
        assert_eq!(
            template_of([("a", "/p/a"), ("b", "/p/b"), ("c", "/x")].into_iter()),
            Some("/p/{id}".into())
        );
        assert_eq!(template_of([("a", "/x"), ("b", "/y")].into_iter()), None);
    }

    #[test]
    fn ids_asked_in_order_are_found_as_one_at_a_time() {
        let ids: Vec<String> = (0..300).map(|i| format!("P-{:04}", i * 3)).collect();
        let section = CatalogSection {
            products: ids.iter().rev().map(|id| record(id, 1)).collect(),
            ..sample()
        };
        let catalog = Catalog::open(Tag(*b"CATL"), write(&section).into()).unwrap();
        // Sorted asks with gaps, misses before, between and after, then
        // asks out of order.
        let mut asks: Vec<String> = (0..905).step_by(7).map(|i| format!("P-{i:04}")).collect();
        asks.extend(["A", "P-0003", "Q", "P-0000", "P-0897"].map(String::from));
        let mut cursor = 0;
        for id in &asks {
            assert_eq!(
                catalog.ordinal_after(id, &mut cursor),
                catalog.ordinal(id),
                "{id}"
            );
        }
        assert!(catalog.ordinal("P-0003").is_some() && catalog.ordinal("P-0004").is_none());
    }

    #[test]
    fn a_column_of_the_wrong_length_is_named() {
        let mut w = SectionWriter::new(MAGIC);
        w.bytes(codec::encode(Tag(MAGIC), &CatalogMeta::default()).unwrap())
            .strings(["a", "b"]);
        for _ in 3..BLOCKS {
            w.packed::<u32>([]);
        }
        let err = Catalog::open(Tag(*b"CATL"), OwnedBytes::new(w.finish())).unwrap_err();
        assert!(err.to_string().contains("CATL"), "{err}");
    }
}
