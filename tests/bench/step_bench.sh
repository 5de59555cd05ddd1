#!/usr/bin/env bash
# Per-RUN-step overhead of cbuild (40 trivial steps, no cache) as root and, when possible,
# as an unprivileged user with a subordinate range; docker build with BuildKit for
# comparison when a docker daemon answers. Figures only; nothing is asserted.
# Usage: step_bench.sh [BUILD_DIR] [STEPS]
set -euo pipefail
build=${1:-${CBUILD_BUILD_DIR:-build}}
steps=${2:-40}
src=${CBUILD_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bench="$build/tests/bench/step_bench"
[[ -x $bench ]] || { echo "build the step_bench target first ($bench missing)" >&2; exit 1; }

echo "== RUN step overhead: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$bench" "$steps" overlay
"$bench" "$steps" native
if [ "$(id -u)" = 0 ]; then
  source "$src/tests/integration/rootless_user.sh"
  ensure_rootless_user
  copy=$(rootless_copy_dir)
  trap 'rm -rf "$copy"' EXIT
  cp "$bench" "$copy/"
  run_as_rootless_user "$copy/step_bench" "$steps" overlay
fi

docker=/usr/bin/docker  # the 20.10 client that can build (see README)
if [ -x "$docker" ] && "$docker" info >/dev/null 2>&1; then
  ctx=$(mktemp -d)
  bash "$src/testdata/make-busybox-rootfs.sh" "$ctx/busybox.tar"
  "$docker" import "$ctx/busybox.tar" cbuild-bench/busybox:latest >/dev/null
  rm "$ctx/busybox.tar"
  { echo "FROM cbuild-bench/busybox"; for _ in $(seq "$steps"); do echo "RUN true"; done; } >"$ctx/Dockerfile"
  { echo "FROM cbuild-bench/busybox"; echo "RUN true"; } >"$ctx/Dockerfile.base"
  t0=$(date +%s.%N); DOCKER_BUILDKIT=1 "$docker" build -q --no-cache -f "$ctx/Dockerfile.base" "$ctx" >/dev/null
  t1=$(date +%s.%N); DOCKER_BUILDKIT=1 "$docker" build -q --no-cache -f "$ctx/Dockerfile" "$ctx" >/dev/null
  t2=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$steps" \
    'BEGIN { printf "docker build (BuildKit): %.1f ms per extra RUN step\n", ((c - b) - (b - a)) * 1000 / (n - 1) }'
  rm -rf "$ctx"
else
  echo "docker: no daemon available at $docker, no comparison"
fi
