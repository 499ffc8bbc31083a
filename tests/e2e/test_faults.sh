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

# filter_of PID : the git-zipllm filter process git (PID) runs, if any.
filter_of() { pgrep -P "$1" -f 'git-zipllm filter-process' | head -1; }

# kill_filter_after GIT_PID SECONDS : kill -9 git's filter process once it
# has run for SECONDS (0: as soon as it exists).
kill_filter_after() {
  local gitpid=$1 delay=$2 f=""
  for _ in $(seq 1 400); do
    f=$(filter_of "$gitpid")
    [ -n "$f" ] && break
    kill -0 "$gitpid" 2>/dev/null || return 0
    sleep 0.01
  done
  [ -n "$f" ] || return 0
  sleep "$delay"
  kill -9 "$f" 2>/dev/null || true
}

# After any kill: the store holds no damage, nothing of ours is left in the
# work tree, and gc removes every temp file.
expect_nothing_lost() {
  expect_ok git zipllm verify
  expect_eq "$(find . -path ./.git -prune -o -name '*.tmp-*' -print)" "" "temp files in the work tree"
  expect_ok git zipllm gc --older-than 0
  expect_eq "$(find .git/zipllm -name '*.tmp-*')" "" "temp files in the store after gc"
}

t_killed_add_at_every_step() {
  new_repo r
  make_model big.safetensors $((96 << 20))
  cp "$S/base.bf16.safetensors" small.safetensors
  cp big.safetensors ../big.orig
  for delay in 0 0.05 0.2 0.5 1; do
    git add big.safetensors small.safetensors > /dev/null 2>&1 &
    local pid=$!
    kill_filter_after "$pid" "$delay"
    wait "$pid" || true
    # git either staged a manifest or nothing; the store is sound.
    if git cat-file -e :big.safetensors 2>/dev/null; then
      expect_true git cat-file -p :big.safetensors | head -1 | grep -qx 'zipllm manifest v1'
    fi
    expect_nothing_lost
    git reset -q
  done
  expect_ok git add big.safetensors small.safetensors
  git commit -qm models
  rm big.safetensors small.safetensors
  expect_ok git checkout -- .
  expect_same big.safetensors ../big.orig
  expect_same small.safetensors "$S/base.bf16.safetensors"
}

t_killed_git_checkout_at_every_step() {
  new_repo r
  make_model big.safetensors $((96 << 20))
  cp big.safetensors ../big.orig
  git add big.safetensors && git commit -qm big
  for delay in 0 0.05 0.2 0.5; do
    rm -f big.safetensors
    git checkout -- big.safetensors > /dev/null 2>&1 &
    local pid=$!
    kill_filter_after "$pid" "$delay"
    wait "$pid" || true
    # The file is whole or absent: never a truncated model.
    if [ -e big.safetensors ]; then
      expect_same big.safetensors ../big.orig
    fi
    expect_nothing_lost
  done
  git checkout -- big.safetensors
  expect_same big.safetensors ../big.orig
}

t_killed_push_at_every_step() {
  new_repo r
  mkdir ../store
  git config zipllm.url "$PWD/../store"
  git init -q --bare ../remote.git
  git remote add origin ../remote.git
  make_model big.safetensors $((64 << 20))
  cp "$S/ftA_licenses.bf16.safetensors" ft.safetensors
  git add . && git commit -qm models
  git init -q ../check  # an empty repository, to verify the store with
  for delay in 0.02 0.1 0.3; do
    ZIPLLM_TEST_TAG="faults-$$-$delay" GIT_ZIPLLM_MAX_SEND_SPEED=50000000 \
      git push -q origin main > /dev/null 2>&1 &
    local pid=$!
    sleep "$delay"
    # Only this push's processes: other suites run pushes at the same time.
    kill_tagged "ZIPLLM_TEST_TAG=faults-$$-$delay"
    wait "$pid" || true
    # Whatever was published in the store is whole (a killed writer leaves
    # at most an unpublished temp file): verify every object there.
    expect_ok git -C ../check -c zipllm.storepath="$PWD/../store" zipllm verify
  done
  expect_ok git push origin main
  expect_ok git zipllm verify --remote
  cd ..
  expect_ok git -c zipllm.url="$PWD/store" clone remote.git clone
  expect_same clone/big.safetensors r/big.safetensors
}

# A full disk: a store or a work tree on a small tmpfs (or, without the
# right to mount, a file size limit: the same write errors).
with_small_fs() {  # with_small_fs DIR MiB
  mkdir -p "$1"
  if mount -t tmpfs -o "size=${2}m" tmpfs "$1" 2>/dev/null; then
    echo "$1" >> "$SCRATCH/mounts"
    return 0
  fi
  return 1
}
unmount_all() {
  [ -f "$SCRATCH/mounts" ] || return 0
  while read -r m; do umount "$m" 2>/dev/null; done < "$SCRATCH/mounts"
  rm -f "$SCRATCH/mounts"
}

