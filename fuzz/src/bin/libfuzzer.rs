//! The libFuzzer entry point of every target: `FIRSTPAINT_FUZZ_TARGET`
//! names which one this process fuzzes (`scripts/fuzz.sh` sets it per
//! corpus). Built only with `--features libfuzzer` and the coverage flags
//! in `scripts/fuzz.sh`.

#![no_main]

use std::sync::OnceLock;

use firstpaint_fuzz::{target, Target, TARGETS};

fn chosen() -> Target {
    static CHOSEN: OnceLock<Target> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let name = std::env::var("FIRSTPAINT_FUZZ_TARGET").unwrap_or_default();
        target(&name).unwrap_or_else(|| {
            let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
            eprintln!("FIRSTPAINT_FUZZ_TARGET={name:?}: expected one of {names:?}");
            std::process::exit(2)
        })
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| chosen()(data));
