#!/usr/bin/env bash
# The cache across a sequence of edits of a multi-stage project (the patterns of the field:
# dependency manifest first with a cache mount, sources after, a slim final stage fed by
# COPY --from), asserting which steps hit and the miss reasons from --report; early
# cutoff; reproducible images with SOURCE_DATE_EPOCH.
source "$CBUILD_SOURCE_DIR/tests/integration/image_lib.sh"
chmod 711 "$work"
cb import "$rootfs" busybox:1.36 >/dev/null

ctx=$work/ctx
mkdir -p "$ctx/src"
echo "libfoo 1.0" >"$ctx/requirements.txt"
echo "print a" >"$ctx/src/a.py"
echo "print b" >"$ctx/src/b.py"
printf 'node_modules\n*.tmp\n' >"$ctx/.dockerignore"
write_dockerfile() {  # $1: the dependency install command
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM busybox:1.36 AS deps
WORKDIR /app
COPY requirements.txt ./
RUN --mount=type=cache,target=/root/.cache $1
FROM deps AS build
ARG VERSION=1
COPY src/ ./src/
RUN cat src/*.py deps.txt > app.txt && echo "version \$VERSION" >> app.txt
FROM busybox:1.36
COPY --from=build /app/app.txt /app.txt
CMD ["cat", "/app.txt"]
DOCKERFILE
}
write_dockerfile 'sed "s/^/installed /" requirements.txt > deps.txt'

n=0
build() {  # build [flags]: builds into report $work/r$n.json
  n=$((n + 1))
  cb build --progress=plain --report "$work/r$n.json" -t app:1 "$@" "$ctx" >"$work/log$n" 2>&1 ||
    { cat "$work/log$n"; fail "build $n"; }
}
# step INSTRUCTION-PREFIX: "hit" or the miss reason of that step in the last report
step() {
  jq -r --arg p "$1" '[.steps[] | select(.instruction | startswith($p))][0] | if .cached then "hit" else .reason end' \
    "$work/r$n.json"
}
expect() {  # expect INSTRUCTION-PREFIX WANT
  local got
  got=$(step "$1")
  [ "$got" = "$2" ] || { jq -c '.steps[] | [.instruction, .cached, .reason]' "$work/r$n.json"; fail "build $n: '$1' gave '$got', want '$2'"; }
}
all_hit() {
  [ "$(jq '.totals.executed' "$work/r$n.json")" = 0 ] || { jq -c '.steps[] | [.instruction, .cached, .reason]' "$work/r$n.json"; fail "build $n ($1): steps executed"; }
}

build
expect "COPY requirements.txt" "new step"
expect "RUN cat src" "new step"
first_id=$(jq -r .image "$work/r$n.json")
grep -q '^#[0-9]* \[deps 4/4\] RUN --mount' "$work/log$n" || fail "plain progress format"
grep -Eq '^[0-9]+ steps, 0 cached, [0-9]+ executed \(0% hits\)' "$work/log$n" || fail "summary line"

build; all_hit "unchanged rebuild"
[ "$(jq -r .image "$work/r$n.json")" = "$first_id" ] || fail "a cached rebuild changed the image id"
grep -q 'CACHED' "$work/log$n" || fail "CACHED not shown"

touch "$ctx/src/a.py" "$ctx/requirements.txt"
build; all_hit "touch only"

echo junk >"$ctx/notes.tmp"; mkdir -p "$ctx/node_modules"; echo x >"$ctx/node_modules/m.js"
build; all_hit "ignored files"

sed -i '1i # a comment' "$ctx/Dockerfile"
build; all_hit "Dockerfile comment"

echo "print a2" >"$ctx/src/a.py"
build
expect "COPY requirements.txt" hit
expect "RUN --mount" hit
expect "COPY src/" "file changed: src/a.py"
expect "RUN cat src" "parent rebuilt"
expect "COPY --from=build" "build rebuilt"

build --build-arg VERSION=2
expect "COPY src/" hit
expect "RUN cat src" "build arg VERSION changed"

build --build-arg VERSION=2; all_hit "same build arg"

# Early cutoff: the install command is reformatted but produces the same deps.txt: it
# re-runs, and everything after it stays cached (BuildKit and buildah re-run them all).
write_dockerfile 'sed  "s/^/installed /"   requirements.txt  >  deps.txt'
build --build-arg VERSION=2
expect "RUN --mount" "instruction changed"
expect "COPY src/" hit
expect "RUN cat src" hit
expect "COPY --from=build" hit

echo "libfoo 2.0" >"$ctx/requirements.txt"
build --build-arg VERSION=2
expect "COPY requirements.txt" "file changed: requirements.txt"
expect "RUN --mount" "parent rebuilt"
expect "COPY src/" "parent rebuilt"

build --build-arg VERSION=2 --no-cache-filter build
expect "COPY requirements.txt" hit
expect "COPY src/" "--no-cache-filter build"

build --build-arg VERSION=2 --no-cache
expect "COPY requirements.txt" "--no-cache"

# Revert everything: back to the first image, all from cache.
echo "libfoo 1.0" >"$ctx/requirements.txt"
echo "print a" >"$ctx/src/a.py"
write_dockerfile 'sed "s/^/installed /" requirements.txt > deps.txt'
build; all_hit "revert"

# Two builds at once share the store safely.
echo "print c" >"$ctx/src/c.py"
cb build --progress=quiet -t app:c1 "$ctx" >/dev/null 2>"$work/c1" & p1=$!
cb build --progress=quiet -t app:c2 "$ctx" >/dev/null 2>"$work/c2" & p2=$!
wait $p1 || { cat "$work/c1"; fail "concurrent build 1"; }
wait $p2 || { cat "$work/c2"; fail "concurrent build 2"; }
[ "$(cb inspect app:c1 | jq -r '.[0].Id')" = "$(cb inspect app:c2 | jq -r '.[0].Id')" ] || fail "concurrent builds differ"
cb store check >/dev/null || fail "store check after concurrent builds"

# SOURCE_DATE_EPOCH: two builds from empty stores give the same image digest.
cb save busybox:1.36 -o "$work/busybox.tar"
for r in e1 e2; do
  "$CBUILD" --root "$work/$r" load -i "$work/busybox.tar" >/dev/null
  SOURCE_DATE_EPOCH=1700000000 "$CBUILD" --root "$work/$r" build --progress=quiet --metadata-file "$work/$r.json" "$ctx" >/dev/null
  sleep 1.1
done
d1=$(jq -r '."containerimage.digest"' "$work/e1.json")
d2=$(jq -r '."containerimage.digest"' "$work/e2.json")
[ -n "$d1" ] && [ "$d1" = "$d2" ] || fail "SOURCE_DATE_EPOCH builds differ: $d1 vs $d2"
echo "cache behaviour as expected over $n builds"
