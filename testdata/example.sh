#!/usr/bin/env bash
# README's main job: with a built cbuild, make a busybox base image offline, import it,
# build the multi-stage example project (then again, fully cached), and export the image
# as an OCI archive.
# Usage: testdata/example.sh [path/to/cbuild]   (default: build/cbuild)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cbuild=$(realpath "${1:-$here/../build/cbuild}")
work=$(mktemp -d "${TMPDIR:-/tmp}/cbuild-example.XXXXXX")
chmod 711 "$work"  # as root, build steps run as an unprivileged host id
trap 'rm -rf "$work"' EXIT
export CBUILD_ROOT=$work/store

bash "$here/make-busybox-rootfs.sh" "$work/busybox.tar"
"$cbuild" import "$work/busybox.tar" busybox:1.36
"$cbuild" build --progress=plain -t example/hello:1 "$here/examples/multistage"
"$cbuild" build --progress=plain -t example/hello:1 "$here/examples/multistage" 2>&1 | tail -n 1
"$cbuild" images
"$cbuild" history example/hello:1
"$cbuild" save example/hello:1 --format oci -o "$work/hello-oci.tar"
echo "example: wrote an OCI archive of $(stat -c %s "$work/hello-oci.tar") bytes"
