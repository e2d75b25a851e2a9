#!/usr/bin/env bash
# Builds the agent MSI from deploy/windows/pkiwatch-agent.wxs with wixl and
# installs/uninstalls it with msiexec under wine. The service payload is the
# test tool in its "service" mode (the real agent is built with MSVC), so the
# test covers the package: files, registry values, the LocalSystem service
# being installed and started by ServiceControl, and everything removed again.
#
# usage: msi_install.sh WINEPREFIX RUNNER WIXL DEPLOY_WINDOWS_DIR WORK_DIR TOOL_EXE DIAG_EXE VERSION
set -euo pipefail
export WINEPREFIX=$1
runner=$2
wixl=$3
deploy=$4
work=$5
tool=$6
diag=$7
version=$8

winpath() { local p=$1; echo "Z:${p//\//\\}"; }
fail() { echo "FAILED: $*" >&2; exit 1; }
program_files="$WINEPREFIX/drive_c/Program Files/pkiwatch"

rm -rf "$work"
mkdir -p "$work"
# wixl resolves Source paths relative to the .wxs and refuses absolute ones.
cp -r "$deploy"/. "$work/"
cp "$tool" "$work/pkiwatch-agent.exe"
cp "$diag" "$work/pkiwatch-diag.exe"
marker="$work/service-marker.txt"
cd "$work"
"$wixl" -a x64 -D Version="$version" -D AgentExe=pkiwatch-agent.exe -D DiagExe=pkiwatch-diag.exe \
  -D PolicyDir=. -D "ServiceArguments=service pkiwatch-agent $(winpath "$marker")" \
  -o pkiwatch-agent.msi pkiwatch-agent.wxs
[ -s pkiwatch-agent.msi ] || fail "wixl made no MSI"

msi=$(winpath "$work/pkiwatch-agent.msi")
uninstall() { timeout 60 "$runner" msiexec /x "$msi" /qn || true; }
trap uninstall EXIT

timeout 60 "$runner" msiexec /i "$msi" /qn || fail "msiexec /i exited with $?"
for f in pkiwatch-agent.exe pkiwatch-diag.exe policy/pkiwatch.admx policy/en-US/pkiwatch.adml; do
  [ -f "$program_files/$f" ] || fail "not installed: $f"
done
state=$("$runner" "$tool" query-service pkiwatch-agent | tr -d '\r')
[ "$state" = running ] || fail "service state after install: '$state'"
[ "$(cat "$marker")" = running ] || fail "service body did not run"
"$runner" reg query 'HKLM\Software\pkiwatch\Agent' /v InstallDir | grep -q 'C:\\Program Files\\pkiwatch' ||
  fail "InstallDir registry value missing"
# The installed diag runs.
"$runner" "$program_files/pkiwatch-diag.exe" --version | grep -q "pkiwatch-diag $version" ||
  fail "installed pkiwatch-diag.exe does not run"

trap - EXIT
timeout 60 "$runner" msiexec /x "$msi" /qn || fail "msiexec /x exited with $?"
set +e
"$runner" "$tool" query-service pkiwatch-agent >/dev/null 2>&1
rc=$?
set -e
[ $rc -eq 3 ] || fail "service still installed after uninstall (query exit $rc)"
[ "$(cat "$marker")" = stopped ] || fail "service was not stopped by the uninstall"
[ ! -e "$program_files/pkiwatch-agent.exe" ] || fail "files left after uninstall"
echo "MSI built, installed, started, stopped and removed"
