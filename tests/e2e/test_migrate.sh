#!/usr/bin/env bash
# `git zipllm migrate import` / `info`: history committed before git-zipllm
# (plain blobs, Git LFS pointers) rewritten into manifests; every commit
# restores byte-exact, .git shrinks, nothing uncommitted is lost (issue 11).
. "$(dirname "$0")/lib.sh"
export PATH="$(dirname "$BIN"):$PATH"
S=$DATA/stories260K

# A model repository as people have them before git-zipllm: three versions
# of one model on main (v1 an annotated tag), a fine-tune on a branch, a
# README commit between them.
plain_history() {
  git init -q r && cd r
  echo "# model" > README.md
  cp "$S/base.bf16.safetensors" model.safetensors
  git add . && git commit -qm "base"
  git tag -a v1 -m "first release"
  cp "$S/ftA_licenses.bf16.safetensors" model.safetensors
  git commit -qam "fine-tune A"
  echo "more" >> README.md && git commit -qam "readme"
  git checkout -qb side
  mkdir -p sub && cp "$S/ftB_changelogs.bf16.safetensors" sub/other.safetensors
  git add sub && git commit -qm "fine-tune B on a branch"
  git checkout -q main
  cp "$S/ftA2_chain_manpages.bf16.safetensors" model.safetensors
  git commit -qam "fine-tune A2"
}

# "commit-subject path sha256" for every model file of every commit reachable
# from the refs, as checked out (the filter restores manifests).
contents() {
  local c p
  for c in $(git rev-list --all); do
    for p in $(git ls-tree -r --name-only "$c" | grep '\.safetensors$'); do
      git show "$c:$p" > /dev/null
      echo "$(git log -1 --format=%s "$c") $p $(git cat-file blob "$c:$p" | git zipllm smudge "$p" | sha256sum | cut -c1-64)"
    done
  done | sort
}

git_bytes() { du -sb .git | cut -f1; }

t_info_then_import() {
  plain_history
  before_refs=$(git for-each-ref --format='%(refname) %(objectname)')
  # Before: raw blobs (smudge passes what is not a manifest through).
  expected=$(contents)
  expect_ok git zipllm migrate info --everything
  expect_log 'nothing was changed'
  expect_log 'commits: +5, 5 would be rewritten'
  expect_log 'model files: +4 distinct versions'
  expect_log 'after import: .* = 0\.[0-9]+× of now'
  expect_eq "$(git for-each-ref --format='%(refname) %(objectname)')" "$before_refs" "refs after info"
  expect_true [ -z "$(ls .git/zipllm/tmp 2>/dev/null)" ]
  expect_eq "$(git config --local filter.zipllm.process || true)" "" "config after info"

  size_before=$(git_bytes)
  expect_ok git zipllm migrate import --everything
  expect_log 'rewrote 5 of 5 commits'
  expect_log 'refs/heads/main'
  expect_log 'refs/tags/v1'
  expect_log 'git reflog expire'
  # Every model file of every commit is a manifest now, and restores to what
  # it was.
  for c in $(git rev-list --all); do
    for p in $(git ls-tree -r --name-only "$c" | grep '\.safetensors$'); do
      expect_eq "$(git cat-file blob "$c:$p" | head -c 18)" "zipllm manifest v1" "$c:$p"
    done
  done
  expect_eq "$(contents)" "$expected" "restored contents"
  # Messages, authors and the shape of history are kept; the tag is still
  # annotated with its message.
  expect_eq "$(git log --format='%s|%an|%ad' main | tr '\n' ,)" \
    "fine-tune A2|Test|$(git log -1 --format=%ad main),readme|Test|$(git log -1 --format=%ad main~1),fine-tune A|Test|$(git log -1 --format=%ad main~2),base|Test|$(git log -1 --format=%ad main~3)," "log"
  expect_eq "$(git cat-file -t v1)" "tag"
  expect_eq "$(git tag -l --format='%(contents:subject)' v1)" "first release"
  expect_eq "$(git rev-parse v1^{commit})" "$(git rev-parse main~3)" "v1 on the new base commit"
  expect_eq "$(git merge-base main side)" "$(git rev-parse main~1)" "branch point"
  # .gitattributes says so in every commit with a model; the work tree is clean.
  expect_eq "$(git show main~3:.gitattributes)" "*.safetensors filter=zipllm diff=zipllm merge=zipllm -text"
  expect_eq "$(git status --porcelain)" "" "work tree after import"
  expect_same model.safetensors "$S/ftA2_chain_manpages.bf16.safetensors"
  # The old history goes once the reflog lets it go: .git shrinks.
  git reflog expire --expire-unreachable=now --all && git gc -q --prune=now
  size_after=$(git_bytes)
  echo "  .git: $size_before -> $size_after bytes"
  expect_true [ "$size_after" -lt "$size_before" ]
  expect_ok git zipllm verify
  # Running it again changes nothing.
  head=$(git rev-parse HEAD)
  expect_ok git zipllm migrate import --everything
  expect_log 'nothing to rewrite'
  expect_eq "$(git rev-parse HEAD)" "$head" "HEAD after a second import"
}