t_disk_full_during_add() {
  new_repo r
  local tiny=$PWD/../tiny
  if with_small_fs "$tiny" 24; then
    git config zipllm.storepath "$tiny/store"
    make_model big.safetensors $((64 << 20))
    expect_fail git add big.safetensors
  else
    make_model big.safetensors $((64 << 20))
    expect_fail bash -c "trap '' XFSZ; ulimit -f 16384; git add big.safetensors"
  fi
  expect_log 'big.safetensors'
  expect_log 'No space left|File too large'
  expect_eq "$(git ls-files big.safetensors)" "" "a staged file"
  expect_eq "$(find "$tiny" .git -name '*.tmp-*' 2>/dev/null || true)" "" "half-written files"
  expect_ok git zipllm verify
  git config --unset zipllm.storepath || true
  expect_ok git add big.safetensors
}

t_disk_full_during_checkout() {
  new_repo r
  make_model big.safetensors $((64 << 20))
  cp "$S/base.bf16.safetensors" small.safetensors
  git add . && git commit -qm models
  cp big.safetensors ../big.orig
  cd ..
  if with_small_fs "$PWD/tiny" 32; then
    GIT_ZIPLLM_SKIP_SMUDGE=1 git clone -q r tiny/c
    cd tiny/c
    expect_fail git zipllm checkout
  else
    GIT_ZIPLLM_SKIP_SMUDGE=1 git clone -q r c
    cd c
    expect_fail bash -c "trap '' XFSZ; ulimit -f 16384; git zipllm checkout"
  fi
  expect_log 'No space left|File too large'
  # Every model is whole or still its placeholder: nothing truncated,
  # nothing stray.
  for f in small big; do
    if head -1 "$f.safetensors" | grep -qx 'zipllm manifest v1'; then continue; fi
    if [ $f = small ]; then expect_same small.safetensors "$S/base.bf16.safetensors"; else expect_same big.safetensors "$OLDPWD/big.orig"; fi
  done
  expect_eq "$(find . -name '*.tmp-*')" "" "temp files"
}

t_eight_concurrent_adds() {
  new_repo r
  local i pids=()
  for i in 1 2 3 4 5 6 7; do git worktree add -q "../wt$i"; done
  local models=(base ftA_licenses ftB_changelogs ftC_copyright_lr1e-5 ftV_vocab576 ftA2_chain_manpages)
  for i in 0 1 2 3 4 5 6 7; do
    local dir=.; [ $i -gt 0 ] && dir=../wt$i
    if [ $i -lt 6 ]; then
      cp "$S/${models[$i]}.bf16.safetensors" "$dir/m$i.safetensors"
    else
      make_model "$dir/m$i.safetensors" $((8 << 20))
    fi
    ( cd "$dir" && git add "m$i.safetensors" && git commit -qm "m$i" ) > "../add$i.log" 2>&1 &
    pids+=($!)
  done
  for i in 0 1 2 3 4 5 6 7; do
    expect_true wait "${pids[$i]}"
  done
  expect_ok git zipllm verify
  for i in 0 1 2 3 4 5 6 7; do
    local dir=.; [ $i -gt 0 ] && dir=../wt$i
    cp "$dir/m$i.safetensors" "../m$i.orig"
    rm "$dir/m$i.safetensors"
    ( cd "$dir" && git checkout -- "m$i.safetensors" )
    expect_same "$dir/m$i.safetensors" "../m$i.orig"
  done
}

t_two_concurrent_pushes() {
  expect_ok git zipllm install
  git init -q --bare remote.git
  mkdir store
  local i
  for i in 1 2; do
    git init -q "c$i" && cd "c$i"
    expect_ok git zipllm track '*.safetensors'
    git config zipllm.url "$PWD/../store"
    cp "$S/base.bf16.safetensors" base.safetensors
    make_model "own$i.safetensors" $((16 << 20))
    git add . && git commit -qm "c$i"
    git remote add origin ../remote.git
    cd ..
  done
  ( cd c1 && git push -q origin main:b1 ) > push1.log 2>&1 & local p1=$!
  ( cd c2 && git push -q origin main:b2 ) > push2.log 2>&1 & local p2=$!
  expect_true wait $p1
  expect_true wait $p2
  for i in 1 2; do
    expect_ok git -c zipllm.url="$PWD/store" clone -q -b "b$i" remote.git "check$i"
    expect_same "check$i/own$i.safetensors" "c$i/own$i.safetensors"
    expect_same "check$i/base.safetensors" "$S/base.bf16.safetensors"
  done
  expect_eq "$(find store -name '*.tmp-*')" "" "temp files in the store"
}

test_case "gc spares the spool of a running clean" t_gc_spares_a_running_clean
test_case "git add killed at every step loses nothing" t_killed_add_at_every_step
test_case "git checkout killed at every step: whole or absent" t_killed_git_checkout_at_every_step
test_case "push killed at every step: the store stays sound, a retry completes" t_killed_push_at_every_step
test_case "disk full during add: clear error, nothing staged or half-written" t_disk_full_during_add
test_case "disk full during checkout: nothing truncated or stray" t_disk_full_during_checkout
unmount_all
test_case "eight adds at once into one store" t_eight_concurrent_adds
test_case "two pushes at once into one store" t_two_concurrent_pushes
finish
