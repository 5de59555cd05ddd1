#!/usr/bin/env bash
# Runs the executor and snapshotter suites (real containers on a busybox root) as root and
# as an unprivileged user with a subordinate id range (created by rootless_user.sh).
set -euo pipefail
source "$CBUILD_SOURCE_DIR/tests/integration/rootless_user.sh"

if [ "$(id -u)" != 0 ]; then
  echo "SKIP: not root, cannot create the unprivileged test user"
  exit 77
fi
suites=()
for name in executor_tests snapshot_tests; do
  bin="$CBUILD_BUILD_DIR/tests/$name"
  [ -x "$bin" ] || { echo "missing $bin (build it first)"; exit 1; }
  suites+=("$bin")
done

ensure_rootless_user
copies=$(rootless_copy_dir)
trap 'rm -rf "$copies"' EXIT
for bin in "${suites[@]}"; do
  echo "== $(basename "$bin") as root"
  "$bin"
  cp "$bin" "$copies/"
done
for bin in "${suites[@]}"; do
  echo "== $(basename "$bin") as $CBUILD_TEST_USER"
  run_as_rootless_user "$copies/$(basename "$bin")"
done
leftover=$(grep -c 'cbuild-' /proc/self/mountinfo || true)
[ "$leftover" = 0 ] || { echo "leftover mounts:"; grep cbuild- /proc/self/mountinfo; exit 1; }
echo "executor suites passed as root and as $CBUILD_TEST_USER"
