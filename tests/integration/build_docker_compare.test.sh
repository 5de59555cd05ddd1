#!/usr/bin/env bash
# Optional (needs a docker daemon; exit 77 without): builds Dockerfiles with cbuild and with
# docker build (BuildKit, /usr/bin/docker 20.10, its built-in Dockerfile frontend) from the
# same busybox base and compares the image configs and the root filesystems (paths, owners,
# modes, link targets; not mtimes). Left out, as docker 20.10 predates them: heredocs and
# other Dockerfile 1.4+ syntax, and RUN --mount, whose empty mount-point directories BuildKit
# 0.8 leaves in the image (BuildKit 0.11 and cbuild remove them).
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
echo junk >"$ctx/src/x.tmp"
# For Dockerfile.2-4: names with spaces and non-ASCII bytes, links to directories, absolute
# and dangling links, setuid and private modes, archives ADD extracts, ignore exceptions.
mkdir -p "$ctx/tree/a/b" "$ctx/dir with space" "$ctx/arch/x" "$ctx/app/pkg1" "$ctx/app/pkg2"
echo t >"$ctx/tree/a/b/t.txt"
ln -s a/b "$ctx/tree/blink"
ln -s /etc/passwd "$ctx/tree/abslink"
ln -s missing "$ctx/tree/dangling"
echo sp >"$ctx/dir with space/a b.txt"
printf 'u' >"$ctx/src/$(printf 'n\xc3\xbc.txt')"
echo exe >"$ctx/tool.sh"
chmod 4755 "$ctx/tool.sh"
chmod 0700 "$ctx/tree/a/b"
echo inarch >"$ctx/arch/x/f"
ln -s f "$ctx/arch/x/l"
tar -czf "$ctx/a.tar.gz" -C "$ctx/arch" .
tar -cJf "$ctx/c.tar.xz" -C "$ctx/arch" x
rm -rf "$ctx/arch"
echo plain >"$ctx/plain.txt"
for p in pkg1 pkg2; do echo '{}' >"$ctx/app/$p/package.json"; done
echo code >"$ctx/app/pkg1/index.js"
printf '*.tmp\n*.log\n!keep.log\n' >"$ctx/.dockerignore"
echo x >"$ctx/a.log"
echo k >"$ctx/keep.log"
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
cat >"$ctx/Dockerfile.2" <<'DOCKERFILE'
ARG BASE=TAG/busybox:1
FROM ${BASE}
ARG V=1.2
ENV A=a B="b c" C=${A}-x D=${Z:-dflt} E=$V
SHELL ["/bin/sh", "-e", "-c"]
WORKDIR rel1
WORKDIR rel2/rel3
WORKDIR /abs/$V
COPY src/*.txt /globbed/
COPY src/sub /sub-no-slash
COPY src/one.txt /renamed.txt
COPY src/link /links/
COPY tree /tree
COPY tree/ /tree2/
COPY ["dir with space/a b.txt", "/space dest/"]
COPY plain.txt /etc
COPY plain.txt tool.sh /multi/
ADD a.tar.gz /ext-gz/
ADD c.tar.xz /ext-xz
ADD plain.txt /added/
COPY *.log /logs/
COPY app/*/package.json /app/
RUN echo "$A $B $C $D $E" > /env.txt && pwd > /pwd.txt
USER nobody
RUN id > /tmp/id.txt
USER root:user
HEALTHCHECK --interval=5s --timeout=3s --retries=2 CMD ["true"]
ONBUILD RUN echo onbuild
EXPOSE 80 443/tcp 53/udp 3000-3002
LABEL "a.b"="c d" e=f
STOPSIGNAL 9
ENTRYPOINT echo entry
CMD echo cmd
DOCKERFILE
cat >"$ctx/Dockerfile.3" <<'DOCKERFILE'
FROM TAG/busybox:1 AS base
RUN mkdir -p /a/b/c && echo x > /a/b/c/f && echo y > /a/keep && ln /a/keep /a/hard && mkdir /opq && echo 1 > /opq/old
FROM base AS mid
RUN rm -rf /a/b && rm /a/keep && rm -rf /opq && mkdir /opq && echo 2 > /opq/new && chmod 1777 /opq && rm /bin/vi
RUN mkfifo /fifo && touch /emptyfile && mkdir -p /e/m/p/t/y && ln -s /nowhere /dangling && chmod 2755 /e
FROM TAG/busybox:1
COPY --from=mid /a /a2
COPY --from=mid /opq /opq
COPY --from=0 /a/b/c/f /from-index/
COPY --from=mid --chown=user:user /e /e
COPY --chown=1234 src/one.txt /chowned/
COPY --chown=nobody:user src/sub/ /chowned-dir/
COPY --from=base /a/hard /a/keep /hardlinks/
COPY --from=TAG/busybox:1 /etc/group /from-image/
CMD ["sh"]
DOCKERFILE
cat >"$ctx/Dockerfile.4" <<'DOCKERFILE'
# escape=`
FROM TAG/busybox:1
ENV DIR=/data `
    Q='single $quoted' `
    ESC=\$notvar
