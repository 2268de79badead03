//! Live data laid over the catalog: stock per location, prices and whether
//! a product can be bought, as the merchant's systems last pushed them
//! (`firstpaint live push`), between rebuilds.
//!
//! The edge opens a signed overlay (`firstpaint_bundle::open_live`), and
//! [`LiveData::resolve`] reads its updates against one store's catalog:
//! ids to ordinals, location names to the catalog's location indexes (a
//! location the bundle does not know gets an index after the catalog's,
//! so two products stocked there still ship in one box). Every accessor of
//! [`Product`](super::Product) then reads a product's live values in place
//! of the bundle's columns, so every guardrail (inventory, days of cover,
//! price and margin floors, same-box shipping, not for sale) and every
//! rendered price sees them. What the bundle derived from prices when it
//! was built (the deal and price-level signals) stays the bundle's until
//! the next build.

use firstpaint_bundle::{codec, Tag};
use firstpaint_contracts::LiveUpdate;
use serde::Serialize;

use super::catalog::Catalog;
use super::sections::StockAt;
use crate::error::EngineError;

/// Names an overlay's payload in codec errors.
pub const LIVE_PAYLOAD: Tag = Tag(*b"LIVE");

/// An overlay's payload: its updates, sorted by id.
pub fn encode_updates(updates: &[LiveUpdate]) -> Result<Vec<u8>, EngineError> {
    Ok(codec::encode(LIVE_PAYLOAD, &updates)?)
}

/// The updates of an overlay's payload.
pub fn decode_updates(payload: &[u8]) -> Result<Vec<LiveUpdate>, EngineError> {
    Ok(codec::decode(LIVE_PAYLOAD, payload)?)
}

/// What applying an overlay to a store did, for health checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LiveReport {
    /// The overlay's sequence number.
    pub sequence: u64,
    /// When it was signed, unix seconds.
    pub created_at: i64,
    /// Updates it holds.
    pub updates: usize,
    /// Of them, the products this store has.
    pub applied: usize,
    /// Of them, ids this store does not have (products added since the
    /// bundle was built, or held by another shard).
    pub unknown_products: usize,
    /// Locations the updates name that the bundle's catalog does not.
    pub new_locations: usize,
}

/// One product's live values.
#[derive(Debug, Clone, Copy)]
struct Entry {
    price: Option<f64>,
    buyable: Option<bool>,
    /// Its stock rows in [`LiveData::stock`], when the update gave them.
    stock: Option<(u32, u32)>,
    /// Units over its locations, when the update gave them (saturating).
    available: Option<u32>,
}

/// An overlay resolved against one store's catalog.
#[derive(Debug, Default)]
pub struct LiveData {
    /// Per ordinal: 1 + its entry, 0 for none; empty without an overlay.
    index: Vec<u32>,
    entries: Vec<Entry>,
    stock: Vec<StockAt>,
    report: Option<LiveReport>,
}

/// One product's live values, as [`Product`](super::Product) reads them.
#[derive(Debug, Clone, Copy)]
pub struct LiveValues<'a> {
    entry: &'a Entry,
    stock: Option<&'a [StockAt]>,
}

impl LiveData {
    /// Resolves `updates` (overlay `sequence`, signed at `created_at`)
    /// against `catalog`. A later update of a product replaces the fields
    /// it gives and keeps the others, as `LiveUpdate::merge` does.
    pub fn resolve(
        catalog: &Catalog,
        sequence: u64,
        created_at: i64,
        updates: &[LiveUpdate],
    ) -> Self {
        // A store has a handful of locations: a scan beats hashing each.
        let mut locations: Vec<&str> = catalog.locations().iter().map(String::as_str).collect();
        let known_locations = locations.len();
        let mut data = LiveData {
            index: vec![0; catalog.len()],
            ..LiveData::default()
        };
        let mut report = LiveReport {
            sequence,
            created_at,
            updates: updates.len(),
            ..LiveReport::default()
        };
        // Updates come sorted by id: each lookup starts where the last ended.
        let mut cursor = 0;
        for update in updates {
            let Some(ord) = catalog.ordinal_after(&update.id, &mut cursor) else {
                report.unknown_products += 1;
                continue;
            };
            let (stock, available) = match &update.inventory {
                Some(inventory) => {
                    let from = data.stock.len() as u32;
                    let mut units = 0u32;
                    for s in inventory {
                        let at = match locations.iter().position(|l| *l == s.location) {
                            Some(at) => at,
                            None => {
                                locations.push(&s.location);
                                locations.len() - 1
                            }
                        };
                        let location = u16::try_from(at).unwrap_or(u16::MAX);
                        units = units.saturating_add(s.available);
                        data.stock.push(StockAt {
                            location,
                            available: s.available,
                            lead_days: s.lead_days,
                        });
                    }
                    (Some((from, data.stock.len() as u32)), Some(units))
                }
                None => (None, None),
            };
            let entry = Entry {
                price: update.price,
                buyable: update.buyable,
                stock,
                available,
            };
            match data.index.get_mut(ord as usize) {
                Some(slot) if *slot == 0 => {
                    data.entries.push(entry);
                    *slot = data.entries.len() as u32;
                    report.applied += 1;
                }
                Some(slot) => {
                    if let Some(e) = data.entries.get_mut(*slot as usize - 1) {
                        e.price = entry.price.or(e.price);
                        e.buyable = entry.buyable.or(e.buyable);
                        if entry.stock.is_some() {
                            (e.stock, e.available) = (entry.stock, entry.available);
                        }
                    }
                }
                None => report.unknown_products += 1,
            }
        }
        report.new_locations = locations.len() - known_locations;
        data.report = Some(report);
        data
    }

    /// Product `ord`'s live values, if the overlay has any.
    #[inline]
    pub fn get(&self, ord: u32) -> Option<LiveValues<'_>> {
        let slot = *self.index.get(ord as usize)?;
        let entry = self.entries.get(slot.checked_sub(1)? as usize)?;
        let stock = entry
            .stock
            .and_then(|(from, to)| self.stock.get(from as usize..to as usize));
        Some(LiveValues { entry, stock })
    }

    /// What the overlay applied; `None` without one.
    pub fn report(&self) -> Option<&LiveReport> {
        self.report.as_ref()
    }
}

impl<'a> LiveValues<'a> {
    /// The price now, if the update gave one.
    pub fn price(&self) -> Option<f64> {
        self.entry.price
    }

    /// Whether it can be bought now (unless an update said otherwise).
    pub fn buyable(&self) -> bool {
        self.entry.buyable.unwrap_or(true)
    }

    /// Units available now over all locations, if the update gave stock.
    pub fn available(&self) -> Option<u32> {
        self.entry.available
    }

    /// Stock per location now, if the update gave it.
    pub fn stock(&self) -> Option<&'a [StockAt]> {
        self.stock
    }
}
