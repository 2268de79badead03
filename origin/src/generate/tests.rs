//! The generator's properties:
//!
//! 1. The classic shape at the fixtures' settings (seed 7, 420 products,
//!    2,000 sessions) writes `fixtures/` byte for byte: the tests are
//!    written against those files, and they are regenerated, not edited.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::path::{Path, PathBuf};

use time::macros::datetime;

use super::{write, Spec};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

const FILES: [&str; 3] = ["catalog.ndjson", "events.ndjson", "rules.toml"];

fn same_files(a: &Path, b: &Path) {
    for f in FILES {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(
            x == y,
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn the_fixtures_are_what_the_generator_writes() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec {
        products: 420,
        sessions: 2_000,
        seed: 7,
        now: datetime!(2026-11-01 0:00 UTC),
    };
    write(&spec, dir.path()).unwrap();
    same_files(dir.path(), &fixtures());
}
