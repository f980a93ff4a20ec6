#!/usr/bin/env bash
# DA posting and replay end to end: one validator posting to a `babel da serve` on loopback,
# loaded by `babel bench`, then `babel replay` timed against the same server. Needs a release
# build (`cargo build --release --bin babel`) and free ports 36658, 36660, 37000 and 39090.
#
#   scripts/bench-da.sh [TXS]     # default 30000 EVM transfers from 2000 senders
set -euo pipefail
txs="${1:-30000}"
bin="${CARGO_TARGET_DIR:-target}/release/babel"
dir="$(mktemp -d)"
token="bench-da-token"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$dir"' EXIT
BABEL_DA_AUTH_TOKEN="$token" "$bin" da serve --listen 127.0.0.1:36658 --dir "$dir/da" 2>"$dir/da.log" &
"$bin" testnet --validators 1 --output "$dir/net" --p2p-port 37000 --grpc-port 39090 \
  --ops-port 36660 --chain-id babel-bench-da >/dev/null
home="$dir/net/node-0"
python3 - "$home/config.toml" "$token" <<'PY'
import re, sys
path, token = sys.argv[1], sys.argv[2]
text = open(path).read()
da = f'[da]\nbackend = "celestia"\nurl = "http://127.0.0.1:36658"\nauth_token = "{token}"\n\n'
open(path, "w").write(re.sub(r"\[da\][^\[]*", da, text))
PY
"$bin" start --home "$home" 2>"$dir/node.log" &
node=$!
sleep 5
"$bin" bench --endpoint http://127.0.0.1:39090 --txs "$txs" --senders 2000
metric() { curl -s 127.0.0.1:36660/metrics | awk -v m="$1" '$1 == m {print $2}'; }
for _ in $(seq 1 120); do
  [ "$(metric babel_da_posted_height)" = "$(metric babel_height)" ] && break
  sleep 1
done
curl -s 127.0.0.1:36660/metrics | grep -E '^babel_height |^babel_da_(posted_height|submissions_total|submitted_bytes_total|submit_seconds_(sum|count)) '
kill "$node"; wait "$node" 2>/dev/null || true
start=$(date +%s%N)
BABEL_DA_AUTH_TOKEN="$token" "$bin" replay --da http://127.0.0.1:36658 --genesis "$home/genesis.json" 2>"$dir/replay.log"
echo "replay took $(( ($(date +%s%N) - start) / 1000000 )) ms"
