#!/usr/bin/env bash
# Rebuilds compiled/<name>.sierra.json from src/ with starknet-compile 2.12.0-dev.0, then checks
# that each compiles to CASM with starknet-sierra-compile under the `audited` libfunc list.
#
#   CAIRO_CORELIB=/path/to/corelib ./regenerate.sh           # rebuild compiled/
#   CAIRO_CORELIB=/path/to/corelib ./regenerate.sh --check   # fail if compiled/ is out of date
#
# The compilers are the prebuilt binaries inside the PyPI sdist cairo-lang==0.14.0.1, fetched
# with pip into a cache directory (BABEL_CAIRO_CACHE, default ~/.cache/babel-cairo). That sdist
# ships only part of the Cairo core library, so the full one is taken from CAIRO_CORELIB: the
# `corelib` directory (with Scarb.toml and src/) of github.com/starkware-libs/cairo at tag
# v2.12.0-dev.0 (commit 879302d8cea7206ed6349bcc2bff2b3bfa0c7521), for example
#   git clone --depth 1 --branch v2.12.0-dev.0 https://github.com/starkware-libs/cairo
#   CAIRO_CORELIB=$PWD/cairo/corelib ./regenerate.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

check=0
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

# compiled/<name>.sierra.json <- contract module path in the babel_contracts crate.
contracts=(
  "counter babel_contracts::counter::Counter"
  "asset babel_contracts::asset::Asset"
  "relay babel_contracts::relay::Relay"
  "hostile babel_contracts::hostile::Hostile"
  "script babel_contracts::script::Script"
)

cairo_lang_version=0.14.0.1
cairo_lang_sha256=d53473245f8d0d7d62d77ad5c1715959f61ce128bb369e8e7662040aabed98df
compiler_version=2.12.0-dev.0
cache="${BABEL_CAIRO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/babel-cairo}"
mkdir -p "$cache"

# The corelib: CAIRO_CORELIB names the corelib directory (or its src/).
if [[ -z "${CAIRO_CORELIB:-}" ]]; then
  echo "CAIRO_CORELIB is not set: point it at the corelib/ directory of starkware-libs/cairo" \
    "at tag v$compiler_version (see the top of this script)" >&2
  exit 1
fi
corelib="$CAIRO_CORELIB"
if [[ ! -f "$corelib/src/lib.cairo" && -f "$corelib/lib.cairo" ]]; then
  corelib="$(dirname "$corelib")"
fi
if [[ ! -f "$corelib/src/lib.cairo" || ! -d "$corelib/src/starknet/storage" ]]; then
  echo "CAIRO_CORELIB=$CAIRO_CORELIB is not a full Cairo corelib (no src/lib.cairo or src/starknet/storage/)" >&2
  exit 1
fi
if ! grep -q "^version = \"$compiler_version\"" "$corelib/Scarb.toml" 2>/dev/null; then
  echo "CAIRO_CORELIB=$CAIRO_CORELIB is not corelib $compiler_version (see its Scarb.toml)" >&2
  exit 1
fi

# The compilers, from the cairo-lang sdist.
sdist="$cache/cairo-lang-$cairo_lang_version.zip"
if [[ ! -f "$sdist" ]]; then
  echo "downloading cairo-lang==$cairo_lang_version (sdist) into $cache" >&2
  python3 -m pip download --quiet --no-deps --no-binary :all: \
    "cairo-lang==$cairo_lang_version" -d "$cache"
fi
echo "$cairo_lang_sha256  $sdist" | sha256sum -c --quiet -

tools="$cache/starknet-compile-$compiler_version"
if [[ ! -x "$tools/bin/starknet-compile" || ! -x "$tools/bin/starknet-sierra-compile" ]]; then
  rm -rf "$tools" "$tools.tmp"
  mkdir -p "$tools.tmp"
  python3 - "$sdist" "$tools.tmp" <<'EOF'
import os, sys, zipfile
prefix = "cairo-lang-0.14.0.1/starkware/starknet/compiler/v1/sierra-compiler-major-1/bin/"
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ("starknet-compile", "starknet-sierra-compile"):
        out = os.path.join(sys.argv[2], "bin", name)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(prefix + name) as src, open(out, "wb") as dst:
            dst.write(src.read())
        os.chmod(out, 0o755)
EOF
  mv "$tools.tmp" "$tools"
fi
# The compilers look for the corelib at ../corelib/src from their own directory.
rm -rf "$tools/corelib"
cp -R "$corelib" "$tools/corelib"
unset CARGO_MANIFEST_DIR # would be searched for a corelib before the binaries' own directory

compile="$tools/bin/starknet-compile"
sierra_compile="$tools/bin/starknet-sierra-compile"
found="$("$compile" --version)"
if [[ "$found" != "starknet-compile $compiler_version" ]]; then
  echo "expected starknet-compile $compiler_version, found: $found" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
stale=0
mkdir -p compiled
for entry in "${contracts[@]}"; do
  read -r name path <<<"$entry"
  "$compile" --allowed-libfuncs-list-name audited --contract-path "$path" . \
    "$work/$name.sierra.json"
  "$sierra_compile" --allowed-libfuncs-list-name audited \
    "$work/$name.sierra.json" "$work/$name.casm.json"
  bytecode="$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["bytecode"]))' \
    "$work/$name.casm.json")"
  target="compiled/$name.sierra.json"
  if cmp -s "$work/$name.sierra.json" "$target"; then
    state="up to date"
  elif ((check)); then
    state="OUT OF DATE"
    stale=1
  else
    mv "$work/$name.sierra.json" "$target"
    state="written"
  fi
  printf '%-8s %-40s %s; CASM (audited) %s felts\n' "$name" "$path" "$state" "$bytecode"
done
for file in compiled/*.sierra.json; do
  [[ -e "$file" ]] || continue
  name="$(basename "$file" .sierra.json)"
  if ! printf '%s\n' "${contracts[@]}" | grep -q "^$name "; then
    echo "$file: no contract of that name in this script" >&2
    stale=1
  fi
done
if ((stale)); then
  echo "compiled/ does not match src/: run $0" >&2
  exit 1
fi
