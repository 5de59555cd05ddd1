#!/usr/bin/env bash
# Layer benchmark: builds a ~512 MB mixed tree and prints commit (diffID-only) and export
# throughput of cbuild's layer writer next to tar | gzip -6, tar | pigz and tar | zstd -3.
# Figures only; nothing is asserted. Usage: layer_bench.sh [BUILD_DIR] [MB]
set -euo pipefail
build=${1:-${CBUILD_BUILD_DIR:-build}}
mb=${2:-512}
bench=${LAYER_BENCH:-$build/tests/bench/layer_bench}  # LAYER_BENCH: use another build of it
[[ -x $bench ]] || { echo "build the layer_bench target first ($bench missing)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/layer-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
tree="$work/tree"

echo "== layer benchmark: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$bench" make "$tree" "$mb"
tar_mb=$(tar -C "$tree" -cf - . | wc -c | awk '{printf "%.1f", $1/1e6}')  # also warms the cache

# external pipeline: label, compressor command
external() {
  local label=$1; shift
  local start end size cpu
  start=$(date +%s.%N)
  cpu=$( { /usr/bin/time -f '%U %S' bash -c 'tar -C "$1" --sort=name -cf - . | "${@:2}" | wc -c > "$0"' \
          "$work/size" "$tree" "$@"; } 2>&1 | tail -1)
  end=$(date +%s.%N)
  size=$(cat "$work/size")
  awk -v l="$label" -v t="$tar_mb" -v s="$start" -v e="$end" -v z="$size" -v c="$cpu" 'BEGIN {
    split(c, u, " "); d = e - s;
    printf "%-34s %8.1f MB in %6.2f s = %7.1f MB/s  (cpu %5.2f s)   -> %7.1f MB (%.1f%%)\n",
    l, t, d, t / d, u[1] + u[2], z / 1e6, 100 * z / 1e6 / t }'
}

"$bench" commit "$tree"
"$bench" commit "$tree"
"$bench" gzip "$tree"
external "tar | gzip -6 (1 core)" gzip -6
external "tar | pigz -6 (all cores)" pigz -6
"$bench" zstd "$tree"
external "tar | zstd -3 -T0" zstd -3 -T0 -q
