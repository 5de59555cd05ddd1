#!/usr/bin/env bash
# import (file and stdin) → images, inspect, history, tag, rmi behave like docker's.
source "$(dirname "$0")/image_lib.sh"

id=$(SOURCE_DATE_EPOCH=1704067200 cb import "$rootfs" busybox)
[[ $id =~ ^sha256:[0-9a-f]{64}$ ]] || fail "import printed '$id'"
# The diffID is the sha256 of the uncompressed tarball; the gzip blob is kept as it is.
diff_id=sha256:$(gunzip -c "$rootfs" | sha256sum | cut -d' ' -f1)
blob=sha256:$(sha256sum <"$rootfs" | cut -d' ' -f1)
cb inspect busybox >"$work/inspect.json"
jq -e --arg id "$id" --arg d "$diff_id" '
  length == 1 and .[0].Id == $id and .[0].RepoTags == ["busybox:latest"] and
  .[0].RootFS.Layers == [$d] and .[0].Os == "linux" and .[0].Created == "2024-01-01T00:00:00Z" and
  .[0].Comment == "Imported from '"$rootfs"'" and .[0].Size == '"$(gunzip -c "$rootfs" | wc -c)"'
' "$work/inspect.json" >/dev/null || { cat "$work/inspect.json"; fail "inspect busybox"; }
manifest=$(jq -r '.[0].Descriptor.digest' "$work/inspect.json")
jq -e --arg b "$blob" '.layers[0].digest == $b and .layers[0].mediaType == "application/vnd.oci.image.layer.v1.tar+gzip"' \
  "$work/root/blobs/sha256/${manifest#sha256:}" >/dev/null || fail "manifest does not name the gzip blob"

# Same tarball, same SOURCE_DATE_EPOCH: same image ID, from stdin too (comment differs: "-").
id_again=$(SOURCE_DATE_EPOCH=1704067200 cb import "$rootfs" busybox:again)
[[ $id_again == "$id" ]] || fail "import is not deterministic"
id_stdin=$(gunzip -c "$rootfs" | SOURCE_DATE_EPOCH=1704067200 cb import - user/app:1.0)
[[ $id_stdin != "$id" ]] || fail "stdin import should differ (comment, uncompressed blob)"
cb inspect user/app:1.0 | jq -e --arg d "$diff_id" '.[0].RootFS.Layers == [$d] and .[0].Comment == "Imported from -"' >/dev/null \
  || fail "stdin import"

# images: table, -q, json; names in familiar form.
cb images >"$work/images.txt"
head -1 "$work/images.txt" | grep -Eq '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$' || fail "images header"
grep -Eq "^busybox +latest +${id:7:12} +[0-9]+ (years|months) ago +2\.1[0-9]MB$" "$work/images.txt" \
  || { cat "$work/images.txt"; fail "images row for busybox"; }
grep -Eq "^user/app +1\.0 +${id_stdin:7:12} " "$work/images.txt" || fail "images row for user/app"
[[ $(cb images -q | sort) == "$(printf '%s\n' "${id:7:12}" "${id_stdin:7:12}" | sort)" ]] || fail "images -q"
cb images --format json | jq -s -e 'length == 3 and all(.[]; .ID and .Repository and .Tag and .Size)' >/dev/null \
  || fail "images --format json"
[[ $(cb images busybox | wc -l) == 3 ]] || fail "images REPOSITORY filter"

# history: one imported layer.
cb history busybox >"$work/history.txt"
head -1 "$work/history.txt" | grep -Eq '^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$' || fail "history header"
grep -Eq "^${id:7:12} +.* ago +[0-9.]+[kM]B +Imported from " "$work/history.txt" || { cat "$work/history.txt"; fail "history row"; }
cb history --no-trunc busybox | grep -q "^$id " || fail "history --no-trunc"
cb history --format json busybox | jq -e --arg id "$id" '.ID == $id[7:19] and (.Comment | startswith("Imported from"))' >/dev/null \
  || fail "history --format json"

# tag: by name, by short ID; normalized names.
cb tag busybox localhost:5000/bb:v1
cb tag "${id:7:12}" docker.io/library/busybox:v2
cb inspect "$id" | jq -e '.[0].RepoTags == ["busybox:again", "busybox:latest", "busybox:v2", "localhost:5000/bb:v1"]' >/dev/null \
  || { cb inspect "$id" | jq '.[0].RepoTags'; fail "tags after cbuild tag"; }
expect_fail 'invalid reference format' cb tag busybox Busybox:x
expect_fail 'refusing to create a tag with a digest' cb tag busybox "busybox@$blob"
expect_fail 'no such image' cb tag nothere:1 x

# rmi: a name untags; an ID with several names needs -f; the last name deletes the image.
[[ $(cb rmi busybox:again) == "Untagged: busybox:again" ]] || fail "rmi by name"
expect_fail 'must be forced' cb rmi "${id:7:12}"
cb rmi -f "$id" >"$work/rmi.txt"
grep -qx "Untagged: localhost:5000/bb:v1" "$work/rmi.txt" && grep -qx "Deleted: $id" "$work/rmi.txt" || fail "rmi -f"
[[ $(cb rmi user/app:1.0) == "$(printf 'Untagged: user/app:1.0\nDeleted: %s' "$id_stdin")" ]] || fail "rmi last name"
[[ -z $(cb images -q) ]] || fail "images left after rmi"
expect_fail 'no such image' cb inspect busybox
cb store check >/dev/null

# Bad input: not a tar, xz, truncated gzip; the store is unchanged.
before=$(store_state "$work/root")
echo "not a tarball" >"$work/junk"
expect_fail "import \`$work/junk\`" cb import "$work/junk" junk
head -c 100000 "$rootfs" >"$work/cut.tar.gz"
expect_fail 'truncated|corrupt' cb import "$work/cut.tar.gz" cut
gunzip -c "$rootfs" | xz -0 >"$work/rootfs.tar.xz" 2>/dev/null && expect_fail 'unsupported compression \(xz\)' cb import "$work/rootfs.tar.xz" xz
expect_fail 'invalid reference format' cb import "$rootfs" 'Bad:Name'
[[ $(store_state "$work/root") == "$before" ]] || fail "store changed by failed imports"
echo ok
