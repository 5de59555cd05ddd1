#!/usr/bin/env bash
# Optional (needs a docker daemon; exit 77 without): builds Dockerfiles with cbuild and with
# docker build (BuildKit, /usr/bin/docker 20.10, its built-in Dockerfile frontend) from the
# same busybox base and compares the image configs and the root filesystems (paths, owners,
# modes, link targets; not mtimes).
source "$CBUILD_SOURCE_DIR/tests/integration/image_lib.sh"
docker=/usr/bin/docker
if ! [ -x "$docker" ] || ! "$docker" info >/dev/null 2>&1; then
  echo "SKIP: no docker daemon (start one as root with: dockerd &)"
  exit 77
fi
chmod 711 "$work"
tag=cbuild-compare-$$
cb import "$rootfs" "$tag/busybox:1" >/dev/null
"$docker" import "$rootfs" "$tag/busybox:1" >/dev/null
trap '"$docker" rmi -f "$tag/busybox:1" "$tag/app:1" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

ctx=$work/ctx
mkdir -p "$ctx/src/sub" "$ctx/conf"
echo one >"$ctx/src/one.txt"
echo two >"$ctx/src/sub/two.txt"
ln -s one.txt "$ctx/src/link"
chmod 0750 "$ctx/src/sub"
echo "k=v" >"$ctx/conf/app.conf"
echo "*.tmp" >"$ctx/.dockerignore"
echo junk >"$ctx/src/x.tmp"
cat >"$ctx/Dockerfile.1" <<DOCKERFILE
FROM $tag/busybox:1 AS build
ARG V=3
ENV A=1 B="two words"
WORKDIR /work
COPY src/ ./src/
COPY --chown=1000:1000 conf/app.conf /etc/app/
RUN mkdir -p /out && cp -r src /out/ && echo "\$V" > /out/v && chown -R 1001:1001 /out/src/sub
RUN rm -rf /work/src/sub && mkdir /work/empty && touch /work/empty/.keep && rm /bin/vi
FROM $tag/busybox:1
COPY --from=build /out /opt/app
COPY --from=build /etc/app /etc/app
USER 1000:1000
WORKDIR /home/app
EXPOSE 8080 53/udp
VOLUME /data
LABEL org.example.a=b
STOPSIGNAL SIGQUIT
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo hi"]
DOCKERFILE
status=0
for df in "$ctx"/Dockerfile.*; do
  name=$(basename "$df")
  cb build --progress=quiet -f "$df" -t "$tag/app:1" -o "type=tar,dest=$work/cbuild.tar" "$ctx" >/dev/null
  cb build --progress=quiet -f "$df" -t "$tag/app:1" "$ctx" >/dev/null
  DOCKER_BUILDKIT=1 "$docker" build -q -f "$df" -t "$tag/app:1" "$ctx" >/dev/null
  cid=$("$docker" create "$tag/app:1")
  "$docker" export "$cid" >"$work/docker.tar"
  "$docker" rm "$cid" >/dev/null
  # Config fields both builders set.
  keys='{Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes, Labels, StopSignal}'
  cb inspect "$tag/app:1" | jq -S ".[0].Config | $keys" >"$work/cbuild.config"
  "$docker" image inspect "$tag/app:1" | jq -S ".[0].Config | $keys" >"$work/docker.config"
  diff -u "$work/docker.config" "$work/cbuild.config" || { echo "FAIL: $name: config differs (- docker, + cbuild)"; status=1; }
  # Root filesystems: docker export adds its runtime files; leave those out.
  list() { tar --numeric-owner -tvf "$1" | awk '{print $1, $2, $6, $7, $8}' | sed 's|/$||' |
    grep -Ev ' (\.dockerenv|dev|dev/.*|proc|sys|etc/hosts|etc/hostname|etc/resolv\.conf|etc/mtab)( |$)' | sort; }
  list "$work/docker.tar" >"$work/docker.list"
  list "$work/cbuild.tar" >"$work/cbuild.list"
  diff -u "$work/docker.list" "$work/cbuild.list" || { echo "FAIL: $name: files differ (- docker, + cbuild)"; status=1; }
done
[ "$status" = 0 ] && echo "cbuild and docker agree on configs and file listings"
exit $status
