//! The shopper's profile, kept in a signed first-party cookie so the edge
//! never reads a database on the request path.
//!
//! `fp_profile=<key id>.<payload>.<tag>`: the payload is base64url JSON
//! (recently viewed products, visit count, last seen), the tag a truncated
//! HMAC-SHA256 under the named key. A forged, stale-keyed, malformed or
//! oversized cookie is ignored: the shopper is treated as new.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use firstpaint_contracts::is_valid_id;
use firstpaint_engine::signals::price_band::{PriceBand, MAX_EVIDENCE};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::keyed_hash::KeySet;
use crate::limits::{
    MAX_BANNER_COUNTERS, MAX_CATEGORY_CHARS, MAX_CHANNEL_CHARS, MAX_COOKIE_VIEWED,
    MAX_KEPT_WORD_CHARS, MAX_ORDERED, MAX_PROFILE_CATEGORIES, MAX_PROFILE_COOKIE_BYTES,
    MAX_PROFILE_QUERIES, MAX_QUERY_WORDS_KEPT, MAX_WANTED, VISIT_GAP_SECONDS,
};

/// Name of the profile cookie.
pub const PROFILE_COOKIE: &str = "fp_profile";
/// Bytes of MAC kept in the cookie.
const TAG_BYTES: usize = 16;

/// What the edge remembers about a shopper who consented to personalization.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// A random first-party id (32 hex digits), made with the profile:
    /// what stable assignments (the canary's share) hash. Nothing else
    /// identifies the shopper, and it leaves with the profile when
    /// consent is withdrawn.
    #[serde(rename = "i", default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Recently viewed products, most recent first.
    #[serde(rename = "v", default)]
    pub viewed: Vec<String>,
    /// Visits so far (a visit ends after 30 idle minutes).
    #[serde(rename = "n", default)]
    pub visits: u32,
    /// Last request, unix seconds.
    #[serde(rename = "t", default)]
    pub last_seen: i64,
    /// Products viewed while they could not be bought, most recent first.
    #[serde(rename = "w", default)]
    pub wanted: Vec<String>,
    /// Pages of this visit that showed each banner, for frequency caps;
    /// the banner first counted most recently first.
    #[serde(rename = "b", default)]
    pub banners: Vec<(String, u32)>,
    /// How this visit arrived (`search`, `social`, ...), for its intent.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Products ordered (reported to `/p13n/collect`) with when (unix
    /// seconds), most recent first, for refills.
    #[serde(rename = "o", default, skip_serializing_if = "Vec::is_empty")]
    pub ordered: Vec<(String, i64)>,
    /// This visit's searches as normalized words, most recent first, for
    /// its intent. Only letters are kept: no numbers, addresses or other
    /// identifiers a shopper might type travel in the cookie.
    #[serde(rename = "q", default, skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<String>,
    /// This visit's category pages (catalog paths), most recent first, for
    /// its intent: the landing category steers the pages after it.
    #[serde(rename = "k", default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Price band: centre (log price over the category median) in
    /// hundredths and evidence in tenths, as whole numbers to keep the
    /// cookie short. Kept across visits.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub price_band: Option<(i32, i32)>,
    /// This visit's product views, how many of them went back to a product
    /// it had viewed, and how many products it viewed (the head of
    /// `viewed`): `next` ranks the visit's own products by its habit of
    /// going back.
    #[serde(rename = "m", default, skip_serializing_if = "is_zero")]
    pub moves: (u32, u32, u32),
}

fn is_zero(moves: &(u32, u32, u32)) -> bool {
    *moves == (0, 0, 0)
}

impl Profile {
    /// A new, empty profile with a random id (none when the runtime gives
    /// no randomness: it is then made on a later request).
    pub fn new() -> Self {
        let mut bytes = [0u8; 16];
        let id = match getrandom::getrandom(&mut bytes) {
            Ok(()) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
            Err(_) => String::new(),
        };
        Profile {
            id,
            ..Profile::default()
        }
    }

