#!/usr/bin/env bash
# Two store writers at once (each also prunes now and then), then the same with both killed
# with SIGKILL mid-run; `cbuild store check` must pass after each round.
set -euo pipefail
: "${CBUILD:?path of the cbuild binary}"
root=$(mktemp -d "${TMPDIR:-/tmp}/cbuild-concurrent-XXXXXX")
trap 'rm -rf "$root" "$root".*' EXIT
cb() { "$CBUILD" --root "$root" "$@"; }

"$CBUILD" --root "$root" store torture --seconds 4 --writer a > "$root.a" &
pa=$!
"$CBUILD" --root "$root" store torture --seconds 4 --writer b > "$root.b" &
pb=$!
wait "$pa"
wait "$pb"
cat "$root.a" "$root.b"
grep -q "torture a: [1-9]" "$root.a"
grep -q "torture b: [1-9]" "$root.b"
rm -f "$root.a" "$root.b"
cb store check

for round in 1 2 3 4 5; do
  "$CBUILD" --root "$root" store torture --seconds 30 --writer "x$round" >/dev/null 2>"$root.x" &
  px=$!
  "$CBUILD" --root "$root" store torture --seconds 30 --writer "y$round" >/dev/null 2>"$root.y" &
  py=$!
  sleep "0.$((3 + RANDOM % 6))"
  kill -9 "$px" "$py"
  status=0; { wait "$px"; } 2>/dev/null || status=$?
  [ "$status" -eq 137 ] || { echo "writer x$round failed ($status)"; cat "$root.x"; exit 1; }
  status=0; { wait "$py"; } 2>/dev/null || status=$?
  [ "$status" -eq 137 ] || { echo "writer y$round failed ($status)"; cat "$root.y"; exit 1; }
done
cb store check
