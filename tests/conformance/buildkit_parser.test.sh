#!/usr/bin/env bash
# BuildKit parser conformance: `cbuild parse --dump` must reproduce every case's `result`
# byte for byte; every negative case must be rejected; testfile-line's ranges must match.
# Data is read from ../shared (next to the repository), never copied into it.
set -u
: "${CBUILD:?CBUILD must name the cbuild binary}"
: "${CBUILD_SOURCE_DIR:?CBUILD_SOURCE_DIR must name the source tree}"
shared="$CBUILD_SOURCE_DIR/../shared/conformance"
if [[ ! -d "$shared/buildkit-parser" ]]; then
  if [[ "${CI:-}" == true ]]; then
    echo "error: $shared/buildkit-parser not found (CI needs ../shared)" >&2
    exit 1
  fi
  echo "skipped: ../shared not found ($shared)"
  exit 77
fi

passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL $1"; failed=$((failed + 1)); }

for dir in "$shared"/buildkit-parser/*/; do
  name=$(basename "$dir")
  [[ -f "$dir/result" ]] || continue
  if ! "$CBUILD" parse --dump "$dir/Dockerfile" >"$tmp/out" 2>"$tmp/err"; then
    fail "$name: exit $?: $(head -1 "$tmp/err")"
  elif ! cmp -s "$tmp/out" "$dir/result"; then
    fail "$name: dump differs: $(diff "$dir/result" "$tmp/out" | head -3 | tr '\n' ' ')"
  else
    passed=$((passed + 1))
  fi
done

for dir in "$shared"/buildkit-parser-negative/*/; do
  name=$(basename "$dir")
  if "$CBUILD" parse --dump "$dir/Dockerfile" >"$tmp/out" 2>"$tmp/err"; then
    fail "negative/$name: accepted"
  elif ! grep -q "$dir/Dockerfile" "$tmp/err"; then
    fail "negative/$name: error does not name the file: $(head -1 "$tmp/err")"
  else
    passed=$((passed + 1))
  fi
done

line_case="$shared/buildkit-parser/testfile-line"
if [[ -f "$line_case/expected-lines.txt" ]]; then
  if "$CBUILD" parse --lines "$line_case/Dockerfile" >"$tmp/lines" 2>"$tmp/err" &&
    cmp -s "$tmp/lines" "$line_case/expected-lines.txt"; then
    passed=$((passed + 1))
  else
    fail "testfile-line: ranges differ: $(tr '\n' ' ' <"$tmp/lines") $(head -1 "$tmp/err")"
  fi
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
