#!/usr/bin/env bash
# `cbuild plan`: the README example, JSON output, build args from the environment,
# --target pruning, and located errors with exit code 3 (bad input).
set -euo pipefail
: "${CBUILD:?path of the cbuild binary}" "${CBUILD_SOURCE_DIR:?source dir}"
example="$CBUILD_SOURCE_DIR/testdata/examples/multistage/Dockerfile"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$CBUILD" plan -f "$example" > "$tmp/text"
grep -q '^target: stage 2 (final)$' "$tmp/text" || fail "text target line"
grep -q 'COPY --from=build --chmod=0755 /out/bin/ /opt/hello/bin/' "$tmp/text" || fail "expanded COPY"
grep -q 'needs: step 4; stage 1 (build)' "$tmp/text" || fail "stage dependency"

APP_NAME=fromenv "$CBUILD" plan -f "$example" --build-arg APP_NAME --target build --format json > "$tmp/json"
python3 - "$tmp/json" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
assert plan["version"] == 1
assert [s["name"] for s in plan["stages"]] == ["deps", "build"], plan["stages"]
env = plan["stages"][1]["env"]
assert "APP_HOME=/opt/fromenv" in env, env
run = plan["stages"][0]["steps"][3]
assert run["mounts"][0]["type"] == "cache" and run["mounts"][0]["sharing"] == "locked"
PY

set +e
"$CBUILD" plan -f "$example" --target nope 2> "$tmp/err"; rc=$?
set -e
[ "$rc" = 3 ] || fail "unknown target exit code $rc"
grep -q 'target stage "nope" could not be found' "$tmp/err" || fail "unknown target message"

printf 'FROM busybox\n\nRUN --mount=type=cache,taget=/x true\n' > "$tmp/Dockerfile"
set +e
"$CBUILD" plan -f "$tmp/Dockerfile" 2> "$tmp/err"; rc=$?
set -e
[ "$rc" = 3 ] || fail "bad mount exit code $rc"
grep -q "Dockerfile:3: --mount=type=cache,taget=/x: unexpected key 'taget'" "$tmp/err" || fail "bad mount message"
echo "plan_cli: ok"
