//! Writes the seed corpora into `fuzz/corpus/<target>/`: real inputs of
//! each kind (the engine test store's bundle and sections, a sealed live
//! overlay, a signed release, profile cookies, the fixtures' rules,
//! synonyms, events and storefront pages). Deterministic: run again after
//! a format change (the replay test says when) and commit what changed.
//!
//! `cargo run -p firstpaint-fuzz --bin firstpaint-fuzz-seeds`

use std::path::{Path, PathBuf};

use firstpaint_bundle::{
    seal_live, Bundle, LiveHeader, LivePointer, Manifest, Release, SignedRelease,
};
use firstpaint_contracts::{LiveUpdate, Stock};
use firstpaint_edge::profile::Profile;
use firstpaint_engine::store::live::encode_updates;
use firstpaint_fuzz::{key_set, key_set_text, store, store_bundle};

fn main() -> Result<(), String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("corpus");
    let fixtures = root.join("../fixtures");
    let read = |name: &str| -> Result<Vec<u8>, String> {
        std::fs::read(fixtures.join(name)).map_err(|e| format!("fixtures/{name}: {e}"))
    };
    let mut seeds: Vec<(&str, String, Vec<u8>)> = Vec::new();
    let mut add = |target: &'static str, name: &str, choice: Option<u8>, body: &[u8]| {
        let mut bytes: Vec<u8> = choice.into_iter().collect();
        bytes.extend_from_slice(body);
        seeds.push((target, name.to_owned(), bytes));
    };

    // Bundles: the whole store, and each section with its index.
    let bundle = store_bundle();
    add("bundle", "store.fpb", None, bundle);
    let opened = Bundle::open(bundle, &store::key().verifying_key(), store::NOW)
        .map_err(|e| format!("the test store's bundle: {e}"))?;
    for (i, tag) in opened.tags().enumerate() {
        let body = opened.section(tag).map_err(|e| e.to_string())?;
        let index = u8::try_from(i).map_err(|_| "over 255 sections".to_owned())?;
        add(
            "bundle_sections",
            &format!("{i:02}-{tag}"),
            Some(index),
            body,
        );
    }

    // Live overlays: a payload to seal, and one sealed as it arrives.
    let updates = vec![
        LiveUpdate {
            id: store::id(0),
            price: Some(9.5),
            buyable: Some(true),
            inventory: Some(vec![Stock {
                location: "berlin".into(),
                available: 3,
                lead_days: 2,
            }]),
        },
        LiveUpdate {
            id: store::id(7),
            price: None,
            buyable: Some(false),
            inventory: None,
        },
    ];
    let payload = encode_updates(&updates).map_err(|e| e.to_string())?;
    let header = LiveHeader {
        sequence: 2,
        created_at: store::NOW,
        expires_at: store::NOW + 3_600,
    };
    add("live", "payload", Some(1), &payload);
    add(
        "live",
        "sealed",
        Some(0),
        &seal_live(&header, &payload, &store::key()),
    );

    // KV: a signed release, its release, manifest, pointer, purges, and
    // an origin's Cache-Control.
    let key_id = firstpaint_bundle::hex(&firstpaint_bundle::key_id(&store::key().verifying_key()));
    let sha = firstpaint_bundle::hex(&firstpaint_bundle::sha256(bundle));
    let head = firstpaint_bundle::head_sha256(bundle)
        .ok()
        .map(|h| firstpaint_bundle::hex(&h));
    let manifest = Manifest::single(
        sha.clone(),
        head,
        bundle.len() as u64,
        1,
        key_id,
        store::NOW,
    );
    let release = Release {
        sequence: 3,
        created_at: store::NOW,
        expires_at: store::NOW + 86_400,
        current: manifest.clone(),
        previous: Some(manifest.clone()),
        canary: None,
    };
    add(
        "kv",
        "signed-release",
        Some(0),
        SignedRelease::sign(&release, &store::key())
            .to_json()
            .as_bytes(),
    );
    add("kv", "release", Some(1), json(&release).as_bytes());
    add("kv", "manifest", Some(2), json(&manifest).as_bytes());
    let pointer = LivePointer {
        sequence: 2,
        key: format!("overlays/{sha}"),
        sha256: sha,
        bytes: 420,
        updates: 2,
        created_at: store::NOW,
    };
    add("kv", "live-pointer", Some(3), json(&pointer).as_bytes());
    add(
        "kv",
        "purges",
        Some(4),
        br#"{"rules":[{"path":"/products/*","at_ms":1800000000000},{"path":"/","at_ms":1}]}"#,
    );
    add(
        "kv",
        "cache-control",
        Some(6),
        b"public, max-age=60, s-maxage=300, stale-while-revalidate=30, stale-if-error=600",
    );

    // Cookies: a real profile cookie beside a consent cookie, and a
    // profile's JSON to sign.
    let keys = key_set();
    let mut profile = Profile::new();
    profile.id = "0123456789abcdef0123456789abcdef".into();
    profile.touch(store::NOW);
    profile.record_view(&store::id(3));
    profile.record_view(&store::id(4));
    profile.record_query("blue phone case");
    profile.record_category("Electronics/Phones");
    profile.record_order(&store::id(5), store::NOW - 86_400);
    profile.record_price(0.4, 1.0);
    profile.record_channel("search");
    let header = format!(
        "fp_consent=personalization.analytics; fp_profile={}; other=1",
        profile.encode(keys)
    );
    add("cookie", "profile", Some(0), header.as_bytes());
    let profile_json = serde_json::to_vec(&profile).map_err(|e| e.to_string())?;
    add("cookie", "profile-json", Some(1), &profile_json);

    // Query strings: /p13n/search strict and lenient, /p13n/recommend,
    // and a visitor's JSON for the wasm facade.
    let search = "q=blu+phone+cases&page=2&per_page=12&category=Electronics&brand=Brand+1&price_min=5&price_max=500&in_stock=1&explain=1&facets=0";
    add("p13n_query", "search", Some(0), search.as_bytes());
    add("p13n_query", "search-page", Some(1), b"q=tent&utm_source=x");
    let recommend = format!(
        "slot=bought-together&product={}&k=6&viewed={},{}&cart={}&explain=1",
        store::id(0),
        store::id(1),
        store::id(2),
        store::id(3)
    );
    add("p13n_query", "recommend", Some(2), recommend.as_bytes());
    let visitor = format!(
        r#"{{"now":{},"viewed":["{}"],"returning":true,"region":"DE","price_band":{{"level":0.3,"evidence":2.0}}}}"#,
        store::NOW,
        store::id(2)
    );
    add("p13n_query", "visitor", Some(3), visitor.as_bytes());

    // Searches: words, typos, stop words, filters (see `search_request`).
    for (i, (flags, paging, q)) in [
        (0x00, 0x13, "phone"),
        (0x07, 0x23, "blu chargr"),
        (0x18, 0x00, "the"),
        (0x02, 0x1c, "tent lamp fuel 12 x"),
    ]
    .iter()
    .enumerate()
    {
        let mut body = vec![*paging];
        body.extend_from_slice(q.as_bytes());
        add("search", &format!("query-{i}"), Some(*flags), &body);
    }

    // Collect: the fixtures' first events, one and as an array.
    let events = read("events.ndjson")?;
    let lines: Vec<&[u8]> = events.split(|&b| b == b'\n').take(5).collect();
    add(
        "collect",
        "event",
        None,
        lines.first().copied().unwrap_or_default(),
    );
    let mut array = b"[".to_vec();
    array.extend(lines.join(&b","[..]));
    array.push(b']');
    add("collect", "events", None, &array);

    // Merchants' files.
    add("rules", "rules.toml", Some(0), &read("rules.toml")?);
    add("rules", "synonyms.txt", Some(1), &read("synonyms.txt")?);
    add("rules", "keys", Some(2), key_set_text().as_bytes());

    // Storefront pages, in 1 KiB chunks.
    for page in ["index", "product", "category", "cart", "search"] {
        let html = read(&format!("storefront/{page}.html"))?;
        add("rewrite", page, Some(64), &html);
    }

    // Generated documents (fuzz/src/html_doc.rs reads any bytes): a few
    // fixed pseudo-random ones, short and long.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for (i, len) in [16, 64, 200, 600, 1500].into_iter().enumerate() {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[3]
            })
            .collect();
        add("rewrite_regions", &format!("gen-{i}"), None, &bytes);
    }

    for (target, name, bytes) in &seeds {
        write(&corpus.join(target).join(name), bytes)?;
    }
    println!("{} seeds under {}", seeds.len(), corpus.display());
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Pretty JSON of a KV record, as the origin writes it.
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}
