# shellcheck shell=bash
# The builders compare_bench.sh measures, behind one interface (sourced, not run):
#   tools            the builders found: cbuild, and where present buildkit, legacy, buildah
#   import_base TAR NAME   the same rootfs tarball as image NAME in every tool
#   build TOOL CTX [FLAGS]  one build into $work/logs/TOOL.log (flags common to all: --no-cache, -f)
#   reset TOOL       forget the tool's layer cache and cache mounts (before a cold build)
#   supports TOOL FEATURE   whether the tool can run a scenario (legacy: no RUN --mount)
# Needs $work, $cbuild, $docker. cbuild writes --report $work/report.json: its totals hold the peak
# RSS (KB) of its last build, the largest of the cbuild process and the children it waited
# for (RUN step processes included).

root=$work/cbuild-store
buildah_dir=$work/buildah
mkdir -p "$work/logs" "$buildah_dir/tmp"
cb() { "$cbuild" --root "$root" "$@"; }
# buildah in a private store; TMPDIR is where buildah keeps RUN --mount=type=cache data.
bh() {
  TMPDIR=$buildah_dir/tmp buildah --root "$buildah_dir/root" --runroot "$buildah_dir/run" \
    --storage-driver "${BUILDAH_DRIVER:-overlay}" "$@"
}
dk() { "$docker" "$@"; }

# need_package COMMAND PACKAGE: apt-get install PACKAGE when COMMAND is missing (root only,
# INSTALL=0 disables). Fails quietly: the caller decides whether it can go on.
need_package() {
  command -v "$1" >/dev/null && return 0
  [ "${INSTALL:-1}" = 1 ] && ((EUID == 0)) || return 1
  echo "installing $2" >&2
  { apt-get install -y -qq "$2" || { apt-get update -qq && apt-get install -y -qq "$2"; }; } >"$work/logs/apt-$2.log" 2>&1
  command -v "$1" >/dev/null
}

# docker_up: whether a docker daemon answers; as root, starts dockerd when none runs.
docker_up() {
  [ -x "$docker" ] || return 1
  "$docker" version --format '{{.Server.Version}}' >/dev/null 2>&1 && return 0
  ((EUID == 0)) && command -v dockerd >/dev/null || return 1
  echo "starting dockerd (log: /tmp/dockerd.log)" >&2
  (setsid dockerd >/tmp/dockerd.log 2>&1 &)
  for _ in $(seq 60); do
    "$docker" version --format '{{.Server.Version}}' >/dev/null 2>&1 && return 0
    sleep 1
  done
  return 1
}

tools=(cbuild)
if docker_up; then
  tools+=(buildkit)
  [ "${LEGACY:-1}" = 1 ] && tools+=(legacy)
else
  echo "no docker daemon answers ($docker): no docker builders" >&2
fi
if [ "${BUILDAH:-1}" = 1 ] && ((EUID == 0)) && need_package buildah buildah; then
  tools+=(buildah)
else
  echo "buildah unavailable (needs root and the buildah package): not measured" >&2
fi
have_docker() { [[ " ${tools[*]} " == *" buildkit "* || " ${tools[*]} " == *" legacy "* ]]; }

import_base() {
  local tar=$1 name=$2 tool ctr
  cb import "$tar" "$name" >/dev/null
  if have_docker; then dk import "$tar" "$name" >/dev/null; fi
  for tool in "${tools[@]}"; do
    [ "$tool" = buildah ] || continue
    ctr=$(bh from scratch)
    bh add "$ctr" "$tar" / >/dev/null
    bh commit -q "$ctr" "$name" >/dev/null
    bh rm "$ctr" >/dev/null
  done
  base_images+=("$name")
}
base_images=()

build() {
  local tool=$1 ctx=$2
  shift 2
  local log=$work/logs/$tool.log
  case $tool in
    cbuild) "$cbuild" --root "$root" build --progress=plain --report "$work/report.json" \
              -t cbuild-bench:out "$@" "$ctx" ;;
    buildkit) DOCKER_BUILDKIT=1 dk build --progress=plain -t cbuild-bench:out "$@" "$ctx" ;;
    legacy) DOCKER_BUILDKIT=0 dk build -t cbuild-bench:out "$@" "$ctx" ;;
    buildah) bh bud --layers ${BUILDAH_ISOLATION:+--isolation "$BUILDAH_ISOLATION"} \
               -t cbuild-bench:out "$@" "$ctx" ;;
  esac >"$log" 2>&1 || { tail -40 "$log" >&2; echo "$tool build of $ctx failed" >&2; return 1; }
}

reset() {
  case $1 in
    cbuild) cb prune --all --cache-mounts --force >/dev/null ;;
    buildkit) dk builder prune --all --force >/dev/null ;;
    legacy) ;;  # builds with --no-cache; it has no cache mounts
    buildah) rm -rf "$buildah_dir/tmp" && mkdir -p "$buildah_dir/tmp" ;;  # plus --no-cache
  esac
}

supports() {
  case $1:$2 in
    legacy:cache-mount) return 1 ;;  # the legacy builder rejects RUN --mount
    buildah:compare) return 1 ;;     # cbuild compare drives docker builders only
    cbuild:compare) return 1 ;;      # the reference, not a peer
    *) return 0 ;;
  esac
}

cleanup_tools() {
  if have_docker; then
    dk rmi -f cbuild-bench:out cbuild-compare "${base_images[@]}" >/dev/null 2>&1 || true
    dk image prune -f >/dev/null 2>&1 || true
  fi
  if [[ " ${tools[*]} " == *" buildah "* ]]; then
    bh rm --all >/dev/null 2>&1 || true  # its images go with $work
  fi
}
