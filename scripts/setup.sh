#!/usr/bin/env bash
# Installs whatever is missing to build and test CommitScope, from the package registries
# only (crates.io, Debian, npm), at pinned versions. Tools go under $TOOLS (default
# ~/.cache/commitscope/tools) and are reused when their version already matches the pin.
# Source this file to get PATH and the browser-test variables; run it to install only.
set -euo pipefail

TRUNK_VERSION=0.21.14
WASM_BINDGEN_VERSION=0.2.130   # must equal the `wasm-bindgen = "=…"` pin in Cargo.toml
BINARYEN_VERSION=132.0.0       # npm package; ships a wasm-opt that reads rustc 1.95 output
PLAYWRIGHT_CORE_VERSION=1.65.1 # npm, test tooling: drives Debian's Chromium (no browser download)
AXE_CORE_VERSION=4.14.1        # npm, test tooling: the accessibility audit

TOOLS="${TOOLS:-$HOME/.cache/commitscope/tools}"
mkdir -p "$TOOLS/bin"
export PATH="$TOOLS/bin:$TOOLS/npm/node_modules/.bin:$PATH"

say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }
has_version() { command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -q "$2"; }

if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  say "installing Chromium and ChromeDriver from Debian"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if ! has_version wasm-bindgen "$WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  # --locked can fail when a crate of its published lock file is missing from the mirror.
  cargo install --quiet --root "$TOOLS" --locked "wasm-bindgen-cli@$WASM_BINDGEN_VERSION" ||
    cargo install --quiet --root "$TOOLS" "wasm-bindgen-cli@$WASM_BINDGEN_VERSION"
fi

if ! has_version wasm-opt "version_${BINARYEN_VERSION%%.*}"; then
  say "installing binaryen $BINARYEN_VERSION (wasm-opt) from npm"
  mkdir -p "$TOOLS/npm"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS/npm" "binaryen@$BINARYEN_VERSION" >/dev/null
fi

# The browser tests of the release build (tests/browser/*.mjs): playwright-core (which
# downloads no browser) and axe-core, exact versions, under $TOOLS/npm.
npm_has() { grep -qs "\"version\": \"$2\"" "$TOOLS/npm/node_modules/$1/package.json"; }
if ! npm_has playwright-core "$PLAYWRIGHT_CORE_VERSION" || ! npm_has axe-core "$AXE_CORE_VERSION"; then
  say "installing playwright-core $PLAYWRIGHT_CORE_VERSION and axe-core $AXE_CORE_VERSION from npm"
  mkdir -p "$TOOLS/npm"
  npm install --silent --no-audit --no-fund --save-exact --prefix "$TOOLS/npm" \
    "playwright-core@$PLAYWRIGHT_CORE_VERSION" "axe-core@$AXE_CORE_VERSION" >/dev/null
fi

if ! has_version trunk "$TRUNK_VERSION"; then
  say "installing trunk $TRUNK_VERSION (about 9 minutes, once)"
  cargo install --quiet --root "$TOOLS" --locked "trunk@$TRUNK_VERSION"
fi

export CHROMEDRIVER=/usr/bin/chromedriver
export CHROMIUM=/usr/bin/chromium
export TOOLS
export TRUNK_SKIP_VERSION_CHECK=true
