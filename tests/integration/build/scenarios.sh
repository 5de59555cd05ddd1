#!/usr/bin/env bash
# Build scenarios that must behave the same as root and as an unprivileged user:
# RUN output and exit codes, chown'd ownership in the layer, whiteouts, each mount type,
# secrets absent from the store, network none, USER/WORKDIR/SHELL, COPY/ADD forms, and
# identical images from both snapshotters. Usage: scenarios.sh CBUILD MAKE_BUSYBOX_ROOTFS
set -euo pipefail
CBUILD=$1
MAKE_ROOTFS=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/cbuild-scen-XXXXXX")
chmod 711 "$work"  # as root, steps run as an unprivileged host id that must reach the store
# Unprivileged, snapshot files belong to subordinate ids: removed in a user namespace.
remove() { rm -rf "$@" 2>/dev/null || unshare --map-root-user --map-auto --user rm -rf "$@"; }
cleanup() {
  [ -z "${KEEP:-}" ] || return 0
  remove "$work"
}
trap cleanup EXIT
fail() { echo "FAIL ($(id -un)): $*" >&2; exit 1; }
cb() { "$CBUILD" --root "$work/root" "$@"; }

SOURCE_DATE_EPOCH=1704067200 bash "$MAKE_ROOTFS" "$work/busybox.tar.gz" >/dev/null
# One base image for every store (an import records its own time in the history).
"$CBUILD" --root "$work/root" import "$work/busybox.tar.gz" busybox:1.36 >/dev/null
"$CBUILD" --root "$work/root" save busybox:1.36 -o "$work/busybox-image.tar"
for r in root-native root-overlay; do
  "$CBUILD" --root "$work/$r" load -i "$work/busybox-image.tar" >/dev/null
done

