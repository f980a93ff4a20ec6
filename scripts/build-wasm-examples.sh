#!/usr/bin/env bash
# Rebuild the Rust example contracts of the WASM SDK (execution-adapters/wasm/sdk/examples) and
# write their modules beside their sources, where the tests read them. Needs the wasm32 target:
# `rustup target add wasm32-unknown-unknown` (run here when it is missing).
#
#   scripts/build-wasm-examples.sh
#
# The modules carry no path of the machine that built them: panic locations are remapped to
# `cargo/…` (dependencies) and `babel/…` (this repository).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=wasm32-unknown-unknown
if ! rustup target list --installed | grep -qx "$target"; then
  rustup target add "$target"
fi
cargo_home=${CARGO_HOME:-$HOME/.cargo}
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--remap-path-prefix=$cargo_home=cargo --remap-path-prefix=$root=babel"
target_dir=${CARGO_TARGET_DIR:-$root/target}
examples=(counter vault)
args=()
for example in "${examples[@]}"; do args+=(--example "$example"); done
cargo build -p babel-wasm-sdk "${args[@]}" --release --target "$target" --features contract
for example in "${examples[@]}"; do
  cp "$target_dir/$target/release/examples/$example.wasm" \
    execution-adapters/wasm/sdk/examples/"$example".wasm
  echo "execution-adapters/wasm/sdk/examples/$example.wasm: $(wc -c <execution-adapters/wasm/sdk/examples/"$example".wasm) bytes"
done
