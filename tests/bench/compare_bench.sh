#!/usr/bin/env bash
# The benchmark suite (issue 7): cbuild against docker BuildKit, the legacy docker builder and
# buildah, whichever are present, in one run. Scenarios (SCENARIOS selects, in this order):
#   cached    fully cached rebuild of a 3-stage, 12-step busybox build
#   steps     $STEPS trivial RUN steps without cache (per-step overhead)
#   bigctx    a $FILES-file, ~200 MB context: cold, unchanged, one file only touched, one changed
#   apt       apt-get install with cache mounts on a Debian bookworm minbase image: cold (no
#             layer cache, empty cache mounts), then the package list grows by one (layer
#             cache misses, cache mounts warm); not for the legacy builder (no RUN --mount)
#   bigwrite  one RUN writing $BIG_MB MB of random data into one layer, without cache; commit
#             time = build time - the command's own time (printed from inside the step)
#   edits     a 10-edit sequence, hit rate per tool (cbuild compare, docker builders only)
# Timed builds run RUNS times per tool (the cached rebuild CACHED_RUNS times, 3 x RUNS: it
# takes milliseconds), tools interleaved within each run (each run starting with the next
# tool), each after a `sync`, so no tool pays for the writeback of the one before. Prints medians,
# min-max and cbuild's ratio to each peer, cbuild's peak RSS per scenario (the cbuild process
# tree, RUN steps included), the issue's targets against BuildKit; writes the same as JSON.
# Installs `time`, mmdebstrap and buildah with apt-get when missing (root; INSTALL=0 skips);
# starts dockerd as root when no daemon answers. "Cold" prunes each tool's build cache
# (docker builder prune -a included). Base images come from one rootfs tarball per distro,
# imported into every tool (cbuild import, docker import, buildah from scratch + add).
# Usage: CBUILD=build/cbuild tests/bench/compare_bench.sh
#   env: RUNS=3 CACHED_RUNS=9 SCENARIOS="cached steps bigctx apt bigwrite edits" OUT=compare-bench.json
#        LEGACY=1 BUILDAH=1 STEPS=40 FILES=20000 BIG_MB=500 DOCKER=/usr/bin/docker
#        BUILDAH_DRIVER=overlay BUILDAH_ISOLATION= DEBIAN_MIRROR= KEEP=
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
cbuild=$(realpath "${CBUILD:-$here/build/cbuild}")
docker=${DOCKER:-/usr/bin/docker}  # the 20.10 client that can build (see README)
runs=${RUNS:-3}
cached_runs=${CACHED_RUNS:-$((runs * 3))}  # milliseconds each: more rounds, a steadier median
steps=${STEPS:-40}
files=${FILES:-20000}
big_mb=${BIG_MB:-500}
scenarios=${SCENARIOS:-cached steps bigctx apt bigwrite edits}
out=${OUT:-$PWD/compare-bench.json}
work=$(mktemp -d /var/tmp/cbuild-bench-XXXXXX)  # /var/tmp: disk, not a small tmpfs
chmod 711 "$work"  # build steps run as an unprivileged user and must reach the store
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
start=$(date +%s.%N)

source "$here/tests/bench/bench_tools.sh"
need_package /usr/bin/time time || { echo "/usr/bin/time missing (apt-get install time)" >&2; exit 1; }
trap 'cleanup_tools; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
echo "== cbuild benchmark suite: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); tools: ${tools[*]}; RUNS=$runs" >&2

