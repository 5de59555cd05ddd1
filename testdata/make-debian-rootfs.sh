#!/usr/bin/env bash
# Builds a Debian bookworm minbase root filesystem tarball with mmdebstrap, for benchmarks
# only (it needs the Debian mirror; no test depends on it). Deterministic as far as
# mmdebstrap makes it: SOURCE_DATE_EPOCH (default 2024-01-01T00:00:00Z) clamps mtimes.
# Usage: make-debian-rootfs.sh OUTPUT.tar [MIRROR]
set -euo pipefail

if (($# < 1 || $# > 2)); then
  echo "usage: $0 OUTPUT.tar [MIRROR]" >&2
  exit 2
fi
out=$1
mirror=${2:-http://deb.debian.org/debian}
if ! command -v mmdebstrap >/dev/null; then
  echo "$0: mmdebstrap not found (apt-get install mmdebstrap)" >&2
  exit 1
fi
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1704067200}
mode=root
((EUID == 0)) || mode=unshare
tmp_out="$out.tmp.$$"
trap 'rm -f "$tmp_out"' EXIT
mmdebstrap --quiet --mode="$mode" --variant=minbase --format=tar bookworm "$tmp_out" "$mirror"
mv -f "$tmp_out" "$out"
