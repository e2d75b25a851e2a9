#!/usr/bin/env bash
# End to end with real processes for the portable probe set: the collector
# with its embedded PostgreSQL, a real HTTP server (python3 http.server)
# serving a CRL and an issuer certificate, `openssl ocsp` as a real OCSP
# responder, and the agent in --once mode with the crl, chain, ocsp and aia
# probes over a test PKI made here with openssl:
#
#   E2E Root CA (trust bundle)
#   └── E2E Issuing CA (cert dir)
#       ├── good leaf          CDP / OCSP / AIA caIssuers on 127.0.0.1
#       ├── template leaf      + Microsoft v2 template extension
#       ├── revoked leaf       in the CRL and in the OCSP index
#       └── expired leaf       validity in 2020
#
# Run 1 checks every probe's verdict through pkiwatchctl; then the OCSP
# responder goes away and run 2 must show the OCSP URL failing with
# CRYPT_E_REVOCATION_OFFLINE.
#
# usage: probes_end_to_end.sh BUILD_DIR   (the build tree's top directory)
set -euo pipefail

bin=${1:?usage: $0 BUILD_DIR}
collector_bin=$bin/collector/pkiwatch-collector
ctl_bin=$bin/collector/pkiwatchctl
agent_bin=$bin/agent/pkiwatch-agent

