#!/bin/sh
# Build the browser package into web-demo/www/pkg (the lead's xtask runs the same steps).
set -eu
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:=target}"
VERSION=0.2.130   # = wasm-bindgen in web-demo/Cargo.toml and Cargo.lock
[ -x .tools/bin/wasm-bindgen ] && .tools/bin/wasm-bindgen --version | grep -q "$VERSION" ||
  cargo install wasm-bindgen-cli --version "$VERSION" --root .tools
cargo build -p edgepick-web --target wasm32-unknown-unknown --profile wasm --config 'profile.wasm.strip=false'
# wasm-opt runs BEFORE wasm-bindgen: binaryen 108 (Debian) breaks wasm-bindgen's
# externref table when run on its output ("WebAssembly.Table.set(): Argument 1 is invalid").
OPT="$CARGO_TARGET_DIR/wasm-opt"
mkdir -p "$OPT"
wasm-opt -Oz --strip-debug --strip-producers -o "$OPT/edgepick_web.wasm" \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm/edgepick_web.wasm"
.tools/bin/wasm-bindgen --target web --out-dir web-demo/www/pkg "$OPT/edgepick_web.wasm"
echo "wasm: $(wc -c < web-demo/www/pkg/edgepick_web_bg.wasm) bytes, $(gzip -9c web-demo/www/pkg/edgepick_web_bg.wasm | wc -c) gzipped"