# ---- the project -------------------------------------------------------------------
ctx=$work/ctx
mkdir -p "$ctx/src" "$ctx/app/a" "$ctx/app/b" "$work/tarsrc/d"
echo one >"$ctx/src/one.txt"
echo two >"$ctx/src/two.txt"
echo keep >"$ctx/src/keep.log"
echo ignored >"$ctx/top.log"
echo A >"$ctx/app/a/Cargo.toml"
echo B >"$ctx/app/b/Cargo.toml"
echo intar >"$work/tarsrc/d/f"
tar --owner=0 --group=0 -czf "$ctx/bundle.tar.gz" -C "$work/tarsrc" .
echo '*.log' >"$ctx/.dockerignore"
mkdir -m 0700 "$ctx/private"  # a context directory only its owner may enter
echo p >"$ctx/private/p"
echo "s3cr3t-$(date +%s%N)" >"$work/secret"
secret=$(cat "$work/secret")
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox:1.36 AS base
SHELL ["/bin/sh", "-c"]
RUN echo hello-out && echo hello-err >&2
RUN mkdir -p /data/sub && echo x > /data/file && echo y > /data/sub/y && chown 1000:1000 /data/file
RUN rm /data/file && rm -rf /data/sub && mkdir /data/sub && echo z > /data/sub/z
COPY --exclude=*.txt src/ /nolog/
COPY --parents app/*/Cargo.toml /rust/
ADD bundle.tar.gz /untar/
COPY --link src/one.txt /linked/
COPY --chown=1000:1000 --chmod=0600 src/two.txt /owned/two.txt
COPY <<EOF /etc/greeting
hello from a heredoc
EOF
RUN --mount=type=secret,id=tok test -s /run/secrets/tok && cat /run/secrets/tok >/dev/null
RUN --mount=type=secret,id=tok,env=TOK test -n "$TOK"
RUN --mount=type=cache,target=/cache,id=c1 echo run >> /cache/log && wc -l < /cache/log > /cachecount
RUN --mount=type=bind,source=src,target=/mnt test "$(cat /mnt/one.txt)" = one && ls /mnt > /bindlist
RUN --mount=type=bind,target=/ctx ls -a /ctx > /ctxlist && cat /ctx/private/p > /ctxprivate
RUN --mount=type=bind,source=src,target=/w,rw echo changed > /w/one.txt && cat /w/one.txt > /rwseen && ls /w > /rwlist
RUN --mount=type=tmpfs,target=/scratch echo t > /scratch/t && test -f /scratch/t
RUN --network=none sh -c 'wc -l < /proc/net/dev > /netlines'
WORKDIR /work/dir
RUN pwd > /pwd
USER 1000
RUN id -u > /tmp/uid
SHELL ["/bin/sh", "-ec"]
RUN echo "$0" > /tmp/shell0 || true
DOCKERFILE

cb build --progress=plain --secret id=tok,src="$work/secret" --report "$work/r1.json" -t feat:1 "$ctx" >"$work/out1" 2>&1 ||
  { cat "$work/out1"; fail "feature build"; }
grep -q 'hello-out' "$work/out1" || fail "RUN stdout not streamed"
grep -q 'hello-err' "$work/out1" || fail "RUN stderr not streamed"
grep -q "$secret" "$work/out1" && fail "secret in the build output"

# Layers of the image, as one listing "owner path" and the files themselves.
cb save feat:1 -o "$work/feat.tar"
mkdir "$work/img" "$work/fs"
tar -xf "$work/feat.tar" -C "$work/img"
: >"$work/listing"
for l in $(jq -r '.[0].Layers[]' "$work/img/manifest.json"); do
  tar -tvf "$work/img/$l" | awk '{print $2, $6}' >>"$work/listing"
  tar -xf "$work/img/$l" -C "$work/fs" --no-same-owner 2>/dev/null || true
done
has() { grep -qx -- "$1" "$work/listing" || { cat "$work/listing"; fail "no layer entry '$1'"; }; }
has "1000/1000 data/file"
has "0/0 data/.wh.file"
has "0/0 data/sub/.wh..wh..opq"
has "0/0 data/sub/z"
has "0/0 nolog/keep.log"
grep -q 'nolog/one.txt' "$work/listing" && fail "--exclude ignored"
has "0/0 rust/app/a/Cargo.toml"
has "0/0 rust/app/b/Cargo.toml"
has "0/0 untar/d/f"
has "0/0 linked/one.txt"
has "1000/1000 owned/two.txt"
has "1000/1000 tmp/uid"
tar -tvf "$work/img/$(jq -r '.[0].Layers[]' "$work/img/manifest.json" | tail -n 1)" >/dev/null
grep -q '^-rw------- 1000/1000' <(for l in $(jq -r '.[0].Layers[]' "$work/img/manifest.json"); do tar -tvf "$work/img/$l"; done | grep owned/two.txt) ||
  fail "--chmod=0600 not applied"
grep -q 'cache' "$work/listing" && grep -q ' cache/' "$work/listing" && fail "cache mount content in a layer"
grep -q ' scratch/t' "$work/listing" && fail "tmpfs content in a layer"
grep -q ' run/secrets' "$work/listing" && fail "secret mount point left in a layer"
grep -q ' mnt/' "$work/listing" && fail "bind mount content in a layer"
[ "$(cat "$work/fs/etc/greeting")" = "hello from a heredoc" ] || fail "COPY heredoc"
[ "$(cat "$work/fs/cachecount")" = 1 ] || fail "cache mount count $(cat "$work/fs/cachecount")"
[ "$(cat "$work/fs/netlines")" = 3 ] || fail "network none: $(cat "$work/fs/netlines") lines in /proc/net/dev"
[ "$(cat "$work/fs/bindlist" | tr '\n' ' ')" = "keep.log one.txt two.txt " ] || fail "bind mount listing: $(cat "$work/fs/bindlist")"
# The context's mount shows what .dockerignore leaves in, as BuildKit's does (not top.log);
# a writable one is a private copy (the context keeps its file).
[ "$(grep -v '^\.\.\?$' "$work/fs/ctxlist" | tr '\n' ' ')" = ".dockerignore Dockerfile app bundle.tar.gz private src " ] ||
  fail "context mount listing: $(cat "$work/fs/ctxlist")"
[ "$(cat "$work/fs/ctxprivate")" = p ] || fail "a 0700 context directory in the mount"
[ "$(cat "$work/fs/rwseen")" = changed ] || fail "write to a rw bind mount"
[ "$(cat "$work/fs/rwlist" | tr '\n' ' ')" = "keep.log one.txt two.txt " ] || fail "rw bind mount listing: $(cat "$work/fs/rwlist")"
[ "$(cat "$ctx/src/one.txt")" = one ] || fail "a rw bind mount changed the context"
[ "$(cat "$work/fs/pwd")" = /work/dir ] || fail "WORKDIR"
[ "$(cat "$work/fs/tmp/uid")" = 1000 ] || fail "USER"
[ "$(cat "$work/fs/tmp/shell0")" = /bin/sh ] || fail "SHELL"
[ "$(jq -r '.config.User' "$work/img/blobs/sha256/$(jq -r '.[0].Config' "$work/img/manifest.json" | sed 's|.*/||')")" = 1000 ] || fail "config User"
if grep -rqs "$secret" "$work/root" "$work/img"; then fail "secret found in the store or the image"; fi

