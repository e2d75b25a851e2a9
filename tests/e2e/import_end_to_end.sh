#!/usr/bin/env bash
# Offline import end to end, with real processes: exported event logs are
# replayed by `pkiwatch-agent --import-events ... --once` into the collector
# (embedded PostgreSQL) and must show up in `pkiwatchctl patterns` by url,
# ca, template and error, under the computers and times the records carry.
#
# Inputs: an export written here the way Windows PowerShell 5.1 saves
# `wevtutil qe Application /f:xml /e:Events > fleet.xml` (UTF-16LE with BOM,
# one root element), with records built from the manifests' templates for
# four computers; plus the real logs in ../shared/fixtures/events (.evtx via
# libevtx and evtxexport XML), when present.
#
# usage: import_end_to_end.sh BUILD_DIR   (the build tree's top directory)
set -euo pipefail

bin=${1:?usage: $0 BUILD_DIR}
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
collector_bin=$bin/collector/pkiwatch-collector
ctl_bin=$bin/collector/pkiwatchctl
agent_bin=$bin/agent/pkiwatch-agent
fixtures=$source_dir/../shared/fixtures/events

fail() {
  echo "FAIL: $*" >&2
  echo "--- import output" >&2; cat "$work"/import*.log >&2 || true
  echo "--- collector log" >&2; cat "$work/collector.log" >&2 || true
  exit 1
}
source "$(dirname "$0")/e2e_lib.sh"
e2e_init e2e-import

# --- the export: four computers of corp.example
python3 - "$work/fleet.xml" <<'PY'
import sys
from xml.sax.saxutils import escape

NS = "http://schemas.microsoft.com/win/2004/08/events/event"
CERTENROLL = ('<Provider Name="Microsoft-Windows-CertificateServicesClient-CertEnroll" '
              'Guid="{54164045-7C50-4905-963F-E5BC1EEF0CCA}"/>')
CAPI2 = '<Provider Name="Microsoft-Windows-CAPI2" Guid="{5bbca4a8-b209-48dc-a8c7-b23d3e5216fb}"/>'

def system(provider, event_id, level, time, record, channel, computer):
    return (f'<System>{provider}<EventID>{event_id}</EventID><Version>0</Version>'
            f'<Level>{level}</Level><Task>0</Task><Opcode>0</Opcode>'
            f'<Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime="{time}"/>'
            f'<EventRecordID>{record}</EventRecordID><Correlation/>'
            f'<Execution ProcessID="1234" ThreadID="5678"/><Channel>{channel}</Channel>'
            f'<Computer>{computer}</Computer><Security UserID="S-1-5-18"/></System>')

# CertEnroll 13 (manifest fields Context, TemplateName, CA, RequestId, ErrorCode).
def enroll_failed(computer, record, time, request_id):
    data = [("Context", "Local system"), ("TemplateName", "Machine"),
            ("CA", "ca01.corp.example\\Corp Issuing CA 01"), ("RequestId", str(request_id)),
            ("ErrorCode", "The RPC server is unavailable. 0x800706ba (WIN32: 1722 RPC_S_SERVER_UNAVAILABLE)")]
    body = "".join(f'<Data Name="{n}">{escape(v)}</Data>' for n, v in data)
    return (f'<Event xmlns="{NS}">' + system(CERTENROLL, 13, 2, time, record, "Application", computer)
            + f'<EventData>{body}</EventData></Event>')

# CAPI2/Operational 53: a CRL retrieval that failed offline.
def crl_offline(computer, record, time):
    return (f'<Event xmlns="{NS}">'
            + system(CAPI2, 53, 2, time, record, "Microsoft-Windows-CAPI2/Operational", computer)
            + '<UserData><CryptRetrieveObjectByUrlWire>'
            '<URL scheme="http">http://pki.corp.example/CertEnroll/Corp%20Issuing%20CA%2001.crl</URL>'
            '<Object type="CONTEXT_OID_CRL" constant="2"/><AdditionalInfo/>'
            '<Result value="80092013">The revocation function was unable to check revocation '
            'because the revocation server was offline.</Result>'
            '</CryptRetrieveObjectByUrlWire></UserData></Event>')

records = []
hosts = [f"WS0{i}.corp.example" for i in range(1, 5)]
for i, host in enumerate(hosts):
    records.append(enroll_failed(host, 100 + i, f"2026-11-20T08:1{i}:00.1234567Z", 4711 + i))
for i, host in enumerate(hosts[:3]):
    records.append(crl_offline(host, 200 + i, f"2026-11-20T09:0{i}:30.5Z"))
# A record without a provider: counted as unreadable, the rest goes on.
records.append(f'<Event xmlns="{NS}"><System><EventID>13</EventID></System></Event>')
text = "<Events>\r\n" + "\r\n".join(records) + "\r\n</Events>\r\n"
with open(sys.argv[1], "wb") as f:
    f.write(text.encode("utf-16"))  # BOM + UTF-16LE on every platform Python runs on here
PY

imports=(--import-events "$work/fleet.xml")
have_fixtures=0
if [ -d "$fixtures" ]; then
  have_fixtures=1
  imports+=(--import-events "$fixtures/omerbenamram-evtx/E_Windows_Microsoft-Windows-CAPI2%4Operational.evtx"
            --import-events "$fixtures/omerbenamram-evtx/E_ShadowCopy6_Microsoft-Windows-CAPI2%4Operational.xml")
else
  echo "SKIP (part): real event logs not found at $fixtures; importing the written export only"
fi

# --- the collector with its embedded PostgreSQL
start_collector
ctl() { "$ctl_bin" --collector "$grpc" "$@"; }

