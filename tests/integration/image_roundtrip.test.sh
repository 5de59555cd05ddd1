#!/usr/bin/env bash
# save → load → save keeps every digest (image ID, manifest, layer blobs, diffIDs), for
# cbuild's docker archives and OCI layouts and for archives written by skopeo.
source "$(dirname "$0")/image_lib.sh"

id=$(SOURCE_DATE_EPOCH=1704067200 cb import "$rootfs" busybox:1)
cb tag busybox:1 example.com/team/bb:2
digests() {  # digests ROOT NAME: ID, manifest, diffIDs
  "$CBUILD" --root "$1" inspect "$2" | jq -c '.[0] | [.Id, .Descriptor.digest, .RootFS.Layers]'
}
want=$(digests "$work/root" busybox:1)

# docker archive: both names in one manifest.json entry; load into a fresh store.
cb save busybox:1 example.com/team/bb:2 -o "$work/docker.tar"
tar xOf "$work/docker.tar" manifest.json | jq -e --arg c "blobs/sha256/${id#sha256:}" '
  length == 1 and .[0].Config == $c and .[0].RepoTags == ["busybox:1", "example.com/team/bb:2"] and (.[0].Layers | length) == 1
' >/dev/null || fail "manifest.json"
cb2 load -i "$work/docker.tar" >"$work/load.txt"
grep -qx "Loaded image: busybox:1" "$work/load.txt" && grep -qx "Loaded image: example.com/team/bb:2" "$work/load.txt" \
  || { cat "$work/load.txt"; fail "load output"; }
[[ $(digests "$work/root2" busybox:1) == "$want" ]] || fail "docker archive round trip changed digests"
[[ $(digests "$work/root2" example.com/team/bb:2) == "$want" ]] || fail "second name"
cb2 save busybox:1 example.com/team/bb:2 -o "$work/docker2.tar"
cmp "$work/docker.tar" "$work/docker2.tar" || fail "save after load differs"
cb2 store check >/dev/null

# From stdin, and a gzip-compressed archive (docker save | gzip).
rm -rf "$work/root2"
gzip -c "$work/docker.tar" | cb2 load -q
[[ $(digests "$work/root2" busybox:1) == "$want" ]] || fail "load of a gzip archive from stdin"

# OCI layout (directory and tar) round trip keeps the manifest byte-exact.
cb save busybox:1 --format oci-dir -o "$work/layout"
rm -rf "$work/root2"
cb2 load -i "$work/layout" | grep -qx "Loaded image: busybox:1" || fail "load of an OCI layout directory"
[[ $(digests "$work/root2" busybox:1) == "$want" ]] || fail "OCI layout round trip changed digests"
cb2 save busybox:1 --format oci -o "$work/oci2.tar"
cb save busybox:1 --format oci -o "$work/oci1.tar"
cmp "$work/oci1.tar" "$work/oci2.tar" || fail "OCI save after load differs"

# Archives written by another tool: skopeo's docker-archive (uncompressed layer, its own
# config/manifest names) and oci-archive. The image ID stays the same.
skopeo copy -q "oci:$work/layout:1" "docker-archive:$work/skopeo-docker.tar:skopeo/bb:x"
rm -rf "$work/root2"
cb2 load -i "$work/skopeo-docker.tar" | grep -qx "Loaded image: skopeo/bb:x" || fail "load skopeo docker-archive"
cb2 inspect skopeo/bb:x | jq -e --arg id "$id" '.[0].Id == $id' >/dev/null || fail "skopeo docker-archive: image ID changed"
cb2 save skopeo/bb:x --format oci-dir -o "$work/from-skopeo"
umoci unpack --rootless --image "$work/from-skopeo:x" "$work/bundle" >/dev/null
[[ -x $work/bundle/rootfs/bin/busybox ]] || fail "re-saved skopeo image does not unpack"
skopeo copy -q "oci:$work/layout:1" "oci-archive:$work/skopeo-oci.tar:1"
cb2 load -i "$work/skopeo-oci.tar" | grep -qx "Loaded image ID: $id" || fail "load of an unnamed OCI archive"

# A docker archive in the classic layout: <id>/layer.tar, a duplicate layer as a symlink.
mkdir -p "$work/classic/aaa" "$work/classic/bbb"
gunzip -c "$rootfs" >"$work/classic/aaa/layer.tar"
ln -s ../aaa/layer.tar "$work/classic/bbb/layer.tar"
d=$(gunzip -c "$rootfs" | sha256sum | cut -d' ' -f1)
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s","sha256:%s"]},"config":{"Cmd":["sh"]}}' \
  "$d" "$d" >"$work/classic/cfg.json"
echo '[{"Config":"cfg.json","RepoTags":["classic:1"],"Layers":["aaa/layer.tar","bbb/layer.tar"]}]' >"$work/classic/manifest.json"
tar -C "$work/classic" -cf "$work/classic.tar" manifest.json cfg.json aaa bbb
cb2 load -i "$work/classic.tar" | grep -qx "Loaded image: classic:1" || fail "classic docker archive"
cb2 inspect classic:1 | jq -e --arg id "sha256:$(sha256sum <"$work/classic/cfg.json" | cut -d' ' -f1)" \
  '.[0].Id == $id and .[0].Config.Cmd == ["sh"] and (.[0].RootFS.Layers | length) == 2' >/dev/null || fail "classic: config kept byte-exact"
cb2 save classic:1 -o "$work/classic-out.tar"
[[ $(tar tf "$work/classic-out.tar" | grep -c '^blobs/sha256/.') == 3 ]] || fail "a duplicate layer is one blob"
cb2 store check >/dev/null
echo ok