# ---- cache: a second build hits everything; --no-cache re-runs, the cache mount persists --
cb build --progress=plain --secret id=tok,src="$work/secret" --report "$work/r2.json" -t feat:1 "$ctx" >"$work/out2" 2>&1 ||
  { cat "$work/out2"; fail "cached rebuild"; }
[ "$(jq '.totals.executed' "$work/r2.json")" = 0 ] || fail "rebuild executed steps: $(jq -c '.totals' "$work/r2.json")"
cb build --progress=plain --no-cache --secret id=tok,src="$work/secret" -t feat:2 "$ctx" >"$work/out3" 2>&1 ||
  { cat "$work/out3"; fail "--no-cache build"; }
rm -rf "$work/fs2" && mkdir "$work/fs2"
cb save feat:2 -o "$work/feat2.tar"
mkdir -p "$work/img2" && tar -xf "$work/feat2.tar" -C "$work/img2"
for l in $(jq -r '.[0].Layers[]' "$work/img2/manifest.json"); do tar -xf "$work/img2/$l" -C "$work/fs2" --no-same-owner 2>/dev/null || true; done
[ "$(cat "$work/fs2/cachecount")" = 2 ] || fail "cache mount did not persist: $(cat "$work/fs2/cachecount")"

# ---- failures: exit code and message; a missing required secret --------------------------
mkdir "$work/bad"
printf 'FROM busybox:1.36\nRUN echo before-failing\nRUN echo dying && exit 3\n' >"$work/bad/Dockerfile"
status=0
cb build --progress=plain "$work/bad" >"$work/bout" 2>&1 || status=$?
[ "$status" = 4 ] || { cat "$work/bout"; fail "failing RUN exit status $status, want 4"; }
grep -q 'RUN failed (exit code 3): echo dying && exit 3' "$work/bout" || { cat "$work/bout"; fail "failure message"; }
grep -q 'dying' "$work/bout" || fail "last output lines missing"
printf 'FROM busybox:1.36\nRUN --mount=type=secret,id=missing,required=true true\n' >"$work/bad/Dockerfile"
cb build --progress=plain "$work/bad" >"$work/bout" 2>&1 && fail "missing required secret accepted"
grep -q 'secret `missing` is required' "$work/bout" || { cat "$work/bout"; fail "missing secret message"; }
printf 'FROM busybox:1.36\nCOPY nothere /x\n' >"$work/bad/Dockerfile"
status=0
cb build --progress=plain "$work/bad" >"$work/bout" 2>&1 || status=$?
[ "$status" = 3 ] || { cat "$work/bout"; fail "missing COPY source exit status $status, want 3"; }
grep -q 'nothere' "$work/bout" || fail "missing source not named"
cb store check >/dev/null || fail "store check after failed builds"

