#!/usr/bin/env bash
# README's main job: with a built cbuild, make a busybox base image offline, import it,
# show the build plan of the example project, and export the image as an OCI layout.
# Usage: testdata/example.sh [path/to/cbuild]   (default: build/cbuild)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cbuild=$(realpath "${1:-$here/../build/cbuild}")
work=$(mktemp -d "${TMPDIR:-/tmp}/cbuild-example.XXXXXX")
trap 'rm -rf "$work"' EXIT
export CBUILD_ROOT=$work/store

bash "$here/make-busybox-rootfs.sh" "$work/busybox.tar"
"$cbuild" import "$work/busybox.tar" example/busybox:latest
"$cbuild" images
"$cbuild" plan -f "$here/examples/multistage/Dockerfile"
"$cbuild" save example/busybox:latest --format oci -o "$work/busybox-oci.tar"
echo "example: wrote an OCI archive of $(stat -c %s "$work/busybox-oci.tar") bytes"
