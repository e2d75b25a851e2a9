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
