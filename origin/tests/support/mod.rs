//! Shared by the origin's integration tests: a fixtures bundle built once.

// Each test binary that includes this module uses a different part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use firstpaint_bundle::SigningKey;
use firstpaint_engine::Engine;
use firstpaint_origin::build::{build, BuildOptions};
use firstpaint_origin::inputs::{load, InputPaths, Inputs};

/// The repository root (the crate's first ancestor with the fixtures: the
/// wasm crate's tests include this module too).
pub fn root() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("fixtures/catalog.ndjson").is_file())
        .expect("the repository's fixtures are above the crate")
        .to_path_buf()
}

/// The fixtures store's directory.
pub fn fixtures() -> PathBuf {
    root().join("fixtures")
}

/// `p` as the argument of a command.
pub fn s(p: &std::path::Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// The build time used by tests.
pub const NOW: i64 = 1_793_491_200; // 2026-11-01T00:00:00Z

/// A fixed test key (not the dev key).
pub fn key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

/// The fixtures store's inputs.
pub fn fixtures_inputs() -> Inputs {
    load(&InputPaths::in_dir(&root().join("fixtures"))).expect("fixtures load")
}

/// A bundle of `inputs`, built at [`NOW`] and signed with [`key`].
pub fn bundle_of(inputs: &Inputs) -> Vec<u8> {
    let opts = BuildOptions {
        now: NOW,
        ttl_days: 14,
        progress: false,
        rules_file: "rules.toml".into(),
        shard: false,
    };
    build(inputs, &key(), &opts).expect("build").0
}

/// The engine over a bundle of `inputs`.
pub fn engine_of(inputs: &Inputs) -> Engine {
    Engine::open(bundle_of(inputs), &key().verifying_key(), NOW).expect("bundle opens")
}

/// The fixtures store's bundle bytes, built once per test binary.
pub fn fixtures_bundle() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| bundle_of(&fixtures_inputs()))
}

/// The engine over the fixtures bundle.
pub fn fixtures_engine() -> Engine {
    Engine::open(fixtures_bundle(), &key().verifying_key(), NOW).expect("fixtures bundle opens")
}
