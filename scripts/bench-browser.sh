#!/usr/bin/env bash
# Rendering benchmark in headless Chromium on a release build (issue 3's budgets): step
# re-render and scrub-frame times on a 2,000-event trace, printed as BENCH lines. Then the
# release bundle's gzipped size and the time from navigation to an interactive page.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
(cd crates/web && cargo test --release --target wasm32-unknown-unknown --test bench \
  -- --include-ignored 2>&1) | grep -E 'BENCH|test result|panicked' || true
