# Library for tests that must also run as an unprivileged user (source it; needs root).
#   ensure_rootless_user     create user $CBUILD_TEST_USER (default cbuildtest) with a home and
#                            a 65536-id range in /etc/subuid and /etc/subgid (idempotent, locked)
#   run_as_rootless_user CMD...   run CMD as that user (HOME, TMPDIR and XDG_DATA_HOME set)
#   rootless_copy_dir        a fresh directory that user can read, for copies of test binaries
# Ranges never overlap existing entries nor cbuild's fixed root range 1000000-1065535.

CBUILD_TEST_USER=${CBUILD_TEST_USER:-cbuildtest}

_rootless_next_range() {
  local next=200000 f start count end
  for f in /etc/subuid /etc/subgid; do
    [ -f "$f" ] || continue
    while IFS=: read -r _ start count; do
      [[ "$start" =~ ^[0-9]+$ && "$count" =~ ^[0-9]+$ ]] || continue
      end=$((start + count))
      ((end > next)) && next=$end
    done <"$f"
  done
  if ((next + 65536 > 1000000 && next < 1065536)); then next=1065536; fi
  echo "$next"
}

ensure_rootless_user() {
  if [ "$(id -u)" != 0 ]; then
    echo "ensure_rootless_user: needs root" >&2
    return 77
  fi
  (
    flock 9
    id -u "$CBUILD_TEST_USER" >/dev/null 2>&1 || useradd -m -s /bin/sh "$CBUILD_TEST_USER"
    local f start
    for f in /etc/subuid /etc/subgid; do
      touch "$f"
      if ! grep -q "^$CBUILD_TEST_USER:" "$f"; then
        start=$(_rootless_next_range)
        echo "$CBUILD_TEST_USER:$start:65536" >>"$f"
      fi
    done
  ) 9>/run/cbuild-rootless-user.lock
}

run_as_rootless_user() {
  local home
  home=$(getent passwd "$CBUILD_TEST_USER" | cut -d: -f6)
  runuser -u "$CBUILD_TEST_USER" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" \
    TMPDIR=/tmp XDG_DATA_HOME="$home/.local/share" LANG=C.UTF-8 "$@"
}

rootless_copy_dir() {
  local dir
  dir=$(mktemp -d /tmp/cbuild-rootless-XXXXXX)
  chmod 755 "$dir"
  echo "$dir"
}