    /// Whether the shopper is in the `percent` share (0 to 100) of
    /// shoppers that `salt` (the canary bundle's SHA-256) picks: a hash of
    /// the id, so the same shopper stays in while the share grows, and
    /// another canary picks another share. A profile without an id is in
    /// no share.
    pub fn in_share(&self, salt: &str, percent: u8) -> bool {
        if self.id.is_empty() {
            return false;
        }
        let digest = Sha256::new()
            .chain_update(salt.as_bytes())
            .chain_update(b":")
            .chain_update(self.id.as_bytes())
            .finalize();
        let mut head = [0u8; 4];
        head.copy_from_slice(digest.get(..4).unwrap_or(&[0; 4]));
        u32::from_le_bytes(head) % 100 < u32::from(percent)
    }

    /// Records a request at `now`, counting a new visit after a long gap
    /// (which forgets the last visit's banner counts, channel, searches,
    /// category pages and moves).
    pub fn touch(&mut self, now: i64) {
        if self.visits == 0 || now - self.last_seen > VISIT_GAP_SECONDS {
            self.visits = self.visits.saturating_add(1);
            self.moves = (0, 0, 0);
            self.banners.clear();
            self.channel = None;
            self.queries.clear();
            self.categories.clear();
        }
        self.last_seen = now;
    }

    /// Sets the visit's channel from its landing page (later pages of the
    /// visit keep the first one).
    pub fn record_channel(&mut self, channel: &str) {
        if self.channel.is_none() {
            self.channel = Some(channel.chars().take(MAX_CHANNEL_CHARS).collect());
        }
    }

    /// Remembers that `product` was ordered at `at` (unix seconds).
    pub fn record_order(&mut self, product: &str, at: i64) {
        self.ordered.retain(|(id, _)| id != product);
        self.ordered.insert(0, (product.to_owned(), at));
        self.ordered.sort_by_key(|o| std::cmp::Reverse(o.1));
        self.ordered.truncate(MAX_ORDERED);
    }

    /// Remembers a search of this visit as its normalized words.
    pub fn record_query(&mut self, query: &str) {
        let words = query_words(query);
        if words.is_empty() {
            return;
        }
        self.queries.retain(|q| *q != words);
        self.queries.insert(0, words);
        self.queries.truncate(MAX_PROFILE_QUERIES);
    }

    /// Remembers a category page of this visit by its catalog path.
    pub fn record_category(&mut self, path: &str) {
        if !is_keepable_category(path) {
            return;
        }
        self.categories.retain(|c| c != path);
        self.categories.insert(0, path.to_owned());
        self.categories.truncate(MAX_PROFILE_CATEGORIES);
    }

    /// The shopper's price band, if anything priced was seen.
    pub fn price_band(&self) -> Option<PriceBand> {
        self.price_band.map(|(level, evidence)| PriceBand {
            level: level as f32 / 100.0,
            evidence: evidence as f32 / 10.0,
        })
    }

    /// Moves the price band towards a product at price `level` with
    /// `weight` evidence (see [`PriceBand::record`]).
    pub fn record_price(&mut self, level: f32, weight: f32) {
        let mut band = self.price_band().unwrap_or_default();
        band.record(level, weight);
        self.price_band = Some(stored_band(band));
    }

    /// Counts a view of `product` among this visit's moves (going back
    /// when the visit had viewed it), and moves it to the front of the
    /// recently viewed list.
    pub fn record_view(&mut self, product: &str) {
        let again = self.in_this_visit(product);
        let (views, returns, products) = self.moves;
        self.moves = (
            views.saturating_add(1),
            returns.saturating_add(u32::from(again)),
            products,
        );
        self.remember(product);
    }

    /// Moves `product` to the front of the recently viewed list (it joins
    /// this visit's products) without counting a view (a product put in
    /// the cart).
    pub fn remember(&mut self, product: &str) {
        if !self.in_this_visit(product) {
            self.moves.2 = self.moves.2.saturating_add(1);
        }
        self.viewed.retain(|id| id != product);
        self.viewed.insert(0, product.to_owned());
        self.viewed.truncate(MAX_COOKIE_VIEWED);
    }

    /// Whether this visit viewed (or carted) `product`: this visit's
    /// products lead the recently viewed list.
    fn in_this_visit(&self, product: &str) -> bool {
        let products = self.moves.2 as usize;
        self.viewed.iter().take(products).any(|id| id == product)
    }

    /// Notes that `product` was viewed out of stock (`available` false), or
    /// drops it from the wanted list once it was viewed in stock.
    pub fn record_availability(&mut self, product: &str, available: bool) {
        self.wanted.retain(|id| id != product);
        if !available {
            self.wanted.insert(0, product.to_owned());
            self.wanted.truncate(MAX_WANTED);
        }
    }

