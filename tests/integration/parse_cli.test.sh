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

cat >"$tmp/Dockerfile" <<'DOCKERFILE'
# build stage
FROM alpine AS build
RUN --mount=type=cache,target=/root/.cache \
    echo hi
COPY <<EOF /hello
hello
