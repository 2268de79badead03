# firstpaint: `make dev` starts the local store, `make test` runs every test.
# Both install what is missing first (see scripts/setup.sh).

SHELL := /bin/bash
ROOT := $(abspath .)
BUILD := $(ROOT)/build
FP := $(ROOT)/target/native/firstpaint
WRANGLER := $(ROOT)/node_modules/.bin/wrangler
PERSIST ?= $(ROOT)/.wrangler/state
PORT ?= 8787

# Keep worker-build and wrangler from downloading anything (see shared TOOLCHAIN).
export WRANGLER_SEND_METRICS := false
export CLOUDFLARE_CF_FETCH_ENABLED := false
export WASM_BINDGEN_BIN := wasm-bindgen
export WASM_OPT_BIN := $(ROOT)/node_modules/.bin/wasm-opt
export ESBUILD_BIN := $(ROOT)/node_modules/.bin/esbuild
export PATH := $(HOME)/.cargo/bin:$(PATH)

# Each phase of `make test` says when it starts (what a slow CI run is read by).
STAMP = @echo "[make $@] $$(date -u +%T)"

.PHONY: measure dev test setup setup-browser worker origin bundle bundle-sharded site publish-local lint unit eval e2e fuzz fuzz-short fuzz-seeds bench bench-wasm bench-rewrite bench-cold bench-cold-100k bench-vitals clean

## Set up, build the fixtures store's bundle, publish it locally, serve it on 127.0.0.1:$(PORT).
dev: setup worker bundle site publish-local
	@echo "To see the measurement loop: make measure (seeded shoppers with a planted lift through a worker with holdouts, then events pull and readout: build/measure/report.html)."
	$(WRANGLER) dev --ip 127.0.0.1 --port $(PORT) --persist-to $(PERSIST) --show-interactive-dev-session=false

## Every test: formatting, lints, unit and integration tests, then end-to-end in wrangler dev and Chromium.
test: setup setup-browser lint unit eval fuzz-short worker bundle bundle-sharded site e2e

setup:
	scripts/setup.sh

setup-browser:
	scripts/setup.sh --browser

lint:
	$(STAMP)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	# The engine as the worker builds it: readers only, no writers.
	cargo clippy -p firstpaint-engine -p firstpaint-wasm --lib -- -D warnings

unit:
	$(STAMP)
	cargo test --workspace

## The real-data evaluations (../shared/data/) as regression tests, optimised
## like the CLI that prints their tables. Those on ../shared/data are
## #[ignore]d: run here when the data is there (and then they must find
## it), reported ignored by the test runner when it is not.
EVAL_TESTS = cargo test --profile native -p firstpaint-origin \
	--test eval_baskets --test eval_intent --test eval_search --test eval_sessions
eval:
	$(STAMP)
	@if [ -d ../shared/data ]; then \
		echo "$(EVAL_TESTS) -- --include-ignored"; \
		FIRSTPAINT_REQUIRE_DATA=1 $(EVAL_TESTS) -- --include-ignored; \
	else \
		echo "../shared/data is absent: the real-data evaluations are reported ignored"; \
		$(EVAL_TESTS); \
	fi

## Coverage-guided fuzzing (libFuzzer, stable toolchain): every target for
## FUZZ_SECONDS each (RELIABILITY.md has the campaign's figures). A crash
## fails the run and leaves its input in build/fuzz/crashes/<target>/.
FUZZ_SECONDS ?= 600
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

## The short fuzz run of `make test`: 10 s a target, two at a time.
fuzz-short:
	$(STAMP)
	FUZZ_JOBS=2 scripts/fuzz.sh 10

## Rewrites the seed corpora (after a format change: the replay test says when).
fuzz-seeds:
	cargo run -p firstpaint-fuzz --bin firstpaint-fuzz-seeds

## The worker's wasm; names and producers are stripped (~45 KB gzipped) to keep the size budget.
worker:
	$(STAMP)
	cd edge && worker-build --release
	@# The same build with its wasm function names, for CPU profiles (bench/cold.mjs --profile).
	mkdir -p $(BUILD)/worker-names && cp edge/build/index.js edge/build/index_bg.wasm $(BUILD)/worker-names/
	$(ROOT)/node_modules/.bin/wasm-opt edge/build/index_bg.wasm --strip-debug --strip-producers -o edge/build/index_bg.wasm

## The native CLI, optimised for speed (the wasm's release profile is for size).
## After `make eval` it is already built: the evaluations' `cargo test` builds
## the CLI with the same dependencies, features and flags.
origin:
	$(STAMP)
	cargo build --profile native -p firstpaint-origin

$(BUILD):
	mkdir -p $(BUILD)