# ---- COPY --from a stage keeps the owners the files have there (BuildKit does) -------------
mkdir "$work/own"
printf 'FROM busybox:1.36 AS a\nRUN mkdir /o && touch /o/f && chown 1234:1234 /o/f\nFROM busybox:1.36\nCOPY --from=a /o /o\nCOPY --from=a --chown=7:7 /o /p\n' >"$work/own/Dockerfile"
cb build --progress=quiet -o "type=tar,dest=$work/own.tar" "$work/own" >/dev/null 2>"$work/own.err" || { cat "$work/own.err"; fail "COPY --from build"; }
tar --numeric-owner -tvf "$work/own.tar" | awk '{print $2, $6}' >"$work/own.list"
grep -qx '1234/1234 o/f' "$work/own.list" || { grep ' [op]/' "$work/own.list"; fail "COPY --from lost the owner"; }
grep -qx '7/7 p/f' "$work/own.list" || fail "COPY --from --chown"

# ---- cache mount options: uid/gid/mode on creation, from+source seeding, readonly,
# sharing=locked serializing two cbuild processes -------------------------------------
mkdir "$work/cm"
cat >"$work/cm/Dockerfile" <<'DOCKERFILE'
FROM busybox:1.36 AS seed
RUN mkdir /seed && echo seeded-content > /seed/x
FROM busybox:1.36
RUN --mount=type=cache,target=/c,id=owned,uid=1000,gid=1000,mode=0700 stat -c '%u %g %a' /c > /cstat
RUN --mount=type=cache,target=/c2,id=seeded,from=seed,source=/seed cat /c2/x > /seeded
RUN --mount=type=cache,target=/c3,id=ro,readonly sh -c '! touch /c3/x 2>/dev/null' && echo ro > /ro
DOCKERFILE
cb build --progress=quiet -o "type=local,dest=$work/cm-out" "$work/cm" >/dev/null 2>"$work/cm.err" || { cat "$work/cm.err"; fail "cache mount options build"; }
[ "$(cat "$work/cm-out/cstat")" = "1000 1000 700" ] || fail "cache mount uid/gid/mode: $(cat "$work/cm-out/cstat")"
[ "$(cat "$work/cm-out/seeded")" = seeded-content ] || fail "cache mount from/source seeding"
[ "$(cat "$work/cm-out/ro")" = ro ] || fail "readonly cache mount"
mkdir "$work/lk"
cat >"$work/lk/Dockerfile" <<'DOCKERFILE'
FROM busybox:1.36
RUN --mount=type=cache,target=/l,id=lk,sharing=locked sh -c 'if [ -e /l/busy ]; then echo overlap > /overlap; fi; touch /l/busy; sleep 1.5; rm /l/busy; echo done > /done'
DOCKERFILE
for i in 1 2; do
  "$CBUILD" --root "$work/root" build --progress=quiet --no-cache -o "type=local,dest=$work/lk-out$i" "$work/lk" >/dev/null 2>"$work/lk$i.err" & eval "lk$i=\$!"
done
wait "$lk1" || { cat "$work/lk1.err"; fail "locked build 1"; }
wait "$lk2" || { cat "$work/lk2.err"; fail "locked build 2"; }
for i in 1 2; do
  [ -f "$work/lk-out$i/done" ] || fail "locked build $i did not run"
  [ -f "$work/lk-out$i/overlap" ] && fail "sharing=locked let two steps use the cache mount at once"
done

