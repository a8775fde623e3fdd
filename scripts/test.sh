#!/usr/bin/env bash
# Installs whatever is missing (scripts/setup.sh), then runs every check and test:
# formatting, clippy (native and wasm32), native tests (engine, protocols, harness, sweep,
# layout), the portable crates' wasm32 build, the architecture check, the browser tests
# in headless Chromium, the release build, and the release build served under a sub-path
# with a strict CSP: the course page's widgets, the app page and the axe-core audit
# (tests/browser/*.mjs, node's test runner). CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
WASM=wasm32-unknown-unknown

step "fetch (locked)"
cargo fetch --locked

step "rustfmt"
cargo fmt --all -- --check

step "clippy, native"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "clippy, wasm32"
cargo clippy -p commitscope-engine -p commitscope-history -p commitscope-protocols -p commitscope-web \
  --target "$WASM" --all-targets --locked -- -D warnings

step "native tests"
cargo test --workspace --locked

step "engine and protocols build for wasm32"
cargo build -p commitscope-engine -p commitscope-history -p commitscope-protocols --target "$WASM" --locked

step "architecture"
bash scripts/check-architecture.sh

step "browser tests (wasm-bindgen-test, headless Chromium)"
(cd crates/web && cargo test --target "$WASM" --locked)

step "release build (trunk)"
trunk build --release --offline --dist target/dist-release
ls -l target/dist-release

step "release build under a sub-path with a strict CSP; course page widgets; axe audit"
DIST="$PWD/target/dist-release" node --test tests/browser/course.test.mjs

printf '\n\033[1mall checks passed\033[0m\n'
