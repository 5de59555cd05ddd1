#!/usr/bin/env bash
# Benchmark cbuild against docker BuildKit and the legacy docker builder (issue 7):
#   cached   fully cached rebuild of a 3-stage, 12-step busybox build
#   steps40  40 trivial RUN steps without cache (per-step overhead)
#   edits    a 10-edit sequence on a small multi-stage app, hit rate per tool (cbuild compare)
# Each timed scenario runs RUNS times per tool; prints median, min-max and cbuild's ratio to
# each peer, and writes the same as JSON to OUT. Base images come from one busybox rootfs
# (docker import / cbuild import). Tools missing or no docker daemon: cbuild alone.
# Usage: CBUILD=build/cbuild tests/bench/compare_bench.sh   [RUNS=5 OUT=bench.json LEGACY=0 STEPS=40]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
cbuild=${CBUILD:-$here/build/cbuild}
docker=${DOCKER:-/usr/bin/docker}
runs=${RUNS:-5}
steps=${STEPS:-40}
out=${OUT:-$PWD/compare-bench.json}
work=$(mktemp -d "${TMPDIR:-/tmp}/cbuild-bench-XXXXXX")
chmod 711 "$work"  # build steps run as an unprivileged user and must reach the store
trap 'rm -rf "$work"' EXIT
root=$work/root
cb() { "$cbuild" --root "$root" "$@"; }

tools=(cbuild)
if [ -x "$docker" ] && "$docker" version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  tools+=(buildkit)
  [ "${LEGACY:-1}" = 1 ] && tools+=(legacy)
else
  echo "no docker daemon answers: measuring cbuild alone" >&2