ocsp_pid=""
stop_pid() {  # stop_pid PID: SIGTERM, then SIGKILL after 5 s
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
fail() {
  echo "FAIL: $*" >&2
  echo "--- agent log" >&2; cat "$work/agent.log" >&2 || true
  echo "--- ocsp responder log" >&2; cat "$work/ocsp.log" >&2 || true
  echo "--- collector log" >&2; cat "$work/collector.log" >&2 || true
  exit 1
}
source "$(dirname "$0")/e2e_lib.sh"
e2e_init e2e-probes
e2e_on_exit '[ -n "$ocsp_pid" ] && stop_pid "$ocsp_pid"'

# A port nothing listens on right now (bound, read, released).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}


thumbprint() {  # thumbprint PEM: SHA-1, lower-case hex without colons
  openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'
}

# --- the HTTP server first (its port goes into the certificates)
pki=$work/pki
www=$pki/www
mkdir -p "$www"
start_http_server "$www"
ocsp_port=$(free_port)
closed_port=$(free_port)
[ "$ocsp_port" != "$closed_port" ] || closed_port=$(free_port)

crl_url="http://127.0.0.1:$http_port/issuing.crl"
missing_url="http://127.0.0.1:$http_port/missing.crl"
closed_url="http://127.0.0.1:$closed_port/issuing.crl"
aia_url="http://127.0.0.1:$http_port/issuing.cer"
ocsp_url="http://127.0.0.1:$ocsp_port/"
template_oid="1.3.6.1.4.1.311.21.8.1234.5678.1"

# --- the test PKI
cat > "$pki/req.cnf" <<CNF
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ root_ext ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ issuing_ext ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF
newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl req -config "$pki/req.cnf" -x509 "${newkey[@]}" -days 3650 -sha256 \
  -subj "/DC=example/DC=e2e/CN=E2E Root CA" -extensions root_ext \
  -keyout "$pki/root.key" -out "$pki/root.pem" 2>/dev/null || fail "root CA"
openssl req -config "$pki/req.cnf" -new "${newkey[@]}" \
  -subj "/DC=example/DC=e2e/CN=E2E Issuing CA" \
  -keyout "$pki/issuing.key" -out "$pki/issuing.csr" 2>/dev/null || fail "issuing CA request"
openssl x509 -req -in "$pki/issuing.csr" -CA "$pki/root.pem" -CAkey "$pki/root.key" \
  -set_serial 0x1001 -days 1825 -sha256 -extfile "$pki/req.cnf" -extensions issuing_ext \
  -out "$pki/issuing.pem" 2>/dev/null || fail "issuing CA"

mkdir -p "$pki/ca/newcerts"
: > "$pki/ca/index.txt"
echo 2001 > "$pki/ca/serial"
echo 01 > "$pki/ca/crlnumber"
leaf_ext="basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:$crl_url
authorityInfoAccess = OCSP;URI:$ocsp_url,caIssuers;URI:$aia_url"
cat > "$pki/ca.cnf" <<CNF
[ ca ]
default_ca = issuing
[ issuing ]
database = $pki/ca/index.txt
new_certs_dir = $pki/ca/newcerts
serial = $pki/ca/serial
crlnumber = $pki/ca/crlnumber
certificate = $pki/issuing.pem
private_key = $pki/issuing.key
default_md = sha256
default_days = 365
default_crl_days = 7
policy = policy_cn
unique_subject = no
copy_extensions = none
crl_extensions = crl_ext
[ policy_cn ]
commonName = supplied
[ crl_ext ]
authorityKeyIdentifier = keyid:always
[ leaf_ext ]
$leaf_ext
[ template_ext ]
$leaf_ext
1.3.6.1.4.1.311.21.7 = ASN1:SEQUENCE:tmpl
[ tmpl ]
oid = OID:$template_oid
major = INTEGER:100
minor = INTEGER:3
CNF

certs=$work/certs
mkdir -p "$certs"
issue() {  # issue NAME EXTENSIONS [openssl ca options...]
  local name=$1 ext=$2
  shift 2
  openssl req -config "$pki/req.cnf" -new "${newkey[@]}" -subj "/CN=$name.e2e.example" \
    -keyout "$pki/$name.key" -out "$pki/$name.csr" 2>/dev/null || fail "$name request"
  openssl ca -config "$pki/ca.cnf" -batch -notext -extensions "$ext" "$@" \
    -in "$pki/$name.csr" -out "$certs/$name.pem" > "$pki/ca.log" 2>&1 \
    || { cat "$pki/ca.log" >&2; fail "issuing $name"; }
}
issue good leaf_ext
issue template template_ext
issue revoked leaf_ext
issue expired leaf_ext -startdate 20200101000000Z -enddate 20200201000000Z
openssl ca -config "$pki/ca.cnf" -revoke "$certs/revoked.pem" -crl_reason keyCompromise \
  > "$pki/ca.log" 2>&1 || { cat "$pki/ca.log" >&2; fail "revoking"; }
openssl ca -config "$pki/ca.cnf" -gencrl -out "$pki/issuing.crl.pem" > "$pki/ca.log" 2>&1 \
  || { cat "$pki/ca.log" >&2; fail "CRL"; }
openssl crl -in "$pki/issuing.crl.pem" -outform DER -out "$www/issuing.crl"
openssl x509 -in "$pki/issuing.pem" -outform DER -out "$www/issuing.cer"
# The issuing CA sits beside the leaves (the OCSP probe needs the issuer from
# the folders or the bundle); the root is the trust bundle's only anchor.
cp "$pki/issuing.pem" "$certs/issuing-ca.pem"
cp "$pki/root.pem" "$pki/trust.pem"
# The template extension must be in the certificate as DER, or the rest of
# the test checks nothing.
openssl x509 -in "$certs/template.pem" -noout -text | grep -q "1.3.6.1.4.1.311.21.7" \
  || fail "template extension missing from template.pem"

tp_good=$(thumbprint "$certs/good.pem")
tp_template=$(thumbprint "$certs/template.pem")
tp_revoked=$(thumbprint "$certs/revoked.pem")
tp_expired=$(thumbprint "$certs/expired.pem")
tp_issuing=$(thumbprint "$certs/issuing-ca.pem")
issuing_ski=$(openssl x509 -in "$pki/issuing.pem" -noout -ext subjectKeyIdentifier \
  | sed -n '2s/[ :]//gp' | tr 'A-F' 'a-f')
[ -n "$issuing_ski" ] || fail "no subjectKeyIdentifier in issuing.pem"

# --- the OCSP responder (signs with the CA key itself)
start_ocsp() {
  openssl ocsp -index "$pki/ca/index.txt" -port "$ocsp_port" -rsigner "$pki/issuing.pem" \
    -rkey "$pki/issuing.key" -CA "$pki/issuing.pem" -ignore_err > "$work/ocsp.log" 2>&1 &
  ocsp_pid=$!
  # Not a bare connect as a readiness check: OpenSSL 3.0's responder spins
  # forever on a connection closed without a request. Its log line comes
  # after listen(); one real request then shows that it answers.
  for _ in $(seq 1 100); do grep -q "waiting for OCSP" "$work/ocsp.log" && break; sleep 0.1; done
  if ! timeout 20 openssl ocsp -issuer "$pki/issuing.pem" -cert "$certs/good.pem" \
      -url "$ocsp_url" -CAfile "$pki/root.pem" -timeout 10 > "$work/ocsp-client.log" 2>&1 ||
    ! grep -q "good.pem: good" "$work/ocsp-client.log"; then
    fail "openssl ocsp does not answer on $ocsp_port: $(cat "$work/ocsp-client.log")"
  fi
}
start_ocsp

# --- the collector with its embedded PostgreSQL
start_collector

cat > "$work/agent.json" <<JSON
{
  "crlWatches": [
    {"url": "$crl_url", "issuerCertFile": "$pki/issuing.pem"},
    {"url": "$missing_url"},
    {"url": "$closed_url"}
  ],
  "certDirs": ["$certs"],
  "trustBundleFile": "$pki/trust.pem",
  "http": {"connectTimeoutMs": 2000, "totalTimeoutMs": 5000, "noProxy": true},
  "probeBudgetSeconds": 60
}
JSON
: > "$work/agent.log"
run_agent() {
  "$agent_bin" --config "$work/agent.json" --collector "$grpc" \
    --enroll-secret-file "$work/enroll.secret" --state-dir "$work/agent" --site e2e \
    --once --once-timeout 120 >> "$work/agent.log" 2>&1 || fail "agent --once failed"
}
ctl() { "$ctl_bin" --collector "$grpc" "$@"; }
snapshot() {  # snapshot RUN: every view as JSON into $work/RUN.*.json
  local by
  for by in url ca template error; do
    ctl patterns --by "$by" --all --format json > "$work/$1.$by.json" || fail "patterns --by $by"
  done
  ctl hosts --format json > "$work/$1.hosts.json" || fail "hosts"
  local node
  node=$(python3 -c 'import json,sys; h = json.load(open(sys.argv[1]))["hosts"]; print(h[0]["nodeId"] if len(h) == 1 else "")' \
    "$work/$1.hosts.json")
  [ -n "$node" ] || fail "expected exactly one host: $(cat "$work/$1.hosts.json")"
  ctl host "$node" --format json > "$work/$1.host.json" || fail "host $node"
}

# For the humans reading the CI log: the tables after a run.
print_views() {  # print_views RUN BY...
  local run=$1 by
  shift
  for by in "$@"; do
    echo "=== $run: pkiwatchctl patterns --by $by --all"
    ctl patterns --by "$by" --all || fail "patterns --by $by"
    echo
  done
  echo "=== $run: pkiwatchctl host"
  ctl host "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["host"]["nodeId"])' \
    "$work/$run.host.json")" || fail "host"
  echo
}

# The checks share one python helper: the views of a run and the names.
cat > "$work/check_common.py" <<'PY'
import json, sys

run, names = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
def load(view):
    return json.load(open(f"{run}.{view}.json"))
def patterns(view):
    return {p["key"]: p for p in load(view)["patterns"]}
def top_error(p):
    return p["topErrors"][0]["error"]["symbolicName"] if p["topErrors"] else None
results = load("host")["results"]
def result(probe, target):
    found = [r for r in results if r["probe"] == probe and r["target"] == target]
    assert len(found) == 1, (probe, target, [(r["probe"], r["target"]) for r in results])
    return found[0]
def error(r):
    return r["error"]["symbolicName"] if r.get("error") else ""
PY
names=(crl="$crl_url" missing="$missing_url" closed="$closed_url" aia="$aia_url"
       ocsp="$ocsp_url" oid="$template_oid" good="$tp_good" template="$tp_template"
       revoked="$tp_revoked" expired="$tp_expired" issuing="$tp_issuing"
       issuing_ski="$issuing_ski")

# --- run 1: everything is served
run_agent
snapshot run1
PYTHONPATH=$work python3 - "$work/run1" "${names[@]}" <<'PY' || { print_views run1 url; fail "run 1 verdicts wrong"; }
from check_common import *
n = names
url = patterns("url")
good = url[n["crl"]]
assert good["failingHosts"] == 0 and good["warningHosts"] == 0 and good["totalHosts"] == 1, good
for key in ("missing", "closed"):
    p = url[n[key]]
    assert p["failingHosts"] == 1, p
    assert top_error(p) == "CRYPT_E_REVOCATION_OFFLINE", p
# One failing certificate (the revoked one) makes the OCSP URL fail.
p = url[n["ocsp"]]
assert p["urlKind"] == "URL_KIND_OCSP" and p["failingHosts"] == 1, p
assert top_error(p) == "CRYPT_E_REVOKED", p
p = url[n["aia"]]
assert p["urlKind"] == "URL_KIND_AIA" and p["failingHosts"] == 0, p

# Per result: the crl probe ...
r = result("crl", n["crl"])
assert r["status"] == "STATUS_OK" and "signature verified" in r["summary"], r
for key in ("missing", "closed"):
    r = result("crl", n[key])
    assert r["status"] == "STATUS_FAIL" and error(r) == "CRYPT_E_REVOCATION_OFFLINE", r
# ... ocsp (the expired leaf is not asked) ...
for key in ("good", "template"):
    r = result("ocsp", f'{n[key]} {n["ocsp"]}')
    assert r["status"] == "STATUS_OK", r
r = result("ocsp", f'{n["revoked"]} {n["ocsp"]}')
assert r["status"] == "STATUS_FAIL" and error(r) == "CRYPT_E_REVOKED", r
assert "keyCompromise" in r["summary"] or "keyCompromise" in r["error"]["nativeDetail"], r
assert not [x for x in results if x["probe"] == "ocsp" and x["target"].startswith(n["expired"])]
# ... chain (revocation is not its business) ...
for key in ("good", "template", "revoked", "issuing"):
    r = result("chain", n[key])
    assert r["status"] == "STATUS_OK", r
r = result("chain", n["expired"])
assert r["status"] == "STATUS_FAIL" and error(r) == "CERT_E_EXPIRED", r
# ... and aia: the served issuer is right for every leaf.
for key in ("good", "template", "revoked", "expired"):
    r = result("aia", f'{n[key]} {n["aia"]}')
    assert r["status"] == "STATUS_OK", r

# Dimensions: the template leaf carries its template OID, the leaves the CA.
r = result("chain", n["template"])
assert r["dimensions"]["templateOid"] == n["oid"], r
tmpl = patterns("template")
assert n["oid"] in tmpl, list(tmpl)
# Every check of the template leaf passes.
assert tmpl[n["oid"]]["totalHosts"] == 1 and tmpl[n["oid"]]["failingHosts"] == 0, tmpl[n["oid"]]
ca = patterns("ca")
# The issuing CA by name and key id (the leaves' AKI = its SKI); it fails on
# this host (revoked and expired leaves).
issuing = [p for k, p in ca.items() if "CN=E2E Issuing CA" in k and n["issuing_ski"] in k]
assert len(issuing) == 1 and issuing[0]["failingHosts"] == 1, (n["issuing_ski"], ca)
assert any("E2E Root CA" in k for k in ca), list(ca)
errors = patterns("error")
for name in ("CRYPT_E_REVOCATION_OFFLINE", "CRYPT_E_REVOKED", "CERT_E_EXPIRED"):
    assert name in errors and errors[name]["failingHosts"] == 1, (name, errors.get(name, list(errors)))
PY

print_views run1 url ca template error

# --- run 2: the OCSP responder is gone
stop_pid "$ocsp_pid"; ocsp_pid=""
run_agent
snapshot run2
PYTHONPATH=$work python3 - "$work/run2" "${names[@]}" <<'PY' || { print_views run2 url; fail "run 2 verdicts wrong"; }
from check_common import *
n = names
p = patterns("url")[n["ocsp"]]
assert p["failingHosts"] == 1, p
assert top_error(p) == "CRYPT_E_REVOCATION_OFFLINE", p
for key in ("good", "template", "revoked"):
    r = result("ocsp", f'{n[key]} {n["ocsp"]}')
    assert r["status"] == "STATUS_FAIL" and error(r) == "CRYPT_E_REVOCATION_OFFLINE", r
# Nothing else changed: the CRL is still served and valid.
assert patterns("url")[n["crl"]]["failingHosts"] == 0
assert result("chain", n["good"])["status"] == "STATUS_OK"
PY

print_views run2 url

# --- a clean shutdown stops the embedded PostgreSQL too
kill -TERM "$collector_pid"
collector_rc=0
for _ in $(seq 1 300); do kill -0 "$collector_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$collector_pid" 2>/dev/null && fail "collector did not stop within 30 s of SIGTERM"
wait "$collector_pid" || collector_rc=$?
collector_pid=""
[ "$collector_rc" -eq 0 ] || fail "collector exited with $collector_rc"
if pgrep -f "postgres -D $work/collector" > /dev/null; then fail "PostgreSQL still running"; fi
echo "e2e: 1 passed, 0 failed"
