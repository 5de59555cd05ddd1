# Shared setup for the registry_*.test.sh suites (sourced after image_lib.sh, not a test).
# Gives: start_registry (Debian's docker-registry on 127.0.0.1, a free port), stop_pid,
# free_port, wait_http, skopeo_push, inspect; every process started is stopped on exit and
# $work removed (kept when KEEP_WORK is set, for debugging).
for tool in docker-registry skopeo htpasswd python3 jq curl openssl; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done

pids=()
stop_pid() {  # PID: SIGTERM, up to 5 s to exit, then SIGKILL (a registry may linger)
  local pid=$1 i
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local pid
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
  [[ -n ${KEEP_WORK:-} ]] || rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {  # URL: wait until it answers (any HTTP status)
  for _ in $(seq 100); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.1
  done
  fail "nothing answers at $1"
}
# start_registry NAME [AUTH_YAML]: sets $port and $registry_pid; the log (with the access
# log: one line per request) is $work/NAME/log. AUTH_YAML is the value of `auth:`, e.g.
# "{htpasswd: {realm: r, path: FILE}}".
start_registry() {
  local dir=$work/$1
  mkdir -p "$dir/data"
  port=$(free_port)
  {
    echo "version: 0.1"
    echo "log: {level: error}"
    echo "storage: {filesystem: {rootdirectory: $dir/data}, delete: {enabled: true}}"
    echo "http: {addr: 127.0.0.1:$port}"
    [[ -n ${2:-} ]] && echo "auth: $2"
  } >"$dir/config.yml"
  docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
  registry_pid=$!
  pids+=("$registry_pid")
  wait_http "http://127.0.0.1:$port/v2/"
}
# start_python NAME SCRIPT ARGS...: runs a tests/support/registry script that writes its
# port to $work/NAME.port; sets $port.
start_python() {
  local name=$1 script=$2; shift 2
  local python
  python=$(command -v /usr/bin/python3 || command -v python3)  # not a shim that forks: we kill $!
  "$python" "$CBUILD_SOURCE_DIR/tests/support/registry/$script" "$@" &
  pids+=("$!")
  for _ in $(seq 100); do [[ -s $work/$name.port ]] && break; sleep 0.1; done
  port=$(cat "$work/$name.port")
}
skopeo_push() {  # SRC DEST [skopeo options]
  local src=$1 dest=$2; shift 2
  skopeo copy -q --dest-tls-verify=false "$@" "$src" "docker://$dest" >/dev/null
}
inspect() { "$CBUILD" --root "$1" inspect "$2" | jq -r ".[0].$3"; }
# make_multi_layout OCI_TAR DIR [LAYER_TGZ]: DIR becomes an OCI layout whose index.json names
# (ref "multi") an index of two platforms: linux/arm64/v8 (listed first: the image of OCI_TAR
# with an arm64 config, plus the gzip layer LAYER_TGZ when given) and linux/amd64 (the image
# of OCI_TAR). Sets amd_manifest, arm_manifest, arm_config, extra_blob, index_digest, index_size.
make_multi_layout() {
  local layout=$2 amd_size amd_config arm_config_size arm_size extra_diff="" extra_size=0
  mkdir -p "$layout"
  tar -xf "$1" -C "$layout"
  layout_blob() {  # FILE → prints "sha256:<hex> <size>", moving FILE into the layout
    local hex size
    hex=$(sha256sum "$1" | cut -d' ' -f1)
    size=$(stat -c %s "$1")
    mv "$1" "$layout/blobs/sha256/$hex"
    echo "sha256:$hex $size"
  }
  extra_blob=""
  if [[ -n ${3:-} ]]; then
    extra_diff=sha256:$(gzip -dc "$3" | sha256sum | cut -d' ' -f1)
    cp "$3" "$layout/extra"
    read -r extra_blob extra_size < <(layout_blob "$layout/extra")
  fi
  amd_manifest=$(jq -r '.manifests[0].digest' "$layout/index.json")
  amd_size=$(jq -r '.manifests[0].size' "$layout/index.json")
  amd_config=$(jq -r '.config.digest' "$layout/blobs/sha256/${amd_manifest#sha256:}")
  jq -c --arg d "$extra_diff" '.architecture="arm64" | .variant="v8" | if $d == "" then . else .rootfs.diff_ids += [$d] end' \
    "$layout/blobs/sha256/${amd_config#sha256:}" >"$layout/arm-config"
  read -r arm_config arm_config_size < <(layout_blob "$layout/arm-config")
  jq -c --arg d "$arm_config" --argjson s "$arm_config_size" --arg l "$extra_blob" --argjson ls "$extra_size" \
    '.config.digest=$d | .config.size=$s |
     if $l == "" then . else .layers += [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $l, size: $ls}] end' \
    "$layout/blobs/sha256/${amd_manifest#sha256:}" >"$layout/arm-manifest"
  read -r arm_manifest arm_size < <(layout_blob "$layout/arm-manifest")
  jq -n -c --arg a "$amd_manifest" --argjson asize "$amd_size" --arg r "$arm_manifest" --argjson rsize "$arm_size" '{
    schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $r, size: $rsize,
       platform: {architecture: "arm64", os: "linux", variant: "v8"}},
      {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $a, size: $asize,
       platform: {architecture: "amd64", os: "linux"}}]}' >"$layout/index"
  read -r index_digest index_size < <(layout_blob "$layout/index")
  jq -n -c --arg d "$index_digest" --argjson s "$index_size" '{schemaVersion: 2, manifests: [
    {mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $s,
     annotations: {"org.opencontainers.image.ref.name": "multi"}}]}' >"$layout/index.json"
}
