#!/usr/bin/env bash
# The main job on one machine, from a fresh Debian 12:
#  1. installs the dependencies and builds pkiwatch (release),
#  2. starts the collector with its embedded PostgreSQL,
#  3. serves a CRL made here with openssl on a local HTTP server,
#  4. runs the agent against that CDP and against one that does not answer,
#  5. prints the failure patterns by URL, CA and error.
# With --keep-running the collector and a scheduled agent keep running until
# Ctrl-C (dashboard API on the printed HTTP port).
#
# Environment: PKIWATCH_QUICKSTART_DIR (state, default /tmp/pkiwatch-quickstart),
# BUILD_DIR (default build/release).
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=$(pwd)

keep_running=false
[ "${1:-}" = "--keep-running" ] && keep_running=true

./deploy/linux/install-build-deps.sh
build_dir=${BUILD_DIR:-build/release}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DPKIWATCH_BUILD_TESTS=OFF > /dev/null
cmake --build "$build_dir" -j2 --target pkiwatch-collector pkiwatch-agent pkiwatchctl

# The embedded PostgreSQL runs as user postgres when started by root, so the
# state lives where that user can reach it.
state=${PKIWATCH_QUICKSTART_DIR:-/tmp/pkiwatch-quickstart}
rm -rf "$state"  # every run starts from an empty database and a new agent
mkdir -p "$state"
chmod 755 "$state"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

# --- demo PKI and its CDP
"$source_dir/deploy/linux/make-demo-pki.sh" "$state/pki"
mkdir -p "$state/www"
cp "$state/pki/ca.crl" "$state/www/ca.crl"
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$state/www" > "$state/http.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q port "$state/http.log" 2>/dev/null && break; sleep 0.1; done
http_port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$state/http.log" | head -1)

# --- collector
head -c 32 /dev/urandom | base64 > "$state/enroll.secret"
chmod 600 "$state/enroll.secret"
"$build_dir/collector/pkiwatch-collector" --data-dir "$state/collector" \
  --grpc-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
  --enroll-secret-file "$state/enroll.secret" --ready-file "$state/ready.json" \
  > "$state/collector.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do [ -s "$state/ready.json" ] && break; sleep 0.1; done
[ -s "$state/ready.json" ] || { cat "$state/collector.log"; echo "collector did not start" >&2; exit 1; }
grpc_port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["grpc_port"])' "$state/ready.json")
api_port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http_port"])' "$state/ready.json")

# --- agent: one CDP that works, one that does not answer
cat > "$state/agent.json" <<JSON
{
  "collector": "127.0.0.1:$grpc_port",
  "enrollSecretFile": "$state/enroll.secret",
  "stateDir": "$state/agent",
  "site": "quickstart",
  "crlWatches": [
    {"url": "http://127.0.0.1:$http_port/ca.crl", "issuerCertFile": "$state/pki/ca.pem"},
    {"url": "http://127.0.0.1:9/unreachable/ca.crl"}
  ],
  "schedules": [{"probe": "crl", "intervalSeconds": 60, "jitterSeconds": 5}],
  "http": {"connectTimeoutMs": 3000, "totalTimeoutMs": 10000}
}
JSON
"$build_dir/agent/pkiwatch-agent" --config "$state/agent.json" --once

ctl() { "$build_dir/collector/pkiwatchctl" --collector "127.0.0.1:$grpc_port" "$@"; }
echo
echo "== CRL distribution points (all, healthy included)"
ctl patterns --by url --all
echo
echo "== failing CAs"
ctl patterns --by ca
echo
echo "== errors"
ctl patterns --by error
echo
echo "JSON API: curl 'http://127.0.0.1:$api_port/api/v1/patterns?by=url'"

if $keep_running; then
  "$build_dir/agent/pkiwatch-agent" --config "$state/agent.json" >> "$state/agent.log" 2>&1 &
  pids+=($!)
  echo "collector gRPC 127.0.0.1:$grpc_port, HTTP 127.0.0.1:$api_port; agent probing every 60 s."
  echo "Logs in $state. Ctrl-C stops everything."
  wait "${pids[1]}"
fi
