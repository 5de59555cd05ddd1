#!/usr/bin/env bash
# The store's commands end to end: `store check` (exit 1 and a message on a corrupt blob),
# `du` (table and JSON), `prune` flags and size parsing.
set -euo pipefail
: "${CBUILD:?path of the cbuild binary}"
root=$(mktemp -d "${TMPDIR:-/tmp}/cbuild-storecli-XXXXXX")
trap 'rm -rf "$root" "$root".*' EXIT
cb() { "$CBUILD" --root "$root" "$@"; }

cb store torture --seconds 1 --writer cli --seed 7 >/dev/null
cb store check | tail -n 1 | grep -q ': ok$'
cb du | grep -q '^images '
cb du --format json | jq -e 'map(.type) == ["images","layers","build cache","unreferenced","cache mounts","temporary"]' >/dev/null

# A blob whose content no longer matches its name is reported, removed, and check fails.
blob=$(find "$root/blobs/sha256" -type f -print -quit)
chmod u+w "$blob"
echo "bit rot" >> "$blob"
status=0
cb store check > "$root.out" || status=$?
[ "$status" -eq 1 ] || { echo "store check exited $status on a corrupt blob"; cat "$root.out"; exit 1; }
grep -q "problem: blob sha256:$(basename "$blob") is corrupt" "$root.out"
[ ! -e "$blob" ]

# Bad sizes are usage errors (exit 2); -f skips the prompt; --all and --cache-mounts empty the cache.
status=0
cb prune -f --keep-storage 10parsecs 2>"$root.err" || status=$?
[ "$status" -eq 2 ] && grep -q "invalid size" "$root.err"
cb prune -f --keep-storage 1GB | grep -q "^Total reclaimed space"
cb prune -f --all --cache-mounts | grep -q "^Total reclaimed space"
[ -z "$(ls "$root/cache-mounts")" ]
cb du --format json | jq -e '.[] | select(.type == "build cache" or .type == "cache mounts") | .size == 0' >/dev/null
[ "$(cb du --format json | jq '[.[] | select(.type == "build cache" or .type == "cache mounts") | .count] | add')" -eq 0 ]
