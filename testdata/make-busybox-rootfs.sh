#!/usr/bin/env bash
# Builds a small busybox root filesystem tarball offline, from Debian's busybox-static:
#   /bin/busybox and one symlink per applet (from `busybox --list-full`), /etc/passwd and
#   /etc/group (root, nobody and `user` uid 1000), /tmp (1777), /root (0700), /home/user.
# The tarball is deterministic: sorted names, PAX format, numeric owner 0:0 (user's home
# 1000:1000), every mtime fixed (SOURCE_DATE_EPOCH, default 2024-01-01T00:00:00Z).
# Usage: make-busybox-rootfs.sh OUTPUT.tar[.gz]
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 OUTPUT.tar[.gz]" >&2
  exit 2
fi
out=$1
busybox=${BUSYBOX:-/bin/busybox}
epoch=${SOURCE_DATE_EPOCH:-1704067200}
if [[ ! -x $busybox ]]; then
  echo "$0: $busybox not found (apt-get install busybox-static)" >&2
  exit 1
fi

umask 022
work=$(mktemp -d "${TMPDIR:-/tmp}/busybox-rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,home/user,var,dev,proc,sys}
cp "$busybox" "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
while read -r applet; do
  [[ $applet == bin/busybox ]] && continue
  mkdir -p "$root/$(dirname "$applet")"
  ln -s /bin/busybox "$root/$applet"
done < <("$busybox" --list-full | LC_ALL=C sort)

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
user:x:1000:1000:user:/home/user:/bin/sh
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
user:x:1000:
EOF
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"

# Name list without a "./" prefix, sorted bytewise, so the archive is the same everywhere.
(cd "$root" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort) >"$work/names"
tmp_out="$out.tmp.$$"
# /home/user belongs to `user` (1000:1000) while everything else is 0:0. GNU tar sets one
# owner per run and a rootless caller cannot chown, so the sorted list is cut around that
# entry, archived in three runs and concatenated (tar -A): the order stays sorted.
pack() {  # pack OWNER NAMES-FILE ARCHIVE
  tar --format=pax --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    --mtime="@$epoch" --numeric-owner --owner="$1" --group="$1" --no-recursion \
    -C "$root" -T "$2" -cf "$3"
}
sed '/^home\/user$/,$d' "$work/names" >"$work/names1"
echo home/user >"$work/names2"
sed '1,/^home\/user$/d' "$work/names" >"$work/names3"
pack 0 "$work/names1" "$work/rootfs.tar"
pack 1000 "$work/names2" "$work/part2.tar"
pack 0 "$work/names3" "$work/part3.tar"
tar -Af "$work/rootfs.tar" "$work/part2.tar"
tar -Af "$work/rootfs.tar" "$work/part3.tar"

case $out in
  *.tar.gz | *.tgz) gzip -n -9 <"$work/rootfs.tar" >"$tmp_out" ;;
  *.tar.zst) zstd -q -19 <"$work/rootfs.tar" >"$tmp_out" ;;
  *) cp "$work/rootfs.tar" "$tmp_out" ;;
esac
mv -f "$tmp_out" "$out"
