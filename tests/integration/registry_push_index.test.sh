#!/usr/bin/env bash
# `cbuild pull --all-platforms` keeps a multi-platform index with every manifest and blob;
# `cbuild push` pushes it whole (each manifest by digest, then the index), so the pushed
# index and manifests have the digests they had; checked with skopeo against Debian's
# docker-registry on 127.0.0.1, to another registry and to another repository of the same one.
source "$(dirname "$0")/image_lib.sh"
source "$(dirname "$0")/registry_lib.sh"
chmod 711 "$work"

# An index of two platforms: amd64 (busybox) and arm64/v8 (busybox plus a layer of its own).
cb import "$rootfs" test/busybox:1 >/dev/null
cb save test/busybox:1 --format oci -o "$work/busybox-oci.tar"
mkdir -p "$work/extra/etc" && echo arm >"$work/extra/etc/arch"
tar -C "$work/extra" --owner=0 --group=0 --mtime=@0 -cf - etc | gzip -n >"$work/extra.tar.gz"
layout=$work/multi
make_multi_layout "$work/busybox-oci.tar" "$layout" "$work/extra.tar.gz"

start_registry src
src=127.0.0.1:$port
skopeo_push "oci:$layout:multi" "$src/team/multi:1" --all

echo "== pull --all-platforms"
"$CBUILD" --root "$work/s" pull --all-platforms "$src/team/multi:1" >"$work/out" || fail "pull --all-platforms"
grep -q "Digest: $index_digest" "$work/out" || fail "pull: $(cat "$work/out")"
[[ $(inspect "$work/s" "$src/team/multi:1" Architecture) == amd64 ]] || fail "the image is not the amd64 one"
[[ $(inspect "$work/s" "$src/team/multi:1" 'RepoDigests[0]') == *"@$index_digest" ]] || fail "the index is not recorded"
for blob in "$index_digest" "$arm_manifest" "$arm_config" "$extra_blob"; do
  [ -f "$work/s/blobs/sha256/${blob#sha256:}" ] || fail "blob $blob of the arm64 image not pulled"
done
"$CBUILD" --root "$work/s" prune -a -f >/dev/null || fail "prune"
[ -f "$work/s/blobs/sha256/${extra_blob#sha256:}" ] || fail "prune dropped a blob of the index"
"$CBUILD" --root "$work/s" store check >/dev/null || fail "store check with an index"
"$CBUILD" --root "$work/s" save "$src/team/multi:1" --format oci -o "$work/amd.tar" || fail "save the index image"
[ "$(skopeo inspect --raw "oci-archive:$work/amd.tar" | sha256sum | cut -d' ' -f1)" = "${amd_manifest#sha256:}" ] ||
  fail "save: not the amd64 manifest"

# check_pushed REF: REF is the index, byte for byte, and its manifests and blobs are there.
check_pushed() {
  local ref=$1 child
  [ "sha256:$(skopeo inspect --tls-verify=false --raw "docker://$ref" | sha256sum | cut -d' ' -f1)" = "$index_digest" ] ||
    fail "$ref: not the index pulled"
  for child in "$amd_manifest" "$arm_manifest"; do
    [ "sha256:$(skopeo inspect --tls-verify=false --raw "docker://${ref%:*}@$child" | sha256sum | cut -d' ' -f1)" = "$child" ] ||
      fail "$ref: manifest $child"
  done
  rm -rf "$work/copy"
  skopeo copy -q --all --src-tls-verify=false "docker://$ref" "oci:$work/copy:x" >/dev/null || fail "$ref: skopeo copy --all"
  [ -f "$work/copy/blobs/sha256/${extra_blob#sha256:}" ] || fail "$ref: arm64 layer"
}

echo "== push the index to another registry"
start_registry dst
dst=127.0.0.1:$port
"$CBUILD" --root "$work/s" push "$src/team/multi:1" "$dst/mirror/multi:1" >"$work/out" || { cat "$work/out"; fail "push index"; }
grep -q "1: digest: $index_digest size: $index_size" "$work/out" || fail "push output: $(cat "$work/out")"
grep -q "Pushed 4 blobs.*1 already present, 0 mounted" "$work/out" || fail "push output: $(cat "$work/out")"
check_pushed "$dst/mirror/multi:1"

echo "== push the index to another repository of the same registry (blobs mounted)"
"$CBUILD" --root "$work/s" push "$src/team/multi:1" "$src/other/multi:2" >"$work/out" || { cat "$work/out"; fail "push index"; }
grep -q "Pushed 0 blobs.*1 already present, 4 mounted" "$work/out" || fail "push output: $(cat "$work/out")"
check_pushed "$src/other/multi:2"

echo "== without --all-platforms the arm64 manifest is not stored: the amd64 image is pushed"
"$CBUILD" --root "$work/h" pull "$src/team/multi:1" >/dev/null
"$CBUILD" --root "$work/h" push -q "$src/team/multi:1" "$dst/single/multi:1" >"$work/out"
grep -q "@$amd_manifest" "$work/out" || fail "single push: $(cat "$work/out")"
echo "index push: children first, digests kept"
