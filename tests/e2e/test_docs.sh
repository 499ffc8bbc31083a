#!/usr/bin/env bash
# The documentation tells the truth about the binary: every environment
# variable it reads is in HACKING.md's table, every subcommand in README.md.
. "$(dirname "$0")/lib.sh"
export PATH="$(dirname "$BIN"):$PATH"
DOCS=$(realpath "$(dirname "$0")/../..")

t_env_table_documented() {
  expect_ok git zipllm env
  local vars; vars=$(grep -o 'GIT_ZIPLLM_[A-Z0-9_]*' "$LOG" | sort -u)
  expect_true [ "$(echo "$vars" | wc -l)" -ge 10 ]
  for v in $vars; do
    expect_true grep -q "^| \`$v\` |" "$DOCS/HACKING.md"
  done
}

t_commands_documented() {
  expect_ok git-zipllm --help
  local cmds
  cmds=$(sed -n '/^Subcommands:/,$p' "$LOG" | awk 'NR>1 && /^  [a-z]/ {print $1}')
  expect_true [ "$(echo "$cmds" | wc -l)" -ge 15 ]
  for c in $cmds; do
    expect_true grep -Eq "git zipllm $c\b|\`$c\b" "$DOCS/README.md"
  done
}

test_case "every GIT_ZIPLLM_ variable is in HACKING.md" t_env_table_documented
test_case "every visible subcommand is in README.md" t_commands_documented
finish
