#!/usr/bin/env bash
# Installs what the build and tests need, only when missing (see
# ../shared/TOOLCHAIN.md): the wasm32 target, worker-build and
# wasm-bindgen-cli at the pinned versions, the npm packages from the lockfile,
# Debian's WordNet (search's related words, read at build time), a C++
# compiler (libfuzzer-sys builds libFuzzer for the fuzz targets), and with
# --browser Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

WORKER_BUILD_VERSION=0.8.7
WASM_BINDGEN_VERSION=0.2.130

if [[ "${1:-}" == "--browser" ]]; then
  if ! command -v chromium >/dev/null; then
    echo "setup: installing chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  exit 0
fi

if [[ ! -f /usr/share/wordnet/data.noun ]]; then
  echo "setup: installing wordnet-base (WordNet, for search's related words)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wordnet-base >/dev/null
fi
if ! command -v c++ >/dev/null; then
  echo "setup: installing g++ (libfuzzer-sys builds libFuzzer for make fuzz)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++ >/dev/null
fi
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "setup: adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
if [[ "$(worker-build --version 2>/dev/null || true)" != *"$WORKER_BUILD_VERSION"* ]]; then
  echo "setup: installing worker-build $WORKER_BUILD_VERSION"
  cargo install worker-build --version "=$WORKER_BUILD_VERSION" --locked
fi
if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != *"$WASM_BINDGEN_VERSION"* ]]; then
  echo "setup: installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Not --locked: a locked dependency is newer than the registry mirror here.
  cargo install wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION"
fi
if [[ ! -x node_modules/.bin/wrangler || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: installing npm packages from package-lock.json"
  npm ci --no-audit --no-fund
fi