run_import() {  # run_import LOG [extra flags]
  local log=$1
  shift
  "$agent_bin" --collector "$grpc" --enroll-secret-file "$work/enroll.secret" \
    --state-dir "$work/importer" --import-site branch-7 "${imports[@]}" --once \
    --once-timeout 60 "$@" > "$log" 2>&1
}

# --- first import
run_import "$work/import1.log" || fail "import failed"
cat "$work/import1.log"
grep -q "fleet.xml (XML (UTF-16LE)): 8 records, 7 findings spooled" "$work/import1.log" ||
  fail "the export's 8 records should give 7 findings"
grep -q "1 unreadable" "$work/import1.log" || fail "the record without a provider is not counted"
grep -q "^  WS01.corp.example: 2 findings" "$work/import1.log" || fail "findings of WS01"
grep -q "^imported computers delivered: \([0-9]*\) of \1," "$work/import1.log" ||
  fail "not every imported computer was delivered"

for by in url ca template error; do
  ctl patterns --by "$by" --format json > "$work/$by.json" || fail "patterns --by $by"
  echo "=== pkiwatchctl patterns --by $by"
  ctl patterns --by "$by" || fail "patterns --by $by (table)"
done
ctl hosts --format json > "$work/hosts.json" || fail "hosts"

python3 - "$work" "$have_fixtures" <<'PY' || fail "the imported events are not where they belong"
import json, sys

work, have_fixtures = sys.argv[1], sys.argv[2] == "1"
def patterns(by):
    return {p["key"]: p for p in json.load(open(f"{work}/{by}.json")).get("patterns", [])}
def check(cond, what):
    if not cond:
        print("check failed:", what, file=sys.stderr)
        sys.exit(1)
def top(p):
    return p["topErrors"][0]["error"]["symbolicName"]

url = "http://pki.corp.example/CertEnroll/Corp%20Issuing%20CA%2001.crl"
by_url = patterns("url")
check(url in by_url, f"url pattern {url} in {list(by_url)}")
check(by_url[url]["failingHosts"] == 3, f"3 hosts fail the CRL: {by_url[url]}")
check(top(by_url[url]) == "CRYPT_E_REVOCATION_OFFLINE", f"url error: {by_url[url]}")
# Times are the records' own: the last failure was written at 09:02:30.5.
check(by_url[url]["lastSeen"].startswith("2026-11-20T09:02:30.5"), f"url last seen: {by_url[url]}")

by_ca = patterns("ca")
ca = "ca01.corp.example\\Corp Issuing CA 01"
check(ca in by_ca and by_ca[ca]["failingHosts"] == 4, f"ca pattern: {list(by_ca)}")
check(top(by_ca[ca]) == "RPC_S_SERVER_UNAVAILABLE", f"ca error: {by_ca[ca]}")

by_template = patterns("template")
check("Machine" in by_template and by_template["Machine"]["failingHosts"] == 4,
      f"template pattern: {list(by_template)}")
check(by_template["Machine"]["firstSeen"].startswith("2026-11-20T08:10:00.123"),
      f"template first seen: {by_template['Machine']}")

by_error = patterns("error")
check(by_error.get("RPC_S_SERVER_UNAVAILABLE", {}).get("failingHosts") == 4, f"errors: {list(by_error)}")
check(by_error.get("CRYPT_E_REVOCATION_OFFLINE", {}).get("failingHosts") == 3, f"errors: {by_error}")

hosts = {h["hostname"]: h for h in json.load(open(f"{work}/hosts.json"))["hosts"]}
for name in ("WS01", "WS02", "WS03", "WS04"):
    check(name in hosts, f"imported computer {name} in {list(hosts)}")
    check(hosts[name]["site"] == "branch-7", f"site of {name}: {hosts[name]}")
    check("imported" in hosts[name]["agentVersion"], f"version of {name}: {hosts[name]}")
if have_fixtures:
    # The real logs keep their computers: one from the .evtx, two from the XML.
    for name in ("WIN-M5327EF98B9", "BASE-WKSTN-05", "MININT-AEA0ADI"):
        check(name in hosts, f"computer {name} of the real logs in {list(hosts)}")
PY

# --- the same files again: nothing is imported twice
run_import "$work/import2.log" || fail "second import failed"
grep -q "fleet.xml (XML (UTF-16LE)): 8 records, 0 findings spooled.* 7 imported before" \
  "$work/import2.log" || fail "re-import should skip the 7 records imported before"
ctl patterns --by template --format json > "$work/template2.json" || fail "patterns again"
python3 -c '
import json, sys
p = {p["key"]: p for p in json.load(open(sys.argv[1]))["patterns"]}
sys.exit(0 if p["Machine"]["failingHosts"] == 4 else 1)' "$work/template2.json" ||
  fail "template pattern changed after re-import"

# --- a wrong enroll secret: refused, and the findings stay spooled
echo "not the secret" > "$work/wrong.secret"
if "$agent_bin" --collector "$grpc" --enroll-secret-file "$work/wrong.secret" \
    --state-dir "$work/importer-wrong" --import-events "$work/fleet.xml" --once \
    --once-timeout 20 > "$work/import-wrong.log" 2>&1; then
  fail "an import with a wrong enroll secret must fail"
fi
grep -qi "secret\|unauthenticated" "$work/import-wrong.log" || fail "no clear error for the wrong secret"
grep -q "findings left in their spools: 7" "$work/import-wrong.log" ||
  fail "the refused findings should stay spooled"

echo "import end to end: OK"