    /// Pages of this visit that showed banner `id`.
    pub fn banner_shown(&self, id: &str) -> u32 {
        self.banners
            .iter()
            .find(|(b, _)| b == id)
            .map_or(0, |(_, n)| *n)
    }

    /// Counts one more page showing banner `id`.
    pub fn count_banner(&mut self, id: &str) {
        match self.banners.iter_mut().find(|(b, _)| b == id) {
            Some((_, n)) => *n = n.saturating_add(1),
            None => {
                // Newest first, like the other lists: the bound (and
                // `encode` shedding to fit) drops the banner counted
                // longest ago, never the one just shown, whose frequency
                // cap would then never apply.
                self.banners.insert(0, (id.to_owned(), 1));
                self.banners.truncate(MAX_BANNER_COUNTERS);
            }
        }
    }

    /// Whether this shopper has been here before this visit.
    pub fn is_returning(&self) -> bool {
        self.visits > 1
    }

    /// The signed cookie value, never longer than what [`Profile::decode`]
    /// accepts: a profile of long ids that would not fit sheds its oldest
    /// entries first (see [`Profile::shed_one`]) rather than be lost whole.
    pub fn encode(&self, keys: &KeySet) -> String {
        let mut fitted = self.clone();
        loop {
            let cookie = fitted.encode_as_is(keys);
            if cookie.len() <= MAX_PROFILE_COOKIE_BYTES || !fitted.shed_one() {
                return cookie;
            }
        }
    }

    /// Drops one entry, least useful first: the oldest recently viewed
    /// beyond four, wanted, ordered, banner counts, searches, category
    /// pages, then the last views. `false` when nothing is left to drop.
    fn shed_one(&mut self) -> bool {
        if self.viewed.len() > 4 {
            self.viewed.pop();
            return true;
        }
        self.wanted.pop().is_some()
            || self.ordered.pop().is_some()
            || self.banners.pop().is_some()
            || self.queries.pop().is_some()
            || self.categories.pop().is_some()
            || self.viewed.pop().is_some()
    }

    fn encode_as_is(&self, keys: &KeySet) -> String {
        seal_cookie(&serde_json::to_vec(self).unwrap_or_default(), keys)
    }

    /// The profile in a cookie value, or `None` when it cannot be trusted.
    pub fn decode(value: &str, keys: &KeySet) -> Option<Profile> {
        if value.len() > MAX_PROFILE_COOKIE_BYTES {
            return None;
        }
        let (signed, tag) = value.rsplit_once('.')?;
        let (key_id, payload) = signed.split_once('.')?;
        let key = keys.get(key_id)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if !key.verify(signed.as_bytes(), &tag) {
            return None;
        }
        let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let mut profile: Profile = serde_json::from_slice(&json).ok()?;
        profile.viewed.retain(|id| is_valid_id(id));
        profile.viewed.truncate(MAX_COOKIE_VIEWED);
        profile.wanted.retain(|id| is_valid_id(id));
        profile.banners.retain(|(id, _)| is_valid_id(id));
        profile.banners.truncate(MAX_BANNER_COUNTERS);
        profile.wanted.truncate(MAX_WANTED);
        profile.channel = profile.channel.filter(|c| {
            c.len() <= MAX_CHANNEL_CHARS && c.chars().all(|ch| ch.is_ascii_lowercase())
        });
        profile.ordered.retain(|(id, _)| is_valid_id(id));
        profile.ordered.truncate(MAX_ORDERED);
        profile.queries.retain(|q| *q == query_words(q));
        profile.queries.truncate(MAX_PROFILE_QUERIES);
        profile.categories.retain(|c| is_keepable_category(c));
        profile.categories.truncate(MAX_PROFILE_CATEGORIES);
        profile.price_band = profile.price_band().map(stored_band);
        Some(profile)
    }
}

/// `json` sealed as a profile cookie value under the current key of
/// `keys` (`<key id>.<base64url payload>.<tag>`), whatever the bytes: what
/// [`Profile::encode`] writes, and what the fuzzer signs to reach
/// [`Profile::decode`]'s readers past the tag.
pub fn seal_cookie(json: &[u8], keys: &KeySet) -> String {
    let key = keys.current();
    let signed = format!("{}.{}", key.id, URL_SAFE_NO_PAD.encode(json));
    let mac = key.mac(signed.as_bytes());
    let tag = URL_SAFE_NO_PAD.encode(mac.get(..TAG_BYTES).unwrap_or_default());
    format!("{signed}.{tag}")
}

