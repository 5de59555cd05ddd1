#!/usr/bin/env bash
# The image config and history a build writes, as BuildKit's Dockerfile frontend writes them:
# every instruction's `created_by` text and empty_layer flag, EXPOSE ranges, the WorkingDir
# a base image leaves unset; and an ARG declared after an ENV of the same name overriding it
# for the steps (not in the image), in their results and in their cache keys.
source "$CBUILD_SOURCE_DIR/tests/integration/image_lib.sh"
chmod 711 "$work"
cb import "$rootfs" base:1 >/dev/null

ctx=$work/ctx
mkdir -p "$ctx/src"
echo one >"$ctx/src/one.txt"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM base:1 AS first
ARG V=1.2 EMPTY
ENV A=a B="b c"
ENV X=env
ARG X=arg
RUN echo "$X" > /x
ENV X=env2
RUN ["sh", "-c", "echo $X > /x2"]
SHELL ["/bin/sh", "-e", "-c"]
RUN <<EOF
echo heredoc > /h
EOF
WORKDIR rel
WORKDIR /
COPY --chown=1000:1000 --chmod=0640 src/one.txt <<inline.txt /dst/
hello
inline.txt
COPY --from=base:1 /etc/group /g
ADD src/one.txt /added
LABEL "a.b"="c d" e=f
EXPOSE 80 53/udp 3000-3002
VOLUME ["/v1", "/v2"]
USER 1000:1000
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=1m30s --timeout=1500ms --retries=2 CMD ["true"]
ONBUILD RUN echo triggered
MAINTAINER someone
ENTRYPOINT echo entry
CMD ["arg1", "say \"hi\""]
DOCKERFILE

cb build --progress=plain --report "$work/r1.json" -t cfg:1 "$ctx" >"$work/log1" 2>&1 || { cat "$work/log1"; fail "build"; }
config() { cat "$work/root/blobs/sha256/$(cb inspect "$1" | jq -r '.[0].Id' | sed 's/^sha256://')"; }
config cfg:1 >"$work/config.json"
# One line per entry, a newline in created_by shown as \n.
jq -r '.history[] | "\(.empty_layer // false) \(.created_by // "" | gsub("\n"; "\\n"))"' "$work/config.json" | sed 1d >"$work/history"
cat >"$work/want" <<'HISTORY'
true ARG V=1.2 EMPTY
true ENV A=a B=b c
true ENV X=env
true ARG X=arg
false RUN |3 V=1.2 EMPTY= X=arg /bin/sh -c echo "$X" > /x # buildkit
true ENV X=env2
false RUN |3 V=1.2 EMPTY= X=env2 sh -c echo $X > /x2 # buildkit
true SHELL [/bin/sh -e -c]
false RUN |3 V=1.2 EMPTY= X=env2 /bin/sh -e -c echo heredoc > /h\n # buildkit
false WORKDIR /rel
true WORKDIR /
false COPY --chown=1000:1000 --chmod=0640 src/one.txt <<inline.txt /dst/ # buildkit
false COPY /etc/group /g # buildkit
false ADD src/one.txt /added # buildkit
true LABEL a.b=c d e=f
true EXPOSE [80/tcp 53/udp 3000/tcp 3001/tcp 3002/tcp]
true VOLUME [/v1 /v2]
true USER 1000:1000
true STOPSIGNAL SIGQUIT
true HEALTHCHECK {Test:[CMD true] Interval:1m30s Timeout:1.5s StartPeriod:0s StartInterval:0s Retries:2}
true MAINTAINER someone
true ENTRYPOINT ["/bin/sh" "-e" "-c" "echo entry"]
true CMD ["arg1" "say \"hi\""]
HISTORY
diff -u "$work/want" "$work/history" || fail "history differs (- BuildKit's, + cbuild's)"
[ "$(jq -c '.config.ExposedPorts | keys' "$work/config.json")" = '["3000/tcp","3001/tcp","3002/tcp","53/udp","80/tcp"]' ] ||
  fail "ExposedPorts: $(jq -c '.config.ExposedPorts' "$work/config.json")"
