#!/usr/bin/env bash
# Optional: `docker load` accepts cbuild's docker archive and sees the same image ID; a
# `docker save` of it loads back into cbuild with the same ID. Skipped (77) without a
# reachable docker daemon at /var/run/docker.sock.
source "$(dirname "$0")/image_lib.sh"
docker=/usr/bin/docker
[[ -x $docker ]] || docker=$(command -v docker || true)
[[ -S /var/run/docker.sock && -n $docker ]] || { echo "no docker daemon"; exit 77; }
"$docker" info >/dev/null 2>&1 || { echo "docker daemon not reachable"; exit 77; }

name=cbuild-test/busybox:$$
id=$(SOURCE_DATE_EPOCH=1704067200 cb import "$rootfs" "$name")
trap '"$docker" rmi -f "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cb save "$name" -o "$work/docker.tar"
"$docker" load -i "$work/docker.tar" | grep -q "Loaded image: $name" || fail "docker load"
[[ $("$docker" image inspect --format '{{.Id}}' "$name") == "$id" ]] || fail "docker sees another image ID"
"$docker" run --rm "$name" /bin/busybox true || fail "docker cannot run the image"
"$docker" save "$name" -o "$work/from-docker.tar"
cb2 load -i "$work/from-docker.tar" | grep -q "Loaded image: $name" || fail "load of docker save output"
[[ $(cb2 inspect "$name" | jq -r '.[0].Id') == "$id" ]] || fail "image ID changed through docker"
echo ok
