#!/usr/bin/env bash
# pkiwatch-diag.exe under wine without any configured CA: it reads the
# enterprise CAs from the ldap fixture's slapd (tests/win/ldap_fixture.sh,
# standing in for a domain controller) and pings each; with the server down
# or without --ldap-server (the wine prefix is a workgroup computer) the
# ca_discovery verdict says why there is no list; with --ca the list is the
# configured one. Verdicts checked with python3.
#
# usage: diag_ca_discovery.sh WINEPREFIX RUNNER DIAG_EXE LDAP_FIXTURE_DIR
set -euo pipefail
export WINEPREFIX=$1
runner=$2
diag=$3
fixture=$4

for f in port closed-port; do
  [ -f "$fixture/$f" ] || { echo "ldap fixture not running ($fixture/$f missing)" >&2; exit 1; }
done
port=$(cat "$fixture/port")
closed=$(cat "$fixture/closed-port")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Only the CA checks matter here: keep the others short.
common=(--no-network --no-key-providers --max-events 1 --task-folder '\pkiwatch-ca-discovery-none')
"$runner" "$diag" --json "${common[@]}" --ldap-server "127.0.0.1:$port" --ldap-anonymous \
  >"$work/found.json"
"$runner" "$diag" "${common[@]}" --ldap-server "127.0.0.1:$port" --ldap-anonymous >"$work/found.txt"
"$runner" "$diag" --json "${common[@]}" --ldap-server "127.0.0.1:$closed" --ldap-anonymous \
  --ldap-timeout-ms 5000 >"$work/down.json"
"$runner" "$diag" --json "${common[@]}" >"$work/workgroup.json"
"$runner" "$diag" --json "${common[@]}" --ca 'ca9.pkiwatch.test\Configured CA' \
  --ldap-server "127.0.0.1:$port" --ldap-anonymous >"$work/configured.json"

python3 - "$work" "$port" "$closed" <<'PY'
import json, os, sys

work, port, closed = sys.argv[1], sys.argv[2], sys.argv[3]
failures = []
reports = {}

def load(name):
    report = json.load(open(os.path.join(work, name + ".json"), encoding="utf-8"))
    reports[name] = report
    return report["verdicts"]

def expect(condition, message):
    if not condition:
        failures.append(message)

def only(verdicts, check, name):
    found = [v for v in verdicts if v["check"] == check]
    expect(len(found) == 1, f"{name}: one {check} verdict expected, got {len(found)}")
    return found[0] if found else {"status": None, "summary": "", "hresult": "", "error": "",
                                   "details": {}, "target": ""}

# No CA configured by Group Policy in this prefix, or discovery never runs.
for name in ("found", "down", "workgroup", "configured"):
    verdicts = load(name)
    policy = [v for v in verdicts if v["check"] == "agent_policy"]
    if policy and policy[0]["details"].get("enrollment_services", "0") != "0":
        failures.append(f"{name}: the prefix has Group Policy EnrollmentServices; discovery cannot be tested")

# Found: two CAs and the conflict copy left out; both CAs pinged, marked as
# coming from Active Directory.
verdicts = reports["found"]["verdicts"]
discovery = only(verdicts, "ca_discovery", "found")
expect(discovery["target"] == "Active Directory", f"found: target {discovery}")
expect(discovery["status"] == "WARN", f"found: the conflict copy is a problem: {discovery}")
expect("2 enterprise CAs published in Active Directory" in discovery["summary"], f"found: {discovery}")
expect(discovery["details"].get("server") == f"127.0.0.1:{port}", f"found: server {discovery}")
expect(discovery["details"].get("configuration_naming_context") == "CN=Configuration,DC=pkiwatch,DC=test",
       f"found: naming context {discovery}")
expect("CNF" in discovery["details"].get("problem", ""), f"found: problem {discovery}")
pings = {v["target"]: v for v in verdicts if v["check"] == "ca_ping"}
expected = {
    "ca1.pkiwatch.test\\pkiwatch Issuing CA 1": ("Machine, WebServer, pkiwatchComputer", "0xA "),
    "ca2.pkiwatch.test\\pkiwatch Issuing CA 2": ("User", "0x2 "),
}
expect(set(pings) == set(expected), f"found: pinged {sorted(pings)}")
for config, (templates, flags) in expected.items():
    ping = pings.get(config, {"details": {}, "status": None})
    d = ping["details"]
    expect(d.get("source") == "Active Directory", f"found: source of {config}: {ping}")
    expect(d.get("templates") == templates, f"found: templates of {config}: {ping}")
    expect(d.get("flags", "").startswith(flags), f"found: flags of {config}: {ping}")
    expect(d.get("ca_certificates", "").startswith("1 ("), f"found: certificates of {config}: {ping}")
    # No CA really runs on these hosts: the DCOM ping must fail.
    expect(ping["status"] == "FAIL", f"found: ping of {config}: {ping}")

table = open(os.path.join(work, "found.txt"), encoding="utf-8").read()
expect("ca_discovery" in table and "source: Active Directory" in table, "found: table output")
expect(table.count("ca: ca") == 2, "found: both CAs listed in the table")

# Server down: a FAIL naming the LDAP error; nothing pinged.
verdicts = reports["down"]["verdicts"]
down = only(verdicts, "ca_discovery", "down")
expect(down["status"] == "FAIL", f"down: {down}")
expect("LDAP_SERVER_DOWN" in down["error"] and f"127.0.0.1:{closed}" in down["error"], f"down: {down}")
expect(down["hresult"].startswith("0x8007"), f"down: {down}")
expect(not [v for v in verdicts if v["check"] == "ca_ping"], "down: no CA to ping")

# Workgroup computer, no server given: not domain-joined.
verdicts = reports["workgroup"]["verdicts"]
workgroup = only(verdicts, "ca_discovery", "workgroup")
expect(workgroup["status"] == "WARN" and workgroup["hresult"] == "0x80070A84", f"workgroup: {workgroup}")
expect("not joined to an Active Directory domain" in workgroup["summary"], f"workgroup: {workgroup}")

# Configured CA: no discovery at all.
verdicts = reports["configured"]["verdicts"]
expect(not [v for v in verdicts if v["check"] == "ca_discovery"], "configured: no discovery")
pings = [v for v in verdicts if v["check"] == "ca_ping"]
expect(len(pings) == 1 and pings[0]["target"] == "ca9.pkiwatch.test\\Configured CA"
       and pings[0]["details"].get("source") == "configured", f"configured: {pings}")

if failures:
    for name, report in reports.items():
        print(f"--- {name}.json CA verdicts:")
        print(json.dumps([v for v in report["verdicts"] if v["check"] in ("ca_discovery", "ca_ping", "agent_policy")], indent=1))
    for f in failures:
        print("FAILED:", f)
    sys.exit(1)
print("diag CA discovery: found, server down, workgroup and configured cases checked")
PY
