#!/usr/bin/env bash
# Loading a damaged archive fails with a message naming the archive (and the entry), a
# non-zero exit, and leaves the store exactly as it was.
source "$(dirname "$0")/image_lib.sh"

SOURCE_DATE_EPOCH=1704067200 cb import "$rootfs" busybox:1 >/dev/null
cb save busybox:1 -o "$work/good.tar"
cb save busybox:1 --format oci-dir -o "$work/good"
mkdir "$work/t"
tar -C "$work/t" -xf "$work/good.tar"
manifest=$(jq -r '.manifests[0].digest | ltrimstr("sha256:")' "$work/t/index.json")
config=$(jq -r '.config.digest | ltrimstr("sha256:")' "$work/t/blobs/sha256/$manifest")
layer=$(jq -r '.layers[0].digest | ltrimstr("sha256:")' "$work/t/blobs/sha256/$manifest")

# The target store already holds something; it must not change.
SOURCE_DATE_EPOCH=1 cb2 import "$rootfs" other:1 >/dev/null
before=$(store_state "$work/root2")
check_unchanged() { [[ $(store_state "$work/root2") == "$before" ]] || fail "store changed by: $1"; cb2 store check >/dev/null; }

variant() {  # variant NAME: a copy of the unpacked archive to damage, printed path
  rm -rf "$work/v-$1"; cp -a "$work/t" "$work/v-$1"; echo "$work/v-$1"
}
pack() { tar -C "$1" -cf "$1.tar" .; echo "$1.tar"; }

# 1. A blob whose content does not match its name (one byte of the config changed).
v=$(variant digest)
chmod u+w "$v/blobs/sha256/$config"
sed -i 's/linux/LINUX/' "$v/blobs/sha256/$config"
a=$(pack "$v")
expect_fail "load \`$a\`: digest mismatch for \`blobs/sha256/$config\`" cb2 load -i "$a"
check_unchanged "digest mismatch"
expect_fail "load \`$v\`: digest mismatch" cb2 load -i "$v"
check_unchanged "digest mismatch (directory)"

# 2. A missing layer blob.
v=$(variant missing)
rm "$v/blobs/sha256/$layer"
a=$(pack "$v")
expect_fail "load \`$a\`: missing blob \`blobs/sha256/$layer\`" cb2 load -i "$a"
check_unchanged "missing blob"

# 3. Truncated archive (cut inside the layer data).
head -c $(( $(stat -c %s "$work/good.tar") / 2 )) "$work/good.tar" >"$work/cut.tar"
expect_fail "\`$work/cut.tar\`.*([Tt]runcated|missing)" cb2 load -i "$work/cut.tar"
check_unchanged "truncated archive"

# 4. A layer whose diffID differs from the config's (docker archive path: manifest.json only).
v=$(variant diffid)
rm "$v/index.json" "$v/oci-layout"
gunzip -c "$rootfs" >"$work/other-layer.tar"
echo extra >"$work/extra"; tar -rf "$work/other-layer.tar" -C "$work" extra
mkdir "$v/layers"; cp "$work/other-layer.tar" "$v/layers/other.tar"
jq -c '.[0].Layers = ["layers/other.tar"]' "$v/manifest.json" >"$v/m" && mv "$v/m" "$v/manifest.json"
a=$(pack "$v")
expect_fail "load \`$a\`: layer \`layers/other.tar\`: diffID mismatch" cb2 load -i "$a"
check_unchanged "diffID mismatch"

# 5. A descriptor size that does not match the blob.
v=$(variant size)
rm "$v/manifest.json"
new_manifest=$(jq -c '.layers[0].size += 1' "$v/blobs/sha256/$manifest")
nm=$(printf '%s' "$new_manifest" | sha256sum | cut -d' ' -f1)
printf '%s' "$new_manifest" >"$v/blobs/sha256/$nm"
jq -c --arg d "sha256:$nm" --argjson s "${#new_manifest}" '.manifests[0].digest = $d | .manifests[0].size = $s' "$v/index.json" >"$v/i"
mv "$v/i" "$v/index.json"
a=$(pack "$v")
expect_fail "load \`$a\`: size mismatch for \`blobs/sha256/$layer\`" cb2 load -i "$a"
check_unchanged "size mismatch"

# 6. Not an archive; a tar without an image; a bad JSON document; a name that leaves the archive.
echo "garbage" >"$work/garbage"
expect_fail "\`$work/garbage\`" cb2 load -i "$work/garbage"
tar -C "$work" -cf "$work/empty.tar" extra
expect_fail "load \`$work/empty.tar\`: neither an OCI layout" cb2 load -i "$work/empty.tar"
v=$(variant json)
echo '{"schemaVersion":' >"$v/index.json"
a=$(pack "$v")
expect_fail "load \`$a\`: index.json: parse image index: invalid JSON" cb2 load -i "$a"
tar -P --transform 's,^extra$,../escape,' -C "$work" -cf "$work/evil.tar" extra 2>/dev/null
expect_fail "entry \`../escape\`: unsafe name" cb2 load -i "$work/evil.tar"
[[ ! -e $work/escape ]] || fail "file written outside"
check_unchanged "bad archives"
expect_fail "open \`$work/nothere.tar\`" cb2 load -i "$work/nothere.tar"

# The intact archive still loads afterwards.
cb2 load -i "$work/good.tar" | grep -qx "Loaded image: busybox:1" || fail "good archive"
cb2 store check >/dev/null
echo ok