# A second user's clone of the migrated repository gets the files.
t_clone_after_import() {
  plain_history
  expect_ok git zipllm migrate import --everything
  cd .. && expect_ok git zipllm install && git clone -q r c && cd c
  expect_same model.safetensors "$S/ftA2_chain_manpages.bf16.safetensors"
  git checkout -q side
  expect_same sub/other.safetensors "$S/ftB_changelogs.bf16.safetensors"
  expect_eq "$(git status --porcelain)" "" "clone's work tree"
}

# Only the current branch by default; commits without models keep their ids.
t_current_branch_only() {
  git init -q r && cd r
  echo a > README.md && git add . && git commit -qm "no models yet"
  first=$(git rev-parse HEAD)
  cp "$S/base.bf16.safetensors" m.safetensors && git add . && git commit -qm base
  git branch keep
  kept=$(git rev-parse keep)
  expect_ok git zipllm migrate import
  expect_log 'rewrote 1 of 2 commits'
  expect_eq "$(git rev-parse keep)" "$kept" "a branch not named"
  expect_eq "$(git rev-parse main~1)" "$first" "a commit without models"
  expect_eq "$(git cat-file blob main:m.safetensors | head -c 18)" "zipllm manifest v1"
  expect_fail git zipllm migrate import nosuchbranch
  expect_log "'nosuchbranch' is not a branch or tag"
  # A run killed after moving the branch, before `git reset`, leaves the
  # old history's index: the next run says how to finish, not "commit".
  git read-tree main@{1}
  expect_fail git zipllm migrate import
  expect_log '`git reset` finishes it'
  git reset -q
  expect_eq "$(git status --porcelain)" "" "work tree after git reset"
  expect_ok git zipllm migrate import
  expect_log 'nothing to rewrite'
  # A change made after a finished import is a change.
  echo more >> m.safetensors
  expect_fail git zipllm migrate import
  expect_log 'changes not committed'
}

# Uncommitted work is never mixed into, or lost by, the rewrite.
t_refuses_dirty_work_tree() {
  plain_history
  before=$(git rev-parse main)
  cp "$S/ftC_copyright_lr1e-5.bf16.safetensors" model.safetensors
  expect_fail git zipllm migrate import
  expect_log 'changes not committed'
  expect_log 'model.safetensors'
  expect_eq "$(git rev-parse main)" "$before" "main"
  expect_same model.safetensors "$S/ftC_copyright_lr1e-5.bf16.safetensors"
}