/// A price band as the cookie stores it, within its bounds (a level of
/// ±3, evidence up to [`MAX_EVIDENCE`]).
fn stored_band(band: PriceBand) -> (i32, i32) {
    let level = (band.level.clamp(-3.0, 3.0) * 100.0).round() as i32;
    let evidence = (band.evidence.clamp(0.0, MAX_EVIDENCE) * 10.0).round() as i32;
    (level, evidence)
}

/// Whether a category path may be kept: short, no control characters.
fn is_keepable_category(path: &str) -> bool {
    !path.is_empty()
        && path.chars().count() <= MAX_CATEGORY_CHARS
        && !path.chars().any(char::is_control)
}

/// A query as the profile keeps it: its normalized search words of letters
/// only, at most [`MAX_QUERY_WORDS_KEPT`], space-separated.
fn query_words(query: &str) -> String {
    firstpaint_engine::text::normalize::terms(query)
        .into_iter()
        .filter(|t| t.chars().all(char::is_alphabetic) && t.chars().count() <= MAX_KEPT_WORD_CHARS)
        .take(MAX_QUERY_WORDS_KEPT)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(spec: &str) -> KeySet {
        KeySet::parse(spec).unwrap()
    }

    const K1: &str = "k1:1111111111111111111111111111111111111111111111111111111111111111";
    const K2: &str = "k2:2222222222222222222222222222222222222222222222222222222222222222";

    #[test]
    fn a_share_is_stable_grows_with_its_percent_and_differs_by_canary() {
        let shoppers: Vec<Profile> = (0..2000).map(|_| Profile::new()).collect();
        assert!(shoppers.iter().all(|p| p.id.len() == 32));
        let ids: std::collections::HashSet<&str> = shoppers.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids.len(), 2000, "ids are random");
        let share = |salt: &str, percent: u8| -> Vec<bool> {
            shoppers.iter().map(|p| p.in_share(salt, percent)).collect()
        };
        let thirty = share("a", 30);
        let n = thirty.iter().filter(|&&x| x).count();
        // 2,000 draws at 30%: 600 +- 4 sd (20.5).
        assert!((518..=682).contains(&n), "{n}");
        assert_eq!(thirty, share("a", 30), "stable");
        let fifty = share("a", 50);
        assert!(
            thirty.iter().zip(&fifty).all(|(t, f)| !t || *f),
            "a growing share keeps its shoppers"
        );
        assert_ne!(thirty, share("b", 30), "another canary, another share");
        assert!(share("a", 0).iter().all(|x| !x));
        assert!(share("a", 100).iter().all(|&x| x));
        assert!(!Profile::default().in_share("a", 100), "no id, no share");
    }

    fn sample() -> Profile {
        let mut p = Profile::default();
        p.touch(1_000);
        p.record_view("SKU-1");
        p.record_view("SKU-2");
        p.record_view("SKU-1");
        p
    }

    #[test]
    fn round_trips_and_survives_rotation() {
        let p = sample();
        assert_eq!(p.viewed, vec!["SKU-1", "SKU-2"]);
        let cookie = p.encode(&keys(K1));
        assert!(cookie.starts_with("k1."));
        assert!(cookie.len() < 200, "{}", cookie.len());
        assert_eq!(Profile::decode(&cookie, &keys(K1)), Some(p.clone()));
        assert_eq!(
            Profile::decode(&cookie, &keys(&format!("{K2},{K1}"))),
            Some(p)
        );
    }

    #[test]
    fn forged_stale_and_oversized_cookies_are_ignored() {
        let cookie = sample().encode(&keys(K1));
        assert_eq!(Profile::decode(&cookie, &keys(K2)), None, "key rotated out");
        let (signed, _) = cookie.rsplit_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"v":["SKU-9"],"n":50,"t":0}"#);
        let forged = format!("k1.{forged_payload}.{}", cookie.rsplit_once('.').unwrap().1);
        assert_eq!(Profile::decode(&forged, &keys(K1)), None, "payload changed");
        assert_eq!(
            Profile::decode(&format!("{signed}.AAAA"), &keys(K1)),
            None,
            "short tag"
        );
        assert_eq!(Profile::decode("garbage", &keys(K1)), None);
        assert_eq!(Profile::decode(&"k1.".repeat(2000), &keys(K1)), None);
    }

    #[test]
    fn visits_count_after_a_long_gap() {
        let mut p = Profile::default();
        p.touch(0);
        p.touch(60);
        assert_eq!(p.visits, 1);
        assert!(!p.is_returning());
        p.touch(60 + VISIT_GAP_SECONDS + 1);
        assert_eq!(p.visits, 2);
        assert!(p.is_returning());
    }

    #[test]
    fn moves_count_going_back_within_the_visit() {
        let mut p = Profile::default();
        p.touch(60);
        for id in ["a", "b", "a", "a", "c"] {
            p.record_view(id);
        }
        // Five views; the third and fourth went back; three products.
        assert_eq!(p.moves, (5, 2, 3));
        // A cart add is no view; a product carted before it is viewed joins
        // the visit's products, so viewing it then goes back.
        p.remember("b");
        assert_eq!(p.moves, (5, 2, 3));
        p.remember("d");
        p.record_view("d");
        assert_eq!(p.moves, (6, 3, 4));
        // The next visit starts counting again: a product of the last
        // visit is new to this one.
        p.touch(60 + VISIT_GAP_SECONDS + 1);
        assert_eq!(p.moves, (0, 0, 0));
        p.record_view("a");
        p.record_view("c");
        p.record_view("a");
        assert_eq!(p.moves, (3, 1, 2));
    }

    #[test]
    fn wanted_products_leave_the_list_when_seen_in_stock() {
        let mut p = Profile::default();
        p.record_availability("A", false);
        p.record_availability("B", false);
        assert_eq!(p.wanted, vec!["B", "A"]);
        p.record_availability("A", true);
        assert_eq!(p.wanted, vec!["B"]);
        for i in 0..20 {
            p.record_availability(&format!("P{i}"), false);
        }
        assert_eq!(p.wanted.len(), MAX_WANTED);
    }

    #[test]
    fn banner_counts_reset_with_each_visit() {
        let mut p = Profile::default();
        p.touch(0);
        p.count_banner("sale");
        p.count_banner("sale");
        assert_eq!(p.banner_shown("sale"), 2);
        p.touch(60);
        assert_eq!(p.banner_shown("sale"), 2);
        p.touch(60 + VISIT_GAP_SECONDS + 1);
        assert_eq!(p.banner_shown("sale"), 0);
    }

    #[test]
    fn a_visit_keeps_its_landing_channel_and_letters_only_searches() {
        let mut p = Profile::default();
        p.touch(0);
        p.record_channel("social");
        p.record_channel("direct");
        assert_eq!(p.channel.as_deref(), Some("social"));
        p.record_query("Trail Running Shoes");
        p.record_query("call me on 07700 900123 jo@example.com");
        p.record_query("trail running shoes");
        assert_eq!(p.queries, vec!["trail running shoe", "call me jo example"]);
        for i in 0..10 {
            p.record_query(&"abc".repeat(i + 1));
        }
        assert_eq!(p.queries.len(), MAX_PROFILE_QUERIES);
        let cookie = p.encode(&keys(K1));
        assert_eq!(Profile::decode(&cookie, &keys(K1)), Some(p.clone()));
        // A new visit forgets them.
        p.touch(VISIT_GAP_SECONDS + 1);
        assert_eq!(p.channel, None);
        assert!(p.queries.is_empty());
    }

    #[test]
    fn a_visit_keeps_its_last_category_pages() {
        let mut p = Profile::default();
        p.touch(0);
        p.record_category("Sports & Outdoors/Camping");
        p.record_category("Home & Kitchen/Coffee");
        p.record_category("Sports & Outdoors/Camping");
        p.record_category("bad\u{7}name");
        p.record_category(&"x".repeat(MAX_CATEGORY_CHARS + 1));
        assert_eq!(
            p.categories,
            vec!["Sports & Outdoors/Camping", "Home & Kitchen/Coffee"]
        );
        for c in ["A", "B", "C", "D"] {
            p.record_category(c);
        }
        assert_eq!(p.categories, vec!["D", "C", "B"]);
        let cookie = p.encode(&keys(K1));
        assert_eq!(Profile::decode(&cookie, &keys(K1)), Some(p.clone()));
        p.touch(VISIT_GAP_SECONDS + 1);
        assert!(p.categories.is_empty());
    }

    #[test]
    fn the_price_band_is_kept_short_and_within_bounds() {
        let mut p = Profile::default();
        assert_eq!(p.price_band(), None);
        p.record_price(0.5, 1.0);
        p.record_price(0.2, 3.0);
        let band = p.price_band().unwrap();
        assert!((band.level - 0.275).abs() < 0.01, "{band:?}");
        assert_eq!(band.evidence, 4.0);
        let cookie = p.encode(&keys(K1));
        assert_eq!(Profile::decode(&cookie, &keys(K1)), Some(p.clone()));
        // A signed but out-of-range band (an older key's writer) is clamped.
        p.price_band = Some((90_000, -5));
        let clamped = Profile::decode(&p.encode(&keys(K1)), &keys(K1)).unwrap();
        assert_eq!(clamped.price_band, Some((300, 0)));
    }

    #[test]
    fn orders_are_kept_newest_first_and_capped() {
        let mut p = Profile::default();
        p.record_order("A", 100);
        p.record_order("B", 300);
        p.record_order("A", 200);
        assert_eq!(
            p.ordered,
            vec![("B".to_owned(), 300), ("A".to_owned(), 200)]
        );
        for i in 0..20 {
            p.record_order(&format!("P{i}"), 1_000 + i);
        }
        assert_eq!(p.ordered.len(), MAX_ORDERED);
        assert_eq!(p.ordered[0].0, "P19");
    }

    #[test]
    fn banner_counts_keep_the_newest_within_their_bound() {
        let mut p = Profile::default();
        for i in 0..MAX_BANNER_COUNTERS + 3 {
            p.count_banner(&format!("b{i}"));
        }
        p.count_banner(&format!("b{}", MAX_BANNER_COUNTERS + 2));
        assert_eq!(p.banners.len(), MAX_BANNER_COUNTERS);
        let newest = format!("b{}", MAX_BANNER_COUNTERS + 2);
        assert_eq!(p.banner_shown(&newest), 2, "the newest banner counts");
        assert_eq!(p.banner_shown("b0"), 0, "the first counted made room");
        // A signed cookie holding more than the bound is cut on decode.
        p.banners = (0..20).map(|i| (format!("b{i}"), 1)).collect();
        let cookie = p.encode_as_is(&keys(K1));
        let read = Profile::decode(&cookie, &keys(K1)).expect("a signed profile decodes");
        assert_eq!(read.banners.len(), MAX_BANNER_COUNTERS);
    }

    #[test]
    fn a_profile_of_the_longest_ids_still_fits_its_cookie() {
        let long = |c: char, i: usize| format!("{c}{i:02}{}", "x".repeat(61));
        let mut p = Profile::default();
        p.touch(0);
        for i in 0..20 {
            p.record_view(&long('v', i));
            p.record_availability(&long('w', i), false);
            p.record_order(&long('o', i), i as i64);
            p.count_banner(&long('b', i));
            p.record_category(&"c".repeat(MAX_CATEGORY_CHARS - 1));
            p.record_query("alpha beta gamma delta epsilon");
        }
        p.record_price(0.4, 3.0);
        assert!(
            p.encode_as_is(&keys(K1)).len() > MAX_PROFILE_COOKIE_BYTES,
            "as it is, this profile would not fit"
        );
        let cookie = p.encode(&keys(K1));
        assert!(cookie.len() <= MAX_PROFILE_COOKIE_BYTES, "{}", cookie.len());
        let back = Profile::decode(&cookie, &keys(K1)).expect("it is read back, not dropped");
        assert_eq!(
            back.viewed.first(),
            p.viewed.first(),
            "the newest view survives"
        );
        assert!(back.viewed.len() >= 4);
        assert_eq!(back.price_band, p.price_band);
        assert_eq!(back.visits, 1);
    }

    #[test]
    fn the_list_is_capped() {
        let mut p = Profile::default();
        for i in 0..50 {
            p.record_view(&format!("P{i}"));
        }
        assert_eq!(p.viewed.len(), MAX_COOKIE_VIEWED);
        assert_eq!(p.viewed[0], "P49");
    }
}
