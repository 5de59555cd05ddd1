#!/usr/bin/env bash
# save --format oci (tar and directory, gzip and zstd) is accepted by skopeo and umoci.
source "$(dirname "$0")/image_lib.sh"
command -v skopeo >/dev/null && command -v umoci >/dev/null || { echo "skopeo/umoci missing"; exit 77; }

id=$(SOURCE_DATE_EPOCH=1704067200 cb import "$rootfs" busybox:1.36)
diff_id=sha256:$(gunzip -c "$rootfs" | sha256sum | cut -d' ' -f1)

cb save busybox:1.36 --format oci -o "$work/oci.tar"
cb save busybox:1.36 --format oci -o "$work/oci.tar.again"
cmp "$work/oci.tar" "$work/oci.tar.again" || fail "save is not deterministic"
tar tf "$work/oci.tar" | sort >"$work/entries"
grep -qx oci-layout "$work/entries" && grep -qx index.json "$work/entries" || fail "OCI layout files missing"
! grep -qx manifest.json "$work/entries" || fail "an OCI archive has no manifest.json"
skopeo inspect "oci-archive:$work/oci.tar:1.36" >"$work/skopeo.json"
jq -e --arg id "$id" '.Os == "linux" and (.Layers | length) == 1 and .Created == "2024-01-01T00:00:00Z"' "$work/skopeo.json" >/dev/null \
  || { cat "$work/skopeo.json"; fail "skopeo inspect oci-archive"; }
skopeo inspect --config "oci-archive:$work/oci.tar:1.36" | jq -e --arg d "$diff_id" '.rootfs.diff_ids == [$d]' >/dev/null \
  || fail "skopeo config"

# Layout directory: -o DIR with --format oci-dir, or an existing directory with --format oci.
cb save busybox:1.36 --format oci-dir -o "$work/layout"
mkdir "$work/layout2"
cb save busybox:1.36 --format oci -o "$work/layout2/"
diff -r "$work/layout" "$work/layout2" || fail "oci-dir and oci to a directory differ"
ls -a "$work" | grep -q '^\.tmp-' && fail "temporary output left behind"
skopeo inspect "oci:$work/layout:1.36" | jq -e '.Digest | startswith("sha256:")' >/dev/null || fail "skopeo inspect oci:"
umoci unpack --rootless --image "$work/layout:1.36" "$work/bundle" >/dev/null
[[ -x $work/bundle/rootfs/bin/busybox && -L $work/bundle/rootfs/bin/sh ]] || fail "umoci bundle lacks /bin/busybox"
grep -q '^user:x:1000:1000:' "$work/bundle/rootfs/etc/passwd" || fail "umoci bundle lacks /etc/passwd"
"$work/bundle/rootfs/bin/busybox" true || fail "unpacked busybox does not run"

# The stored gzip blob is written as is: the archive's manifest is the stored one.
stored=$(cb inspect busybox:1.36 | jq -r '.[0].Descriptor.digest')
jq -e --arg m "$stored" '.manifests[0].digest == $m and .manifests[0].annotations["org.opencontainers.image.ref.name"] == "1.36"' \
  "$work/layout/index.json" >/dev/null || fail "index.json does not name the stored manifest"

# zstd: compressed once, remembered (a second save makes no new blob), accepted by umoci.
cb save busybox:1.36 --format oci-dir --compression zstd -o "$work/zstd"
blobs_after_first=$(ls "$work/root/blobs/sha256" | wc -l)
cb save busybox:1.36 --format oci --compression zstd -o "$work/zstd.tar"
[[ $(ls "$work/root/blobs/sha256" | wc -l) == "$blobs_after_first" ]] || fail "zstd layer compressed twice"
manifest=$(jq -r '.manifests[0].digest' "$work/zstd/index.json")
jq -e '.layers[0].mediaType == "application/vnd.oci.image.layer.v1.tar+zstd"' "$work/zstd/blobs/sha256/${manifest#sha256:}" >/dev/null \
  || fail "zstd layer media type"
# Debian's umoci has no zstd: skopeo decompresses it (to gzip), then umoci unpacks that.
skopeo copy -q --dest-compress-format gzip "oci:$work/zstd:1.36" "oci:$work/zstd-copy:1.36"
umoci unpack --rootless --image "$work/zstd-copy:1.36" "$work/bundle-zstd" >/dev/null
[[ -x $work/bundle-zstd/rootfs/bin/busybox ]] || fail "the zstd layout does not unpack"
# Recompressing to gzip from the zstd blob gives the same diffID (verified on the way).
cb save busybox:1.36 --format oci --compression none -o "$work/plain.tar"
tar xOf "$work/plain.tar" "blobs/sha256/${diff_id#sha256:}" | sha256sum | grep -q "${diff_id#sha256:}" || fail "uncompressed layer"

expect_fail 'no such image' cb save nothere --format oci -o "$work/none.tar"
[[ ! -e $work/none.tar ]] || fail "failed save left its output"
expect_fail 'unknown --format' cb save busybox:1.36 --format tgz -o "$work/x.tar"
cb store check >/dev/null
echo ok
