#!/usr/bin/env bash
# `cbuild pull` against Debian's docker-registry on 127.0.0.1 (random ports): plain pull and
# re-pull, missing tag, htpasswd auth (no, wrong, docker-config and cbuild-auth-file
# credentials), registry down, a multi-platform index, and a corrupt blob served by
# tests/support/registry/fake_registry.py (detected, nothing stored).
source "$(dirname "$0")/image_lib.sh"
source "$(dirname "$0")/registry_lib.sh"

# The image to serve: busybox imported and saved as an OCI archive.
cb import "$rootfs" test/busybox:1 >/dev/null
image_id=$(inspect "$work/root" test/busybox:1 Id)
cb save test/busybox:1 --format oci -o "$work/busybox-oci.tar"

echo "== plain pull, re-pull, missing tag"
start_registry plain
plain_port=$port
plain_pid=$registry_pid
skopeo_push "oci-archive:$work/busybox-oci.tar" "127.0.0.1:$port/team/busybox:1"
out=$("$CBUILD" --root "$work/p1" pull "127.0.0.1:$port/team/busybox:1")
grep -q "2 blobs downloaded, 0 already present" <<<"$out" || fail "first pull: $out"
[[ $(inspect "$work/p1" "127.0.0.1:$port/team/busybox:1" Id) == "$image_id" ]] || fail "pulled image has another ID"
[[ $(inspect "$work/p1" "127.0.0.1:$port/team/busybox:1" 'RepoTags[0]') == "127.0.0.1:$port/team/busybox:1" ]] ||
  fail "tag not recorded"
"$CBUILD" --root "$work/p1" images | grep -q "127.0.0.1:$port/team/busybox" || fail "images does not list the pull"
"$CBUILD" --root "$work/p1" store check >/dev/null || fail "store check after pull"
out=$("$CBUILD" --root "$work/p1" pull "127.0.0.1:$port/team/busybox:1")
grep -q "Image is up to date.*0 blobs downloaded, 2 already present" <<<"$out" || fail "re-pull: $out"
# The pulled image can be saved again with the same digests.
"$CBUILD" --root "$work/p1" save "127.0.0.1:$port/team/busybox:1" --format oci -o "$work/again.tar"
manifest=$(skopeo inspect --raw "oci-archive:$work/busybox-oci.tar" | sha256sum | cut -d' ' -f1)
by_digest="127.0.0.1:$port/team/busybox@sha256:$manifest"
"$CBUILD" --root "$work/p2" pull -q "$by_digest" >/dev/null || fail "pull by digest"
[[ $(inspect "$work/p2" "$by_digest" Id) == "$image_id" ]] || fail "pull by digest: wrong image"
status=0
"$CBUILD" --root "$work/p3" pull "127.0.0.1:$port/team/busybox:nope" 2>"$work/err" >/dev/null || status=$?
((status == 5)) || fail "missing tag: exit $status, expected 5 (not found)"
grep -Eq "registry \`127.0.0.1:$port\`, repository \`team/busybox\`: not found \(HTTP 404\)" "$work/err" ||
  fail "missing tag message: $(cat "$work/err")"

echo "== multi-platform index"
layout=$work/multi
make_multi_layout "$work/busybox-oci.tar" "$layout"
skopeo_push "oci:$layout:multi" "127.0.0.1:$port/team/multi:1" --all
"$CBUILD" --root "$work/m" pull "127.0.0.1:$port/team/multi:1" >"$work/out" || fail "pull index"
grep -q "Digest: $index_digest" "$work/out" || fail "pull index: digest line: $(cat "$work/out")"
[[ $(inspect "$work/m" "127.0.0.1:$port/team/multi:1" Architecture) == amd64 ]] || fail "index: amd64 not chosen"
[[ $(inspect "$work/m" "127.0.0.1:$port/team/multi:1" 'RepoDigests[0]') == *"@$amd_manifest" ]] ||
  fail "index: amd64 manifest not recorded"
"$CBUILD" --root "$work/m" pull --platform linux/arm64/v8 "127.0.0.1:$port/team/multi:1" >/dev/null ||
  fail "pull --platform linux/arm64/v8"
