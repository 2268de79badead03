//! Shared by the origin's integration tests: a fixtures bundle built once.

// Each test binary that includes this module uses a different part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use firstpaint_bundle::SigningKey;
use firstpaint_engine::Engine;
use firstpaint_origin::build::{build, BuildOptions};
use firstpaint_origin::inputs::{load, InputPaths};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The build time used by tests.
pub const NOW: i64 = 1_793_491_200; // 2026-11-01T00:00:00Z

/// A fixed test key (not the dev key).
pub fn key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

/// The fixtures store's bundle bytes, built once per test binary.
pub fn fixtures_bundle() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let root = root();
        let inputs = load(&InputPaths::in_dir(&root.join("fixtures"))).expect("fixtures load");
        let opts = BuildOptions {
            now: NOW,
            ttl_days: 14,
            progress: false,
            rules_file: "rules.toml".into(),
        };
        build(&inputs, &key(), &opts).expect("fixtures build").0
    })
}

/// The engine over the fixtures bundle.
pub fn fixtures_engine() -> Engine {
    Engine::open(fixtures_bundle(), &key().verifying_key(), NOW).expect("fixtures bundle opens")
}