# A Git LFS repository: pointers become manifests, from .git/lfs objects;
# a pointer whose object was never fetched is named, with the fix.
t_lfs_pointers() {
  git init -q r && cd r
  run git lfs install --local
  git lfs track '*.safetensors' > /dev/null
  cp "$S/base.bf16.safetensors" model.safetensors
  git add . && git commit -qm base
  cp "$S/ftA_licenses.bf16.safetensors" model.safetensors
  git commit -qam ftA
  expect_eq "$(git cat-file blob HEAD:model.safetensors | head -1)" "version https://git-lfs.github.com/spec/v1"
  expect_ok git zipllm migrate info
  expect_log '2 of them Git LFS objects'
  expect_ok git zipllm migrate import
  expect_log 'rewrote 2 of 2 commits'
  expect_eq "$(git cat-file blob HEAD:model.safetensors | head -c 18)" "zipllm manifest v1"
  expect_eq "$(git cat-file blob HEAD~1:model.safetensors | git zipllm smudge model.safetensors | sha256sum)" \
    "$(sha256sum < "$S/base.bf16.safetensors")"
  # Our line comes after LFS's, so it wins.
  expect_eq "$(tail -1 .gitattributes)" "*.safetensors filter=zipllm diff=zipllm merge=zipllm -text"
  expect_eq "$(git check-attr filter model.safetensors)" "model.safetensors: filter: zipllm"
  expect_eq "$(git status --porcelain)" "" "work tree after import"

  cd .. && git init -q r2 && cd r2
  run git lfs install --local
  git lfs track '*.safetensors' > /dev/null
  cp "$S/base.bf16.safetensors" model.safetensors
  git add . && git commit -qm base
  cp "$S/ftA_licenses.bf16.safetensors" model.safetensors
  git commit -qam ftA
  # Only the old version's object is missing (git status may re-clean the
  # work tree file, and git-lfs then stores it again).
  rm -rf .git/lfs/objects
  head=$(git rev-parse HEAD)
  expect_fail git zipllm migrate import
  expect_log "model.safetensors \\(commit $(git rev-parse --short=12 HEAD~1)\\) is a Git LFS pointer"
  expect_log 'git lfs fetch --all'
  expect_eq "$(git rev-parse HEAD)" "$head" "HEAD after a failed import"
}

# kill -9 at any point: no ref moves until every commit is written, the
# work tree is untouched, and the next run completes the job.
t_killed_import() {
  git init -q r && cd r
  make_model big.safetensors $((48 << 20))
  git add . && git commit -qm one
  make_model big.safetensors $((48 << 20))
  cp big.safetensors ../big.v2
  git add . && git commit -qm two
  head=$(git rev-parse HEAD)
  for delay in 0.05 0.3 0.8; do
    git-zipllm migrate import > /dev/null 2>&1 &  # the process itself, not git's dispatcher
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    now=$(git rev-parse HEAD)
    if [ "$now" = "$head" ]; then
      expect_eq "$(git cat-file blob HEAD:big.safetensors | head -c 18 | tr -d '\0')" "$(head -c 18 ../big.v2 | tr -d '\0')" "an untouched commit"
    fi
    expect_same big.safetensors ../big.v2
  done
  expect_ok git zipllm migrate import
  expect_eq "$(git cat-file blob HEAD:big.safetensors | head -c 18)" "zipllm manifest v1"
  expect_eq "$(git status --porcelain)" "" "work tree"
  expect_same big.safetensors ../big.v2
  rm big.safetensors && git checkout -q -- big.safetensors
  expect_same big.safetensors ../big.v2
  expect_ok git zipllm verify
  expect_ok git zipllm gc --older-than 0
}

test_case "migrate info changes nothing; import rewrites every ref byte-exact" t_info_then_import
test_case "a second user's clone of a migrated repository" t_clone_after_import
test_case "only the current branch by default" t_current_branch_only
test_case "a work tree with changes is refused" t_refuses_dirty_work_tree
test_case "Git LFS pointers become manifests" t_lfs_pointers
test_case "kill -9 during import loses nothing" t_killed_import
finish
