#!/usr/bin/env bash
# cbuild build outputs and inputs: -o type=oci|docker|local|tar (checked with skopeo, umoci
# and tar), -q, --iidfile, --metadata-file, -f -, a tar context on stdin, --build-context,
# bad input errors naming FILE:LINE, and Ctrl-C cleanup through the binary.
source "$CBUILD_SOURCE_DIR/tests/integration/image_lib.sh"
chmod 711 "$work"
cb import "$rootfs" busybox:1.36 >/dev/null

ctx=$work/ctx
mkdir -p "$ctx" "$work/extra"
echo "content" >"$ctx/file.txt"
echo "from extra" >"$work/extra/e.txt"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox:1.36
COPY file.txt /app/file.txt
COPY --from=extra e.txt /app/e.txt
RUN echo built > /app/built
LABEL org.example.k=v
CMD ["cat", "/app/file.txt"]
DOCKERFILE
bc=(--build-context "extra=$work/extra")

id=$(cb build -q "${bc[@]}" --iidfile "$work/iid" --metadata-file "$work/meta.json" -t out:1 "$ctx")
[[ "$id" == sha256:* ]] || fail "-q printed '$id'"
[ "$(cat "$work/iid")" = "$id" ] || fail "--iidfile"
[ "$(jq -r '."containerimage.config.digest"' "$work/meta.json")" = "$id" ] || fail "--metadata-file"
[ "$(cb inspect out:1 | jq -r '.[0].Config.Labels["org.example.k"]')" = v ] || fail "LABEL"
# `cbuild -f Dockerfile .` is `cbuild build`, as users type `docker build`.
[ "$(cd "$ctx" && "$CBUILD" --root "$work/root" -q "${bc[@]}" -f Dockerfile .)" = "$id" ] || fail "cbuild without subcommand"

cb build --progress=quiet "${bc[@]}" -t out:1 -o "type=oci,dest=$work/img.oci.tar" "$ctx"
skopeo inspect "oci-archive:$work/img.oci.tar" >"$work/skopeo.json" || fail "skopeo rejects the OCI output"
[ "$(jq -r '.Layers | length' "$work/skopeo.json")" = 4 ] || fail "OCI output layers: $(jq -c .Layers "$work/skopeo.json")"
mkdir "$work/oci" && tar -xf "$work/img.oci.tar" -C "$work/oci"
(cd "$work" && umoci unpack --rootless --image "oci:out:1" bundle >/dev/null 2>&1) ||
  (cd "$work" && umoci unpack --rootless --image "oci:1" bundle >/dev/null) || fail "umoci cannot unpack"
[ "$(cat "$work/bundle/rootfs/app/built")" = built ] || fail "umoci rootfs"
[ "$(cat "$work/bundle/rootfs/app/e.txt")" = "from extra" ] || fail "--build-context file"

cb build --progress=quiet "${bc[@]}" -t out:1 -o "type=docker,dest=$work/img.docker.tar" "$ctx"
tar -xOf "$work/img.docker.tar" manifest.json | jq -e '.[0].RepoTags == ["out:1"]' >/dev/null || fail "docker archive tags"
cb2 load -i "$work/img.docker.tar" >/dev/null
[ "$(cb2 inspect out:1 | jq -r '.[0].Id')" = "$id" ] || fail "docker archive does not load back with the same id"

cb build --progress=quiet "${bc[@]}" -o "type=local,dest=$work/local" "$ctx"
[ "$(cat "$work/local/app/built")" = built ] || fail "local output"
[ -x "$work/local/bin/busybox" ] || fail "local output lacks the base"
cb build --progress=quiet "${bc[@]}" -o "type=tar,dest=$work/rootfs.tar" "$ctx"
tar -tf "$work/rootfs.tar" >"$work/rootfs.list"
grep -qx 'app/built' "$work/rootfs.list" || fail "tar output"

# Dockerfile from stdin; context as a tar on stdin.
id2=$(cb build -q "${bc[@]}" -f - "$ctx" <"$ctx/Dockerfile")
[ "$id2" = "$id" ] || fail "-f - gave another image"
printf 'FROM busybox:1.36\nCOPY file.txt /f\n' >"$work/Dockerfile.tarctx"
cp "$work/Dockerfile.tarctx" "$ctx/Dockerfile.tar"
tar -C "$ctx" -c . | cb build --progress=quiet -f Dockerfile.tar -t fromtar:1 - || fail "tar context on stdin"
cb inspect fromtar:1 >/dev/null

