#!/usr/bin/env bash
# Installs everything cbuild needs to build and test on Debian 12 (run as root).
# Packages are listed once here; README's commands and .ci/run call this script.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git
  catch2 libcli11-dev nlohmann-json3-dev libfmt-dev libarchive-dev libssl-dev
  libsqlite3-dev libzstd-dev zlib1g-dev libcurl4-openssl-dev
  libacl1-dev nettle-dev libxml2-dev libicu-dev liblzma-dev libbz2-dev
  uidmap busybox-static skopeo umoci docker-registry pigz zstd jq xz-utils mmdebstrap
  apache2-utils
  python3 openssl curl
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
