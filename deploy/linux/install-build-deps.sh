#!/usr/bin/env bash
# Installs what building, running and testing pkiwatch needs on Debian 12.
# Does nothing (and needs no network) when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev libabsl-dev
  libpq-dev libssl-dev libcurl4-openssl-dev libpugixml-dev libsqlite3-dev libcpp-httplib-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  postgresql-15 openssl python3 curl procps
  chrony  # a real NTP server for the clock probe tests (run unprivileged, -x)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
# postgresql-15 provides initdb/pg_ctl for the collector's embedded cluster
# and the tests' throwaway clusters; its own system cluster is not used.
$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
