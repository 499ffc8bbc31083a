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

# ---- expectations: each names the line that failed and shows the output ----
# Inside a test_case, the first failed expectation ends the test.
_where() { echo "${BASH_SOURCE[3]##*/}:${BASH_LINENO[2]}"; }
_fail() {  # _fail MESSAGE : reports at the caller's caller
  echo "  FAILED at $(_where): $1"
  if [ -s "$LOG" ]; then echo "  --- output of the last command:"; sed 's/^/  | /' "$LOG" | tail -40; fi
  return 1
}
# expect_ok CMD... : CMD succeeds (its output goes to $LOG)
expect_ok() { "$@" >"$LOG" 2>&1 || _fail "expected success: $*"; }
# expect_fail CMD... : CMD fails (exit status != 0), output in $LOG
expect_fail() { if "$@" >"$LOG" 2>&1; then _fail "expected failure: $*"; fi; }
# expect_log PATTERN / expect_no_log PATTERN : grep -E in the last command's output
expect_log() { grep -Eq -- "$1" "$LOG" || _fail "output lacks /$1/"; }
expect_no_log() { if grep -Eq -- "$1" "$LOG"; then _fail "output has /$1/"; fi; }
# expect_eq ACTUAL EXPECTED [WHAT]
expect_eq() { [ "$1" = "$2" ] || _fail "${3:-value}: got '$1', expected '$2'"; }
# expect_same FILE1 FILE2 : byte-identical
expect_same() { cmp -s "$1" "$2" || _fail "$1 differs from $2"; }
expect_file() { [ -f "$1" ] || _fail "no file $1"; }
expect_no_file() { if [ -e "$1" ] || [ -L "$1" ]; then _fail "$1 should not exist"; fi; }
# expect_true CMD... : a test without output of its own ([ ], grep -q …)
expect_true() { "$@" || _fail "not true: $*"; }
expect_false() { if "$@"; then _fail "not false: $*"; fi; }

