#!/usr/bin/env bash
# Runs a Windows executable under wine 8 (the crosscompiling emulator of the
# mingw build): run-under-wine.sh program.exe [args...]. Exit code, stdout and
# stderr are the program's.
#
# WINEPREFIX: the prefix to use (the mingw CMake tree passes
# <build dir>/wine-prefix; default ~/.wine). A fresh prefix is created on
# first use (about 10 s).
#
# Why the start-up dance: wine's system processes (services.exe, rpcss,
# the Task Scheduler service, ...) are started by the first wine process and
# inherit its stdout/stderr. If that is a test started by ctest or by
# gtest_discover_tests, they keep ctest's output pipe open and ctest hangs.
# So when no wineserver runs for the prefix, this script starts one (kept
# alive 60 s after the last client) and boots the prefix with all output sent
# to /dev/null, under a lock so that parallel tests wait for it.
set -euo pipefail

wine_dir=${PKIWATCH_WINE_DIR:-/usr/lib/wine}
export WINEPREFIX=${WINEPREFIX:-$HOME/.wine}
export WINEDEBUG=${WINEDEBUG:--all}
export WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=}

mkdir -p "$WINEPREFIX"
{
  flock 9
  # Exit status 0: started now; 2: one is already running for this prefix.
  if "$wine_dir/wineserver" -p60 </dev/null >/dev/null 2>&1 9>&-; then
    "$wine_dir/wine64" cmd /c exit </dev/null >/dev/null 2>&1 9>&- || true
  fi
} 9>"$WINEPREFIX/.pkiwatch-start.lock"

exec "$wine_dir/wine64" "$@"