fi
base=cbuild-bench/busybox:$$
bash "$here/testdata/make-busybox-rootfs.sh" "$work/rootfs.tar" >/dev/null
cb import "$work/rootfs.tar" "$base" >/dev/null
[ ${#tools[@]} -gt 1 ] && "$docker" import "$work/rootfs.tar" "$base" >/dev/null
cleanup_docker() { [ ${#tools[@]} -gt 1 ] && "$docker" rmi -f "$base" cbuild-bench:out >/dev/null 2>&1 || true; }
trap 'cleanup_docker; rm -rf "$work"' EXIT

# build TOOL CONTEXT [flags]: one build, quiet; fails loudly with the log.
build() {
  local tool=$1 ctx=$2
  shift 2
  local log=$work/build.log
  case $tool in
    cbuild) cb build --progress=plain -t cbuild-bench:out "$@" "$ctx" >"$log" 2>&1 ;;
    buildkit) DOCKER_BUILDKIT=1 "$docker" build --progress=plain -t cbuild-bench:out "$@" "$ctx" >"$log" 2>&1 ;;
    legacy) DOCKER_BUILDKIT=0 "$docker" build -t cbuild-bench:out "$@" "$ctx" >"$log" 2>&1 ;;
  esac || { cat "$log" >&2; echo "$tool build of $ctx failed" >&2; exit 1; }
}
now() { date +%s.%N; }
results=$work/results.txt  # lines: scenario tool seconds
: >"$results"
# measure SCENARIO TOOL CONTEXT [flags]: RUNS timed builds.
measure() {
  local scenario=$1 tool=$2 ctx=$3
  shift 3
  for ((i = 0; i < runs; i++)); do
    local t0 t1
    t0=$(now)
    build "$tool" "$ctx" "$@"
    t1=$(now)
    echo "$scenario $tool $(echo "$t1 - $t0" | bc -l)" >>"$results"
  done
}

# 1. cached rebuild: 3 stages, 12 filesystem steps.
ctx1=$work/cached
mkdir -p "$ctx1/src"
for i in 1 2 3; do echo "file $i" >"$ctx1/src/f$i.txt"; done
cat >"$ctx1/Dockerfile" <<DOCKERFILE
FROM $base AS deps
WORKDIR /deps
RUN echo dep1 > a && echo dep2 > b
RUN cat a b > deps.txt
COPY src/f1.txt ./
FROM $base AS build
WORKDIR /app
COPY src/ ./src/
COPY --from=deps /deps/deps.txt ./
RUN cat src/* deps.txt > app.txt
RUN wc -l app.txt > lines.txt
FROM $base
WORKDIR /srv
COPY --from=build /app/app.txt ./
COPY --from=build /app/lines.txt ./
RUN ls -l > listing.txt
CMD ["cat", "/srv/app.txt"]
DOCKERFILE
for tool in "${tools[@]}"; do
  echo "cached: $tool" >&2
  build "$tool" "$ctx1"
  measure cached "$tool" "$ctx1"
done

# 2. per-step overhead: $steps trivial RUN steps, no cache.
ctx2=$work/steps
mkdir -p "$ctx2"
{
  echo "FROM $base"
  for ((i = 1; i <= steps; i++)); do echo "RUN echo $i > /step$i"; done
} >"$ctx2/Dockerfile"
for tool in "${tools[@]}"; do
  echo "steps$steps: $tool" >&2
  measure "steps$steps" "$tool" "$ctx2" --no-cache
done

# 3. 10-edit sequence: hit rate per tool, from cbuild compare (cbuild + one docker builder).
# make_app DIR: the app, with a token unique to this run so both tools' caches start cold
# (docker's cache outlives the benchmark).
make_app() {
  local ctx=$1
  mkdir -p "$ctx/src"
  echo "run $$ $ctx $(date +%s%N)" >"$ctx/token.txt"
  echo "libfoo 1" >"$ctx/deps.txt"
  echo "main 1" >"$ctx/src/main.txt"
  echo "util 1" >"$ctx/src/util.txt"
  printf '*.tmp\n' >"$ctx/.dockerignore"
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $base AS build
ARG VERSION=1
WORKDIR /app
COPY token.txt deps.txt ./
RUN cp token.txt installed.txt && sed 's/^/installed /' deps.txt >> installed.txt
COPY src/ ./src/
RUN cat src/* installed.txt > app.txt && echo "v\$VERSION" >> app.txt
FROM $base
COPY --from=build /app/app.txt /app.txt
CMD ["cat", "/app.txt"]
DOCKERFILE
}
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
edits_json=$work/edits.json
echo '{}' >"$edits_json"
for tool in "${tools[@]}"; do
  [ "$tool" = cbuild ] && continue
  echo "edits: cbuild vs $tool" >&2
  make_app "$work/app-$tool"
  # A fresh cbuild store per peer, so each comparison starts cold for both tools.
  "$cbuild" --root "$work/root-$tool" import "$work/rootfs.tar" "$base" >/dev/null
  "$cbuild" --root "$work/root-$tool" compare --docker "$docker" --docker-builder "$tool" --edits "$work/edits" \
    --format json "$work/app-$tool" \
    >"$work/compare-$tool.json" 2>/dev/null || { echo "cbuild compare failed" >&2; exit 1; }
  # State 1 is the cold build; the hit rate is over the 10 edits.
  jq --arg t "$tool" --slurpfile c "$work/compare-$tool.json" '
    ($c[0].states[1:]) as $s
    | .[$t] = {states: [$s[] | {name, cbuild: .cbuild.hits, docker: .docker.hits, steps: .cbuild.steps}],
               cbuild_hit_rate: (([$s[].cbuild.hits] | add) / ([$s[].cbuild.steps] | add)),
               docker_hit_rate: (([$s[].docker.hits] | add) / ([$s[].docker.steps] | add))}' \
    "$edits_json" >"$edits_json.new"
  mv "$edits_json.new" "$edits_json"
done

python3 - "$results" "$edits_json" "$out" "$runs" <<'PY'
import json, statistics, sys
results, edits_file, out, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
data = {}
for line in open(results):
    scenario, tool, secs = line.split()
    data.setdefault(scenario, {}).setdefault(tool, []).append(float(secs))
report = {"version": 1, "runs": runs, "scenarios": {}, "edits": json.load(open(edits_file))}
print(f"{'SCENARIO':<10} {'TOOL':<9} {'MEDIAN':>8} {'MIN-MAX':>15} {'CBUILD/TOOL':>11}")
for scenario, tools in data.items():
    med = {t: statistics.median(v) for t, v in tools.items()}
    entry = {}
    for tool, values in tools.items():
        ratio = med["cbuild"] / med[tool] if tool != "cbuild" and med[tool] > 0 else None
        entry[tool] = {"median": med[tool], "min": min(values), "max": max(values), "seconds": values,
                       "cbuild_ratio": ratio}
        r = f"{ratio:.3f}" if ratio is not None else "-"
        print(f"{scenario:<10} {tool:<9} {med[tool]:>7.3f}s {min(values):>6.3f}-{max(values):.3f}s {r:>11}")
    report["scenarios"][scenario] = entry
for tool, e in report["edits"].items():
    print(f"edits      cbuild hit rate {e['cbuild_hit_rate']:.0%}, docker {tool} {e['docker_hit_rate']:.0%}")
    for s in e["states"]:
        print(f"  {s['name']:<26} cbuild {s['cbuild']}/{s['steps']}  {tool} {s['docker']}")
json.dump(report, open(out, "w"), indent=2)
print(f"JSON: {out}")
PY
