#!/usr/bin/env bash
# `cbuild compare` without docker: a clear error naming the socket and how to start a
# daemon when none answers, a missing client; and compare with recorded logs
# (--docker-log), which needs no daemon.
source "$CBUILD_SOURCE_DIR/tests/integration/image_lib.sh"
chmod 711 "$work"
ctx=$work/ctx
mkdir -p "$ctx"
printf 'FROM scratch\nCOPY a /a\n' >"$ctx/Dockerfile"
echo a >"$ctx/a"

if [ -x /usr/bin/docker ]; then
  DOCKER_HOST=unix://$work/dead.sock expect_fail "no docker daemon answers at .unix://$work/dead.sock.*dockerd &" \
    cb compare --docker /usr/bin/docker "$ctx"
fi
expect_fail "docker client ./nonexistent/docker. not found: install docker" \
  cb compare --docker /nonexistent/docker "$ctx"
expect_fail "give --edits or --git-range, not both|excludes" \
  cb compare --edits x --git-range a..b "$ctx"

# Recorded logs: the unnamed.Dockerfile build compared with the BuildKit log from testdata.
data=$CBUILD_SOURCE_DIR/testdata/compare
cp "$data/unnamed.Dockerfile" "$ctx/Dockerfile"
sed -i 's|compare/busybox:1|busybox:1|' "$ctx/Dockerfile"
echo b >"$ctx/b.txt"
cb import "$rootfs" busybox:1 >/dev/null
cb compare --docker /nonexistent/docker --docker-log "$data/unnamed-buildkit.log" --build-arg N=4 --format json "$ctx" \
  >"$work/out.json" 2>"$work/err" || { cat "$work/err"; fail "compare with a recorded log"; }
jq -e '.docker_recorded and (.states | length == 1) and (.states[0].steps | length == 4)
       and all(.states[0].steps[]; .cbuild != null and .docker != null)' "$work/out.json" >/dev/null ||
  { jq . "$work/out.json"; fail "recorded log not paired"; }
expect_fail "2 --docker-log files for 1 states" cb compare --docker-log "$data/unnamed-buildkit.log" \
  --docker-log "$data/unnamed-legacy.log" "$ctx"
echo ok
