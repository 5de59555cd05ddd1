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
