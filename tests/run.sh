#!/usr/bin/env bash
# The test command: installs the dependencies (Debian 12), builds everything
# and runs the whole test suite with ctest.
#
#   ./tests/run.sh                 # all tests
#   ./tests/run.sh -L unit         # extra arguments go to ctest
# Environment: BUILD_DIR (default build/test), BUILD_TYPE (default RelWithDebInfo).
set -euo pipefail
cd "$(dirname "$0")/.."

./deploy/linux/install-build-deps.sh

build_dir=${BUILD_DIR:-build/test}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
  -DPKIWATCH_FIXTURES_DIR="$(pwd)/../shared/fixtures"
cmake --build "$build_dir" -j2
ctest --test-dir "$build_dir" --output-on-failure -j2 --timeout 600 "$@"

# The Windows part (TOOLCHAIN.md, "Windows code on Linux"): agent/win, the
# event-log core, pkiwatch-diag.exe, tests/win and the MSI, cross-compiled
# with mingw-w64 and run under wine. PKIWATCH_SKIP_WINDOWS=1 skips it;
# WIN_BUILD_DIR (default build/test-win) is its build tree.
if [ "${PKIWATCH_SKIP_WINDOWS:-0}" != 1 ]; then
  ./deploy/linux/install-build-deps.sh --windows
  win_dir=${WIN_BUILD_DIR:-build/test-win}
  case $win_dir in /*) ;; *) win_dir=$(pwd)/$win_dir ;; esac
  cmake -S . -B "$win_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE="$(pwd)/agent/win/mingw-w64-x86_64.cmake" -DPKIWATCH_WIN32_DIAG_ONLY=ON \
    -DPKIWATCH_PUGIXML_SOURCE_DIR="${PKIWATCH_CACHE_DIR:-/var/cache/pkiwatch}/pugixml-src/current/src" \
    -DPKIWATCH_FIXTURES_DIR="$(pwd)/../shared/fixtures"
  # One test at a time: the tests share one wine prefix, and the service and
  # MSI tests change its service manager's state.
  # Boot the tests' wine prefix (the build already runs the tests for gtest
  # discovery) with all output away from ctest's pipes: wine's services would
  # otherwise inherit them and ctest would wait for them forever.
  export WINEPREFIX="$win_dir/wine-prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
  mkdir -p "$WINEPREFIX"
  /usr/lib/wine/wineserver -p </dev/null >/dev/null 2>&1 || true
  /usr/lib/wine/wine64 cmd /c exit </dev/null >/dev/null 2>&1
  win_status=0
  { cmake --build "$win_dir" -j2 &&
      ctest --test-dir "$win_dir" --output-on-failure -j1 --timeout 300 &&
      ./tests/win/check_native_agent_sources.sh "$build_dir"; } || win_status=$?
  /usr/lib/wine/wineserver -k || true
  exit "$win_status"
fi
