#!/usr/bin/env bash
# `cbuild build` figures (issue 5): a fully cached rebuild of a 3-stage, 18-instruction
# busybox build, and a 20,000-file / ~200 MB context (cold; rebuild unchanged, touch-only,
# one file changed). Each timed build runs RUNS times; the median is printed, with docker
# build (BuildKit) on the same machine in the same run when a daemon answers, and the
# ratio. Figures only; nothing is asserted.
# Usage: build_bench.sh [BUILD_DIR] [FILES] [RUNS]
set -euo pipefail
build=${1:-${CBUILD_BUILD_DIR:-build}}
files=${2:-20000}
runs=${3:-5}
src=${CBUILD_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cbuild=$(realpath "$build/cbuild")
work=$(mktemp -d /var/tmp/cbuild-bench-XXXXXX)
chmod 711 "$work"
trap 'rm -rf "$work"' EXIT
export CBUILD_ROOT=$work/store
docker=/usr/bin/docker  # the 20.10 client that can build (see README)
have_docker=0
if [ -x "$docker" ] && "$docker" info >/dev/null 2>&1; then have_docker=1; fi

now() { date +%s.%N; }
# median SECONDS...: the median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# timed CMD...: seconds CMD took
timed() { local t0; t0=$(now); "$@" >/dev/null 2>&1; awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.3f", b - a}'; }
# row NAME CBUILD_SECONDS [DOCKER_SECONDS]
row() {
  if [ -n "${3:-}" ]; then
    awk -v n="$1" -v c="$2" -v d="$3" 'BEGIN {printf "%-34s cbuild %8.3f s   docker %8.3f s   ratio %.3f\n", n, c, d, c / d}'
  else
    printf '%-34s cbuild %8.3f s\n' "$1" "$2"
  fi
}

echo "== cbuild build benchmark: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
bash "$src/testdata/make-busybox-rootfs.sh" "$work/busybox.tar" >/dev/null
"$cbuild" import "$work/busybox.tar" bench/busybox:latest >/dev/null
((have_docker)) && "$docker" import "$work/busybox.tar" bench/busybox:latest >/dev/null

# ---- 1. fully cached rebuild: 3 stages, 18 instructions ----------------------------------
p=$work/three
mkdir -p "$p/src"
for i in 1 2 3 4; do echo "file $i" >"$p/src/f$i.txt"; done
cat >"$p/Dockerfile" <<'DOCKERFILE'
FROM bench/busybox AS deps
WORKDIR /deps
COPY src/f1.txt ./
RUN cat f1.txt > deps.txt
RUN echo more >> deps.txt
FROM bench/busybox AS build
ARG VERSION=1
WORKDIR /src
COPY --from=deps /deps/deps.txt ./
COPY src/ ./
RUN cat *.txt > app.txt
RUN echo "$VERSION" >> app.txt
FROM bench/busybox
ENV APP=/app
COPY --from=build /src/app.txt /app/
LABEL bench=1
CMD ["cat", "/app/app.txt"]
DOCKERFILE
"$cbuild" build --progress=quiet "$p" >/dev/null
c=(); d=()
for _ in $(seq "$runs"); do c+=("$(timed "$cbuild" build --progress=quiet "$p")"); done
if ((have_docker)); then
  DOCKER_BUILDKIT=1 "$docker" build -q "$p" >/dev/null
  for _ in $(seq "$runs"); do d+=("$(timed env DOCKER_BUILDKIT=1 "$docker" build -q "$p")"); done
  row "cached rebuild (3 stages, 18 instr)" "$(median "${c[@]}")" "$(median "${d[@]}")"
else
  row "cached rebuild (3 stages, 18 instr)" "$(median "${c[@]}")"
fi

# ---- 2. a big context: cold, unchanged, touch-only, one file changed ----------------------
b=$work/big
mkdir -p "$b"
python3 - "$b" "$files" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
size = 200 * 1024 * 1024 // n
for i in range(n):
    d = os.path.join(root, "d%03d" % (i % 200))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.bin" % i), "wb") as f:
        f.write(os.urandom(size))
PY
printf 'FROM bench/busybox\nCOPY . /ctx/\nRUN ls /ctx | wc -l > /count\n' >"$b/Dockerfile"
echo "context: $(find "$b" -type f | wc -l) files, $(du -sm "$b" | cut -f1) MB"
scenario() {  # scenario NAME PREPARE-CMD: time one build after PREPARE-CMD, for each tool
  local name=$1 prep=$2 cs=() ds=()
  for _ in $(seq "$runs"); do
    eval "$prep"
    cs+=("$(timed "$cbuild" build --progress=quiet "$b")")
    if ((have_docker)); then
      ds+=("$(timed env DOCKER_BUILDKIT=1 "$docker" build -q "$b")")
    fi
  done
  if ((have_docker)); then row "$name" "$(median "${cs[@]}")" "$(median "${ds[@]}")"; else row "$name" "$(median "${cs[@]}")"; fi
}
cold_c=(); cold_d=()
for _ in $(seq 2); do
  cold_c+=("$(timed "$cbuild" build --progress=quiet --no-cache "$b")")
  ((have_docker)) && cold_d+=("$(timed env DOCKER_BUILDKIT=1 "$docker" build -q --no-cache "$b")")
done
if ((have_docker)); then row "big context: cold" "$(median "${cold_c[@]}")" "$(median "${cold_d[@]}")"; else row "big context: cold" "$(median "${cold_c[@]}")"; fi
scenario "big context: unchanged" ":"
scenario "big context: touch only" "touch $b/d007/f00007.bin"
k=0
scenario "big context: one file changed" 'k=$((k+1)); echo "change $k" >> $b/d011/f00011.bin'
echo "cbuild peak RSS of the last build: $(/usr/bin/time -f %M "$cbuild" build --progress=quiet "$b" 2>&1 >/dev/null | tail -1) KB"
