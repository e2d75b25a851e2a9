# Shared by the end-to-end scripts (source it after defining fail()):
# a work directory the postgres user can reach, the collector with its
# embedded PostgreSQL on loopback ports, and cleanup of both.
#
#   e2e_init NAME                 work=/tmp/pkiwatch-NAME.XXXXXX, trap on EXIT
#   e2e_on_exit COMMAND...        run COMMAND at exit, before the collector stops
#   start_collector               sets collector_pid, grpc and http (host:port)
#   json_field FILE KEY

e2e_exit_hooks=()
collector_pid=""

e2e_init() {
  # The embedded cluster runs as user postgres when we are root: use a
  # directory that user can reach.
  work=$(mktemp -d "/tmp/pkiwatch-$1.XXXXXX")
  chmod 755 "$work"
  trap e2e_cleanup EXIT
}

e2e_on_exit() { e2e_exit_hooks+=("$*"); }

e2e_cleanup() {
  local hook
  for hook in "${e2e_exit_hooks[@]}"; do eval "$hook" || true; done
  if [ -n "$collector_pid" ]; then
    kill -TERM "$collector_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$collector_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$work"
}

json_field() {  # json_field FILE KEY
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

start_collector() {
  head -c 32 /dev/urandom | base64 > "$work/enroll.secret"
  "$collector_bin" --data-dir "$work/collector" --grpc-listen 127.0.0.1:0 \
    --http-listen 127.0.0.1:0 --enroll-secret-file "$work/enroll.secret" \
    --ready-file "$work/ready.json" > "$work/collector.log" 2>&1 &
  collector_pid=$!
  for _ in $(seq 1 600); do
    [ -s "$work/ready.json" ] && break
    kill -0 "$collector_pid" 2>/dev/null || { collector_pid=""; fail "collector exited before it was ready"; }
    sleep 0.1
  done
  [ -s "$work/ready.json" ] || fail "collector did not become ready within 60 s"
  grpc="127.0.0.1:$(json_field "$work/ready.json" grpc_port)"
  http="127.0.0.1:$(json_field "$work/ready.json" http_port)"
}

# python3's http.server on a free loopback port serving DIR; sets http_pid
# and http_port and stops the server at exit.
start_http_server() {  # start_http_server DIR
  python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$1" > "$work/http.log" 2>&1 &
  http_pid=$!
  e2e_on_exit 'kill "$http_pid" 2>/dev/null; wait "$http_pid" 2>/dev/null'
  for _ in $(seq 1 100); do grep -q "port" "$work/http.log" 2>/dev/null && break; sleep 0.1; done
  http_port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$work/http.log" | head -1)
  [ -n "$http_port" ] || fail "http.server did not start"
}
