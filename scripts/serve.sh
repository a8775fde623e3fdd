#!/usr/bin/env bash
# Installs whatever is missing (scripts/setup.sh), then serves the app with `trunk serve`
# on http://127.0.0.1:${PORT:-8080}/ (rebuilds on change).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo fetch --locked
# trunk refuses to start when a [watch] ignore path (Trunk.toml) does not exist yet.
mkdir -p target dist
exec trunk serve --offline --dist target/dist-serve --address 127.0.0.1 --port "${PORT:-8080}"