[[ $(inspect "$work/m" "127.0.0.1:$port/team/multi:1" Architecture) == arm64 ]] || fail "index: arm64 not chosen"
expect_fail "no manifest for platform linux/s390x in the index \(available: linux/arm64/v8, linux/amd64\)" \
  "$CBUILD" --root "$work/m" pull --platform linux/s390x "127.0.0.1:$port/team/multi:1"

echo "== htpasswd-protected registry"
htpasswd -Bbn alice s3cret >"$work/htpasswd"
start_registry auth "{htpasswd: {realm: cbuild-test, path: $work/htpasswd}}"
skopeo_push "oci-archive:$work/busybox-oci.tar" "127.0.0.1:$port/private/busybox:1" --dest-creds alice:s3cret
export DOCKER_CONFIG=$work/docker-config CBUILD_AUTH_FILE=$work/cbuild-auth.json
mkdir -p "$DOCKER_CONFIG"
expect_fail "registry \`127.0.0.1:$port\`, repository \`private/busybox\`: unauthorized.*HTTP 401" \
  "$CBUILD" --root "$work/a1" pull "127.0.0.1:$port/private/busybox:1"
echo "{\"auths\":{\"http://127.0.0.1:$port\":{\"auth\":\"$(printf alice:wrong | base64)\"}}}" >"$DOCKER_CONFIG/config.json"
expect_fail "unauthorized.*HTTP 401" "$CBUILD" --root "$work/a1" pull "127.0.0.1:$port/private/busybox:1"
[[ -z $(ls "$work/a1/blobs/sha256" 2>/dev/null) ]] || fail "refused pull stored blobs"
echo "{\"auths\":{\"127.0.0.1:$port\":{\"username\":\"alice\",\"password\":\"s3cret\"}}}" >"$DOCKER_CONFIG/config.json"
"$CBUILD" --root "$work/a1" pull "127.0.0.1:$port/private/busybox:1" >/dev/null || fail "pull with docker config"
[[ $(inspect "$work/a1" "127.0.0.1:$port/private/busybox:1" Id) == "$image_id" ]] || fail "auth pull: wrong image"
# cbuild's own auth file is read first.
echo '{}' >"$DOCKER_CONFIG/config.json"
echo "{\"auths\":{\"127.0.0.1:$port\":{\"auth\":\"$(printf alice:s3cret | base64)\"}}}" >"$CBUILD_AUTH_FILE"
"$CBUILD" --root "$work/a2" pull "127.0.0.1:$port/private/busybox:1" >/dev/null || fail "pull with cbuild auth file"
unset DOCKER_CONFIG CBUILD_AUTH_FILE

echo "== registry down"
stop_pid "$plain_pid"
expect_fail "cannot reach registry \`127.0.0.1:$plain_port\`.*(connect|Connection refused)" \
  "$CBUILD" --root "$work/d" pull "127.0.0.1:$plain_port/team/busybox:1"

echo "== corrupt blob"
served=$work/served
mkdir -p "$served"
tar -xf "$work/busybox-oci.tar" -C "$served"
manifest_file=$served/blobs/sha256/$(jq -r '.manifests[0].digest' "$served/index.json" | cut -d: -f2)
layer=$(jq -r '.layers[0].digest' "$manifest_file")
start_python fake fake_registry.py "$served" "$work/fake.port" --corrupt "$layer"
fake_port=$port
wait_http "http://127.0.0.1:$fake_port/v2/"
expect_fail "pull blob $layer of \`127.0.0.1:$fake_port/x/y\`.*digest mismatch" \
  "$CBUILD" --root "$work/c" pull "127.0.0.1:$fake_port/x/y:1"
[[ ! -e $work/c/blobs/sha256/${layer#sha256:} ]] || fail "corrupt layer was stored"
[[ $("$CBUILD" --root "$work/c" images --format json | jq -s length) == 0 ]] || fail "corrupt pull recorded an image"
"$CBUILD" --root "$work/c" store check >/dev/null || fail "store check after corrupt pull"

echo "PASS"
