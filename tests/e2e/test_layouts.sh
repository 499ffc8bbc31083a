#!/usr/bin/env bash
# Repository layouts git supports: --separate-git-dir, submodules, worktrees.
. "$(dirname "$0")/lib.sh"
export PATH="$(dirname "$BIN"):$PATH"
S=$DATA/stories260K

# Issue 10, defect 7: with GIT_DIR set and GIT_WORK_TREE not (git runs
# filters so in these layouts), the filter saw a bare repository and
# spooled every re-clean in full.
t_separate_git_dir() {
  expect_ok git zipllm install
  git init -q --separate-git-dir="$PWD/gitdir" wt
  cd wt
  expect_ok git zipllm track '*.safetensors'
  cp "$S/base.bf16.safetensors" model.safetensors
  git add . && git commit -qm model
  touch model.safetensors
  GIT_ZIPLLM_TRACE=1 git status --porcelain > "$LOG" 2>&1
  expect_log 'clean model.safetensors: same as the work tree file'
  expect_no_log 'spooled'
  expect_eq "$(git status --porcelain)" ""
  rm model.safetensors
  expect_ok git checkout -- model.safetensors
  expect_same model.safetensors "$S/base.bf16.safetensors"
  expect_true [ -d ../gitdir/zipllm/objects ]
}

t_submodule() {
  expect_ok git zipllm install
  git init -q sub
  cd sub
  expect_ok git zipllm track '*.safetensors'
  cp "$S/base.bf16.safetensors" model.safetensors
  git add . && git commit -qm model
  cd ..
  git init -q super
  cd super
  expect_ok git -c protocol.file.allow=always submodule add -q ../sub sub
  git commit -qm sub
  expect_same sub/model.safetensors "$S/base.bf16.safetensors"
  cd sub
  touch model.safetensors
  GIT_ZIPLLM_TRACE=1 git status --porcelain > "$LOG" 2>&1
  expect_log 'same as the work tree file'
  cp "$S/ftA_licenses.bf16.safetensors" model.safetensors
  git commit -qam ft
  expect_true git cat-file -p HEAD:model.safetensors | head -1 | grep -qx 'zipllm manifest v1'
}

test_case "--separate-git-dir: the filter knows the work tree" t_separate_git_dir
test_case "submodules: the filter knows the work tree" t_submodule
finish
