#!/usr/bin/env bash
# The CI scenario of issue 6: store A builds a multi-stage project and exports its cache to a
# registry (Debian's docker-registry on 127.0.0.1) and to a local directory; a brand-new store
# B builds the same commit with --cache-from and executes no RUN step; after a one-file
# change B re-runs only the steps that depend on that file, with a warm cache mount. B
# downloads only the layers its image contains (remote hits are fetched when needed).
# Inline cache: --cache-from on a pushed image itself.
source "$(dirname "$0")/image_lib.sh"
source "$(dirname "$0")/registry_lib.sh"
chmod 711 "$work"
start_registry plain
reg=127.0.0.1:$port
ctx=$work/ctx
mkdir -p "$ctx/src"
echo "dep-a" >"$ctx/deps.txt"
echo "main v1" >"$ctx/src/main.txt"
echo "util v1" >"$ctx/src/util.txt"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox:1.36 AS deps
WORKDIR /app
COPY deps.txt ./
RUN --mount=type=cache,target=/var/cache/pkgs,id=pkgs \
    if [ -f /var/cache/pkgs/fetched ]; then echo warm > /app/cache-state; else echo cold > /app/cache-state; fi && \
    cp deps.txt /var/cache/pkgs/fetched && sed 's/^/installed /' deps.txt > deps.out
