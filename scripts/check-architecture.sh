#!/usr/bin/env bash
# Architecture invariants, checked rather than only written down (see ARCHITECTURE.md):
# the engine and the protocols depend on no browser API, no OS randomness and no clock
# crate, natively or for wasm32; the engine does not depend on the protocols.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for crate in commitscope-engine commitscope-history commitscope-protocols; do
  for target in x86_64-unknown-linux-gnu wasm32-unknown-unknown; do
    deps=$(cargo tree -p "$crate" -e normal --target "$target" --prefix none --locked | awk '{print $1}' | sort -u)
    for banned in web-sys js-sys wasm-bindgen getrandom rand instant chrono yew gloo-timers; do
      if grep -qx "$banned" <<<"$deps"; then
        echo "architecture: $crate depends on $banned ($target)"; cargo tree -p "$crate" -e normal --target "$target" -i "$banned" --locked || true
        status=1
      fi
    done
  done
done
if cargo tree -p commitscope-engine -e normal --prefix none --locked | grep -q '^commitscope-protocols'; then
  echo "architecture: the engine depends on the protocols"; status=1
fi
[ "$status" -eq 0 ] && echo "architecture: engine and protocols are portable and clock-free"
exit "$status"
