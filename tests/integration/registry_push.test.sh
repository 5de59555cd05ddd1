#!/usr/bin/env bash
# `cbuild push`, `login`, `logout` against Debian's docker-registry on 127.0.0.1 (random
# ports): push + skopeo inspect + pull back into a fresh store (same digest), re-push
# (blobs skipped), chunked upload, cross-repository mount, registry down; htpasswd registry
# with login/logout (wrong password, docker config, credential helper); token-auth registry
# (tests/support/registry/token_server.py, RS256 JWTs) with the bearer flow.
source "$(dirname "$0")/image_lib.sh"
source "$(dirname "$0")/registry_lib.sh"

cb import "$rootfs" test/busybox:1 >/dev/null
image_id=$(inspect "$work/root" test/busybox:1 Id)
export DOCKER_CONFIG=$work/docker-config CBUILD_AUTH_FILE=$work/cbuild-auth.json
# pushed_digest OUTPUT_FILE TAG: the digest of docker's "<tag>: digest: sha256:… size: N" line.
pushed_digest() { sed -n "s/^$2: digest: \(sha256:[0-9a-f]\{64\}\) size: [0-9]*$/\1/p" "$1"; }
# check_pulled NAME DIGEST: pulls NAME into a fresh store; same image ID and manifest digest.
check_pulled() {
  local root=$work/pulled-$RANDOM
  "$CBUILD" --root "$root" pull "$1" >"$work/pull.out" 2>&1 || fail "pull back $1: $(cat "$work/pull.out")"
  grep -q "Digest: $2" "$work/pull.out" || fail "pull back $1: digest: $(cat "$work/pull.out")"
  [[ $(inspect "$root" "$1" Id) == "$image_id" ]] || fail "pull back $1: another image ID"
  "$CBUILD" --root "$root" store check >/dev/null || fail "store check after pulling $1"
}

echo "== push (chunked, then monolithic), skopeo inspect, pull back"
start_registry plain
plain_port=$port
plain_pid=$registry_pid
uploads() { grep -c "\"$1 /v2/$2/blobs/uploads/" "$work/plain/log" || true; }
# First, while the image has no name on this registry (so nothing can be mounted): chunked.
cb push --chunk-size 4096 test/busybox:1 "127.0.0.1:$port/team/chunked:2" >"$work/push0" || fail "chunked push"
grep -q "Pushed 2 blobs" "$work/push0" || fail "chunked push: $(cat "$work/push0")"
layer_size=$(skopeo inspect --tls-verify=false --raw "docker://127.0.0.1:$port/team/chunked:2" | jq '.layers[0].size')
(($(uploads PATCH team/chunked) == (layer_size + 4095) / 4096)) ||
  fail "chunked: $(uploads PATCH team/chunked) PATCHes for $layer_size bytes in 4096-byte chunks"
chunk_digest=$(pushed_digest "$work/push0" 2)
name=127.0.0.1:$port/team/busybox:1
cb tag test/busybox:1 "$name"
cb push "$name" >"$work/push1" || fail "push: $(cat "$work/push1")"
cat "$work/push1"
grep -q "^The push refers to repository \[127.0.0.1:$port/team/busybox\]$" "$work/push1" || fail "push: header"
grep -Eq '^[0-9a-f]{12}: Pushed$' "$work/push1" || fail "push: no layer line"
grep -q "Pushed 2 blobs (.* bytes), 0 already present, 0 mounted" "$work/push1" || fail "push: counts"
digest=$(pushed_digest "$work/push1" 1)
[[ -n $digest ]] || fail "push: no digest line"
size=$(sed -n 's/^1: digest: .* size: \([0-9]*\)$/\1/p' "$work/push1")
skopeo inspect --tls-verify=false "docker://$name" >"$work/skopeo.json" || fail "skopeo inspect"
[[ $(jq -r .Digest "$work/skopeo.json") == "$digest" ]] || fail "skopeo sees digest $(jq -r .Digest "$work/skopeo.json")"
skopeo inspect --tls-verify=false --raw "docker://$name" >"$work/raw"
[[ sha256:$(sha256sum <"$work/raw" | cut -d' ' -f1) == "$digest" && $(stat -c %s "$work/raw") == "$size" ]] ||
  fail "raw manifest differs from the digest/size printed"
[[ $(skopeo inspect --tls-verify=false --raw --config "docker://$name" | sha256sum | cut -d' ' -f1) == "${image_id#sha256:}" ]] ||
  fail "config pushed differs"
(($(uploads PATCH team/busybox) == 0)) || fail "monolithic push sent PATCHes"
[[ $chunk_digest == "$digest" ]] || fail "chunked push gave digest $chunk_digest"
check_pulled "$name" "$digest"
check_pulled "127.0.0.1:$port/team/chunked:2" "$digest"

