#!/usr/bin/env bash
# Installs what building, running and testing pkiwatch needs on Debian 12.
# Does nothing (and needs no network) when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev libabsl-dev
  libpq-dev libssl-dev libcurl4-openssl-dev libpugixml-dev libsqlite3-dev libcpp-httplib-dev libevtx-dev libbfio-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  postgresql-15 openssl python3 curl procps
  chrony  # a real NTP server for the clock probe tests (run unprivileged, -x)
)

# --windows: also what the mingw-w64 build of agent/win and its wine tests
# need (tests/run.sh passes it unless PKIWATCH_SKIP_WINDOWS=1): the cross
# compiler, wine, wixl (MSI) and pugixml's Debian source package - there is
# no mingw build of pugixml - unpacked into a cache outside the repository:
# ${PKIWATCH_CACHE_DIR:-/var/cache/pkiwatch}/pugixml-src/current/src.
# slapd and ldap-utils: a throwaway unprivileged LDAP server standing in for
# Active Directory in the enrollment service discovery test (its system
# instance is not used).
windows=0
if [ "${1:-}" = "--windows" ]; then
  windows=1
  packages+=(mingw-w64 wine wine64 wixl dpkg-dev xz-utils slapd ldap-utils)
fi

fetch_pugixml_source() {
  local cache=${PKIWATCH_CACHE_DIR:-/var/cache/pkiwatch}/pugixml-src
  [ -f "$cache/current/src/pugixml.cpp" ] && return 0
  local root=""
  [ "$(id -u)" -eq 0 ] || root=sudo
  # apt-get source needs deb-src entries: mirror the Debian deb entries.
  if ! grep -Rqs -E '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
        $root tee /etc/apt/sources.list.d/pkiwatch-deb-src.sources >/dev/null
    else
      grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
        $root tee /etc/apt/sources.list.d/pkiwatch-deb-src.list >/dev/null
    fi
    $root apt-get -o DPkg::Lock::Timeout=600 update -qq
  fi
  $root mkdir -p "$cache"
  $root chown "$(id -u):$(id -g)" "$cache"
  # Downloads the Debian source package and unpacks it with Debian's patches.
  if ! (cd "$cache" && apt-get source -qq pugixml); then
    $root apt-get -o DPkg::Lock::Timeout=600 update -qq
    (cd "$cache" && apt-get source -qq pugixml)
  fi
  local dir
  dir=$(find "$cache" -mindepth 1 -maxdepth 1 -type d -name 'pugixml-*' | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -f "$dir/src/pugixml.cpp" ] || { echo "pugixml source not unpacked in $cache" >&2; exit 1; }
  ln -sfn "$(basename "$dir")" "$cache/current"
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  if [ "$windows" -eq 1 ]; then fetch_pugixml_source; fi
  exit 0
fi

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
if [ "$windows" -eq 1 ]; then fetch_pugixml_source; fi
