# Shared helpers for end-to-end suites: a scratch dir kept on failure, a
# fresh HOME, inherited GIT_* variables cleared, output shown only on failure.
set -u
BIN=$(realpath "${1:?usage: test_x.sh path/to/git-zipllm}")
DATA=$(realpath "${ZIPLLM_TEST_DATA:?ZIPLLM_TEST_DATA not set}")
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/zipllm-e2e-XXXXXX")
export HOME="$SCRATCH/home"
mkdir -p "$HOME"
for v in $(env | grep -o '^GIT_[A-Z_]*' || true); do unset "$v"; done
PASSED=0
FAILED=0
LOG="$SCRATCH/log"

run() { "$@" >"$LOG" 2>&1; }

check() {  # check NAME COMMAND...
  local name=$1; shift
  if "$@" >>"$LOG.all" 2>&1; then
    PASSED=$((PASSED + 1))
  else
    FAILED=$((FAILED + 1))
    echo "FAIL: $name"
    echo "--- output of the last command:"; cat "$LOG" 2>/dev/null
  fi
}

finish() {
  echo "$PASSED passed, $FAILED failed"
  if [ "$FAILED" -eq 0 ]; then rm -rf "$SCRATCH"; else echo "scratch kept in $SCRATCH"; fi
  [ "$FAILED" -eq 0 ]
}

# ---- servers on 127.0.0.1, stopped when the suite exits ----
SERVERS_DIR=$(realpath "$(dirname "${BASH_SOURCE[0]}")/../servers")
SERVER_PIDS=()
stop_servers() { for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap stop_servers EXIT

# start_s3rver DATA_DIR BUCKET... : sets S3_PORT, S3_PID, S3_ENDPOINT. Reuses
# S3_PORT if set (a restart after a kill keeps the URL).
start_s3rver() {
  local dir=$1; shift
  [ -d "$SERVERS_DIR/node_modules/s3rver" ] || {
    echo "s3rver is not installed: run (cd tests/servers && npm ci) or ./install.sh --test" >&2; return 1; }
  rm -f "$SCRATCH/s3.port"
  S3RVER_PORT=${S3_PORT:-0} node "$SERVERS_DIR/s3rver.js" "$dir" "$SCRATCH/s3.port" "$@" \
    >>"$SCRATCH/s3rver.log" 2>&1 &
  S3_PID=$!
  SERVER_PIDS+=("$S3_PID")
  for _ in $(seq 1 100); do
    [ -s "$SCRATCH/s3.port" ] && break
    sleep 0.1
  done
  [ -s "$SCRATCH/s3.port" ] || { echo "s3rver did not start" >&2; cat "$SCRATCH/s3rver.log" >&2; return 1; }
  S3_PORT=$(cat "$SCRATCH/s3.port")
  S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
}

# s3rver_drop_torn_writes DATA_DIR : s3rver (the test double) writes an
# object's data, checksum and metadata as separate, non-atomic files, so a
# kill -9 mid-PUT can leave an empty metadata file, after which it answers
# every listing, even HEAD of the bucket, with HTTP 500. Real S3 never
# exposes a torn PUT; this removes such leftovers before a restart, as a
# real store's recovery would.
s3rver_drop_torn_writes() {
  node -e '
    const fs = require("fs"), path = require("path");
    const walk = (d) => fs.readdirSync(d, { withFileTypes: true })
      .flatMap((e) => e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
    const suffix = /\._S3rver_(object(\.md5)?|metadata\.json)$/;
    const stems = new Set(walk(process.argv[1]).filter((f) => suffix.test(f)).map((f) => f.replace(suffix, "")));
    for (const s of stems) {
      try { JSON.parse(fs.readFileSync(s + "._S3rver_metadata.json", "utf8")); fs.statSync(s + "._S3rver_object"); }
      catch { for (const x of ["._S3rver_object", "._S3rver_object.md5", "._S3rver_metadata.json"]) fs.rmSync(s + x, { force: true }); }
    }' "$1"
}

# start_git_http ROOT : serves the bare repositories under ROOT with git
# http-backend behind lighttpd; sets HTTP_URL (http://127.0.0.1:PORT).
start_git_http() {
  local root=$1 port
  port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  local backend
  backend="$(git --exec-path)/git-http-backend"
  cat > "$SCRATCH/lighttpd.conf" <<CONF
server.modules = ("mod_alias", "mod_cgi", "mod_setenv")
server.bind = "127.0.0.1"
server.port = $port
server.document-root = "$root"
server.errorlog = "$SCRATCH/lighttpd.err"
alias.url = ("/git/" => "$backend/")
cgi.assign = ("" => "")
setenv.add-environment = ("GIT_PROJECT_ROOT" => "$root", "GIT_HTTP_EXPORT_ALL" => "1")
CONF
  lighttpd -D -f "$SCRATCH/lighttpd.conf" >>"$SCRATCH/lighttpd.log" 2>&1 &
  SERVER_PIDS+=("$!")
  HTTP_URL="http://127.0.0.1:$port/git"
  for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
    sleep 0.1
  done
  echo "lighttpd did not start" >&2; cat "$SCRATCH/lighttpd.err" >&2 2>/dev/null; return 1
}

# s3_keys BUCKET PREFIX : number of keys under PREFIX (unsigned list).
s3_keys() {
  curl -s "$S3_ENDPOINT/$1?list-type=2&max-keys=100000&prefix=$2" | grep -o '<Key>' | wc -l
}
# s3_bytes BUCKET PREFIX : total size of the keys under PREFIX.
s3_bytes() {
  curl -s "$S3_ENDPOINT/$1?list-type=2&max-keys=100000&prefix=$2" |
    grep -o '<Size>[0-9]*</Size>' | sed 's/[^0-9]//g' | awk '{s+=$1} END {print s+0}'
}
