#!/usr/bin/env bash
# `cbuild compare` against a running docker daemon: a git repository with 6 commits
# (--git-range) and an edit script (--edits), with BuildKit; asserts on the JSON: every
# cbuild step paired with a docker step, the hits each tool reports per state, totals.
# Skipped (77) when no docker daemon answers (the CI machine may not run dockerd).
source "$CBUILD_SOURCE_DIR/tests/integration/image_lib.sh"
chmod 711 "$work"
docker=${DOCKER:-/usr/bin/docker}
[ -x "$docker" ] && "$docker" version --format '{{.Server.Version}}' >/dev/null 2>&1 || {
  echo "no docker daemon: skipped"
  exit 77
}
command -v jq >/dev/null || { echo "jq missing: skipped"; exit 77; }
base=cbuild-compare-test/busybox:$$
"$docker" import "$rootfs" "$base" >/dev/null
trap '"$docker" rmi -f "$base" cbuild-compare:latest >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cb import "$rootfs" "$base" >/dev/null

repo=$work/repo
mkdir -p "$repo/src"
cd "$repo"
git init -q .
git config user.email t@example.com
git config user.name test
cat >Dockerfile <<DOCKERFILE
FROM $base AS build
WORKDIR /app
COPY deps.txt ./
RUN sed 's/^/installed /' deps.txt > installed.txt
COPY src/ ./src/
RUN cat src/* installed.txt > app.txt
FROM $base
COPY --from=build /app/app.txt /app.txt
CMD ["cat", "/app.txt"]
DOCKERFILE
# Docker's cache outlives the test: a token unique to this run keeps its first build cold.
echo "libfoo 1 $$ $(date +%s%N)" >deps.txt
echo "a 1" >src/a.txt
git add -A && git commit -qm "initial"
echo "a 2" >src/a.txt && git commit -qam "source change"
echo "libfoo 2 $$ $(date +%s%N)" >deps.txt && git commit -qam "manifest change"
echo "README" >README && git add README && git commit -qm "unrelated file"
sed -i '1i # a comment' Dockerfile && git commit -qam "Dockerfile comment"
echo "a 1" >src/a.txt && git commit -qam "revert source"
first=$(git rev-list --max-parents=0 HEAD)

export DOCKER_BUILDKIT=1
cb compare --docker "$docker" --format json --git-range "$first..HEAD" "$repo" >"$work/git.json" 2>"$work/git.err" ||
  { cat "$work/git.err" "$work/git.json"; fail "compare --git-range"; }
jq -e '.states | length == 6' "$work/git.json" >/dev/null || fail "6 states expected"
# Every state: 6 cbuild steps, each paired with a docker step.
jq -e '[.states[] | .steps | length == 6 and all(.cbuild != null and .docker != null)] | all' "$work/git.json" \
  >/dev/null || { jq . "$work/git.json"; fail "steps not paired"; }
hits() { jq -r --arg t "$1" '[.states[] | "\(.[$t].hits)"] | join(" ")' "$work/git.json"; }
# cbuild (fresh store): the source change keeps WORKDIR, deps COPY and RUN; the manifest
# change only WORKDIR; README and comment hit all; the revert keeps the deps steps.
cbuild_hits=$(hits cbuild)
echo "cbuild hits per state: $cbuild_hits; docker: $(hits docker)"
[ "$cbuild_hits" = "0 3 1 6 6 3" ] || fail "cbuild hits per state: $cbuild_hits, expected 0 3 1 6 6 3"
# docker: the unrelated file and the Dockerfile comment leave every step cached.
[ "$(hits docker | cut -d' ' -f4,5)" = "6 6" ] || fail "docker hits per state: $(hits docker)"
jq -e '.states[1].steps[3].cbuild.reason | test("src/a.txt")' "$work/git.json" >/dev/null ||
  fail "miss reason should name src/a.txt"
jq -e '.totals.cbuild.steps == 36 and .totals.docker.steps == 36 and .totals.cbuild.hits == 19' \
  "$work/git.json" >/dev/null || fail "totals"
grep -q 'state 6/6' "$work/git.err" || fail "progress lines on stderr"

# An edit script on a plain directory, table output, the legacy builder.
ctx=$work/ctx
mkdir -p "$ctx"
git -C "$repo" archive "$first" | tar -x -C "$ctx"
cat >"$work/edits" <<'EDITS'
# state 1 is the context as it is
--- state source
echo "a 3" > src/a.txt
--- state touch
touch src/a.txt deps.txt
--- state arg-in-name
[ "$COMPARE_STATE" = arg-in-name ] && echo "b" > src/b.txt
EDITS
cb compare --docker "$docker" --docker-builder legacy --edits "$work/edits" "$ctx" >"$work/table" 2>"$work/edits.err" ||
  { cat "$work/edits.err" "$work/table"; fail "compare --edits"; }
cat "$work/table"
grep -q '^state 4/4: arg-in-name' "$work/table" || fail "4 states expected"
grep -Eq '^\s+\[build 5\] COPY src/ ./src/\s+miss\s+miss\s+file' "$work/table" || fail "source edit row"
grep -q '^docker legacy' "$work/table" || fail "totals row for docker legacy"
[ "$(cat "$ctx/src/a.txt")" = "a 1" ] || fail "the user's context must not be edited"
echo ok
