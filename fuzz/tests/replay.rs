//! Every committed fuzz input, replayed through its target: the seed
//! corpora (`fuzz/corpus/<target>/`) and every crash a campaign found
//! (`fuzz/regressions/<target>/`, kept after the fix). A panic here is a
//! crash the fuzzer found again.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};

use firstpaint_fuzz::{engine, search_request, store, target, TARGETS};

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    paths
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_target_has_seeds() {
    for (name, _) in TARGETS {
        let seeds = inputs(&root().join("corpus").join(name));
        assert!(!seeds.is_empty(), "fuzz/corpus/{name}/ has no seeds");
    }
    let folders = inputs(&root().join("corpus"));
    for folder in folders.iter().chain(&inputs(&root().join("regressions"))) {
        let name = folder.file_name().unwrap().to_string_lossy();
        assert!(
            target(&name).is_some(),
            "{}: no target {name:?}",
            folder.display()
        );
    }
}

#[test]
fn seeds_and_regressions_replay() {
    for (name, run) in TARGETS {
        for kind in ["corpus", "regressions"] {
            for path in inputs(&root().join(kind).join(name)) {
                run(&std::fs::read(&path).unwrap());
            }
        }
    }
}

/// The bundle seed is today's format: a format change that left it behind
/// would fuzz nothing but the version check.
#[test]
fn the_bundle_seed_opens() {
    let seed = std::fs::read(root().join("corpus/bundle/store.fpb")).unwrap();
    let opened = store::open(seed);
    assert!(
        opened.is_ok(),
        "fuzz/corpus/bundle/store.fpb no longer opens ({:?}): \
         run `cargo run -p firstpaint-fuzz --bin firstpaint-fuzz-seeds` and commit",
        opened.err()
    );
}

/// The search seeds get past the request checks: a seed the engine
/// refuses (a page size over the bound, say) would fuzz only the check.
#[test]
fn the_search_seeds_are_answered() {
    for path in inputs(&root().join("corpus/search")) {
        let req = search_request(&std::fs::read(&path).unwrap());
        let answer = engine().search(&req);
        assert!(answer.is_ok(), "{}: {answer:?}", path.display());
    }
}