## The fixtures store's bundle, signed with the DEV key.
bundle: origin | $(BUILD)
	$(FP) build --catalog fixtures/catalog.ndjson --events fixtures/events.ndjson \
		--rules fixtures/rules.toml --synonyms fixtures/synonyms.txt \
		--key fixtures/keys/dev.key --out $(BUILD)/fixtures.fpb
	$(FP) verify $(BUILD)/fixtures.fpb --pubkey fixtures/keys/dev.pub

## The fixtures store cut into shards of at most 60 products, with a global
## shard of its 60 most active ones (the end-to-end tests of a sharded store).
bundle-sharded: origin | $(BUILD)
	$(FP) build --catalog fixtures/catalog.ndjson --events fixtures/events.ndjson \
		--rules fixtures/rules.toml --synonyms fixtures/synonyms.txt \
		--key fixtures/keys/dev.key --out $(BUILD)/shards --shard-products 60 --global-products 60

site: bundle
	rm -rf $(BUILD)/site
	$(FP) site $(BUILD)/fixtures.fpb --pubkey fixtures/keys/dev.pub --pages fixtures/storefront --out $(BUILD)/site

## Seeded shoppers with a planted lift through a worker with holdouts, the
## events pulled back, read out into build/measure/report.html.
measure: setup worker bundle site
	scripts/measure.sh

publish-local: bundle
	$(FP) publish $(BUILD)/fixtures.fpb --pubkey fixtures/keys/dev.pub --key fixtures/keys/dev.key --local --persist-to $(PERSIST)

## Two files at a time: each starts its own wrangler on free ports
## (tests/support.mjs picks the HTTP and inspector ports), and the suite
## spends most of its time waiting on workerd, not on the cores.
e2e: bundle-sharded
	$(STAMP)
	node --test --test-concurrency=2 tests/

## Native figures (BENCHMARKS.md), then the same requests in wasm.
bench: origin
	cargo run --profile native -p firstpaint-origin --bin firstpaint-bench -- --out-dir $(BUILD)/bench
	$(MAKE) bench-wasm

## A ~100 KB page with 4 slots in workerd: personalizing vs the kill switch
## (the page from an in-memory origin, workerd's own port, 5 runs), then where
## the time goes natively.
bench-rewrite: worker bundle site
	node bench/rewrite.mjs
	cargo run --release -p firstpaint-edge --example rewrite_cost

## A cold isolate: workerd started afresh per sample, its script start-up and
## the first page's bundle load, over the warm page, then where the first
## page's time goes (V8's CPU profile through workerd's inspector).
bench-cold: worker bundle site
	node bench/cold.mjs --profile

## The same with a generated store of 100k products (generated once into
## build/store-100k): as one bundle, then sharded (the home page reads the
## global shard; a product page the routes and its category's shard), each
## beside the same store under a release without head digests (the bundle
## hashed whole before its sections, as before session 25).
STORE_100K = $(BUILD)/store-100k
bench-cold-100k: worker bundle site
	[ -f $(STORE_100K)/events.ndjson ] || $(FP) generate --out $(STORE_100K) \
		--products 100000 --sessions 170000 --shape structured
	$(FP) build --catalog $(STORE_100K)/catalog.ndjson --events $(STORE_100K)/events.ndjson \
		--rules $(STORE_100K)/rules.toml --key fixtures/keys/dev.key --out $(STORE_100K)/store.fpb
	rm -rf $(STORE_100K)/shards
	$(FP) build --catalog $(STORE_100K)/catalog.ndjson --events $(STORE_100K)/events.ndjson \
		--rules $(STORE_100K)/rules.toml --key fixtures/keys/dev.key --out $(STORE_100K)/shards \
		--shard-products 20000 --global-products 20000
	node bench/cold.mjs --profile --whole-file --store $(STORE_100K)/store.fpb
	node bench/cold.mjs --profile --whole-file --store $(STORE_100K)/shards
	node bench/cold.mjs --profile --whole-file --store $(STORE_100K)/shards --product SKU-000001

## Core Web Vitals in headless Chromium: every fixtures page type, personalized vs the kill switch.
bench-vitals: worker bundle site
	node bench/vitals.mjs

## The engine in wasm under Node, on the requests the native bench wrote.
bench-wasm:
	cargo build --release --target wasm32-unknown-unknown -p firstpaint-wasm
	wasm-bindgen --target nodejs --out-dir $(BUILD)/wasm-node target/wasm32-unknown-unknown/release/firstpaint_wasm.wasm
	node bench/wasm.mjs $(BUILD)/bench

clean:
	rm -rf $(BUILD) edge/build .wrangler