echo "== re-push skips existing blobs"
cb push "$name" >"$work/push2" || fail "re-push"
grep -Eq '^[0-9a-f]{12}: Layer already exists$' "$work/push2" || fail "re-push: $(cat "$work/push2")"
grep -q "Pushed 0 blobs (0 bytes), 2 already present" "$work/push2" || fail "re-push counts: $(cat "$work/push2")"
[[ $(pushed_digest "$work/push2" 1) == "$digest" ]] || fail "re-push: another digest"
(($(uploads POST team/busybox) == 2)) || fail "re-push opened uploads: $(uploads POST team/busybox) POSTs"

echo "== push by digest"
"$CBUILD" --root "$work/root" push -q test/busybox:1 "127.0.0.1:$port/team/bydigest@$digest" >"$work/push4" ||
  fail "push by digest"
[[ $(cat "$work/push4") == "127.0.0.1:$port/team/bydigest@$digest" ]] || fail "push -q: $(cat "$work/push4")"
expect_fail "manifest to push has digest $digest" \
  "$CBUILD" --root "$work/root" push test/busybox:1 "127.0.0.1:$port/team/bydigest@sha256:$(printf x | sha256sum | cut -d' ' -f1)"

echo "== cross-repository mount"
cb tag test/busybox:1 "127.0.0.1:$port/other/busybox:1"
cb push "127.0.0.1:$port/other/busybox:1" >"$work/push5" || fail "mount push"
grep -Eq '^[0-9a-f]{12}: Mounted from (team/busybox|team/bydigest|team/chunked)$' "$work/push5" ||
  fail "mount: $(cat "$work/push5")"
grep -q "Pushed 0 blobs (0 bytes), 0 already present, 2 mounted" "$work/push5" || fail "mount counts"
grep -q '"POST /v2/other/busybox/blobs/uploads/?mount=sha256:[0-9a-f]*&from=' "$work/plain/log" ||
  fail "no mount request in the registry log"
check_pulled "127.0.0.1:$port/other/busybox:1" "$digest"

echo "== errors: no such image, registry down"
expect_fail "no such image" "$CBUILD" --root "$work/root" push "127.0.0.1:$port/nope:1"
stop_pid "$plain_pid"
expect_fail "cannot reach registry \`127.0.0.1:$plain_port\`.*(connect|Connection refused)" \
  "$CBUILD" --root "$work/root" push "$name"

echo "== htpasswd registry: login, push, logout"
htpasswd -Bbn alice s3cret >"$work/htpasswd"
start_registry auth "{htpasswd: {realm: cbuild-test, path: $work/htpasswd}}"
name=127.0.0.1:$port/private/busybox:1
cb tag test/busybox:1 "$name"
expect_fail "registry \`127.0.0.1:$port\`, repository \`private/busybox\`: unauthorized.*HTTP 401" \
  "$CBUILD" --root "$work/root" push "$name"
expect_fail "login to \`127.0.0.1:$port\` as \`alice\`: .*registry \`127.0.0.1:$port\`: unauthorized.*HTTP 401" \
  "$CBUILD" login -u alice -p wrong "127.0.0.1:$port"
[[ ! -e $DOCKER_CONFIG/config.json ]] || fail "failed login wrote the config"
mkdir -p "$DOCKER_CONFIG"
echo '{"experimental": "enabled", "auths": {"other.example": {"auth": "eDp5"}}}' >"$DOCKER_CONFIG/config.json"
"$CBUILD" login -u alice --password-stdin "127.0.0.1:$port" <<<"s3cret" >"$work/out" || fail "login"
grep -q "^Login Succeeded$" "$work/out" || fail "login output: $(cat "$work/out")"
[[ $(stat -c %a "$DOCKER_CONFIG/config.json") == 600 ]] || fail "config mode $(stat -c %a "$DOCKER_CONFIG/config.json")"
[[ $(jq -r --arg k "127.0.0.1:$port" '.auths[$k].auth' "$DOCKER_CONFIG/config.json" | base64 -d) == alice:s3cret ]] ||
  fail "login stored: $(cat "$DOCKER_CONFIG/config.json")"
[[ $(jq -r '.experimental + " " + .auths["other.example"].auth' "$DOCKER_CONFIG/config.json") == "enabled eDp5" ]] ||
  fail "login lost other fields"
cb push "$name" >"$work/push6" || fail "push after login: $(cat "$work/err")"
digest=$(pushed_digest "$work/push6" 1)
[[ $(skopeo inspect --tls-verify=false --creds alice:s3cret "docker://$name" | jq -r .Digest) == "$digest" ]] ||
  fail "skopeo inspect of the authenticated push"