[ "$(jq -r '.config.WorkingDir' "$work/config.json")" = / ] || fail "WorkingDir after WORKDIR /"
[ "$(jq -r '.config.Env | map(select(startswith("X="))) | .[]' "$work/config.json")" = X=env2 ] || fail "image Env X"
[ "$(jq -r '.author' "$work/config.json")" = someone ] || fail "MAINTAINER"
[ "$(jq -c '.config.OnBuild' "$work/config.json")" = '["RUN echo triggered"]' ] || fail "OnBuild"
# One history entry with a layer per layer.
[ "$(jq '[.history[] | select(.empty_layer != true)] | length' "$work/config.json")" = "$(jq '.rootfs.diff_ids | length' "$work/config.json")" ] ||
  fail "history and layers disagree"

# The steps saw X=arg after `ARG X=arg`, X=env2 after the later ENV.
cb build -q -o "type=local,dest=$work/out1" "$ctx" >/dev/null
[ "$(cat "$work/out1/x")" = arg ] || fail "ARG after ENV: /x is $(cat "$work/out1/x")"
[ "$(cat "$work/out1/x2")" = env2 ] || fail "ENV after ARG: /x2 is $(cat "$work/out1/x2")"
# The same lines in the other order: the ENV wins, and the RUN's key changes with the order
# (the same environment and args, so only the order tells the two apart).
printf 'FROM base:1\nENV X=env\nARG X=arg\nRUN echo "$X" > /x\n' >"$ctx/Dockerfile.order1"
printf 'FROM base:1\nARG X=arg\nENV X=env\nRUN echo "$X" > /x\n' >"$ctx/Dockerfile.order2"
for n in 1 2; do
  cb build --progress=plain --report "$work/o$n.json" -f "$ctx/Dockerfile.order$n" -o "type=local,dest=$work/o$n" "$ctx" >"$work/olog$n" 2>&1 ||
    { cat "$work/olog$n"; fail "order build $n"; }
done
[ "$(cat "$work/o1/x")" = arg ] || fail "order 1: /x is $(cat "$work/o1/x")"
[ "$(cat "$work/o2/x")" = env ] || fail "order 2: /x is $(cat "$work/o2/x") (a stale cache hit?)"
[ "$(jq -r '.steps[] | select(.instruction | startswith("RUN")) | .cached' "$work/o2.json")" = false ] || fail "order 2 hit order 1's RUN"

# WorkingDir: a base image without one leaves it unset (as BuildKit), FROM scratch sets /.
printf 'FROM base:1\nRUN pwd > /pwd\n' >"$ctx/Dockerfile.nowd"
cb build -q -f "$ctx/Dockerfile.nowd" -t nowd:1 "$ctx" >/dev/null
[ "$(config nowd:1 | jq -r '.config.WorkingDir // "unset"')" = unset ] || fail "WorkingDir set though the base has none"
printf 'FROM scratch\nCOPY src/one.txt /\n' >"$ctx/Dockerfile.scratch"
cb build -q -f "$ctx/Dockerfile.scratch" -t scratch:1 "$ctx" >/dev/null
[ "$(config scratch:1 | jq -r '.config.WorkingDir')" = / ] || fail "WorkingDir from scratch"
# ENTRYPOINT drops a CMD the stage inherited, not one of its own; an empty list is none.
printf 'FROM base:1 AS b\nCMD ["base"]\nFROM b\nENTRYPOINT ["echo"]\n' >"$ctx/Dockerfile.cmd1"
printf 'FROM base:1\nCMD ["x"]\nENTRYPOINT ["echo"]\n' >"$ctx/Dockerfile.cmd2"
printf 'FROM base:1\nENTRYPOINT ["echo"]\nCMD ["y"]\nENTRYPOINT []\n' >"$ctx/Dockerfile.cmd3"
want_cmd=('{"Cmd":null,"Entrypoint":["echo"]}' '{"Cmd":["x"],"Entrypoint":["echo"]}' '{"Cmd":["y"],"Entrypoint":null}')
for n in 1 2 3; do
  cb build -q -f "$ctx/Dockerfile.cmd$n" -t cmd:$n "$ctx" >/dev/null
  got=$(config cmd:$n | jq -c '.config | {Cmd, Entrypoint}')
  [ "$got" = "${want_cmd[$((n - 1))]}" ] || fail "Dockerfile.cmd$n: $got"
done
echo "config and history as BuildKit writes them"
