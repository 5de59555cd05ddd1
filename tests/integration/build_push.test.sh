#!/usr/bin/env bash
# `cbuild build --push` to Debian's docker-registry on 127.0.0.1: the built layers (which
# exist only as snapshots) are compressed on the way; skopeo reads the result; a fresh store
# pulls it back with the same image ID, and builds FROM it.
source "$(dirname "$0")/image_lib.sh"
source "$(dirname "$0")/registry_lib.sh"
chmod 711 "$work"
cb import "$rootfs" busybox:1.36 >/dev/null
start_registry plain
ref=127.0.0.1:$port/team/app:1
mkdir -p "$work/ctx"
echo payload >"$work/ctx/p.txt"
printf 'FROM busybox:1.36\nCOPY p.txt /p.txt\nRUN echo built > /built\nCMD ["cat", "/built"]\n' >"$work/ctx/Dockerfile"
cb build --progress=plain --push --iidfile "$work/iid" -t "$ref" "$work/ctx" >"$work/push.out" 2>&1 ||
  { cat "$work/push.out"; fail "build --push"; }
grep -q 'digest: sha256:' "$work/push.out" || { cat "$work/push.out"; fail "no pushed digest printed"; }
skopeo inspect --tls-verify=false "docker://$ref" >"$work/skopeo.json" || fail "skopeo cannot read the pushed image"
[ "$(jq '.Layers | length' "$work/skopeo.json")" = 3 ] || fail "pushed layers: $(jq -c .Layers "$work/skopeo.json")"
cb2 pull "$ref" >/dev/null || fail "pull back"
[ "$(cb2 inspect "$ref" | jq -r '.[0].Id')" = "$(cat "$work/iid")" ] || fail "pulled image has another ID"
chmod 711 "$work/root2"
printf 'FROM %s\nRUN test "$(cat /built)" = built && cat /p.txt\n' "$ref" >"$work/ctx/Dockerfile.child"
cb2 build --progress=plain -f "$work/ctx/Dockerfile.child" "$work/ctx" >"$work/child.out" 2>&1 ||
  { cat "$work/child.out"; fail "build FROM the pushed image"; }
grep -q payload "$work/child.out" || fail "child build output"
# docker pull accepts it (when a daemon answers; 127.0.0.0/8 registries are plain HTTP for it).
if [ -x /usr/bin/docker ] && /usr/bin/docker info >/dev/null 2>&1; then
  /usr/bin/docker pull "$ref" >/dev/null || fail "docker pull of the pushed image"
  [ "$(/usr/bin/docker run --rm "$ref")" = built ] || fail "docker run of the pushed image"
  /usr/bin/docker rmi "$ref" >/dev/null 2>&1 || true
  echo "docker pulled and ran the pushed image"
fi
echo "build --push: pushed, inspected, pulled back and built upon"