"$CBUILD" logout "127.0.0.1:$port" >"$work/out"
grep -q "^Removing login credentials for 127.0.0.1:$port$" "$work/out" || fail "logout: $(cat "$work/out")"
[[ $(jq -r --arg k "127.0.0.1:$port" '.auths | has($k)' "$DOCKER_CONFIG/config.json") == false ]] ||
  fail "logout left the credentials"
[[ $(jq -r '.auths["other.example"].auth' "$DOCKER_CONFIG/config.json") == eDp5 ]] || fail "logout removed others"
"$CBUILD" logout "127.0.0.1:$port" | grep -q "^Not logged in to 127.0.0.1:$port$" || fail "second logout"
expect_fail "unauthorized.*HTTP 401" "$CBUILD" --root "$work/root" push "$name"

echo "== credential helper (credsStore)"
mkdir -p "$work/bin"
cat >"$work/bin/docker-credential-cbtest" <<'HELPER'
#!/bin/bash
store=$CBTEST_STORE
case $1 in
  store) cat >"$store" ;;
  get) read -r url
       if [[ -s $store ]] && [[ $(jq -r .ServerURL "$store") == "$url" ]]; then jq -c '{Username, Secret}' "$store"
       else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) read -r url; echo "$url" >"$store.erased"; rm -f "$store" ;;
esac
HELPER
chmod +x "$work/bin/docker-credential-cbtest"
export PATH=$work/bin:$PATH CBTEST_STORE=$work/helper-store
echo '{"credsStore": "cbtest"}' >"$DOCKER_CONFIG/config.json"
"$CBUILD" login -u alice -p s3cret "127.0.0.1:$port" >/dev/null 2>&1 || fail "login with a helper"
[[ $(jq -r '.ServerURL + " " + .Username + " " + .Secret' "$CBTEST_STORE") == "127.0.0.1:$port alice s3cret" ]] ||
  fail "helper got: $(cat "$CBTEST_STORE")"
[[ $(jq -c --arg k "127.0.0.1:$port" '.auths[$k]' "$DOCKER_CONFIG/config.json") == "{}" ]] ||
  fail "config with helper: $(cat "$DOCKER_CONFIG/config.json")"
cb push "$name" >/dev/null || fail "push with helper credentials"
"$CBUILD" logout "127.0.0.1:$port" >/dev/null
[[ ! -e $CBTEST_STORE && $(cat "$CBTEST_STORE.erased") == "127.0.0.1:$port" ]] || fail "logout did not erase"
echo '{}' >"$DOCKER_CONFIG/config.json"

echo "== token-auth registry (bearer flow)"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/token.key" -out "$work/token.crt" -days 2 \
  -subj /CN=cbuild-test-token 2>/dev/null
start_python token token_server.py "$work/token.key" "$work/token.crt" "$work/token.port" "$work/token.log" \
  --user bob:hunter2 --issuer cbuild-test-issuer --service cbuild-test
token_port=$port
wait_http "http://127.0.0.1:$token_port/token"
start_registry token "{token: {realm: \"http://127.0.0.1:$token_port/token\", service: cbuild-test, \
issuer: cbuild-test-issuer, rootcertbundle: $work/token.crt}}"
name=127.0.0.1:$port/tok/busybox:1
cb tag test/busybox:1 "$name"
expect_fail "unauthorized.*HTTP 401" "$CBUILD" --root "$work/root" push "$name"
expect_fail "login to \`127.0.0.1:$port\` as \`bob\`: authenticate to registry \`127.0.0.1:$port\`: token server http://127.0.0.1:$token_port/token refused the credentials" \
  "$CBUILD" login -u bob -p wrong "127.0.0.1:$port"
"$CBUILD" login -u bob --password-stdin "127.0.0.1:$port" <<<"hunter2" >/dev/null || fail "token login: $(cat "$work/err")"
cb push "$name" >"$work/push7" || fail "push with bearer token"
digest=$(pushed_digest "$work/push7" 1)
grep -q "^user=bob scopes=repository:tok/busybox:pull,push$" "$work/token.log" || fail "token scopes: $(cat "$work/token.log")"
[[ $(skopeo inspect --tls-verify=false --creds bob:hunter2 "docker://$name" | jq -r .Digest) == "$digest" ]] ||
  fail "skopeo inspect through the token server"
cb tag test/busybox:1 "127.0.0.1:$port/tok/copy:1"
cb push "127.0.0.1:$port/tok/copy:1" >"$work/push8" || fail "mount push with tokens"
grep -q "2 mounted" "$work/push8" || fail "token mount: $(cat "$work/push8")"
grep -q "^user=bob scopes=repository:tok/copy:pull,push repository:tok/busybox:pull$" "$work/token.log" ||
  fail "mount token scopes: $(cat "$work/token.log")"
check_pulled "$name" "$digest"
"$CBUILD" logout "127.0.0.1:$port" >/dev/null

echo "PASS"
