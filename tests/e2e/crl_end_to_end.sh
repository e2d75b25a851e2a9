#!/usr/bin/env bash
# End to end with real processes: the collector with its embedded PostgreSQL,
# a real HTTP server (python3 http.server) serving a CRL made here with
# openssl, and the agent in --once mode. Then the CRL server goes away and
# the next run must show the URL failing with CRYPT_E_REVOCATION_OFFLINE.
#
# usage: crl_end_to_end.sh BUILD_DIR   (the build tree's top directory)
set -euo pipefail

bin=${1:?usage: $0 BUILD_DIR}
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
collector_bin=$bin/collector/pkiwatch-collector
ctl_bin=$bin/collector/pkiwatchctl
agent_bin=$bin/agent/pkiwatch-agent

# The embedded cluster runs as user postgres when we are root: use a
# directory that user can reach.
work=$(mktemp -d /tmp/pkiwatch-e2e.XXXXXX)
chmod 755 "$work"
collector_pid=""
http_pid=""
cleanup() {
  [ -n "$http_pid" ] && kill "$http_pid" 2>/dev/null || true
  if [ -n "$collector_pid" ]; then
    kill -TERM "$collector_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$collector_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- collector log" >&2; cat "$work/collector.log" >&2 || true
  exit 1
}

# Waits up to $2 tenths of a second for file $1 to exist.
wait_for_file() {
  for _ in $(seq 1 "$2"); do [ -s "$1" ] && return 0; sleep 0.1; done
  return 1
}

json_field() {  # json_field FILE KEY
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# --- a small PKI: CA and a CRL signed by it
pki=$work/pki
"$source_dir/deploy/linux/make-demo-pki.sh" "$pki" "/DC=example/DC=corp/CN=E2E Issuing CA"
mkdir -p "$pki/www"
cp "$pki/ca.crl" "$pki/www/ca.crl"
head -c 3000 /dev/urandom > "$pki/www/garbage.crl"

# --- the CRL server
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$pki/www" > "$work/http.log" 2>&1 &
http_pid=$!
for _ in $(seq 1 100); do grep -q "port" "$work/http.log" 2>/dev/null && break; sleep 0.1; done
http_port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$work/http.log" | head -1)
[ -n "$http_port" ] || fail "http.server did not start"
crl_url="http://127.0.0.1:$http_port/ca.crl"
garbage_url="http://127.0.0.1:$http_port/garbage.crl"

# --- the collector with its embedded PostgreSQL
head -c 32 /dev/urandom | base64 > "$work/enroll.secret"
"$collector_bin" --data-dir "$work/collector" --grpc-listen 127.0.0.1:0 \
  --http-listen 127.0.0.1:0 --enroll-secret-file "$work/enroll.secret" \
  --ready-file "$work/ready.json" > "$work/collector.log" 2>&1 &
collector_pid=$!
wait_for_file "$work/ready.json" 600 || fail "collector did not become ready"
grpc="127.0.0.1:$(json_field "$work/ready.json" grpc_port)"
http="127.0.0.1:$(json_field "$work/ready.json" http_port)"

cat > "$work/agent.json" <<JSON
{
  "crlWatches": [
    {"url": "$crl_url", "issuerCertFile": "$pki/ca.pem"},
    {"url": "$garbage_url"}
  ],
  "http": {"connectTimeoutMs": 2000, "totalTimeoutMs": 5000, "noProxy": true}
}
JSON
run_agent() {
  "$agent_bin" --config "$work/agent.json" --collector "$grpc" \
    --enroll-secret-file "$work/enroll.secret" --state-dir "$work/agent" --site e2e \
    --once --once-timeout 60 >> "$work/agent.log" 2>&1 || { cat "$work/agent.log" >&2; fail "agent --once failed"; }
}

# --- run 1: the CRL is served and valid; the garbage is not a CRL
run_agent
"$ctl_bin" --collector "$grpc" patterns --by url --all --format json > "$work/run1.json"
python3 - "$work/run1.json" "$crl_url" "$garbage_url" <<'PY' || fail "run 1 patterns wrong: $(cat "$work/run1.json")"
import json, sys
patterns = {p["key"]: p for p in json.load(open(sys.argv[1]))["patterns"]}
good, garbage = patterns[sys.argv[2]], patterns[sys.argv[3]]
assert good["failingHosts"] == 0 and good["totalHosts"] == 1, good
assert garbage["failingHosts"] == 1, garbage
assert garbage["topErrors"][0]["error"]["symbolicName"] == "CRYPT_E_ASN1_BADTAG", garbage
PY
"$ctl_bin" --collector "$grpc" patterns --by ca --all --format json > "$work/ca.json"
grep -q "E2E Issuing CA" "$work/ca.json" || fail "CA dimension missing: $(cat "$work/ca.json")"

# --- run 2: the CRL server is gone
kill "$http_pid"; wait "$http_pid" 2>/dev/null || true; http_pid=""
run_agent
"$ctl_bin" --collector "$grpc" patterns --by url > "$work/run2.txt"
cat "$work/run2.txt"
grep -F "$crl_url" "$work/run2.txt" | grep -q "CRYPT_E_REVOCATION_OFFLINE (0x80092013)" \
  || fail "URL not failing with the offline-revocation class"

# The HTTP JSON API tells the same.
curl -sf "http://$http/api/v1/patterns?by=url" > "$work/http.json" || fail "HTTP API"
python3 - "$work/http.json" "$crl_url" <<'PY' || fail "HTTP API answer wrong: $(cat "$work/http.json")"
import json, sys
p = {p["key"]: p for p in json.load(open(sys.argv[1]))["patterns"]}[sys.argv[2]]
assert p["failingHosts"] == 1 and p["totalHosts"] == 1, p
assert p["topErrors"][0]["error"]["hresult"] == 0x80092013, p
PY
curl -sf "http://$http/healthz" | grep -q ok || fail "healthz"

# --- a clean shutdown stops the embedded PostgreSQL too
kill -TERM "$collector_pid"
wait "$collector_pid" || fail "collector exited non-zero"
collector_pid=""
if pgrep -f "postgres -D $work/collector" > /dev/null; then fail "PostgreSQL still running"; fi
echo "e2e: 1 passed, 0 failed"
