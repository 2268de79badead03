//! Which banner a page shows: the merchant's banners are rules with a
//! window, a condition and a per-visit cap; the first that holds wins.

use firstpaint_contracts::BannerCondition;

use crate::store::sections::BannerRule;
use crate::store::Store;

/// The banner for a page at `now` (unix seconds), about `product` if it
/// is a product page: the active banner of highest priority whose
/// condition holds and whose cap is not reached. `shown` says how many
/// pages of this visit showed a banner; `None` when nothing can be
/// counted (no consent), which rules out capped banners.
pub fn choose<'a>(
    store: &'a Store,
    now: i64,
    product: Option<&str>,
    shown: Option<&dyn Fn(&str) -> u32>,
) -> Option<&'a BannerRule> {
    let rules = store.rules();
    let min = rules.min_inventory.max(1);
    let hour = u8::try_from(now.rem_euclid(86_400) / 3_600).unwrap_or(0);
    rules.banners.iter().find(|b| {
        let active = (b.from..b.until).contains(&now);
        let holds = match b.show {
            BannerCondition::Always => true,
            BannerCondition::LowStock => product
                .and_then(|id| store.product(id))
                .is_some_and(|p| p.available() >= min && p.available() < b.low_stock_below),
            BannerCondition::BeforeCutoff => hour < b.cutoff_hour,
        };
        let under_cap = match (b.max_per_visit, shown) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(cap), Some(shown)) => shown(&b.id) < cap,
        };
        active && holds && under_cap
    })
}
