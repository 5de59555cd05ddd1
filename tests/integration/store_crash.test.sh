#!/usr/bin/env bash
# kill -9 at random moments: a store writer (`cbuild store torture`) is started and killed
# with SIGKILL 35 times; afterwards `cbuild store check` must find a consistent store (every
# blob complete and matching its digest, no row naming a missing blob or snapshot).
set -euo pipefail
: "${CBUILD:?path of the cbuild binary}"
root=$(mktemp -d "${TMPDIR:-/tmp}/cbuild-crash-XXXXXX")
trap 'rm -rf "$root" "$root".*' EXIT
cb() { "$CBUILD" --root "$root" "$@"; }

kills=0
inflight=0
for i in $(seq 1 35); do
  "$CBUILD" --root "$root" store torture --seconds 30 --writer "w$i" >/dev/null 2>"$root.err" &
  pid=$!
  # 20..419 ms: past startup, usually in the middle of a blob, rename or transaction.
  sleep "0.$(printf '%03d' $((20 + RANDOM % 400)))"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  status=0
  { wait "$pid"; } 2>/dev/null || status=$?
  if [ "$status" -ne 137 ]; then
    echo "torture run $i ended with status $status before the kill:"; cat "$root.err"; exit 1
  fi
  # Did the kill interrupt work in progress (temp files in its session)? The next writer's
  # open removes them, as the session's lock died with its owner.
  if [ -n "$(find "$root/tmp" -mindepth 2 -print -quit)" ]; then inflight=$((inflight + 1)); fi
done
rm -f "$root.err"
echo "killed $kills writers"

# The store really saw writes (the kills did not all land during startup).
blobs=$(find "$root/blobs/sha256" -type f | wc -l)
echo "blobs after the kills: $blobs"
[ "$blobs" -gt 10 ] || { echo "too few blobs written: $blobs"; exit 1; }

# Nothing under blobs/ except complete, digest-named files (check also re-hashes them).
if find "$root/blobs/sha256" -mindepth 1 -printf '%f\n' | grep -Ev '^[0-9a-f]{64}$'; then
  echo "stray files under blobs/"; exit 1
fi
echo "kills that interrupted a write in progress: $inflight"
[ "$inflight" -ge 3 ] || { echo "too few kills landed during a write"; exit 1; }
cb store check
# check opened the store, which removed the dead writers' temp sessions.
leftover=$(find "$root/tmp" -mindepth 1 -maxdepth 1 | wc -l)
[ "$leftover" -eq 0 ] || { echo "temp sessions of dead writers left: $leftover"; ls -la "$root/tmp"; exit 1; }

# A new writer and a prune work on the recovered store, and it stays consistent.
cb store torture --seconds 1 --writer after >/dev/null
cb prune -f >/dev/null
cb store check
cb du
