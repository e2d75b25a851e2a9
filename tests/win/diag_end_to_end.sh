#!/usr/bin/env bash
# pkiwatch-diag.exe end to end under wine: prepares the prefix like a domain
# member (machine AEPolicy 7 by Group Policy, Enroll LogLevel 4, the two
# CertificateServicesClient tasks in a test folder, the fixture root trusted,
# a good and a revoked machine certificate whose CDP/AIA URLs point at the
# fixture's loopback server), runs `pkiwatch-diag.exe --json` and checks its
# verdicts with python3. Cleans up afterwards.
#
# usage: diag_end_to_end.sh WINEPREFIX RUNNER DIAG_EXE TOOL_EXE HTTP_FIXTURE_DIR FIXTURES_DIR
set -euo pipefail
export WINEPREFIX=$1
runner=$2
diag=$3
tool=$4
fixture=$5
fixtures=$6

winpath() { local p=$1; echo "Z:${p//\//\\}"; }
folder='\pkiwatch-e2e\CertificateServicesClient'
[ -f "$fixture/port" ] || { echo "http fixture not running ($fixture/port missing)" >&2; exit 1; }
port=$(cat "$fixture/port")
work=$(mktemp -d)
cleanup() {
  "$runner" "$tool" cleanup-e2e "$(winpath "$fixture")" "$folder" || true
  rm -rf "$work"
}
trap cleanup EXIT

"$runner" "$tool" prepare-e2e "$(winpath "$fixture")" "$folder"

# wine 8 caches every revocation result on disk as "good" (it writes the
# status before setting its error code), so a certificate checked before
# would pass as not revoked. Remove wine's cache entries (marked by their
# "Wine cached revocation" header); Windows' own cache has no such bug.
find "$WINEPREFIX/drive_c/users" -path '*/CryptnetUrlCache/Content/*' -type f 2>/dev/null |
  while read -r entry; do
    if [ "$(head -c 22 "$entry")" = "Wine cached revocation" ]; then rm -f "$entry"; fi
  done

# A real CAPI2 event (revocation server offline) for the event parsers, when
# the shared fixtures are there.
events_args=()
events_file="$fixtures/events/docs/github-notes_debugging-revocation-check_CAPI2-41_80092013.xml"
if [ -f "$events_file" ]; then
  events_args=(--events-file "$(winpath "$events_file")")
else
  echo "note: $events_file missing, event parser checks skipped"
fi

"$runner" "$diag" --json --task-folder "$folder" --ca 'pkiwatch-no-such-host.invalid\No Such CA' \
  --url-timeout-ms 5000 "${events_args[@]}" >"$work/diag.json"
"$runner" "$diag" --task-folder "$folder" --no-network --no-key-providers \
  "${events_args[@]}" >"$work/diag.txt"

python3 - "$work/diag.json" "$work/diag.txt" "$port" "${#events_args[@]}" <<'PY'
import json, sys

path, table_path, port, have_events = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] != "0"
report = json.load(open(path, encoding="utf-8"))
verdicts = report["verdicts"]
failures = []

def find(check, target=None, contains=None):
    out = [v for v in verdicts if v["check"] == check
           and (target is None or v["target"] == target)
           and (contains is None or contains in json.dumps(v))]
    return out

def expect(condition, message):
    if not condition:
        failures.append(message)

def one(check, **kw):
    found = find(check, **kw)
    expect(len(found) >= 1, f"no {check} verdict {kw}")
    return found[0] if found else {"status": None, "summary": "", "hresult": "", "details": {}}

expect(report["tool"] == "pkiwatch-diag", "tool name")
expect(sum(report["counts"].values()) == len(verdicts), "counts add up")

ae = one("ae_policy", target="machine")
expect(ae["status"] == "OK" and "0x7" in ae["summary"], f"machine AEPolicy: {ae}")
log = one("enroll_log_level")
expect(log["details"].get("LogLevel") == "0x4", f"LogLevel: {log}")

system_task = one("autoenrollment_task", target="\\pkiwatch-e2e\\CertificateServicesClient\\SystemTask")
expect(system_task["status"] in ("OK", "WARN"), f"SystemTask exists and is judged: {system_task}")
expect("state" in system_task["details"], f"SystemTask state: {system_task}")

store = one("certificate_store", target="LocalMachine\\My")
expect(store["status"] == "OK", f"store: {store}")

good = one("certificate_chain", contains="pkiwatch-e2e-good.test")
expect(good["status"] == "OK", f"good certificate: {good}")
expect(good["details"].get("template_oid", "").startswith("1.3.6.1.4.1.311.21.8.1111."), f"template: {good}")
revoked = one("certificate_chain", contains="pkiwatch-e2e-revoked.test")
expect(revoked["status"] == "FAIL" and revoked["hresult"] == "0x80092010",
       f"revoked certificate: {revoked}")
expect(revoked["details"].get("template_name") == "Machine", f"v1 template name: {revoked}")

cdp = one("certificate_url", target=f"http://127.0.0.1:{port}/root.crl")
expect(cdp["status"] == "OK", f"CDP retrieval: {cdp}")
aia = one("certificate_url", target=f"http://127.0.0.1:{port}/root.crt")
expect(aia["status"] == "OK", f"AIA retrieval: {aia}")

ca = one("ca_ping", target="pkiwatch-no-such-host.invalid\\No Such CA")
expect(ca["status"] == "FAIL" and ca["hresult"].startswith("0x8"), f"CA ping: {ca}")

ksp = one("key_provider", target="Microsoft Software Key Storage Provider")
expect(ksp["status"] == "OK", f"software KSP: {ksp}")

templates = find("template")
expect(any(t["target"].startswith("1.3.6.1.4.1.311.21.8.1111.") for t in templates),
       f"template verdict for the v2 template: {templates}")

if have_events:
    overview = [v for v in find("event_log") if v["summary"].endswith("failure patterns")]
    expect(overview and overview[0]["summary"].startswith("1 PKI events"), f"event overview: {overview}")
    offline = find("event", contains="0x80092013")
    expect(len(offline) == 1 and offline[0]["status"] in ("FAIL", "WARN"),
           f"CAPI2 41 revocation offline: {offline}")

table = open(table_path, encoding="utf-8").read()
expect("STATUS" in table and "ae_policy" in table, "table output")

if failures:
    print("pkiwatch-diag --json output:")
    print(json.dumps(report, indent=1))
    for f in failures:
        print("FAILED:", f)
    sys.exit(1)
print(f"diag end to end: {len(verdicts)} verdicts checked")
PY
