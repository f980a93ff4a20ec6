#!/usr/bin/env bash
# RocksDB's Rust bindings run bindgen at build time, which needs libclang. Install Debian's
# libclang-dev when it is missing and we are root; otherwise say what to install.
set -euo pipefail
if compgen -G '/usr/lib/llvm-*/lib/libclang*.so*' >/dev/null \
  || compgen -G '/usr/lib/*/libclang*.so*' >/dev/null \
  || [ -n "${LIBCLANG_PATH:-}" ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing libclang-dev (needed to build RocksDB bindings)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq libclang-dev >/dev/null
else
  echo "error: libclang is missing; install it first (Debian/Ubuntu: sudo apt-get install libclang-dev)" >&2
  exit 1
fi
