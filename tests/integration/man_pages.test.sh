#!/usr/bin/env bash
# Every subcommand has a man page that matches its --help (man/make-pages.sh), and the
# hand-written cbuild-build.1 documents every option of `cbuild build`.
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$CBUILD_SOURCE_DIR/man" "$tmp/man"
bash "$tmp/man/make-pages.sh" "$CBUILD"
status=0
for page in "$tmp"/man/cbuild-*.1; do
  name=$(basename "$page")
  if ! cmp -s "$page" "$CBUILD_SOURCE_DIR/man/$name"; then
    echo "man/$name is stale or missing: run man/make-pages.sh build/cbuild"
    status=1
  fi
done
for opt in $("$CBUILD" build --help | grep -o -- '--[a-z][a-z-]*' | grep -vx -- --help | sort -u); do
  escaped=${opt//-/\\-}
  grep -qF -- "$escaped" "$CBUILD_SOURCE_DIR/man/cbuild-build.1" || { echo "cbuild-build.1 lacks $opt"; status=1; }
done
exit $status
