#!/usr/bin/env bash
# `cbuild parse`: dump, line ranges, listing, JSON, stdin, and errors with FILE:LINE.
set -u
: "${CBUILD:?CBUILD must name the cbuild binary}"
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() {  # name, expected, actual
  if [[ "$2" == "$3" ]]; then
    passed=$((passed + 1))
  else
    echo "FAIL $1: expected [$2] got [$3]"
    failed=$((failed + 1))
  fi
}

printf '%s\n' '# build stage' 'FROM alpine AS build' 'RUN --mount=type=cache,target=/root/.cache \' \
  '    echo hi' 'COPY <<EOF /hello' 'hello' 'EOF' 'CMD ["sh"]' >"$tmp/Dockerfile"

check "dump" '(from "alpine" "AS" "build")
(run ["--mount=type=cache,target=/root/.cache"] "echo hi")
(copy "<<EOF" "/hello")
(cmd "sh")' "$("$CBUILD" parse --dump "$tmp/Dockerfile")"
check "dump from stdin" '(from "alpine" "AS" "build")' "$("$CBUILD" parse --dump - <"$tmp/Dockerfile" | head -1)"
check "lines" '2 8
2 2
3 4
5 7
8 8' "$("$CBUILD" parse --lines "$tmp/Dockerfile")"
check "listing" '      3-4 RUN ["--mount=type=cache,target=/root/.cache"] "echo hi"' \
  "$("$CBUILD" parse "$tmp/Dockerfile" | sed -n 2p)"
check "listing heredoc" '  heredoc "EOF": 6 bytes' "$("$CBUILD" parse "$tmp/Dockerfile" | sed -n 4p)"
json=$("$CBUILD" parse --format json "$tmp/Dockerfile")
check "json" 'hello
 build stage 4 True' "$(python3 -c 'import json,sys; d=json.load(sys.stdin); i=d["instructions"]
print(i[2]["heredocs"][0]["content"], i[0]["comments"][0], i[1]["end_line"], i[3]["json_form"])' <<<"$json")"

printf 'FROM a\nRUN <<EOF\nnever ends\n' >"$tmp/bad"
"$CBUILD" parse --dump "$tmp/bad" >"$tmp/out" 2>"$tmp/err"
check "error exit code" 3 $?
check "error message" "cbuild: $tmp/bad:2: unterminated heredoc \"EOF\"
RUN <<EOF
    ^" "$(cat "$tmp/err")"
check "no output on error" "" "$(cat "$tmp/out")"
"$CBUILD" parse --dump "$tmp/missing" 2>/dev/null
check "missing file fails" 1 $?

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
