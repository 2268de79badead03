//! Who is asking: consent, region and (with consent) the signed profile.

use worker::{Env, Request};

use firstpaint_engine::signals::price_band::VIEW_EVIDENCE;
use firstpaint_engine::{BannerRule, Engine, IntentSignals, ViewCounts, Visitor};

use crate::consent::{self, Consent};
use crate::cookies::{cookie_value, delete_cookie, set_cookie};
use crate::keyed_hash::KeySet;
use crate::profile::{Profile, PROFILE_COOKIE};

/// Secret (or variable, in dev) holding the profile cookie's keys, `id:hex,…`.
pub const PROFILE_KEYS_VAR: &str = "PROFILE_KEYS";
/// Dev-only variable naming a request header trusted to carry the region.
pub const REGION_HEADER_VAR: &str = "DEV_REGION_HEADER";
/// How long the profile cookie lives.
const PROFILE_MAX_AGE: u32 = 30 * 24 * 3600;

/// The shopper behind one request.
#[derive(Debug, Clone)]
pub struct Shopper {
    /// What they agreed to (or the regional default).
    pub consent: Consent,
    /// Their profile, only with personalization consent.
    pub profile: Option<Profile>,
    /// Their country, when known (regional exclusions, consent defaults).
    pub region: Option<String>,
    /// Whether a profile cookie arrived (to delete it without consent).
    had_cookie: bool,
    keys: Option<KeySet>,
    secure: bool,
}

/// What one storefront page says about the visit.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageSeen<'a> {
    /// How the visit arrived, from the URL and referrer (`None` from the
    /// store itself).
    pub channel: Option<&'a str>,
    /// The catalog path of a category page.
    pub category: Option<&'a str>,
    /// The product of a product page.
    pub product: Option<&'a str>,
}

/// A variable or secret as text, if set.
///
/// Both are strings on `env`: one property read, where worker's
/// `Env::secret` and `Env::var` each also ask the value's constructor for
/// its name (and build an error for a setting that is not there, as most
/// are): a page reads ten settings.
pub fn setting(env: &Env, name: &str) -> Option<String> {
    worker::js_sys::Reflect::get(env, &name.into())
        .ok()?
        .as_string()
        .filter(|v| !v.is_empty())
}

