#!/usr/bin/env bash
# Browser benchmarks (issue 3's budgets), figures printed as BENCH lines, never asserted:
# - step re-render and scrub-frame times on a 2,000-event trace (a release wasm build of
#   crates/web/tests/bench.rs, whose one test is #[ignore]d in the normal test run);
# - the release bundle's size, raw and gzipped;
# - the time from navigation to an interactive app page on localhost.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
(cd crates/web && cargo test --profile web --target wasm32-unknown-unknown --test bench \
  -- --include-ignored --nocapture 2>&1) | grep -E 'BENCH|panicked' || true
trunk build --release --offline --dist target/dist-release >/dev/null
total=0
for f in target/dist-release/commitscope-web_bg.wasm target/dist-release/commitscope-web.js \
  target/dist-release/embed.js target/dist-release/style.css; do
  gz=$(gzip -9 -c "$f" | wc -c)
  total=$((total + gz))
  echo "BENCH bundle $(basename "$f"): $(stat -c %s "$f") bytes, $gz gzipped"
done
echo "BENCH bundle total (wasm + js + css), gzipped: $total bytes"
node tests/browser/load-time.bench.mjs
