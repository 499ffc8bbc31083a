#!/usr/bin/env bash
# Faults: processes killed at any step, several at once, a full disk. Each
# test asserts that nothing is lost: no truncated or stray work tree file,
# no half-written object, `verify` clean afterwards.
. "$(dirname "$0")/lib.sh"
export PATH="$(dirname "$BIN"):$PATH"
S=$DATA/stories260K

new_repo() {
  expect_ok git zipllm install
  git init -q "$1"
  cd "$1"
  expect_ok git zipllm track '*.safetensors'
  git add .gitattributes
  git commit -qm attributes
}

# wait_for PID FIND_ARGS... : polls until `find` prints something (then 0)
# or PID exits (then 1).
wait_for() {
  local pid=$1; shift
  for _ in $(seq 1 2000); do
    [ -n "$(find "$@" 2>/dev/null | head -1)" ] && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.005
  done
  return 1
}

# Issue 10, defect 6: `gc --older-than 0` during an add deleted its spool.
# The clean's input pauses mid-stream, so the spool is idle (old by its
# mtime) while gc runs.
t_gc_spares_a_running_clean() {
  new_repo r
  make_model big.safetensors $((64 << 20))
  make_model other.safetensors $((64 << 20))
  { head -c $((8 << 20)) other.safetensors; sleep 1.5; tail -c +$(((8 << 20) + 1)) other.safetensors; } |
    git zipllm clean big.safetensors > ../manifest 2> ../clean.log &
  local pid=$!
  expect_true wait_for $pid .git/zipllm/tmp -name 'spool.tmp-*'
  sleep 0.5
  expect_ok git zipllm gc --older-than 0
  expect_true wait "$pid"
  expect_eq "$(sed -n 3p ../manifest)" "sha256 $(sha256sum other.safetensors | cut -d' ' -f1)"
}

test_case "gc spares the spool of a running clean" t_gc_spares_a_running_clean
finish