/// A variable or secret read as a number (or any `T`), `default` when it
/// is unset or not one.
pub fn setting_or<T: std::str::FromStr>(env: &Env, name: &str, default: T) -> T {
    setting(env, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Shopper {
    /// Reads consent and profile from the request; `rules` are the bundle's.
    pub fn identify(
        req: &Request,
        env: &Env,
        rules: &firstpaint_engine::store::sections::ConsentSection,
    ) -> Shopper {
        let header = req.headers().get("cookie").ok().flatten();
        let region = region(req, env);
        let consent = consent::decide(header.as_deref(), region.as_deref(), rules);
        let keys = setting(env, PROFILE_KEYS_VAR).and_then(|k| match KeySet::parse(&k) {
            Ok(keys) => Some(keys),
            Err(e) => {
                worker::console_error!("firstpaint: {PROFILE_KEYS_VAR}: {e}; no profiles");
                None
            }
        });
        let cookie = cookie_value(header.as_deref(), PROFILE_COOKIE);
        let profile = match (&keys, consent.personalization) {
            (Some(keys), true) => {
                let mut profile = cookie
                    .and_then(|c| Profile::decode(c, keys))
                    .unwrap_or_default();
                // A profile from before ids gets one, keeping the rest.
                if profile.id.is_empty() {
                    profile.id = Profile::new().id;
                }
                Some(profile)
            }
            _ => None,
        };
        let secure = req.url().is_ok_and(|u| u.scheme() == "https");
        Shopper {
            consent,
            profile,
            region,
            had_cookie: cookie.is_some(),
            keys,
            secure,
        }
    }

    /// Records this page in the profile: a request at `now` arriving by
    /// `channel` (`None` from the store itself), a category page of
    /// `category` (a catalog path), and a view of `product` (remembering
    /// it when it cannot be bought).
    pub fn record_page(&mut self, engine: &Engine, now: i64, page: PageSeen<'_>) {
        let Some(profile) = self.profile.as_mut() else {
            return;
        };
        profile.touch(now);
        if let Some(c) = page.channel {
            profile.record_channel(c);
        }
        if let Some(c) = page.category {
            profile.record_category(c);
        }
        let Some(id) = page.product else {
            return;
        };
        profile.record_view(id);
        let Some(ord) = engine.store().ordinal(id) else {
            return;
        };
        if let Some(p) = engine.store().product_at(ord) {
            let min = engine.store().rules().min_inventory.max(1);
            profile.record_availability(id, p.available() >= min);
        }
        if let Some(level) = engine.store().price_level(ord) {
            profile.record_price(level, VIEW_EVIDENCE);
        }
    }

    /// The page's banner, counted against its per-visit cap. It is chosen
    /// before the page streams, so the count travels in the cookie sent
    /// with the headers; a page without a banner slot still counts, so caps
    /// err on showing less.
    pub fn banner(
        &mut self,
        engine: &Engine,
        now: i64,
        product: Option<&str>,
    ) -> Option<BannerRule> {
        let chosen = match self.profile.as_ref() {
            Some(p) => engine.choose_banner(now, product, Some(&|id: &str| p.banner_shown(id))),
            None => engine.choose_banner(now, product, None),
        }
        .cloned();
        if let (Some(b), Some(p)) = (&chosen, self.profile.as_mut()) {
            if b.max_per_visit.is_some() {
                p.count_banner(&b.id);
            }
        }
        chosen
    }

    /// What the engine is told about this shopper at `now`: the one
    /// description every page, the JSON API and the search give it (region
    /// always; views, wants, orders, the visit's signals and price band
    /// only with personalization consent).
    pub fn visitor(&self, now: i64) -> Visitor {
        let mut visitor = Visitor {
            region: self.region.clone(),
            now,
            ..Visitor::default()
        };
        if let Some(p) = &self.profile {
            visitor.viewed = p.viewed.clone();
            visitor.returning = p.is_returning();
            visitor.wanted = p.wanted.clone();
            visitor.ordered = p.ordered.clone();
            visitor.signals = IntentSignals {
                channel: p.channel.clone(),
                queries: p.queries.clone(),
                categories: p.categories.clone(),
            };
            visitor.price_band = p.price_band();
            visitor.view_counts = ViewCounts {
                views: p.moves.0,
                returns: p.moves.1,
            };
        }
        visitor
    }

    /// Remembers a search of this visit (nothing without consent).
    pub fn record_query(&mut self, query: &str) {
        if let Some(p) = self.profile.as_mut() {
            p.record_query(query);
        }
    }

    /// Recently viewed products to rank with (empty without consent).
    pub fn viewed(&self) -> Vec<String> {
        self.profile
            .as_ref()
            .map(|p| p.viewed.clone())
            .unwrap_or_default()
    }

    /// The `Set-Cookie` value after this request: the updated profile, a
    /// deletion when consent is missing but a cookie came, or nothing
    /// (also when the profile keys cannot be read).
    pub fn set_cookie(&self) -> Option<String> {
        match (&self.profile, &self.keys) {
            (Some(p), Some(keys)) => Some(set_cookie(
                PROFILE_COOKIE,
                &p.encode(keys),
                PROFILE_MAX_AGE,
                self.secure,
            )),
            // Deleted only for want of consent: without keys (a secret
            // missing or garbled, logged) the cookie is left as it came,
            // not wiped from every shopper until the secret is fixed.
            _ if self.had_cookie && !self.consent.personalization => {
                Some(delete_cookie(PROFILE_COOKIE, self.secure))
            }
            _ => None,
        }
    }
}

/// The shopper's country: Cloudflare's geolocation, or in dev a trusted
/// header. Cloudflare's codes for no country (`XX`: unknown, `T1`: Tor)
/// are no region, so the rules' default for an unknown one applies
/// (`unknown_region_opt_in`), not the default of a region that is not
/// opt-in.
fn region(req: &Request, env: &Env) -> Option<String> {
    if let Some(header) = setting(env, REGION_HEADER_VAR) {
        if let Ok(Some(r)) = req.headers().get(&header) {
            return known_region(r.to_ascii_uppercase());
        }
    }
    req.cf().and_then(|cf| cf.country()).and_then(known_region)
}

/// `code`, unless it is one of Cloudflare's codes for no country.
fn known_region(code: String) -> Option<String> {
    (!matches!(code.as_str(), "XX" | "T1")).then_some(code)
}
