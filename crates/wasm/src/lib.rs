//! A thin wasm-bindgen facade over the firstpaint engine, for JavaScript
//! workers (a JS worker that wants rankings without the Rust worker) and for
//! browsers (previewing a bundle in a merchandising tool).
//!
//! ```js
//! import { FirstpaintEngine } from "firstpaint-wasm";
//! const engine = new FirstpaintEngine(bundleBytes, publicKeyHex, Date.now() / 1000);
//! const shopper = JSON.stringify({ now: Date.now() / 1000, viewed: ["SKU-9"], region: "DE" });
//! const ranking = JSON.parse(engine.rank("similar", 6, "SKU-1", [], undefined, shopper));
//! const results = JSON.parse(engine.search("red dress", 1, 24, shopper));
//! ```
//!
//! Everything here is a conversion: the logic is in `firstpaint-engine`, and
//! the plain functions ([`open`], [`rank_json`], [`search_json`]) are what
//! the host tests run.
#![deny(missing_docs)]

mod json;

use firstpaint_bundle::{open_live, parse_verifying_key, Bundle, OwnedBytes};
use firstpaint_engine::{decode_updates, Engine, SearchRequest, SlotKind, SlotRequest, Visitor};
use wasm_bindgen::prelude::*;

/// Verifies and loads a bundle, hashing its sections here when `digests`
/// is `None`, else taking them from the caller (32 bytes a section, in
/// [`section_ranges`] order); errors are messages for JavaScript.
pub fn open(
    bundle: Vec<u8>,
    public_key_hex: &str,
    now_seconds: f64,
    digests: Option<&[u8]>,
) -> Result<Engine, String> {
    let key = parse_verifying_key(public_key_hex).map_err(|e| format!("public key: {e}"))?;
    let now = now_seconds as i64;
    let bytes = OwnedBytes::new(bundle);
    let bundle = match digests {
        None => Bundle::open(bytes, &key, now),
        Some(d) => {
            let digests: Vec<[u8; 32]> = d
                .chunks_exact(32)
                .filter_map(|c| c.try_into().ok())
                .collect();
            Bundle::open_with_digests(bytes, &key, now, &digests)
        }
    };
    let bundle = bundle.map_err(|e| e.to_string())?;
    Engine::from_bundle(bundle).map_err(|e| e.to_string())
}

/// `engine` with a live overlay (`firstpaint live push`'s `overlays/…`
/// value) laid over its bundle: signed by the hex public key, not expired
/// at `now_seconds`, not older than overlay `newest` (0 for none). The
/// payload's SHA-256 is hashed here unless the host gives it
/// (`payload_sha256`, over the bytes from [`firstpaint_bundle::LIVE_PAYLOAD_AT`]).
pub fn with_live(
    engine: &Engine,
    overlay: &[u8],
    public_key_hex: &str,
    now_seconds: f64,
    newest: u64,
    payload_sha256: Option<&[u8]>,
) -> Result<Engine, String> {
    let key = parse_verifying_key(public_key_hex).map_err(|e| format!("public key: {e}"))?;
    let digest = match payload_sha256 {
        Some(d) => Some(<[u8; 32]>::try_from(d).map_err(|_| "the payload digest is not 32 bytes")?),
        None => None,
    };
    let (header, payload) = open_live(overlay, &[key], now_seconds as i64, newest, digest)
        .map_err(|e| e.to_string())?;
    let updates = decode_updates(payload).map_err(|e| e.to_string())?;
    Ok(engine.with_live(&header, &updates))
}

/// Where each section of `bundle` lies, as `[start, end, start, end, …]`
/// in table order: what a host hashes (natively, e.g. with
/// `crypto.subtle.digest("SHA-256", …)`) for
/// [`FirstpaintEngine::with_digests`].
#[wasm_bindgen(js_name = sectionRanges)]
pub fn section_ranges(bundle: &[u8]) -> Result<Vec<u32>, JsError> {
    let ranges =
        firstpaint_bundle::section_ranges(bundle).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(ranges
        .into_iter()
        .flat_map(|r| [r.start as u32, r.end as u32])
        .collect())
}

