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

fail() {
  echo "FAIL: $*" >&2
  echo "--- collector log" >&2; cat "$work/collector.log" >&2 || true
  exit 1
}
source "$(dirname "$0")/e2e_lib.sh"
e2e_init e2e-crl

# --- a small PKI: CA and a CRL signed by it
pki=$work/pki
"$source_dir/deploy/linux/make-demo-pki.sh" "$pki" "/DC=example/DC=corp/CN=E2E Issuing CA"
mkdir -p "$pki/www"
cp "$pki/ca.crl" "$pki/www/ca.crl"
head -c 3000 /dev/urandom > "$pki/www/garbage.crl"

# --- the CRL server
start_http_server "$pki/www"
crl_url="http://127.0.0.1:$http_port/ca.crl"
garbage_url="http://127.0.0.1:$http_port/garbage.crl"

# --- the collector with its embedded PostgreSQL
start_collector

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
