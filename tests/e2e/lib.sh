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
