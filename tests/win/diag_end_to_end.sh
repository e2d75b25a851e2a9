#!/usr/bin/env bash
# pkiwatch-diag.exe end to end under wine: prepares the prefix like a domain
# member (machine AEPolicy 7 by Group Policy, Enroll LogLevel 4, the two
# CertificateServicesClient tasks in a test folder, the fixture root trusted,
# a good and a revoked machine certificate whose CDP/AIA URLs point at the
# fixture's loopback server, W32Time's NtpServer naming an SNTP server on the
# loopback that is 10 minutes ahead), runs `pkiwatch-diag.exe --json` and
# checks its verdicts with python3; a second JSON run measures the clock
# against an SNTP server in sync given with --ntp-server. Cleans up
# afterwards.
#
# usage: diag_end_to_end.sh WINEPREFIX RUNNER DIAG_EXE TOOL_EXE HTTP_FIXTURE_DIR FIXTURES_DIR
set -euo pipefail
export WINEPREFIX=$1
runner=$2
diag=$3
tool=$4
fixture=$5
fixtures=$6

here=$(cd "$(dirname "$0")" && pwd)
winpath() { local p=$1; echo "Z:${p//\//\\}"; }
folder='\pkiwatch-e2e\CertificateServicesClient'
[ -f "$fixture/port" ] || { echo "http fixture not running ($fixture/port missing)" >&2; exit 1; }
port=$(cat "$fixture/port")
work=$(mktemp -d)
w32time='HKLM\SYSTEM\CurrentControlSet\Services\W32Time'
had_w32time=0
if "$runner" reg query "$w32time" >/dev/null 2>&1; then had_w32time=1; fi
responders=()
cleanup() {
  "$runner" "$tool" cleanup-e2e "$(winpath "$fixture")" "$folder" || true
  if [ "$had_w32time" = 1 ]; then
    "$runner" reg delete "$w32time\Parameters" /v NtpServer /f >/dev/null 2>&1 || true
  else
    "$runner" reg delete "$w32time" /f >/dev/null 2>&1 || true
  fi
  for pid in "${responders[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

"$runner" "$tool" prepare-e2e "$(winpath "$fixture")" "$folder"

# Two SNTP servers on the loopback (they end by themselves after 170 s at
# the latest): 10 minutes ahead, and in sync.
python3 "$here/sntp_responder.py" --skew 600 --port-file "$work/sntp-ahead.port" </dev/null &
responders+=($!)
python3 "$here/sntp_responder.py" --skew 0 --port-file "$work/sntp-sync.port" </dev/null &
responders+=($!)
for _ in $(seq 50); do
  [ -f "$work/sntp-ahead.port" ] && [ -f "$work/sntp-sync.port" ] && break
  sleep 0.1
done
sntp_ahead=127.0.0.1:$(cat "$work/sntp-ahead.port")
sntp_sync=127.0.0.1:$(cat "$work/sntp-sync.port")
# As on a machine synchronized with an NTP peer (NtpServer flags 0x9).
# W32Time's NtpServer takes no port; the diag accepts host:port for tests.
"$runner" reg add "$w32time\Parameters" /v NtpServer /t REG_SZ /d "$sntp_ahead,0x9" /f >/dev/null
"$runner" reg add "$w32time\Parameters" /v Type /t REG_SZ /d NTP /f >/dev/null

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
"$runner" "$diag" --json --task-folder "$folder" --no-key-providers --store pkiwatch-e2e-none \
  --ntp-server "$sntp_sync" "${events_args[@]}" >"$work/diag-sync.json"

python3 - "$work/diag.json" "$work/diag.txt" "$port" "${#events_args[@]}" "$work/diag-sync.json" \
  "$sntp_ahead" "$sntp_sync" <<'PY'
import json, sys

path, table_path, port, have_events = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] != "0"
sync_path, sntp_ahead, sntp_sync = sys.argv[5], sys.argv[6], sys.argv[7]
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

clock = one("clock", target=sntp_ahead)
expect(clock["status"] == "FAIL" and clock["hresult"] == "0x80090324",
       f"clock 10 minutes behind W32Time's peer: {clock}")
expect(clock["details"].get("source") == "W32Time NtpServer", f"clock source: {clock}")
expect(clock["details"].get("w32time_type") == "NTP", f"W32Time type: {clock}")
expect(clock["details"].get("server_address") == sntp_ahead, f"clock server: {clock}")
expect(599000 <= int(clock["details"].get("offset_ms", "0")) <= 601000, f"clock offset: {clock}")
expect("behind" in clock["summary"], f"clock summary: {clock}")

synced = json.load(open(sync_path, encoding="utf-8"))
sync_clock = [v for v in synced["verdicts"] if v["check"] == "clock"]
expect(len(sync_clock) == 1 and sync_clock[0]["target"] == sntp_sync
       and sync_clock[0]["status"] == "OK"
       and sync_clock[0]["details"].get("source") == "--ntp-server"
       and abs(int(sync_clock[0]["details"].get("offset_ms", "99999"))) < 5000,
       f"clock in sync with --ntp-server: {sync_clock}")

table = open(table_path, encoding="utf-8").read()
expect("STATUS" in table and "ae_policy" in table, "table output")
expect("clock" not in table.split(), "--no-network skips the clock check")

if failures:
    print("pkiwatch-diag --json output:")
    print(json.dumps(report, indent=1))
    for f in failures:
        print("FAILED:", f)
    sys.exit(1)
print(f"diag end to end: {len(verdicts)} verdicts checked")
PY
