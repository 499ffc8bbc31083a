#!/usr/bin/env bash
# The protocols git and git-lfs speak to us, driven directly with malformed
# input: every bad message gets an answer or a clean failure, never a crash,
# a hang or a silent success.
. "$(dirname "$0")/lib.sh"
export PATH="$(dirname "$BIN"):$PATH"

# Issue 10, defect 14: filter-process exited 0 after a framing error.
t_filter_process_framing_error_fails() {
  git init -q r && cd r
  { pkt 'git-filter-client\n'; pkt 'version=2\n'; flush_pkt
    pkt 'capability=clean\n'; pkt 'capability=smudge\n'; flush_pkt
    pkt 'command=clean\n'; } > ../in
  expect_fail git-zipllm filter-process < ../in
  expect_log 'unexpected end of input|framing'
  # A bad length in the content section stops the process too.
  { pkt 'git-filter-client\n'; pkt 'version=2\n'; flush_pkt
    pkt 'capability=clean\n'; flush_pkt
    pkt 'command=clean\n'; pkt 'pathname=a.safetensors\n'; flush_pkt; printf 'zz12abc'; } > ../in2
  expect_fail git-zipllm filter-process < ../in2
  # A clean end between requests is success.
  { pkt 'git-filter-client\n'; pkt 'version=2\n'; flush_pkt
    pkt 'capability=clean\n'; flush_pkt; } > ../in3
  expect_ok git-zipllm filter-process < ../in3
}

# Issue 10, defect 14: the agent died (uncaught type_error) on mistyped
# fields and exited without answering on non-JSON lines.
t_lfs_agent_survives_bad_messages() {
  git init -q r && cd r
  mkdir ../store
  git config zipllm.url "$PWD/../store"
  git remote add origin ../nowhere.git
  local oid; oid=$(printf '%064d' 0 | tr 0 a)
  {
    echo '{"event":"init","operation":"upload","remote":"origin","concurrent":false,"concurrenttransfers":1}'
    echo '{"event":"upload","oid":12345,"size":10,"path":"x"}'
    echo '{"event":5}'
    echo "{\"event\":\"download\",\"oid\":\"$oid\",\"size\":\"big\"}"
    echo 'this is not json'
    echo '["an","array"]'
    echo "{\"event\":\"upload\",\"oid\":\"$oid\",\"size\":3}"
    echo "{\"event\":\"download\",\"oid\":\"$oid\",\"size\":3}"
    echo '{"event":"terminate"}'
  } > ../in
  expect_ok git-zipllm transfer < ../in
  expect_eq "$(wc -l < "$LOG")" 8 "answers"
  expect_eq "$(sed -n 1p "$LOG")" "{}"
  expect_eq "$(grep -c '"error"' "$LOG")" 7 "error answers"
  expect_eq "$(grep size "$LOG" | grep -c "\"oid\":\"$oid\"")" 1 "completion of the transfer with a bad size"
  expect_true grep -q '"code":404' "$LOG"
}

test_case "filter-process fails on a framing error" t_filter_process_framing_error_fails
test_case "the LFS agent answers malformed messages and keeps serving" t_lfs_agent_survives_bad_messages
finish