# ONBUILD triggers run in the stage built FROM the image; mtimes of copied files are kept
# (make-style builds rely on them); --progress=json is one event per line.
mkdir -p "$work/ob"
touch -d '2001-02-03 04:05:06' "$ctx/file.txt"
printf 'FROM busybox:1.36\nONBUILD COPY file.txt /onbuild/\nONBUILD RUN echo triggered > /onbuild/ran\n' >"$work/ob/Dockerfile.base"
cb build --progress=quiet -f "$work/ob/Dockerfile.base" -t obbase:1 "$ctx" >/dev/null
[ "$(cb inspect obbase:1 | jq -r '.[0].Config.OnBuild | length')" = 2 ] || fail "ONBUILD not recorded"
printf 'FROM obbase:1\nRUN cat /onbuild/ran\n' >"$work/ob/Dockerfile"
cb build --progress=json -f "$work/ob/Dockerfile" -t obchild:1 "$ctx" >"$work/ob.json" 2>&1 || { cat "$work/ob.json"; fail "ONBUILD child"; }
jq -s -e 'map(select(.event == "log" and .data == "triggered")) | length == 1' "$work/ob.json" >/dev/null || { cat "$work/ob.json"; fail "ONBUILD RUN did not run"; }
jq -c . "$work/ob.json" >/dev/null 2>&1 || fail "--progress=json is not JSON lines"
[ "$(cb inspect obchild:1 | jq -r '.[0].Config.OnBuild // [] | length')" = 0 ] || fail "ONBUILD triggers inherited"
cb build --progress=quiet -f "$work/ob/Dockerfile" -o "type=tar,dest=$work/ob.tar" "$ctx"
tar -tvf "$work/ob.tar" --full-time >"$work/ob.list"
grep -q '2001-02-03 04:05:06 onbuild/file.txt' "$work/ob.list" || { grep onbuild "$work/ob.list"; fail "COPY did not keep the mtime"; }

# Bad input: FILE:LINE, non-zero, the store untouched.
before=$(store_state "$work/root")
printf 'FROM busybox:1.36\nRUN true\nCOPY\n' >"$work/Dockerfile.bad"
expect_fail 'Dockerfile.bad:3' cb build -f "$work/Dockerfile.bad" "$ctx"
printf 'FROM busybox:1.36\nFROM nosuchimage:1 AS x\n' >"$work/Dockerfile.bad2"
expect_fail 'nosuchimage' cb build --progress=plain -f "$work/Dockerfile.bad2" "$ctx"
expect_fail 'not a directory' cb build "$work/nonexistent"
expect_fail 'platform' cb build --platform linux/s390x "$ctx"
[ "$(store_state "$work/root")" = "$before" ] || fail "failed builds changed the store"

# Ctrl-C: the step's processes die, nothing stays mounted, no temp session is left.
printf 'FROM busybox:1.36\nRUN echo started; sleep 3171\n' >"$work/Dockerfile.slow"
"$CBUILD" --root "$work/root" build --progress=plain -f "$work/Dockerfile.slow" "$ctx" >"$work/slow.log" 2>&1 & pid=$!
for _ in $(seq 100); do grep -q started "$work/slow.log" && break; sleep 0.1; done
grep -q started "$work/slow.log" || { cat "$work/slow.log"; fail "slow step did not start"; }
kill -TERM "$pid"  # (a background job of a script ignores SIGINT)
status=0; wait "$pid" || status=$?
[ "$status" = 130 ] || { cat "$work/slow.log"; fail "SIGTERM exit status $status, want 130"; }
sleep 0.2
pgrep -x -f 'sleep 3171' >/dev/null && fail "step process survived Ctrl-C"
grep -q "$work" /proc/self/mountinfo && fail "mounts left after Ctrl-C"
[ -z "$(ls "$work/root/tmp")" ] || fail "temp session left after Ctrl-C: $(ls "$work/root/tmp")"
cb store check >/dev/null || fail "store check after Ctrl-C"
echo "outputs, inputs, errors and Ctrl-C as expected"