FROM deps AS build
COPY src/ ./src/
RUN cat src/*.txt deps.out > app.txt
FROM busybox:1.36
COPY --from=build /app/app.txt /app.txt
COPY --from=build /app/cache-state /cache-state
CMD ["cat", "/app.txt"]
DOCKERFILE
# One base image for every store (an import records its own time).
"$CBUILD" --root "$work/A" import "$rootfs" busybox:1.36 >/dev/null
"$CBUILD" --root "$work/A" save busybox:1.36 -o "$work/busybox.tar"
for r in B C D E; do "$CBUILD" --root "$work/$r" load -i "$work/busybox.tar" >/dev/null; done
run() {  # run STORE REPORT ARGS...: build the project into STORE
  local root=$1 report=$2; shift 2
  "$CBUILD" --root "$work/$root" build --progress=plain --report "$work/$report.json" "$@" "$ctx" >"$work/$report.log" 2>&1 ||
    { cat "$work/$report.log"; fail "build $report"; }
}
executed() { jq -r '[.steps[] | select(.executed) | .instruction | split(" ")[0:2] | join(" ")] | join(",")' "$work/$1.json"; }

run A a1 --cache-to "type=registry,ref=$reg/cache/app:main,mode=max,cache-mounts=true" \
  --cache-to "type=local,dest=$work/localcache,mode=max"
[ "$(jq .totals.executed "$work/a1.json")" -gt 0 ] || fail "store A executed nothing"
skopeo inspect --tls-verify=false --raw "docker://$reg/cache/app:main" | jq -e .layers >/dev/null || fail "cache manifest not in the registry"
[ -f "$work/localcache/index.json" ] || fail "local cache layout"

run B b1 --cache-from "type=registry,ref=$reg/cache/app:main" -t app:b1
[ "$(jq .totals.executed "$work/b1.json")" = 0 ] || { jq -c '.steps[] | [.instruction, .cached, .reason]' "$work/b1.json"; fail "store B executed steps with a full remote cache"; }
[ "$(jq -r .image "$work/b1.json")" = "$(jq -r .image "$work/a1.json")" ] || fail "B built another image than A"
! grep -q 'restored cache mount' "$work/b1.log" || fail "cache mount restored though no RUN step ran"

# Lazy hits: B downloaded the layers of the final image and nothing else: no layer of the
# deps and build stages, no cache-mount archive.
manifest=$(skopeo inspect --tls-verify=false --raw "docker://$reg/cache/app:main")
config=$(skopeo inspect --tls-verify=false --config --raw "docker://$reg/cache/app:main")
layers_of() { "$CBUILD" --root "$work/B" inspect "$1" | jq -r '.[0].RootFS.Layers[]'; }
final=$(layers_of app:b1)
base=$(layers_of busybox:1.36)
fetched=0 skipped=0 skipped_bytes=0
for i in $(seq 0 $(($(jq '.layers | length' <<<"$manifest") - 1))); do
  blob=$(jq -r ".layers[$i].digest" <<<"$manifest")
  diff=$(jq -r ".rootfs.diff_ids[$i]" <<<"$config")
  stored=$work/B/blobs/sha256/${blob#sha256:}
  if ! grep -qx "$diff" <<<"$final"; then
    [ ! -e "$stored" ] || fail "B downloaded layer $diff, which its image does not contain"
    skipped=$((skipped + 1)) skipped_bytes=$((skipped_bytes + $(jq ".layers[$i].size" <<<"$manifest")))
  elif ! grep -qx "$diff" <<<"$base"; then
    [ -f "$stored" ] || fail "B lacks the blob of its image's layer $diff"
    fetched=$((fetched + 1))
  fi
done
[ "$fetched" = 2 ] && [ "$skipped" -ge 5 ] || fail "B fetched $fetched layers and skipped $skipped"
echo "B fetched $fetched cache blobs, skipped $skipped ($skipped_bytes bytes)"
# The image B built is complete: an OCI archive that skopeo reads and umoci unpacks.
"$CBUILD" --root "$work/B" save --format oci -o "$work/b1.oci.tar" app:b1
skopeo inspect "oci-archive:$work/b1.oci.tar" >/dev/null || fail "skopeo rejects B's image"
mkdir "$work/b1-oci" && tar -xf "$work/b1.oci.tar" -C "$work/b1-oci"
(cd "$work" && umoci unpack --rootless --image "b1-oci:b1" b1-bundle >/dev/null) || fail "umoci cannot unpack B's image"
[ "$(cat "$work/b1-bundle/rootfs/app.txt")" = "$(printf 'main v1\nutil v1\ninstalled dep-a')" ] ||
  fail "B's image: $(cat "$work/b1-bundle/rootfs/app.txt")"

echo "main v2" >"$ctx/src/main.txt"
run B b2 --cache-from "type=registry,ref=$reg/cache/app:main"
[ "$(executed b2)" = "COPY src/,RUN cat,COPY --from=build,COPY --from=build" ] || { jq -c '.steps[] | [.instruction, .executed, .reason]' "$work/b2.json"; fail "after a one-file change B executed: $(executed b2)"; }
jq -e '.steps[] | select(.instruction | startswith("COPY src/")) | .reason == "file changed: src/main.txt"' "$work/b2.json" >/dev/null ||
  fail "miss reason in B"
# COPY src/ ran on the deps stage, a remote hit B had not downloaded: now it is unpacked.
"$CBUILD" --root "$work/B" build --progress=quiet -o "type=local,dest=$work/b2-out" "$ctx" >/dev/null
[ "$(cat "$work/b2-out/app.txt")" = "$(printf 'main v2\nutil v1\ninstalled dep-a')" ] || fail "B after the change: $(cat "$work/b2-out/app.txt")"

# The dependency step re-runs on a new runner with the cache mount restored: warm.
echo "dep-b" >>"$ctx/deps.txt"
run C c1 --cache-from "type=local,src=$work/localcache" --cache-from "type=registry,ref=$reg/cache/app:main"
"$CBUILD" --root "$work/C" build --progress=quiet -o "type=local,dest=$work/c-out" "$ctx" >/dev/null
[ "$(cat "$work/c-out/cache-state")" = warm ] || fail "cache mount not warm on a fresh store: $(cat "$work/c-out/cache-state")"

# Local cache alone, on yet another store, after reverting the edits.
echo "main v1" >"$ctx/src/main.txt"; echo "dep-a" >"$ctx/deps.txt"
run D d1 --cache-from "type=local,src=$work/localcache"
[ "$(jq .totals.executed "$work/d1.json")" = 0 ] || fail "local cache import executed steps"

# Inline cache: pushed with the image, imported from the image itself.
run A a2 --cache-to type=inline --push -t "$reg/team/app:1"
run E e1 --cache-from "$reg/team/app:1"
[ "$(jq -r '[.steps[] | select(.stage == 2) | .executed] | any' "$work/e1.json")" = false ] ||
  { jq -c '.steps[] | [.stage, .instruction, .executed]' "$work/e1.json"; fail "inline cache not used for the final stage"; }

# An unreachable cache is a warning, not a failure.
run E e2 --cache-from "type=registry,ref=127.0.0.1:1/none:x"
grep -q 'WARNING: cache' "$work/e2.log" || fail "no warning for an unreachable cache"
echo "remote cache: registry, local, inline and cache mounts as expected"