# ---- SIGTERM during a step: processes killed, nothing mounted, no temp session left ------
printf 'FROM busybox:1.36\nRUN echo started; sleep 3171\n' >"$work/bad/Dockerfile"
"$CBUILD" --root "$work/root" build --progress=plain "$work/bad" >"$work/slow.log" 2>&1 & pid=$!
for _ in $(seq 100); do grep -q started "$work/slow.log" && break; sleep 0.1; done
grep -q started "$work/slow.log" || { cat "$work/slow.log"; fail "slow step did not start"; }
kill -TERM "$pid"
status=0; wait "$pid" || status=$?
[ "$status" = 130 ] || { cat "$work/slow.log"; fail "SIGTERM exit status $status, want 130"; }
sleep 0.3
pgrep -x -f 'sleep 3171' >/dev/null && fail "step process survived SIGTERM"
[ -z "$(ls "$work/root/tmp")" ] || fail "temp session left after SIGTERM: $(ls "$work/root/tmp")"

# ---- a COPY re-run after a one-file change links the other files from its previous result,
# and its layers are those a cold build makes -------------------------------------------------
mkdir -p "$work/re/src/sub"
for i in $(seq 1 30); do echo "file $i" >"$work/re/src/f$i.txt"; done
echo deep >"$work/re/src/sub/deep.txt"
chmod 0750 "$work/re/src/f3.txt"
# An xattr, which the reuse checks refuse: linked only where they are skipped.
python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.note", b"kept")' "$work/re/src/f9.txt"
touch -d '2010-05-06 07:08:09.123456789' "$work/re/src"/*.txt "$work/re/src/sub/deep.txt"  # before the epoch: kept
# The RUN reads every file through the stack of both COPYs' results.
printf 'FROM busybox:1.36\nCOPY src/ /data/\nCOPY --chown=7:8 src/ /owned/\nRUN cd / && find data owned -type f | sort | xargs md5sum > /sums\n' \
  >"$work/re/Dockerfile"
rebuild() {  # rebuild STORE REPORT [FLAGS]
  local store=$1 report=$2
  shift 2
  SOURCE_DATE_EPOCH=1704067200 "$CBUILD" --root "$store" build --progress=quiet --report "$report" "$@" "$work/re" \
    >/dev/null 2>"$work/re.err" || { cat "$work/re.err"; fail "COPY re-run build"; }
}
listing() { (cd "$1" && find . -mindepth 1 -printf '%p %y %s %m %U:%G %T@\n' | sort); }
copy_steps() { jq -c '[.steps[] | select(.instruction | startswith("COPY")) | [.layer, .files_reused]]' "$1"; }
# rerun NAME REUSED WHY: rebuilds into the shared store, checks how many files each COPY
# took from its previous result, then that its layers, and the files of its result as a
# later step sees them (the links are made while the commit writes the layer, or the result
# is stacked on the previous one), are those a cold build (a fresh store) makes of the same
# files.
rerun() {
  rebuild "$work/root" "$work/$1.json" -o "type=local,dest=$work/$1-fs"
  [ "$(jq -c '[.steps[] | .files_reused]' "$work/$1.json")" = "$2" ] ||
    fail "$1: COPY re-run reused $(jq -c '[.steps[] | .files_reused]' "$work/$1.json") of 31 files, want $2 ($3)"
  "$CBUILD" --root "$work/root-$1" load -i "$work/busybox-image.tar" >/dev/null
  rebuild "$work/root-$1" "$work/$1-cold.json" -o "type=local,dest=$work/$1-cold-fs"
  [ "$(copy_steps "$work/$1.json" | jq -c 'map(.[0])')" = "$(copy_steps "$work/$1-cold.json" | jq -c 'map(.[0])')" ] ||
    fail "$1: re-run COPY layers differ from a cold build: $(copy_steps "$work/$1.json") vs $(copy_steps "$work/$1-cold.json")"
  [ "$(listing "$work/$1-fs")" = "$(listing "$work/$1-cold-fs")" ] && diff -r "$work/$1-fs" "$work/$1-cold-fs" >/dev/null ||
    fail "$1: the re-run's files differ from a cold build's: $(diff <(listing "$work/$1-fs") <(listing "$work/$1-cold-fs") | head -5)"
  local want; want=$(find "$work/re/src" -type f | wc -l)
  [ "$(find "$work/$1-fs/data" -type f | wc -l)" = "$want" ] || fail "$1: $(find "$work/$1-fs/data" -type f | wc -l) files in /data, want $want"
  [ "$(wc -l <"$work/$1-fs/sums")" = $((want * 2)) ] || fail "$1: the RUN saw $(wc -l <"$work/$1-fs/sums") files, want $((want * 2))"
}
rebuild "$work/root" "$work/re1.json"
echo changed >"$work/re/src/f1.txt"
touch -d '2001-02-03 04:05:06' "$work/re/src/f2.txt"  # same content, new mtime: copied, not linked
rerun re2 '[29,28,0]' "the first COPY links f9 unchecked (untouched since its copy, same instruction and parent);
  the second one's parent changed, so its files are checked, and f9, with an xattr, is copied"
# The first COPY's result is stacked on the previous one: its directory holds what it copied again.
small=0
for d in "$work/root/snapshots"/*/data; do
  [ "$(find "$d" -type f | wc -l)" -gt 3 ] || small=$((small + 1))