WORKDIR $DIR/sub
LABEL multi="line one `
line two" other=x
ARG PORT=9090
EXPOSE $PORT
RUN echo "$Q $ESC" > /quotes.txt
ENV X=envvalue
ARG X=a
RUN echo "$X" > /argenv.txt
USER user
RUN touch /home/user/made-by-user && id -u > /home/user/uid
CMD ["sh"]
VOLUME ["/v1", "/v2"]
VOLUME /v3 /v4
ENTRYPOINT ["env"]
DOCKERFILE
sed -i "s|TAG/|$tag/|g" "$ctx"/Dockerfile.[234]
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
  keys='{Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes, Labels, StopSignal, Healthcheck, Shell, OnBuild}'
  # docker inspect shows an unset string field as "", cbuild inspect (the config as written) leaves it out.
  unset_is_null='map_values(if . == "" then null else . end)'
  cb inspect "$tag/app:1" | jq -S ".[0].Config | $keys | $unset_is_null" >"$work/cbuild.config"
  "$docker" image inspect "$tag/app:1" | jq -S ".[0].Config | $keys | $unset_is_null" >"$work/docker.config"
  diff -u "$work/docker.config" "$work/cbuild.config" || { echo "FAIL: $name: config differs (- docker, + cbuild)"; status=1; }
  # Root filesystems: docker export adds its runtime files; leave those out.
  list() { tar --numeric-owner -tvf "$1" | awk '{l = $1 " " $2 " " $3; for (i = 6; i <= NF; i++) l = l " " $i; print l}' | sed 's|/$||' |
    grep -Ev ' (\.dockerenv|dev|dev/.*|proc|sys|etc/hosts|etc/hostname|etc/resolv\.conf|etc/mtab)( |$)' | sort; }
  list "$work/docker.tar" >"$work/docker.list"
  list "$work/cbuild.tar" >"$work/cbuild.list"
  diff -u "$work/docker.list" "$work/cbuild.list" || { echo "FAIL: $name: files differ (- docker, + cbuild)"; status=1; }
  # History: created_by and empty_layer of every entry. BuildKit changed how it prints
  # HEALTHCHECK and EXPOSE after docker 20.10's version, and added COPY's --chown and
  # --chmod; cbuild prints them as BuildKit now does.
  history() {
    jq -r '.history[] | "\(.empty_layer // false) \(.created_by)"' | grep -Ev ' (HEALTHCHECK|EXPOSE) ' |
      sed -E 's/ --ch(own|mod)=[^ ]+//g'
  }
  "$docker" save "$tag/app:1" | tar -xO --wildcards '*.json' | jq -c 'select(type == "object" and has("history"))' |
    history >"$work/docker.history"
  id=$(cb inspect "$tag/app:1" | jq -r '.[0].Id')
  history <"$work/root/blobs/sha256/${id#sha256:}" >"$work/cbuild.history"
  diff -u "$work/docker.history" "$work/cbuild.history" || { echo "FAIL: $name: history differs (- docker, + cbuild)"; status=1; }
done
[ "$status" = 0 ] && echo "cbuild and docker agree on configs, file listings and histories"
exit $status
