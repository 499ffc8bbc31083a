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

# env names the machine facts a speed report needs: the codec kernel in
# use (and that GIT_ZIPLLM_SIMD caps it), how its tables are looked up
# (GIT_ZIPLLM_GATHER) and the threads, counting only the CPUs the process
# may run on (taskset; before, all the machine's).
t_env_machine() {
  expect_ok git zipllm env
  expect_true grep -Eq '^codec kernel +(scalar|avx2|avx512) ' "$LOG"
  expect_ok env GIT_ZIPLLM_SIMD=scalar git zipllm env
  expect_true grep -Eq '^codec kernel +scalar ' "$LOG"
  expect_ok env GIT_ZIPLLM_GATHER=on git zipllm env
  expect_true grep -Eq '^codec table lookups +gather ' "$LOG"
  expect_ok env GIT_ZIPLLM_GATHER=off git zipllm env
  expect_true grep -Eq '^codec table lookups +loads ' "$LOG"
  expect_ok taskset -c 0 git zipllm env
  expect_true grep -Eq '^threads +1 .*cores usable: 1 of' "$LOG"
  expect_ok env GIT_ZIPLLM_THREADS=3 taskset -c 0 git zipllm env
  expect_true grep -Eq '^threads +3 ' "$LOG"
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

# Issue 11: bash completion (completion/git-zipllm.bash, installed where
# bash-completion finds it): subcommands, flags from --help, remotes,
# tracked model files; for `git zipllm` and `git-zipllm`.
t_bash_completion() {
  local gitcomp=/usr/share/bash-completion/completions/git
  [ -f "$gitcomp" ] || _fail "git's bash completion is not at $gitcomp"
  expect_ok git zipllm install
  git init -q r && cd r && git remote add origin /nowhere && git remote add backup /nowhere
  expect_ok git zipllm track '*.safetensors'
  cp "$DATA/stories260K/base.bf16.safetensors" model.safetensors
  cp "$DATA/stories260K/ftA_licenses.bf16.safetensors" other.bin
  git add . && git commit -qm m
  cat >complete.sh <<EOF
. $gitcomp
. $DOCS/completion/git-zipllm.bash
t() { words=("\$@"); cword=\$((\${#words[@]} - 1)); cur="\${words[cword]}"; COMPREPLY=(); _git_zipllm
  echo "\$*: \${COMPREPLY[*]}"; }
t git zipllm tr
t git zipllm push ''
t git zipllm checkout ''
t git zipllm status --j
t git zipllm base ''
t git zipllm base add --f
t git-zipllm rep
t git zipllm migrate ''
t git zipllm migrate import ''
t git zipllm migrate info --ev
EOF
  expect_ok bash complete.sh
  # (each word comes with the space bash adds after it)
  expect_log '^git zipllm tr: track +trust +$'
  expect_log '^git zipllm push : backup +origin +$'
  expect_log '^git zipllm checkout : model.safetensors +$'
  expect_log '^git zipllm status --j: --json +$'
  expect_log '^git zipllm base : add +list +remove +suggest +$'
  expect_log '^git zipllm base add --f: --force +$'
  expect_log '^git-zipllm rep: repack +$'
  expect_log '^git zipllm migrate : import +info +$'
  expect_log '^git zipllm migrate import : main *$'
  expect_log '^git zipllm migrate info --ev: --everything +$'
}

# Issue 11: a command line a git user finds at home.
t_help_version_unknown() {
  expect_fail git zipllm trak
  expect_log "'trak' is not a git-zipllm command"
  expect_log 'The most similar command is'
  expect_log '	track'
  expect_ok git zipllm version
  expect_log '^git-zipllm [0-9]+\.[0-9]+'
  expect_ok git zipllm help track
  expect_log 'Usage: git-zipllm track'
  # The man page git shows for `git zipllm --help`, generated from the
  # binary: every visible command is in it.
  local man; man="$(dirname "$BIN")/git-zipllm.1"
  expect_file "$man"
  expect_true grep -q '^\.TH GIT-ZIPLLM 1' "$man"
  for c in track checkout prune verify push; do
    expect_true grep -q "^  $c " "$man"
  done
}

test_case "every GIT_ZIPLLM_ variable is in HACKING.md" t_env_table_documented
test_case "env: codec kernel, threads within the affinity mask" t_env_machine
test_case "every visible subcommand is in README.md" t_commands_documented
test_case "help, version, man page and unknown commands" t_help_version_unknown
test_case "bash completion: commands, flags, remotes, tracked files" t_bash_completion
finish