done
[ "$small" -ge 1 ] || fail "re2: no COPY result stacked on its previous one (every snapshot holds all of /data)"
# f1 back to its first content with a new mtime: a hit on the first result, whose copy of f1
# has the old mtime. The next re-run must check f1 against that copy, not link it.
echo "file 1" >"$work/re/src/f1.txt"
rebuild "$work/root" "$work/re3.json"
[ "$(jq -c '[.steps[] | .cached]' "$work/re3.json")" = '[true,true,true]' ] || fail "revert of f1 did not hit: $(cat "$work/re3.json")"
echo changed >"$work/re/src/f5.txt"
rerun re4 '[27,27,0]' "records written at a hit have no stamps: every file is checked, and f1, f2 (mtimes),
  f5 (content) and f9 (xattr) are copied"
# A re-run of a result stacked on an earlier one: what that result copied itself (f1, f2, f5,
# f9) is linked from it, the rest stays stacked on the earlier result.
echo changed >"$work/re/src/f11.txt"
rerun re4b '[30,29,0]' "f11 (content) is copied by both, f9 (xattr, checked) by the second"
# A source file deleted: the stack would still show it, so the files are linked instead.
rm "$work/re/src/f12.txt"
rerun re4c '[30,29,0]' "f12 is gone, nothing else changed; f9 (xattr, checked) is copied by the second"
"$CBUILD" --root "$work/root" store check >"$work/check.out" 2>&1 || { cat "$work/check.out"; fail "store check after the re-runs"; }
# f11 and f12 back as they were for re4.
echo "file 11" >"$work/re/src/f11.txt" && echo "file 12" >"$work/re/src/f12.txt"
touch -d '2010-05-06 07:08:09.123456789' "$work/re/src/f11.txt" "$work/re/src/f12.txt"
if [ "$(id -u)" = 0 ]; then
  # f3's owner and mtime change: a new key, but the copy (owned by 0:0) has the content of the
  # previous result, which early cutoff takes, f3's old mtime included. Its records then get
  # no stamps either, so the next re-run checks f3 against that copy and copies it.
  touch -d '2003-03-03 03:03:03' "$work/re/src/f3.txt" && chown 1:1 "$work/re/src/f3.txt"
  rebuild "$work/root" "$work/re5.json"
  [ "$(jq -c '[.steps[] | select(.instruction | startswith("COPY")) | [.cached, .layer]]' "$work/re5.json")" = \
    "$(jq -c '[.steps[] | select(.instruction | startswith("COPY")) | [false, .layer]]' "$work/re4.json")" ] ||
    fail "f3's owner and mtime changed: want both COPYs re-run with the previous layers, got $(copy_steps "$work/re5.json")"
  echo changed >"$work/re/src/f7.txt"
  rerun re6 '[28,28,0]' "f7 (content), f3 (mtime, against the earlier copy) and f9 (xattr) are copied"
