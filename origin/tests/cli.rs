//! The `firstpaint` binary, as merchants and CI run it.
//!
//! 1. keygen → build → verify succeeds on the fixtures store.
//! 2. Changing any single byte, truncating, or verifying with another key
//!    makes verify exit non-zero with a reason.
//! 3. Bad input names file, line and field, and leaves the old bundle alone.
//! 4. A misspelt category in the rules is refused with a suggestion.
//! 5. rank prints JSON with score parts.
//! 6. A sharded build puts every product in one category shard, each a
//!    bundle that verifies, with the routes and the index beside them.
//! 7. readout over events that join no visitor says so and still writes
//!    its report; asked for nothing, or given a directory without
//!    objects, it says what to give; simulate refuses rules that hold out
//!    nobody.
//! 8. site fills `{{same_category:N}}` with the storefront's own cards of
//!    the page's category, and names the file of a malformed one.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};

use std::process::{Command, Output};
use support::{fixtures, s};

fn firstpaint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_firstpaint"))
        .args(args)
        .output()
        .expect("firstpaint runs")
}

struct Store {
    dir: tempfile::TempDir,
}

impl Store {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for f in ["catalog.ndjson", "events.ndjson", "rules.toml"] {
            std::fs::copy(fixtures().join(f), dir.path().join(f)).unwrap();
        }
        let prefix = dir.path().join("k");
        let out = firstpaint(&["keygen", "--out", s(&prefix)]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Store { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn build(&self, out: &str) -> Output {
        self.build_with(out, &[])
    }

    fn build_with(&self, out: &str, extra: &[&str]) -> Output {
        let paths = [
            "catalog.ndjson",
            "events.ndjson",
            "rules.toml",
            "k.key",
            out,
        ]
        .map(|f| self.path(f));
        let [catalog, events, rules, key, out] = paths.each_ref().map(|p| s(p));
        let mut args = vec![
            "build",
            "--catalog",
            catalog,
            "--events",
            events,
            "--rules",
            rules,
            "--key",
            key,
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        firstpaint(&args)
    }

    fn verify(&self, bundle: &Path) -> Output {
        firstpaint(&["verify", s(bundle), "--pubkey", s(&self.path("k.pub"))])
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn build_verify_and_every_tampering_is_caught() {
    let store = Store::new();
    let built = store.build("b.fpb");
    assert!(built.status.success(), "{}", stderr(&built));
    let bundle = store.path("b.fpb");
    let ok = store.verify(&bundle);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("products    420"));

    let bytes = std::fs::read(&bundle).unwrap();
    let tampered = store.path("t.fpb");
    // Header, section table, each kind of section, and the signature.
    let positions = [
        0,
        9,
        20,
        100,
        150,
        160,
        400,
        bytes.len() / 3,
        bytes.len() / 2,
        bytes.len() - 70,
        bytes.len() - 1,
    ];
    for pos in positions {
        let mut changed = bytes.clone();
        changed[pos] ^= 0x20;
        std::fs::write(&tampered, &changed).unwrap();
        let out = store.verify(&tampered);
        assert!(
            !out.status.success(),
            "byte {pos} changed but verify passed"
        );
        assert!(
            stderr(&out).contains("rejected"),
            "byte {pos}: {}",
            stderr(&out)
        );
    }
    std::fs::write(&tampered, &bytes[..bytes.len() - 100]).unwrap();
    assert!(stderr(&store.verify(&tampered)).contains("truncated"));

    let other = store.path("other");
    assert!(firstpaint(&["keygen", "--out", s(&other)]).status.success());
    let wrong = firstpaint(&[
        "verify",
        s(&bundle),
        "--pubkey",
        s(&store.path("other.pub")),
    ]);
    assert!(!wrong.status.success());
    assert!(
        stderr(&wrong).contains("signed by key"),
        "{}",
        stderr(&wrong)
    );

    let expired = firstpaint(&[
        "verify",
        s(&bundle),
        "--pubkey",
        s(&store.path("k.pub")),
        "--at",
        "99999999999",
    ]);
    assert!(stderr(&expired).contains("expired"), "{}", stderr(&expired));
}

#[test]
fn bad_input_is_located_and_the_old_bundle_survives() {
    let store = Store::new();
    assert!(store.build("b.fpb").status.success());
    let before = std::fs::read(store.path("b.fpb")).unwrap();

    let catalog = std::fs::read_to_string(store.path("catalog.ndjson")).unwrap();
    let mut lines: Vec<String> = catalog.lines().map(str::to_owned).collect();
    lines[2] = lines[2].replacen("\"price\":", "\"price\":-", 1);
    lines[4] = lines[4].replacen("\"currency\":\"GBP\"", "\"currency\":\"pounds\"", 1);
    std::fs::write(store.path("catalog.ndjson"), lines.join("\n")).unwrap();
    let out = store.build("b.fpb");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("catalog.ndjson:3: field `price`: must be a finite number >= 0"),
        "{err}"
    );
    assert!(err.contains("catalog.ndjson:5: field `currency`"), "{err}");
    assert_eq!(
        std::fs::read(store.path("b.fpb")).unwrap(),
        before,
        "old bundle replaced"
    );
}

#[test]
fn misspelt_rule_categories_are_refused() {
    let store = Store::new();
    let rules = std::fs::read_to_string(store.path("rules.toml")).unwrap();
    std::fs::write(
        store.path("rules.toml"),
        rules.replace("\"Camping Fuel\"", "\"Camping Fuell\""),
    )
    .unwrap();
    let out = store.build("b.fpb");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("guardrails.exclude_categories[0]`: no product is in category \"Camping Fuell\" (did you mean \"Camping Fuel\"?)"),
        "{err}"
    );
    assert!(!store.path("b.fpb").exists());
}

#[test]
fn rank_prints_json_with_reasons() {
    let store = Store::new();
    assert!(store.build("b.fpb").status.success());
    let out = firstpaint(&[
        "rank",
        s(&store.path("b.fpb")),
        "--pubkey",
        s(&store.path("k.pub")),
        "--slot",
        "similar",
        "--product",
        "SKU-00001",
        "--k",
        "3",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = json["ranking"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[0]["reasons"].as_array().unwrap().len(),
        firstpaint_contracts::Blend::default().weights().len()
    );
    let bad = firstpaint(&[
        "rank",
        s(&store.path("b.fpb")),
        "--pubkey",
        s(&store.path("k.pub")),
        "--slot",
        "simlar",
    ]);
    assert!(
        stderr(&bad).contains("did you mean \"similar\""),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn a_sharded_build_covers_every_product_once() {
    let store = Store::new();
    let built = store.build_with(
        "shards",
        &["--shard-products", "60", "--global-products", "50"],
    );
    assert!(built.status.success(), "{}", stderr(&built));
    let dir = store.path("shards");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("shards.json")).unwrap()).unwrap();
    let shards = index["shards"].as_array().unwrap();
    // Electronics (96 products) and Fashion (68) are over 60: cut along
    // their second level.
    assert!(shards.len() > 8, "{index}");
    let mut total = 0;
    for shard in shards.iter().chain([&index["global"]]) {
        let products = shard["products"].as_u64().unwrap();
        assert!(products <= 60, "{shard}");
        let bundle = dir.join(shard["file"].as_str().unwrap());
        let ok = store.verify(&bundle);
        assert!(ok.status.success(), "{}: {}", bundle.display(), stderr(&ok));
        assert!(
            String::from_utf8_lossy(&ok.stdout).contains(&format!("products    {products}")),
            "{}",
            String::from_utf8_lossy(&ok.stdout)
        );
        if shard != &index["global"] {
            total += products;
        }
    }
    assert_eq!(total, 420);
    assert_eq!(index["global"]["products"], 50);
    assert!(
        !dir.join(".building").exists(),
        "the staging directory is left"
    );
    let routes = fst::Map::new(std::fs::read(dir.join("routes.fst")).unwrap()).unwrap();
    assert_eq!(routes.len(), 420);
    let mut stream = routes.stream();
    while let Some((id, shard)) = fst::Streamer::next(&mut stream) {
        assert!(
            (shard as usize) < shards.len(),
            "{} routes to shard {shard}",
            String::from_utf8_lossy(id)
        );
    }
}

#[test]
fn live_pushes_merge_into_the_overlay_served_and_bad_lines_are_located() {
    use firstpaint_bundle::{open_live, parse_verifying_key};
    let store = Store::new();
    let (kv, cache) = (store.path("kv"), store.path("cache"));
    let key = s(&store.path("k.key")).to_owned();
    let push = |lines: &str, extra: &[&str]| {
        std::fs::write(store.path("stock.ndjson"), lines).unwrap();
        let updates = store.path("stock.ndjson");
        let mut args = vec!["live", "push", "--updates", s(&updates), "--dir", s(&kv)];
        args.extend(["--cache", s(&cache), "--key", &key]);
        args.extend(extra);
        firstpaint(&args)
    };
    let served = || {
        let pointer: serde_json::Value =
            serde_json::from_slice(&std::fs::read(kv.join("live")).unwrap()).unwrap();
        let bytes = std::fs::read(kv.join(pointer["key"].as_str().unwrap())).unwrap();
        let public =
            parse_verifying_key(&std::fs::read_to_string(store.path("k.pub")).unwrap()).unwrap();
        let (header, payload) = open_live(&bytes, &[public], 0, 0, None).unwrap();
        let updates = firstpaint_engine::decode_updates(payload).unwrap();
        (header.sequence, updates)
    };
    let out = push(
        "{\"id\":\"SKU-00002\",\"price\":4.5}\n{\"id\":\"SKU-00001\",\"inventory\":[{\"location\":\"berlin\",\"available\":3}]}\n",
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // A second push changes one field of one product and keeps the rest.
    let out = push("{\"id\":\"SKU-00002\",\"buyable\":false}\n", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (sequence, updates) = served();
    assert_eq!(sequence, 2);
    let ids: Vec<&str> = updates.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["SKU-00001", "SKU-00002"], "sorted by id");
    assert_eq!(
        (updates[1].price, updates[1].buyable),
        (Some(4.5), Some(false))
    );
    assert_eq!(updates[0].inventory.as_ref().unwrap()[0].available, 3);
    // Without the cache it reads the overlay back from the target.
    std::fs::remove_dir_all(&cache).unwrap();
    let out = push("{\"id\":\"SKU-00003\",\"price\":1}\n", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(served().1.len(), 3);
    // --replace starts over, with the next sequence.
    let out = push("{\"id\":\"SKU-00004\",\"price\":2}\n", &["--replace"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (sequence, updates) = served();
    assert_eq!((sequence, updates.len()), (4, 1));
    // A bad line names file, line and field; the overlay served stays.
    let out = push(
        "{\"id\":\"SKU-00001\",\"price\":1}\n{\"id\":\"SKU-00002\",\"price\":-3}\n",
        &[],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("stock.ndjson:2: field `price`: must be a finite number >= 0"),
        "{}",
        stderr(&out)
    );
    assert_eq!(served().0, 4);
}

#[test]
fn inspect_names_the_inputs_a_bundle_was_built_from() {
    let store = Store::new();
    let out = store.build("b.fpb");
    assert!(out.status.success(), "{}", stderr(&out));
    let bundle = store.path("b.fpb");
    let out = firstpaint(&[
        "inspect",
        s(&bundle),
        "--pubkey",
        s(&store.path("k.pub")),
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let digest = |f: &str| {
        firstpaint_bundle::hex(&firstpaint_bundle::sha256(
            &std::fs::read(store.path(f)).unwrap(),
        ))
    };
    assert_eq!(d["sha256"], digest("b.fpb"));
    let lineage = &d["lineage"];
    assert_eq!(
        lineage["schema"],
        firstpaint_engine::store::sections::SCHEMA
    );
    assert!(lineage["parent"].is_null(), "a full build");
    assert!(lineage["builder"]
        .as_str()
        .unwrap()
        .starts_with("firstpaint "));
    let inputs = lineage["inputs"].as_array().unwrap();
    let roles: Vec<&str> = inputs.iter().map(|i| i["role"].as_str().unwrap()).collect();
    // WordNet (installed by the setup script) is read by default.
    assert_eq!(roles, ["catalog", "events", "rules", "wordnet"]);
    let wordnet = &inputs[3];
    assert_eq!(wordnet["file"], "/usr/share/wordnet/data.noun");
    assert_eq!(
        wordnet["sha256"],
        firstpaint_bundle::hex(&firstpaint_bundle::sha256(
            &std::fs::read("/usr/share/wordnet/data.noun").unwrap()
        ))
    );
    for (input, file) in inputs
        .iter()
        .zip(["catalog.ndjson", "events.ndjson", "rules.toml"])
    {
        assert_eq!(input["sha256"], digest(file), "{file}");
        assert_eq!(
            d["input_hashes"][input["role"].as_str().unwrap()],
            digest(file)
        );
    }
    assert!(!lineage["models"].as_array().unwrap().is_empty());
    // The text form says the same in words.
    let out = firstpaint(&["inspect", s(&bundle), "--pubkey", s(&store.path("k.pub"))]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("parent      none (a full build)"), "{text}");
    assert!(text.contains(&digest("rules.toml")), "{text}");
}

#[test]
fn readout_says_what_it_read_and_what_it_needs() {
    let out = tempfile::tempdir().unwrap();
    let events = fixtures().join("events.ndjson");
    let rules = fixtures().join("rules.toml");
    let report = out.path().join("report.html");
    let o = firstpaint(&[
        "readout",
        "--events",
        s(&events),
        "--rules",
        s(&rules),
        "--out",
        s(&report),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["visitors"], 0);
    // No event of the fixtures has a visitor: each is anonymous, or a later
    // state of an order counted once.
    let lines = std::fs::read_to_string(&events).unwrap().lines().count() as u64;
    let counted =
        json["anonymous_events"].as_u64().unwrap() + json["orders_merged"].as_u64().unwrap();
    assert_eq!(counted, lines, "{json}");
    let page = std::fs::read_to_string(&report).unwrap();
    assert!(page.contains("Not enough visitors yet"), "{page}");

    let o = firstpaint(&["readout", "--events", s(&events), "--rules", s(&rules)]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--out report.html"), "{}", stderr(&o));
    let o = firstpaint(&[
        "readout",
        "--events",
        s(out.path()),
        "--rules",
        s(&rules),
        "--json",
    ]);
    assert!(
        stderr(&o).contains("no .ndjson.gz objects here"),
        "{}",
        stderr(&o)
    );

    let o = firstpaint(&["simulate", "--rules", s(&rules), "--shoppers", "1"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("holds out nobody"), "{}", stderr(&o));
}

/// The `data-product` ids of the cards in the `data-p13n-items` of `slot`.
fn fallback_cards(html: &str, slot: &str) -> Vec<String> {
    let start = html
        .find(&format!("data-p13n-slot=\"{slot}\""))
        .unwrap_or_else(|| panic!("no {slot} slot"));
    let section = &html[start..];
    let section = &section[..section.find("</section>").unwrap()];
    let items = &section[section.find("data-p13n-items>").unwrap()..];
    items
        .split("data-product=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

#[test]
fn site_fills_fallbacks_with_the_categorys_own_cards() {
    let store = Store::new();
    assert!(store.build("b.fpb").status.success());
    let catalog: Vec<serde_json::Value> = std::fs::read_to_string(store.path("catalog.ndjson"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // A product's category path, top first.
    let category_of = |id: &str| -> Vec<String> {
        let p = catalog.iter().find(|p| p["id"] == id).unwrap();
        serde_json::from_value(p["category"].clone()).unwrap()
    };
    let pages = store.path("pages");
    std::fs::create_dir_all(&pages).unwrap();
    for page in ["product.html", "category.html"] {
        std::fs::copy(fixtures().join("storefront").join(page), pages.join(page)).unwrap();
    }
    let out_dir = store.path("site");
    let site = |pages: &Path| {
        firstpaint(&[
            "site",
            s(&store.path("b.fpb")),
            "--pubkey",
            s(&store.path("k.pub")),
            "--pages",
            s(pages),
            "--out",
            s(&out_dir),
        ])
    };
    let out = site(&pages);
    assert!(out.status.success(), "{}", stderr(&out));

    let id = catalog[0]["id"].as_str().unwrap();
    let product = std::fs::read_to_string(out_dir.join(format!("products/{id}.html"))).unwrap();
    let similar = fallback_cards(&product, "similar");
    assert_eq!(similar.len(), 6, "{similar:?}");
    assert!(!similar.iter().any(|o| o == id), "the product itself");
    for other in &similar {
        assert_eq!(category_of(other), category_of(id), "{other}");
    }

    let listing_dir = out_dir.join("categories");
    let first = std::fs::read_dir(&listing_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let page = std::fs::read_to_string(first.path()).unwrap();
    let top = fallback_cards(&page, "category");
    assert_eq!(top.len(), 8, "{}", first.path().display());
    let name =
        page[page.find("<h1>").unwrap() + 4..page.find("</h1>").unwrap()].replace("&amp;", "&");
    for other in &top {
        assert!(category_of(other).contains(&name), "{other} in {name}");
    }

    std::fs::write(
        pages.join("product.html"),
        "<section data-p13n-slot=\"similar\">{{same_category:six}}</section>",
    )
    .unwrap();
    let bad = site(&pages);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("product.html") && stderr(&bad).contains("\"six\" is not a number"),
        "{}",
        stderr(&bad)
    );

    // A page copied as it is has no category: the placeholder would reach
    // shoppers as text.
    std::fs::copy(
        fixtures().join("storefront/product.html"),
        pages.join("product.html"),
    )
    .unwrap();
    std::fs::write(
        pages.join("index.html"),
        "<section data-p13n-slot=\"home\">{{same_category:4}}</section>",
    )
    .unwrap();
    let bad = site(&pages);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("index.html") && stderr(&bad).contains("only product.html"),
        "{}",
        stderr(&bad)
    );
}
