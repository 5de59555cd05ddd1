#!/usr/bin/env bash
# ADD of http URLs in a real build, against a local HTTP server: the file lands with the
# name from the URL, mode 0600 and the server's Last-Modified as mtime; --checksum is
# verified (a mismatch fails naming both digests, nothing is stored); a 404 fails with the
# status; an unchanged download is a cache hit, a changed one a miss.
source "$CBUILD_SOURCE_DIR/tests/integration/image_lib.sh"
chmod 711 "$work"
cb import "$rootfs" busybox:1.36 >/dev/null

mkdir -p "$work/www/files" "$work/ctx"
echo "payload one" >"$work/www/files/tool.txt"
touch -d '2015-06-07 08:09:10 UTC' "$work/www/files/tool.txt"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "$port" >"$work/http.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/files/tool.txt" >/dev/null && break; sleep 0.1; done
url=http://127.0.0.1:$port/files/tool.txt
sum=sha256:$(sha256sum "$work/www/files/tool.txt" | cut -d' ' -f1)

cat >"$work/ctx/Dockerfile" <<DOCKERFILE
FROM busybox:1.36
ADD $url /dl/
ADD --checksum=$sum $url /verified.txt
RUN stat -c '%a %Y' /dl/tool.txt > /meta
DOCKERFILE
cb build --progress=plain --report "$work/r1.json" -o "type=local,dest=$work/out" "$work/ctx" >"$work/log1" 2>&1 ||
  { cat "$work/log1"; fail "ADD URL build"; }
[ "$(cat "$work/out/dl/tool.txt")" = "payload one" ] && [ "$(cat "$work/out/verified.txt")" = "payload one" ] ||
  fail "downloaded content"

[ "$(cat "$work/out/meta")" = "600 $(date -d '2015-06-07 08:09:10 UTC' +%s)" ] ||
  fail "downloaded file mode/mtime: $(cat "$work/out/meta"), want 600 and Last-Modified"

cb build --progress=plain --report "$work/r2.json" "$work/ctx" >"$work/log2" 2>&1 || { cat "$work/log2"; fail "rebuild"; }
[ "$(jq '.totals.executed' "$work/r2.json")" = 0 ] || fail "unchanged download was not a cache hit"

echo "payload two" >"$work/www/files/tool.txt"
touch -d '2015-06-07 08:09:10 UTC' "$work/www/files/tool.txt"
before=$(store_state "$work/root")
status=0
cb build --progress=plain "$work/ctx" >"$work/log3" 2>&1 || status=$?
[ "$status" != 0 ] || fail "a checksum mismatch did not fail the build"
grep -q "checksum mismatch" "$work/log3" && grep -q "$sum" "$work/log3" || { cat "$work/log3"; fail "mismatch message"; }
grep -q "Dockerfile:3" "$work/log3" || { cat "$work/log3"; fail "mismatch error does not name Dockerfile:3"; }
[ "$(store_state "$work/root")" = "$before" ] || fail "a failed build changed the store"

sed -i '/--checksum/d' "$work/ctx/Dockerfile"
grep -A1 "ADD http.* /dl/" "$work/log3" | grep -q DONE || { cat "$work/log3"; fail "a changed download was a cache hit"; }
cb build --progress=plain -o "type=local,dest=$work/out4" "$work/ctx" >"$work/log4" 2>&1 || { cat "$work/log4"; fail "changed download"; }
[ "$(cat "$work/out4/dl/tool.txt")" = "payload two" ] || fail "changed download not in the image"

sed -i "s#$url#http://127.0.0.1:$port/files/missing.txt#" "$work/ctx/Dockerfile"
status=0
cb build --progress=plain "$work/ctx" >"$work/log5" 2>&1 || status=$?
[ "$status" != 0 ] && grep -q "404" "$work/log5" || { cat "$work/log5"; fail "404 not reported (exit $status)"; }
echo "ADD URL behaves as docker's"
