#!/usr/bin/env bash
# Context checksum benchmark (issue 5): 20,000 files / ~200 MB; prints cold, unchanged,
# touch-only and one-file-changed timings. Not a test: nothing is asserted on time.
#   tests/bench/context_bench.sh [BUILD_DIR] [CONTEXT_DIR]
# BuildKit figures for the same shape measured on the reference machine (issue 5):
# cold 14 s, unchanged / touch-only 0.85 s, one file changed 13 s.
set -euo pipefail
build=${1:-${CBUILD_BUILD_DIR:-build}}
dir=${2:-${TMPDIR:-/tmp}/cbuild-context-bench}
cmake --build "$build" --target context_bench >/dev/null 2>&1 || cmake --build "$build" --target context_bench
"$build/tests/bench/context_bench" "$dir" 20000 200
echo "(the cold run reads from the page cache: the files were just written)"
if [[ -z ${2:-} ]]; then rm -rf "$dir"; fi