fi

# ---- randomized COPY re-runs: edited, new, deleted and touched files, new directories; every
# re-run's result (stacked on the previous one, linked or copied) has the files a cold build has
RANDOM=7  # one fixed sequence
rr=$work/rr
for d in a b c; do
  mkdir -p "$rr/ctx/src/$d"
  for i in $(seq 1 30); do echo "$d $i" >"$rr/ctx/src/$d/f$i"; done
done
printf 'FROM busybox:1.36\nCOPY src/ /data/\nCOPY --chown=3:4 src/ /own/\nRUN cd / && find data own -type f | sort | xargs md5sum > /sums\n' \
  >"$rr/ctx/Dockerfile"
rr_build() {  # rr_build STORE OUT
  SOURCE_DATE_EPOCH=1704067200 "$CBUILD" --root "$1" build --progress=quiet -o "type=local,dest=$2" "$rr/ctx" \
    >/dev/null 2>"$rr/err" || { cat "$rr/err"; fail "randomized re-run: build into $1"; }
}
"$CBUILD" --root "$rr/store" load -i "$work/busybox-image.tar" >/dev/null
rr_build "$rr/store" "$rr/out0"
for round in $(seq 1 10); do
  for _ in 1 2; do
    dir=$rr/ctx/src/$(printf 'a\nb\nc\n' | sed -n "$((RANDOM % 3 + 1))p")
    mapfile -t names < <(ls "$dir")
    f=$dir/${names[RANDOM % ${#names[@]}]}
    case $((RANDOM % 5)) in
      0) if [ -f "$f" ]; then echo "edit $round" >>"$f"; fi ;;
      1) echo "new $round" >"$dir/n$round-$RANDOM" ;;
      2) if [ -f "$f" ]; then rm "$f"; fi ;;
      3) sub=$dir/sub$((RANDOM % 2)) && mkdir -p "$sub" && echo "deep $round" >"$sub/g$round" ;;
      4) if [ -f "$f" ]; then touch "$f"; fi ;;
    esac
  done
  remove "$rr/out" "$rr/cold" "$rr/cold-store"
  rr_build "$rr/store" "$rr/out"
  "$CBUILD" --root "$rr/cold-store" load -i "$work/busybox-image.tar" >/dev/null
  rr_build "$rr/cold-store" "$rr/cold"
  [ "$(listing "$rr/out")" = "$(listing "$rr/cold")" ] && diff -r "$rr/out" "$rr/cold" >/dev/null ||
    fail "randomized re-run $round: files differ from a cold build: $(diff <(listing "$rr/out") <(listing "$rr/cold") | head -5)"
done
"$CBUILD" --root "$rr/store" store check >"$rr/check" 2>&1 || { cat "$rr/check"; fail "store check after the randomized re-runs"; }

# ---- both snapshotters give the same image -------------------------------------------
for kind in native overlay; do
  SOURCE_DATE_EPOCH=1704067200 "$CBUILD" --root "$work/root-$kind" build --progress=quiet --snapshotter "$kind" \
    --secret id=tok,src="$work/secret" --iidfile "$work/id-$kind" -t feat:1 "$ctx" >/dev/null 2>"$work/err-$kind" ||
    { cat "$work/err-$kind"; fail "build with --snapshotter $kind"; }
done
[ "$(cat "$work/id-native")" = "$(cat "$work/id-overlay")" ] ||
  fail "snapshotters differ: $(cat "$work/id-native") vs $(cat "$work/id-overlay")"
leftover=$(grep -c "$work" /proc/self/mountinfo || true)
[ "$leftover" = 0 ] || fail "mounts left behind"
echo "build scenarios passed as $(id -un)"