/// What a slot is for, as JavaScript passes it.
pub struct Request {
    /// Slot type.
    pub slot: String,
    /// Number of items.
    pub k: Option<usize>,
    /// Product of a product-page slot.
    pub product: Option<String>,
    /// Cart ids.
    pub cart: Vec<String>,
    /// Category a `category` slot lists (path, leaf name or page slug).
    pub category: Option<String>,
}

/// The shopper from its JSON (the engine's [`Visitor`]: `now` required;
/// `viewed`, `returning`, `wanted`, `ordered`, `signals`, `price_band`,
/// `region` optional), the one way every caller of the engine describes a
/// shopper; the error names the field and column.
pub fn visitor(json: &str) -> Result<Visitor, String> {
    serde_json::from_str(json).map_err(|e| format!("visitor: {e}"))
}

/// Ranks a slot for the shopper `visitor` (JSON, see [`visitor`]) and
/// returns the ranking as JSON.
pub fn rank_json(engine: &Engine, r: Request, visitor_json: &str) -> Result<String, String> {
    let Request {
        slot,
        k,
        product,
        cart,
        category,
    } = r;
    let kind: SlotKind = slot
        .parse()
        .map_err(|e: firstpaint_engine::EngineError| e.to_string())?;
    let req = SlotRequest {
        k,
        product,
        category,
        cart,
        visitor: visitor(visitor_json)?,
        ..SlotRequest::new(kind)
    };
    let ranking = engine.rank(&req).map_err(|e| e.to_string())?;
    json::ranking(&ranking)
}

/// Searches (page `page` of `per_page`) for the shopper `visitor` (JSON,
/// see [`visitor`]) and returns the results as JSON.
pub fn search_json(
    engine: &Engine,
    query: &str,
    page: usize,
    per_page: usize,
    visitor_json: &str,
) -> Result<String, String> {
    let req = SearchRequest {
        page,
        per_page,
        visitor: visitor(visitor_json)?,
        ..SearchRequest::new(query)
    };
    let results = engine.search(&req).map_err(|e| e.to_string())?;
    serde_json::to_string(&results).map_err(|e| e.to_string())
}

/// One neighbour in [`FirstpaintEngine::nearest`]'s answer.
#[derive(serde::Serialize)]
struct Neighbour<'a> {
    id: &'a str,
    similarity: f32,
}

/// [`FirstpaintEngine::nearest`], as a plain function (testable off wasm).
pub fn nearest_json(engine: &Engine, id: &str, k: usize) -> Result<String, String> {
    let ord = engine
        .store()
        .ordinal(id)
        .ok_or_else(|| format!("no product has id {id:?}"))?;
    let query = engine
        .store()
        .embedding(ord)
        .ok_or_else(|| format!("product {id:?} has no embedding"))?;
    let neighbours: Vec<Neighbour> = engine
        .store()
        .nearest(&query, k.saturating_add(1))
        .into_iter()
        .filter(|&(o, _)| o != ord)
        .take(k)
        .filter_map(|(o, similarity)| {
            Some(Neighbour {
                id: engine.store().product_at(o)?.id(),
                similarity,
            })
        })
        .collect();
    serde_json::to_string(&neighbours).map_err(|e| e.to_string())
}

/// A loaded, verified bundle.
#[wasm_bindgen]
pub struct FirstpaintEngine {
    inner: Engine,
}

#[wasm_bindgen]
impl FirstpaintEngine {
    /// Verifies `bundle` against the hex public key at `now_seconds` and
    /// loads it (SHA-256 of its sections computed in wasm).
    #[wasm_bindgen(constructor)]
    pub fn new(
        bundle: Vec<u8>,
        public_key_hex: &str,
        now_seconds: f64,
    ) -> Result<FirstpaintEngine, JsError> {
        open(bundle, public_key_hex, now_seconds, None)
            .map(|inner| FirstpaintEngine { inner })
            .map_err(|e| JsError::new(&e))
    }

