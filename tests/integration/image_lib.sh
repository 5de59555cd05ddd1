# Shared setup for the image_*.test.sh suites (sourced, not a test itself).
# Gives: $work (temp dir, removed on exit), cb (cbuild with the store $work/root),
# $rootfs (busybox rootfs tar.gz from testdata), expect_fail (runs a command that must
# fail and must print a message matching a pattern).
set -euo pipefail
: "${CBUILD:?path of the cbuild binary}"
: "${CBUILD_SOURCE_DIR:?path of the source tree}"
work=$(mktemp -d "${TMPDIR:-/tmp}/cbuild-image-XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
cb() { "$CBUILD" --root "$work/root" "$@"; }
cb2() { "$CBUILD" --root "$work/root2" "$@"; }
rootfs=$work/busybox-rootfs.tar.gz
SOURCE_DATE_EPOCH=1704067200 "$CBUILD_SOURCE_DIR/testdata/make-busybox-rootfs.sh" "$rootfs"

fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_fail PATTERN CMD...: CMD must exit non-zero with PATTERN (grep -E) on stderr.
expect_fail() {
  local pattern=$1; shift
  local status=0
  "$@" >"$work/out" 2>"$work/err" || status=$?
  ((status != 0)) || fail "expected failure: $*"
  grep -Eq -- "$pattern" "$work/err" || { cat "$work/err" >&2; fail "error of '$*' does not match /$pattern/"; }
}
# store_state ROOT: everything a load could change (tags, images, blobs).
store_state() {
  "$CBUILD" --root "$1" images --no-trunc --format json | jq -S -c 'del(.CreatedSince)'
  ls "$1/blobs/sha256" 2>/dev/null | sort
}
