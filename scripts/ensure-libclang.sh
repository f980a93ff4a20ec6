#!/usr/bin/env bash
# RocksDB's Rust bindings run bindgen at build time, which needs libclang. Install Debian's
# libclang-dev when it is missing and we are root; otherwise say what to install.
#
# Detection follows what bindgen's loader (clang-sys) accepts: `libclang.so*` or
# `libclang-<version>.so*` in the usual library directories or, when LIBCLANG_PATH is set, only
# in the directory it names (or the library file it names). `libclang-cpp.so*` is LLVM's C++
# library, which other packages pull in; it is not libclang and does not count.
# ROOT (default empty) prefixes every searched path, so a test can point the check at a fake tree.
set -euo pipefail
root="${ROOT:-}"
have_libclang() {
  local dir f name
  if [ -n "${LIBCLANG_PATH:-}" ]; then
    if [ -f "$LIBCLANG_PATH" ]; then
      case "$(basename "$LIBCLANG_PATH")" in
        libclang-cpp*) return 1 ;;
        libclang.so* | libclang-[0-9]*.so*) return 0 ;;
      esac
      return 1
    fi
    for f in "$LIBCLANG_PATH"/libclang.so* "$LIBCLANG_PATH"/libclang-[0-9]*.so*; do
      [ -e "$f" ] && return 0
    done
    return 1
  fi
  for dir in "$root"/usr/lib/llvm-*/lib "$root"/usr/lib/*-linux-gnu "$root"/usr/lib "$root"/usr/local/lib; do
    for f in "$dir"/libclang.so* "$dir"/libclang-[0-9]*.so*; do
      [ -e "$f" ] || continue
      name="$(basename "$f")"
      case "$name" in libclang-cpp*) continue ;; esac
      return 0
    done
  done
  return 1
}
if have_libclang; then
  exit 0
fi
if [ "${CHECK_ONLY:-0}" = 1 ]; then
  echo "missing"
  exit 1
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing libclang-dev (needed to build RocksDB bindings)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  # Another apt run (an unattended upgrade, a first boot) may hold the lock: wait for it.
  apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq libclang-dev >/dev/null
else
  echo "error: libclang is missing; install it first (Debian/Ubuntu: sudo apt-get install libclang-dev)" >&2
  exit 1
fi