results=$work/results.txt  # time SCENARIO TOOL SECONDS | rss SCENARIO KB | commit TOOL SECONDS MB
: >"$results"
now() { echo "$EPOCHREALTIME"; }  # no process: a fork would count in every measurement
# settle: waits (up to 2 s) for a 100 ms window in which the CPUs are 90% idle, so that work
# a tool leaves running after its build returns (dockerd's) is not charged to the next build.
settle() {
  local i k a b busy total
  for ((i = 0; i < 20; i++)); do
    read -r -a a </proc/stat
    sleep 0.1
    read -r -a b </proc/stat
    total=0
    for k in 1 2 3 4 5 6 7 8; do total=$((total + b[k] - a[k])); done
    busy=$((total - (b[4] - a[4]) - (b[5] - a[5])))
    ((total > 0 && busy * 10 <= total)) && return 0
  done
  return 0
}
# timed SCENARIO TOOL CTX [FLAGS]: one build, its seconds (and cbuild's peak RSS) recorded;
# the seconds also in $last_seconds.
timed() {
  local scenario=$1 tool=$2 t0
  shift 2
  sync  # the writeback of earlier builds and prunes is not charged to this one
  settle
  t0=$(now)
  build "$tool" "$@"
  last_seconds=$(bc -l <<<"$(now) - $t0")
  echo "time $scenario $tool $last_seconds" >>"$results"
  if [ "$tool" = cbuild ]; then echo "rss $scenario $(jq .totals.peak_rss_kb "$work/report.json")" >>"$results"; fi
}
# each_run SCENARIO PREPARE FEATURE CTX [FLAGS]: RUNS rounds of PREPARE (a command) then one
# timed build per tool supporting FEATURE; each round starts with the next tool, so no tool
# always comes first after PREPARE.
each_run() {
  local scenario=$1 prepare=$2 feature=$3 i j tool
  shift 3
  for ((i = 0; i < runs; i++)); do
    $prepare
    for ((j = 0; j < ${#tools[@]}; j++)); do
      tool=${tools[$(((i + j) % ${#tools[@]}))]}
      supports "$tool" "$feature" || continue
      echo "$scenario: $tool run $((i + 1))/$runs" >&2
      timed "$scenario" "$tool" "$@"
    done
  done
}
warm() { local tool; for tool in "${tools[@]}"; do build "$tool" "$@"; done; }
cold() { local tool; for tool in "${tools[@]}"; do reset "$tool"; done; }

bash "$here/testdata/make-busybox-rootfs.sh" "$work/busybox.tar" >/dev/null
busybox=cbuild-bench/busybox:$$
import_base "$work/busybox.tar" "$busybox"

scenario_cached() {
  local ctx=$work/cached
  mkdir -p "$ctx/src"
  for i in 1 2 3; do echo "file $i" >"$ctx/src/f$i.txt"; done
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $busybox AS deps
WORKDIR /deps
RUN echo dep1 > a && echo dep2 > b
RUN cat a b > deps.txt
COPY src/f1.txt ./
FROM $busybox AS build
WORKDIR /app
COPY src/ ./src/
COPY --from=deps /deps/deps.txt ./
RUN cat src/* deps.txt > app.txt
RUN wc -l app.txt > lines.txt
FROM $busybox
WORKDIR /srv
COPY --from=build /app/app.txt ./
COPY --from=build /app/lines.txt ./
RUN ls -l > listing.txt
CMD ["cat", "/srv/app.txt"]
DOCKERFILE
  warm "$ctx"
  local runs=$cached_runs
  each_run cached : any "$ctx"
}

scenario_steps() {
  local ctx=$work/steps
  mkdir -p "$ctx"
  {
    echo "FROM $busybox"
    for ((i = 1; i <= steps; i++)); do echo "RUN echo $i > /step$i"; done
  } >"$ctx/Dockerfile"
  each_run "steps$steps" : any "$ctx" --no-cache
}

scenario_bigctx() {
  local ctx=$work/bigctx
  mkdir -p "$ctx"
  python3 - "$ctx" "$files" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
size = 200 * 1024 * 1024 // n
for i in range(n):
    d = os.path.join(root, "d%03d" % (i % 200))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.bin" % i), "wb") as f:
        f.write(os.urandom(size))
PY
  printf 'FROM %s\nCOPY . /ctx/\nRUN ls /ctx | wc -l > /count\n' "$busybox" >"$ctx/Dockerfile"
  echo "bigctx: $(find "$ctx" -type f | wc -l) files, $(du -sm "$ctx" | cut -f1) MB" >&2
  each_run bigctx-cold cold any "$ctx" --no-cache
  each_run bigctx-unchanged : any "$ctx"
  each_run bigctx-touch touch_one any "$ctx"
  each_run bigctx-onefile change_one any "$ctx"
}
touch_one() { touch "$work/bigctx/d007/f00007.bin"; }
change_one() { echo "change $RANDOM" >>"$work/bigctx/d011/f00011.bin"; }

scenario_apt() {
  need_package mmdebstrap mmdebstrap || { echo "apt: mmdebstrap missing, skipped" >&2; return 0; }
  bash "$here/testdata/make-debian-rootfs.sh" "$work/debian.tar" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} >/dev/null
  debian=cbuild-bench/debian:$$
  import_base "$work/debian.tar" "$debian"
  local i tool
  for ((i = 0; i < runs; i++)); do
    apt_context "$work/apt-cold" "$i" "ca-certificates curl jq make"
    apt_context "$work/apt-warm" "$i" "ca-certificates curl jq make git"
    for tool in "${tools[@]}"; do
      supports "$tool" cache-mount || continue
      echo "apt: $tool run $((i + 1))/$runs" >&2
      reset "$tool"
      timed apt-cold "$tool" "$work/apt-cold" --no-cache
      timed apt-warm "$tool" "$work/apt-warm"
    done
  done
}
# apt_context DIR ROUND PACKAGES: the apt-get step, new to every tool's layer cache in each
# round (buildah's reset keeps its layers). Debian's docker images delete downloaded packages
# (docker-clean); the first step keeps them, as docker's documentation of cache mounts says.
apt_context() {
  mkdir -p "$1"
  cat >"$1/Dockerfile" <<DOCKERFILE
FROM $debian
RUN rm -f /etc/apt/apt.conf.d/docker-clean && echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' > /etc/apt/apt.conf.d/keep-cache
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked --mount=type=cache,target=/var/lib/apt,sharing=locked \\
    echo "round $2 of $$" && apt-get update && apt-get install -y --no-install-recommends $3
DOCKERFILE
}

scenario_bigwrite() {
  local ctx=$work/bigwrite i tool cmd
  mkdir -p "$ctx"
  # The step prints its own duration (from /proc/uptime, as busybox has no date +%N).
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $busybox
RUN read a _ </proc/uptime; dd if=/dev/urandom of=/big bs=1M count=$big_mb 2>/dev/null; read b _ </proc/uptime; echo "cmd_seconds \$a \$b"
DOCKERFILE
  for ((i = 0; i < runs; i++)); do
    for tool in "${tools[@]}"; do
      echo "bigwrite: $tool run $((i + 1))/$runs" >&2
      timed bigwrite "$tool" "$ctx" --no-cache
      cmd=$(grep -o 'cmd_seconds [0-9.]* [0-9.]*' "$work/logs/$tool.log" | tail -1 | awk '{print $3 - $2}')
      echo "commit $tool $(bc -l <<<"$last_seconds - $cmd") $((big_mb * 1048576))" >>"$results"
    done
  done
  cold  # frees the big layers
}

# make_app DIR: the edits scenario's app, with a token unique to this run so both tools' caches
# start cold (docker's cache outlives the benchmark).
make_app() {
  local ctx=$1
  mkdir -p "$ctx/src"
  echo "run $$ $ctx $(date +%s%N)" >"$ctx/token.txt"
  echo "libfoo 1" >"$ctx/deps.txt"
  echo "main 1" >"$ctx/src/main.txt"
  echo "util 1" >"$ctx/src/util.txt"
  printf '*.tmp\n' >"$ctx/.dockerignore"
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $busybox AS build
ARG VERSION=1
WORKDIR /app
COPY token.txt deps.txt ./
RUN cp token.txt installed.txt && sed 's/^/installed /' deps.txt >> installed.txt
COPY src/ ./src/
RUN cat src/* installed.txt > app.txt && echo "v\$VERSION" >> app.txt
FROM $busybox
COPY --from=build /app/app.txt /app.txt
CMD ["cat", "/app.txt"]
DOCKERFILE
}

scenario_edits() {
  cat >"$work/edits" <<'EDITS'
--- state source-change
echo "main 2" > src/main.txt
--- state manifest-change
echo "libfoo 2" > deps.txt
--- state ignored-file
echo scratch > notes.tmp
--- state dockerfile-comment
sed -i '1i # comment' Dockerfile
--- state build-arg-default-change
sed -i 's/ARG VERSION=1/ARG VERSION=2/' Dockerfile
--- state touch-only
touch src/main.txt deps.txt
--- state revert-source
echo "main 1" > src/main.txt
--- state same-output-edit
printf 'util 1\n' > src/util.txt
--- state new-file
echo "extra" > src/extra.txt
--- state revert-all
rm src/extra.txt notes.tmp; echo "libfoo 1" > deps.txt; sed -i -e '/^# comment/d' -e 's/VERSION=2/VERSION=1/' Dockerfile
EDITS
  local tool store
  for tool in "${tools[@]}"; do
    supports "$tool" compare || continue
    echo "edits: cbuild vs $tool" >&2
    make_app "$work/app-$tool"
    # A fresh cbuild store per peer, so each comparison starts cold for both tools.
    store=$work/store-edits-$tool
    "$cbuild" --root "$store" import "$work/busybox.tar" "$busybox" >/dev/null
    /usr/bin/time -f %M -o "$work/rss.kb" "$cbuild" --root "$store" compare --docker "$docker" \
      --docker-builder "$tool" --edits "$work/edits" --format json "$work/app-$tool" \
      >"$work/compare-$tool.json" 2>"$work/logs/compare-$tool.log" ||
      { tail -20 "$work/logs/compare-$tool.log" >&2; echo "cbuild compare failed" >&2; return 1; }
    echo "rss edits $(tail -1 "$work/rss.kb")" >>"$results"
    echo "edits $tool $work/compare-$tool.json" >>"$results"
  done
}

for scenario in $scenarios; do
  declare -F "scenario_$scenario" >/dev/null || { echo "unknown scenario $scenario" >&2; exit 2; }
  "scenario_$scenario"
done

python3 "$here/tests/bench/compare_summary.py" "$results" "$out" "$runs" "$(bc -l <<<"$(now) - $start")"