    /// As the constructor, with the sections' SHA-256 digests computed by
    /// the host over [`section_ranges`] (32 bytes each, concatenated): the
    /// runtime's native hash is several times faster than wasm's. A wrong
    /// digest refuses the bundle.
    #[wasm_bindgen(js_name = withDigests)]
    pub fn with_digests(
        bundle: Vec<u8>,
        digests: &[u8],
        public_key_hex: &str,
        now_seconds: f64,
    ) -> Result<FirstpaintEngine, JsError> {
        open(bundle, public_key_hex, now_seconds, Some(digests))
            .map(|inner| FirstpaintEngine { inner })
            .map_err(|e| JsError::new(&e))
    }

    /// Ranks slot `slot` (`home`, `similar`, ...) for the shopper
    /// `visitor` (JSON: `{"now": unix seconds, "viewed": [ids, most recent
    /// first], "region": "DE", ...}`, the engine's `Visitor`) and returns
    /// the ranking as JSON; `product`, `cart` and `category` are what the
    /// slot is about.
    pub fn rank(
        &self,
        slot: &str,
        k: Option<usize>,
        product: Option<String>,
        cart: Vec<String>,
        category: Option<String>,
        visitor: &str,
    ) -> Result<String, JsError> {
        let request = Request {
            slot: slot.to_owned(),
            k,
            product,
            cart,
            category,
        };
        rank_json(&self.inner, request, visitor).map_err(|e| JsError::new(&e))
    }

    /// Searches `query` (page `page` of `per_page` results) for the shopper
    /// `visitor` (JSON, as for `rank`) and returns the results as JSON.
    pub fn search(
        &self,
        query: &str,
        page: usize,
        per_page: usize,
        visitor: &str,
    ) -> Result<String, JsError> {
        search_json(&self.inner, query, page, per_page, visitor).map_err(|e| JsError::new(&e))
    }

    /// The (up to `k`) products nearest to product `id` by embedding,
    /// itself left out, as JSON `[{"id":…,"similarity":…},…]`, nearest
    /// first: the index the `similar` slot draws from, for a JS worker's
    /// own widgets.
    pub fn nearest(&self, id: &str, k: usize) -> Result<String, JsError> {
        nearest_json(&self.inner, id, k).map_err(|e| JsError::new(&e))
    }

    /// This engine's bundle with a live overlay's stock, prices and
    /// availability laid over it (see [`with_live`]): a new engine sharing
    /// the bundle's bytes; this one is unchanged. `payloadSha256`: the
    /// payload's digest by the host (`crypto.subtle`, over the bytes from
    /// offset 144), or hashed here.
    #[wasm_bindgen(js_name = withLive)]
    pub fn with_live(
        &self,
        overlay: &[u8],
        public_key_hex: &str,
        now_seconds: f64,
        newest: Option<f64>,
        payload_sha256: Option<Vec<u8>>,
    ) -> Result<FirstpaintEngine, JsError> {
        let newest = newest.unwrap_or(0.0) as u64;
        let digest = payload_sha256.as_deref();
        with_live(
            &self.inner,
            overlay,
            public_key_hex,
            now_seconds,
            newest,
            digest,
        )
        .map(|inner| FirstpaintEngine { inner })
        .map_err(|e| JsError::new(&e))
    }

    /// What the live overlay laid over the bundle applied, as JSON
    /// (`null` without one).
    #[wasm_bindgen(js_name = liveReport)]
    pub fn live_report(&self) -> String {
        serde_json::to_string(&self.inner.live()).unwrap_or_default()
    }

    /// The bundle's version, key id and dates as JSON.
    pub fn info(&self) -> String {
        serde_json::to_string(self.inner.info()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_messages() {
        assert_eq!(
            open(b"nope".to_vec(), "00", 0.0, None).unwrap_err(),
            "public key: expected 64 hex characters (32 bytes), got 2 characters"
        );
        let key = firstpaint_bundle::SigningKey::from_bytes(&[3; 32]);
        let hex = firstpaint_bundle::hex(key.verifying_key().as_bytes());
        let err = open(b"nope".to_vec(), &hex, 0.0, None).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
    }
}

/// Bytes of this module's linear memory (never shrinks: after loading a
/// bundle, the high-water mark of decoding it), for the memory budget's
/// benchmark; 0 outside wasm.
#[wasm_bindgen(js_name = wasmMemoryBytes)]
pub fn wasm_memory_bytes() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        (core::arch::wasm32::memory_size(0) * 65_536) as f64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0.0
    }
}
