#!/usr/bin/env bash
# cbuild build scenarios (tests/integration/build/scenarios.sh) as root and as an
# unprivileged user with a subordinate id range.
set -euo pipefail
source "$CBUILD_SOURCE_DIR/tests/integration/rootless_user.sh"
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: not root, cannot create the unprivileged test user"
  exit 77
fi
echo "== as root"
bash "$CBUILD_SOURCE_DIR/tests/integration/build/scenarios.sh" "$CBUILD" "$CBUILD_SOURCE_DIR/testdata/make-busybox-rootfs.sh"
ensure_rootless_user
copies=$(rootless_copy_dir)
trap 'rm -rf "$copies"' EXIT
cp "$CBUILD" "$CBUILD_SOURCE_DIR/tests/integration/build/scenarios.sh" "$CBUILD_SOURCE_DIR/testdata/make-busybox-rootfs.sh" "$copies/"
chmod -R a+rX "$copies"
echo "== as $CBUILD_TEST_USER"
run_as_rootless_user bash "$copies/scenarios.sh" "$copies/cbuild" "$copies/make-busybox-rootfs.sh"