# test_case NAME FUNCTION : runs FUNCTION in a subshell, in a fresh
# directory with a fresh HOME (git identity set), stopping at the first
# failed command or expectation.
test_case() {
  local name=$1 fn=$2 dir
  dir="$SCRATCH/$fn"
  mkdir -p "$dir/home"
  (
    export HOME="$dir/home"
    git config --global user.email test@example.com
    git config --global user.name Test
    git config --global init.defaultBranch main
    git config --global advice.detachedHead false
    cd "$dir" || exit 1
    # Servers this test starts stop with it, and keep their files here.
    SERVER_PIDS=()
    SERVER_STATE=$dir
    unset S3_PORT S3_INNER_PORT S3_FRONT_PID
    trap stop_servers EXIT
    # A failing plain command names itself and its line as well.
    trap 'case $BASH_COMMAND in expect_*|_fail*|return*) ;; *) echo "  FAILED at ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND";; esac' ERR
    set -eE
    "$fn"
  ) > "$dir.out" 2>&1
  local rc=$?
  if [ $rc -eq 0 ]; then
    PASSED=$((PASSED + 1))
  else
    FAILED=$((FAILED + 1))
    echo "FAIL: $name ($fn, exit $rc)"
    sed 's/^/  /' "$dir.out" | tail -60
  fi
}

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
# kill_tagged TAG : kill -9 every git-zipllm process whose environment
# holds TAG (NAME=value, set on the command that started it), and nothing
# else on the machine: other suites run the same commands at the same time.
kill_tagged() {
  local e p
  for e in /proc/[0-9]*/environ; do
    p=${e#/proc/}; p=${p%/environ}
    if tr '\0' '\n' 2>/dev/null < "$e" | grep -qx -- "$1" &&
       tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline" | grep -q git-zipllm; then
      kill -9 "$p" 2>/dev/null || true
    fi
  done
}
stop_servers() { for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap stop_servers EXIT

# start_s3rver DATA_DIR BUCKET... : s3rver (the S3 test double) behind the
# verifying front (tests/servers/s3_verify_front.py: every signed request is
# re-signed with botocore and refused as AWS would refuse it). Sets S3_PORT
# and S3_ENDPOINT (the front), S3_PID (s3rver, which tests may kill and
# restart: the front and both ports stay), S3_FRONT_LOG. The front's region
# is S3_FRONT_REGION (default us-east-1).
start_s3rver() {
  local dir=$1; shift
  local STATE=${SERVER_STATE:-$SCRATCH}  # a test_case has its own
  [ -d "$SERVERS_DIR/node_modules/s3rver" ] || {
    echo "s3rver is not installed: run (cd tests/servers && npm ci) or ./install.sh --test" >&2; return 1; }
  rm -f "$STATE/s3.inner.port"
  # s3rver encrypts ListObjectsV2 continuation tokens with DES, which
  # OpenSSL 3 keeps in its legacy provider: without it every listing past
  # 1,000 keys fails with a 500.
  local legacy=()
  if node --openssl-legacy-provider -e 0 >/dev/null 2>&1; then legacy=(--openssl-legacy-provider); fi
  S3RVER_PORT=${S3_INNER_PORT:-0} node "${legacy[@]}" "$SERVERS_DIR/s3rver.js" "$dir" "$STATE/s3.inner.port" "$@" \
    >>"$STATE/s3rver.log" 2>&1 &
  S3_PID=$!
  SERVER_PIDS+=("$S3_PID")
  for _ in $(seq 1 100); do
    [ -s "$STATE/s3.inner.port" ] && break
    sleep 0.1
  done
  [ -s "$STATE/s3.inner.port" ] || { echo "s3rver did not start" >&2; cat "$STATE/s3rver.log" >&2; return 1; }
  S3_INNER_PORT=$(cat "$STATE/s3.inner.port")
  if [ -z "${S3_FRONT_PID:-}" ] || ! kill -0 "$S3_FRONT_PID" 2>/dev/null; then
    S3_FRONT_LOG="$STATE/s3front.log"
    rm -f "$STATE/s3.port"
    local buckets=()
    for b in "$@"; do buckets+=(--bucket "$b"); done
    /usr/bin/python3 "$SERVERS_DIR/s3_verify_front.py" --upstream "127.0.0.1:$S3_INNER_PORT" \
      --port-file "$STATE/s3.port" --log "$S3_FRONT_LOG" --port "${S3_PORT:-0}" \
      --region "${S3_FRONT_REGION:-us-east-1}" --key S3RVER:S3RVER "${buckets[@]}" \
      >>"$STATE/s3front.err" 2>&1 &
    S3_FRONT_PID=$!
    SERVER_PIDS+=("$S3_FRONT_PID")
    for _ in $(seq 1 100); do
      [ -s "$STATE/s3.port" ] && break
      sleep 0.1
    done
    [ -s "$STATE/s3.port" ] || { echo "the S3 front did not start" >&2; cat "$STATE/s3front.err" >&2; return 1; }
  fi
  S3_PORT=$(cat "$STATE/s3.port")
  S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
}

# s3_front_verdicts : the front's REFUSED lines other than unknown access
# keys (which tests provoke on purpose); empty when every signed request
# was right.
s3_front_refusals() { grep '^REFUSED' "$S3_FRONT_LOG" | grep -v InvalidAccessKeyId || true; }

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

# repo_with_base_and_finetune DIR : a new repository DIR (entered) with the
# filter installed, base.safetensors and ft.safetensors (declared to be
# delta-coded against it) committed; $S is the stories260K folder.
repo_with_base_and_finetune() {
  expect_ok git zipllm install
  git init -q "$1" && cd "$1"
  expect_ok git zipllm track '*.safetensors'
  printf 'ft.safetensors zipllm-base=base.safetensors\n' >> .gitattributes
  cp "$S/base.bf16.safetensors" base.safetensors
  cp "$S/ftA_licenses.bf16.safetensors" ft.safetensors
  git add . && git commit -qm models
}

# make_model FILE BYTES [DTYPE] : a safetensors file with one tensor "w" of
# BYTES random bytes (BYTES a multiple of 4), so its object is stored loose
# when BYTES >= 256 KiB.
make_model() {
  local file=$1 bytes=$2 dtype=${3:-F32}
  local hdr="{\"w\":{\"dtype\":\"$dtype\",\"shape\":[$((bytes / 4))],\"data_offsets\":[0,$bytes]}}"
  while [ $(( ${#hdr} % 8 )) -ne 0 ]; do hdr="$hdr "; done
  { printf "\\x$(printf %02x $(( ${#hdr} & 255 )))\\x$(printf %02x $(( ${#hdr} >> 8 )))\\0\\0\\0\\0\\0\\0"
    printf '%s' "$hdr"; head -c "$bytes" /dev/urandom; } > "$file"
}

# object_path ID : the loose object file of ID in this repository's store
object_path() { echo ".git/zipllm/objects/${1:0:2}/${1:2}"; }
# tensor_id REV:PATH NAME : the object id of tensor NAME in that manifest
tensor_id() { git cat-file -p "$1" | grep "\"$2\"\$" | awk '{print $2}'; }
# flip_byte FILE OFFSET : changes one byte in place
flip_byte() {
  chmod u+w "$1"
  printf '\xa5' | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# start_listener LOG : an HTTP server on 127.0.0.1 that answers 403 to
# everything and logs each request's method, URL and headers to LOG (an
# attacker's endpoint, for tests that nothing is sent there); sets
# LISTEN_PORT.
start_listener() {
  local log=$1
  rm -f "$SCRATCH/listen.port"
  node -e '
    const fs = require("fs");
    const s = require("http").createServer((req, res) => {
      fs.appendFileSync(process.argv[1], req.method + " " + req.url + " " + JSON.stringify(req.headers) + "\n");
      res.writeHead(403); res.end();
    });
    s.listen(0, "127.0.0.1", () => fs.writeFileSync(process.argv[2], String(s.address().port)));
  ' "$log" "$SCRATCH/listen.port" >>"$SCRATCH/listener.err" 2>&1 &
  SERVER_PIDS+=("$!")
  for _ in $(seq 1 100); do [ -s "$SCRATCH/listen.port" ] && break; sleep 0.05; done
  LISTEN_PORT=$(cat "$SCRATCH/listen.port")
  : >> "$log"
}

# pkt TEXT : one pkt-line packet holding TEXT (printf escapes allowed)
pkt() { local s; s=$(printf "$1"; echo x); s=${s%x}; printf '%04x%s' $(( ${#s} + 4 )) "$s"; }
flush_pkt() { printf '0000'; }

# start_aws_fakes [ARGS...] : fake IMDSv2, container-credentials and STS
# endpoints (tests/servers/aws_fakes.py); sets AWS_FAKES (http://127.0.0.1:PORT)
# and AWS_FAKES_LOG.
start_aws_fakes() {
  AWS_FAKES_LOG="$PWD/aws_fakes.log"
  rm -f "$PWD/aws_fakes.port"
  /usr/bin/python3 "$SERVERS_DIR/aws_fakes.py" --port-file "$PWD/aws_fakes.port" --log "$AWS_FAKES_LOG" "$@" \
    >>"$PWD/aws_fakes.err" 2>&1 &
  SERVER_PIDS+=("$!")
  for _ in $(seq 1 100); do [ -s "$PWD/aws_fakes.port" ] && break; sleep 0.05; done
  AWS_FAKES="http://127.0.0.1:$(cat "$PWD/aws_fakes.port")"
  : >> "$AWS_FAKES_LOG"
}

# write_unrelated SRC FILE [SEED] : a model with SRC's tensor names, shapes and
# value statistics but every element moved elsewhere: what retraining from
# scratch looks like.
write_unrelated() {
  python3 - "$1" "$2" "${3:-12}" <<'EOF'
import json, random, struct, sys
src, dst, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(src, 'rb').read()
n = struct.unpack('<Q', data[:8])[0]
header = json.loads(data[8:8 + n])
body = bytearray(data[8 + n:])
rng = random.Random(seed)
for name, t in header.items():
    if name == '__metadata__':
        continue
    b, e = t['data_offsets']
    words = [bytes(body[i:i + 2]) for i in range(b, e, 2)]
    rng.shuffle(words)
    body[b:e] = b''.join(words)
open(dst, 'wb').write(data[:8 + n] + bytes(body))
EOF
}
