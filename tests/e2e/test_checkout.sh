#!/usr/bin/env bash
# `git zipllm checkout` / `pull`: never loses work, never writes outside the
# work tree, leaves nothing behind when killed, gives files git's modes.
. "$(dirname "$0")/lib.sh"
export PATH="$(dirname "$BIN"):$PATH"
S=$DATA/stories260K

# origin: a committed repository with base/model.safetensors and ft.safetensors.
make_origin() {
  expect_ok git zipllm install
  git init -q origin
  cd origin
  expect_ok git zipllm track '*.safetensors'
  mkdir base
  cp "$S/base.bf16.safetensors" base/model.safetensors
  cp "$S/ftA_licenses.bf16.safetensors" ft.safetensors
  git add . && git commit -qm models
  cd ..
}
lazy_clone() { GIT_ZIPLLM_SKIP_SMUDGE=1 git clone -q origin "$1"; }

# Issue 11, defect 1: checkout and pull overwrote uncommitted changes.
t_local_changes_are_kept() {
  make_origin
  lazy_clone c && cd c
  expect_ok git zipllm checkout
  expect_same ft.safetensors "$S/ftA_licenses.bf16.safetensors"
  # A changed model (same size: another fine-tune) and a longer one.
  cp "$S/ftB_changelogs.bf16.safetensors" ft.safetensors
  cat "$S/base.bf16.safetensors" > base/model.safetensors
  printf 'more' >> base/model.safetensors
  cp ft.safetensors ../ft.mine && cp base/model.safetensors ../base.mine
  expect_fail git zipllm checkout
  expect_log 'local changes'
  expect_log 'ft.safetensors'
  expect_log 'base/model.safetensors'
  expect_log 'force'
  expect_same ft.safetensors ../ft.mine
  expect_same base/model.safetensors ../base.mine
  expect_fail git zipllm pull
  expect_same ft.safetensors ../ft.mine
  # A missing file is still restored beside the kept ones.
  rm base/model.safetensors
  expect_fail git zipllm checkout
  expect_same base/model.safetensors "$S/base.bf16.safetensors"
  expect_same ft.safetensors ../ft.mine
  expect_ok git zipllm checkout --force ft.safetensors
  expect_same ft.safetensors "$S/ftA_licenses.bf16.safetensors"
  expect_eq "$(git status --porcelain)" ""
}

# Issue 11: --include/--exclude and zipllm.fetchinclude/fetchexclude, as
# git-lfs has them: files left out stay placeholders, their objects are not
# downloaded.
t_include_exclude() {
  make_origin
  lazy_clone c && cd c
  expect_ok git zipllm pull --include base
  expect_log '1 file\(s\) restored'
  expect_log '1 file\(s\) left as placeholders \(--include base\)'
  expect_same base/model.safetensors "$S/base.bf16.safetensors"
  expect_eq "$(head -c 18 ft.safetensors)" "zipllm manifest v1"
  # ft's objects were not downloaded (48 tensors missing locally).
  expect_ok git zipllm status
  expect_log '^ft\.safetensors .* 48  placeholder'
  git config zipllm.fetchexclude 'base/*,*.bin'
  expect_ok git zipllm checkout -X 'ft*'
  expect_log '0 file\(s\) restored'
  expect_eq "$(head -c 18 ft.safetensors)" "zipllm manifest v1"
  expect_ok git zipllm fetch
  expect_ok git zipllm checkout
  expect_same ft.safetensors "$S/ftA_licenses.bf16.safetensors"
  expect_fail git zipllm fetch --all --include ft
  expect_log 'REFs'
  expect_eq "$(git status --porcelain)" ""
}

# Issue 11, defect 6: a path that matches nothing is an error.
t_unknown_path() {
  make_origin
  cd origin
  expect_fail git zipllm checkout nonexistent.safetensors
  expect_log "'nonexistent.safetensors' did not match"
  expect_ok git zipllm checkout base
}

# Issue 11, defect 2: a clone without `git zipllm install` must not stage
# raw weights after checkout.
t_checkout_installs_the_filter() {
  make_origin
  expect_ok git zipllm uninstall
  lazy_clone c && cd c
  expect_eq "$(git config filter.zipllm.process || true)" ""
  expect_ok git zipllm checkout
  expect_log 'installed it for this repository'
  expect_same ft.safetensors "$S/ftA_licenses.bf16.safetensors"
  expect_eq "$(git config --local filter.zipllm.process)" "git-zipllm filter-process"
  cp "$S/ftB_changelogs.bf16.safetensors" ft.safetensors
  git commit -qam change
  expect_true git cat-file -p HEAD:ft.safetensors | head -1 | grep -qx 'zipllm manifest v1'
}

# Issue 10, defect 9: writing through a symlinked parent folder.
t_symlinked_parent_refused() {
  make_origin
  lazy_clone c && cd c
  mkdir ../outside
  rm -rf base
  ln -s ../outside base
  expect_fail git zipllm checkout
  expect_log 'beyond a symbolic link'
  expect_eq "$(ls -A ../outside)" ""
  expect_same ft.safetensors "$S/ftA_licenses.bf16.safetensors"
}

# Issue 10, defect 5: umask and the executable bit.
t_modes_follow_git() {
  make_origin
  cd origin
  git update-index --chmod=+x ft.safetensors
  git commit -qm exec
  cd ..
  lazy_clone c && cd c
  (umask 077 && git zipllm checkout >/dev/null 2>&1)
  expect_eq "$(stat -c %a ft.safetensors)" 700
  expect_eq "$(stat -c %a base/model.safetensors)" 600
  expect_eq "$(git status --porcelain)" ""
  rm ft.safetensors base/model.safetensors
  (umask 022 && git zipllm checkout >/dev/null 2>&1)
  expect_eq "$(stat -c %a ft.safetensors)" 755
  expect_eq "$(stat -c %a base/model.safetensors)" 644
}

# Issue 10, defect 5: a killed checkout left NAME.tmp-PID-... in the work tree.
t_killed_checkout_leaves_nothing_in_the_work_tree() {
  expect_ok git zipllm install
  git init -q r && cd r
  expect_ok git zipllm track '*.safetensors'
  make_model big.safetensors $((192 << 20))
  git add . && git commit -qm big
  cp big.safetensors ../big.orig
  local seen=0
  for attempt in 1 2 3 4 5; do
    rm -f big.safetensors
    git-zipllm checkout >/dev/null 2>&1 &  # not via git: kill the process that writes
    local pid=$!
    for _ in $(seq 1 400); do
      if [ -n "$(find . .git/zipllm/tmp -maxdepth 1 -name 'big.safetensors.tmp-*' 2>/dev/null)" ]; then
        kill -9 $pid; seen=1; break
      fi
      kill -0 $pid 2>/dev/null || break
      sleep 0.005
    done
    wait $pid 2>/dev/null || true
    [ $seen = 1 ] && break
  done
  expect_eq $seen 1 "checkout killed while writing"
  expect_eq "$(find . -path ./.git -prune -o -name '*.tmp-*' -print)" ""
  expect_eq "$(git status --porcelain --untracked-files=all | grep -v '^ D' || true)" ""
  expect_ok git zipllm gc --older-than 0
  expect_eq "$(find .git/zipllm -name '*.tmp-*')" ""
  expect_ok git zipllm checkout
  expect_same big.safetensors ../big.orig
}

# Issue 11, defect 3: models committed without .gitattributes. A clone
# sees manifest text; status, verify and checkout say why and what to do,
# and checkout does not write raw weights git would then commit.
t_manifests_without_attributes() {
  expect_ok git zipllm install
  git init -q origin && cd origin
  expect_ok git zipllm track '*.safetensors'
  cp "$S/ftA_licenses.bf16.safetensors" ft.safetensors
  git add ft.safetensors && git commit -qm 'models, attributes forgotten'
  cd .. && git clone -q origin c && cd c
  expect_true grep -q 'zipllm manifest v1' ft.safetensors
  expect_ok git zipllm status
  expect_log 'ft.safetensors'
  expect_log 'no .gitattributes line'
  expect_fail git zipllm verify
  expect_log 'ft.safetensors'
  expect_log "git zipllm track '\\*.safetensors'"
  expect_fail git zipllm checkout
  expect_log 'no .gitattributes line'
  expect_true grep -q 'zipllm manifest v1' ft.safetensors
  # The fix it names works.
  expect_ok git zipllm track '*.safetensors'
  git add .gitattributes && git commit -qm attributes
  expect_ok git zipllm checkout
  expect_same ft.safetensors "$S/ftA_licenses.bf16.safetensors"
  expect_eq "$(git status --porcelain)" ""
}

# Issue 11, defects 2 and 3: track in a repository where nothing is
# installed configures the filter (so the next add stores a manifest) and
# says what to do next.
t_track_without_install() {
  git init -q r && cd r
  expect_ok git zipllm track '*.safetensors'
  expect_log 'git add .gitattributes'
  expect_true git config --local filter.zipllm.process
  cp "$S/ftA_licenses.bf16.safetensors" ft.safetensors
  git add .gitattributes ft.safetensors
  expect_eq "$(git cat-file -p :ft.safetensors | head -1)" "zipllm manifest v1"
}

# Issue 11: ls-files names each model's SHA-256, sizes and delta bases.
t_ls_files() {
  repo_with_base_and_finetune r
  expect_ok git zipllm ls-files
  expect_eq "$(wc -l < "$LOG")" 2 "lines"
  expect_log "^$(sha256sum ft.safetensors | cut -c1-10) .* ft.safetensors  <- base.safetensors\$"
  expect_log "^$(sha256sum base.safetensors | cut -c1-10) .* base.safetensors\$"
}

# Issue 11, defect 6: untrack of a pattern that is not tracked says so.
t_untrack_unknown() {
  git init -q r && cd r
  expect_ok git zipllm track '*.safetensors'
  expect_fail git zipllm untrack '*.nothere'
  expect_log 'not tracked'
  expect_ok git zipllm untrack '*.safetensors'
  expect_log 'Untracking'
}

# Issue 11, defect 4: the pusher's store is configured per remote, so a
# clone tries another store: the error names the store tried and where to
# configure the right one; once configured, pull completes the work tree
# although the failed clone left git's index empty.
t_clone_of_per_remote_store() {
  expect_ok git zipllm install
  git init -q --bare remote.git
  git -C remote.git symbolic-ref HEAD refs/heads/main
  git init -q work && cd work
  expect_ok git zipllm track '*.safetensors'
  cp "$S/base.bf16.safetensors" base.safetensors
  cp "$S/ftA_licenses.bf16.safetensors" ft.safetensors
  echo notes > README.md
  git add . && git commit -qm models
  git remote add origin ../remote.git
  git config remote.origin.zipllmurl "$PWD/../store"
  expect_ok git push -q origin HEAD:main
  cd ..
  expect_fail git clone remote.git c
  expect_log 'remote.git/zipllm'
  expect_log 'remote.origin.zipllmurl'
  expect_log '.zipllmconfig'
  cd c
  expect_fail git zipllm pull
  expect_log 'remote.origin.zipllmurl'
  git config remote.origin.zipllmurl "$PWD/../store"
  expect_ok git zipllm pull
  expect_log 'index was empty'
  expect_same ft.safetensors "$S/ftA_licenses.bf16.safetensors"
  expect_same base.safetensors "$S/base.bf16.safetensors"
  expect_eq "$(cat README.md)" notes
  expect_eq "$(git status --porcelain)" ""
  # An index the user emptied on purpose is theirs: not read back from HEAD.
  git rm -q -r --cached .
  expect_ok git zipllm checkout
  expect_eq "$(git ls-files | wc -l)" 0
}

# Issue 11: progress as git draws it. In an 80-column terminal (a tmux
# pane) the line is redrawn in place and never wraps, even for a long path;
# -q draws nothing; a log (stderr not a terminal) gets one summary line.
t_progress_line_in_80_columns() {
  [ -x "${ZIPLLM_GEN_PAIR:-}" ] || _fail "ZIPLLM_GEN_PAIR (bench/gen_pair) is not set; ctest sets it"
  command -v tmux >/dev/null || _fail "tmux is not installed (install.sh --test installs it)"
  expect_ok git zipllm install
  git init -q r && cd r
  expect_ok git zipllm track '*.safetensors'
  local dir=a-folder-with-a-rather-long-name/and-a-subfolder-with-another-long-name
  mkdir -p "$dir"
  expect_ok "$ZIPLLM_GEN_PAIR" "$S/base.bf16.safetensors" "$S/ftA_licenses.bf16.safetensors" \
    "$dir/model.safetensors" ../unused.safetensors 512
  cp "$dir/model.safetensors" ../expected.safetensors && rm ../unused.safetensors
  git add . && git commit -qm big
  local sock="zipllm-test-$$" out
  # The line shows from the start (GIT_ZIPLLM_PROGRESS_DELAY_MS=0): a
  # machine that restores 512 MiB in under half a second showed none.
  in_pane() {  # in_pane COMMAND : runs it in a fresh 80x24 pane, prints the screen
    rm -f "$dir/model.safetensors" ../done
    tmux -L "$sock" new-session -d -x 80 -y 24 \
      "cd '$PWD' && PATH='$PATH' HOME='$HOME' GIT_ZIPLLM_PROGRESS_DELAY_MS=0 $1; touch ../done; sleep 60"
    for _ in $(seq 1 600); do [ -e ../done ] && break; sleep 0.1; done
    tmux -L "$sock" capture-pane -p >../screen
    tmux -L "$sock" capture-pane -p -J >../joined
    tmux -L "$sock" kill-server
  }
  in_pane "git zipllm checkout"
  expect_same "$dir/model.safetensors" ../expected.safetensors
  cat ../screen >"$LOG"
  expect_log '^a-folder.*\.\.\..*: 100% \(512\.[0-9]+ MiB / 512\.[0-9]+ MiB\), [0-9]+ MB/s'
  expect_eq "$(grep -c '%' ../screen)" 1 "progress lines on the screen"
  # A wrapped line shows as two rows, which -J joins: the progress row must
  # be the same either way.
  expect_eq "$(grep '%' ../screen)" "$(grep '%' ../joined)" "the progress row, joined"
  in_pane "git zipllm checkout -q"
  expect_same "$dir/model.safetensors" ../expected.safetensors
  cat ../screen >"$LOG"
  expect_no_log '%'
  # In a log, one summary line (however fast this machine restores it:
  # without the delay set to 0, a restore under half a second left none).
  rm "$dir/model.safetensors"
  expect_ok env GIT_ZIPLLM_PROGRESS_DELAY_MS=0 git zipllm checkout
  expect_eq "$(grep -c '% (' "$LOG")" 1 "summary lines in a log"
}

# Issue 14: after restoring a large file, git zipllm checkout writes its
# index entry's stat data itself instead of letting `git update-index
# --refresh` read the whole file back through the filter; git then sees the
# file clean without running the filter (the index is written a second
# after the file, past git's racy-stat window).
t_large_checkout_records_index() {
  expect_ok git zipllm install
  git init -q r && cd r
  expect_ok git zipllm track '*.safetensors'
  make_model big.safetensors $((136 << 20))
  cp big.safetensors ../big.orig
  git add . && git commit -qm big
  rm big.safetensors
  GIT_TRACE="$PWD/../trace" run git zipllm checkout big.safetensors
  expect_same big.safetensors ../big.orig
  expect_false grep -q 'update-index' ../trace
  expect_eq "$(git ls-files --debug big.safetensors | sed -n 's/^  mtime: //p')" \
    "$(stat -c '%Y' big.safetensors):$(stat -c '%y' big.safetensors | sed 's/.*\.\([0-9]*\) .*/\1/' | sed 's/^0*//;s/^$/0/')" "recorded mtime"
  expect_eq "$(git ls-files --debug big.safetensors | sed -n 's/.*size: \([0-9]*\).*/\1/p')" "$(stat -c %s big.safetensors)" "recorded size"
  rm -f ../trace
  GIT_TRACE="$PWD/../trace" git status --porcelain > ../status
  expect_eq "$(cat ../status)" "" "git status"
  expect_false grep -q 'filter-process' ../trace
  git diff --quiet
  # A change made after the checkout is seen.
  printf 'x' | dd of=big.safetensors bs=1 seek=1000 conv=notrunc status=none
  expect_eq "$(git status --porcelain)" " M big.safetensors" "a modified file"
}

# A split index (core.splitIndex, the 'link' extension), which libgit2 does
# not read: checkout, status and verify failed with "unsupported mandatory
# extension". They read a private unsplit copy git writes, and leave none.
t_split_index() {
  make_origin
  lazy_clone c && cd c
  git config core.splitIndex true
  git update-index --split-index
  expect_true ls .git/sharedindex.*
  expect_ok git zipllm checkout
  expect_same ft.safetensors "$S/ftA_licenses.bf16.safetensors"
  expect_same base/model.safetensors "$S/base.bf16.safetensors"
  expect_ok git zipllm status
  expect_log 'ft.safetensors'
  expect_ok git zipllm verify
  # Local changes are still seen (the stat data of the index is read).
  cp "$S/ftB_changelogs.bf16.safetensors" ft.safetensors
  expect_fail git zipllm checkout
  expect_log 'local changes'
  expect_same ft.safetensors "$S/ftB_changelogs.bf16.safetensors"
  expect_ok git add ft.safetensors
  expect_ok git commit -qm ftB
  expect_eq "$(git cat-file -p HEAD:ft.safetensors | head -1)" "zipllm manifest v1"
  expect_eq "$(ls .git | grep -c zipllm-unsplit || true)" 0 "unsplit copies left in .git"
  expect_eq "$(git status --porcelain)" ""
  cd ..
}

# Issue 14: checkout restores several files at once (one per core). Each
# still lands whole or not at all: with one of four files' objects damaged,
# the other three are restored byte-exact, the damaged one is named and
# nothing of it is left in the work tree.
t_several_files_at_once() {
  expect_ok git zipllm install
  git init -q r && cd r
  expect_ok git zipllm track '*.safetensors'
  for i in 1 2 3 4; do
    make_model "m$i.safetensors" $(((i + 2) << 20))
    cp "m$i.safetensors" "../m$i.orig"
  done
  # A base and a fine-tune coded against it: the fine-tune waits for it.
  cp "$S/base.bf16.safetensors" base.safetensors
  git add . && git commit -qm four
  cp "$S/ftA_licenses.bf16.safetensors" ft.safetensors
  git add ft.safetensors && git commit -qm ft
  expect_ok git zipllm ls-files
  expect_log 'ft.safetensors.*base.safetensors'
  local id; id=$(tensor_id HEAD:m3.safetensors w)
  flip_byte "$(object_path "$id")" 3000
  rm m?.safetensors base.safetensors ft.safetensors
  expect_fail env GIT_ZIPLLM_THREADS=2 git zipllm checkout
  expect_log 'm3.safetensors'
  expect_log '1 file\(s\) could not be restored'
  for i in 1 2 4; do
    expect_same "m$i.safetensors" "../m$i.orig"
  done
  expect_same base.safetensors "$S/base.bf16.safetensors"
  expect_same ft.safetensors "$S/ftA_licenses.bf16.safetensors"
  expect_false test -e m3.safetensors
  expect_eq "$(ls -A | grep -v -E '^(\.git|\.gitattributes|m[124]\.safetensors|base\.safetensors|ft\.safetensors)$' || true)" "" "stray files"
  expect_eq "$(ls -A .git/zipllm/tmp 2>/dev/null || true)" "" "temp files"
  expect_eq "$(git status --porcelain -- m1.safetensors m2.safetensors m4.safetensors base.safetensors ft.safetensors)" ""
}

# make_many_tensors FILE COUNT SEED: a model of COUNT tiny F32 tensors (as
# exported graphs have: maxim's 11,590), random contents.
make_many_tensors() {
  python3 - "$@" <<'PY'
import json, random, struct, sys
path, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
hdr, data = {}, bytearray()
for i in range(count):
    n = rng.choice([1, 4, 16, 64])
    hdr["t%05d" % i] = {"dtype": "F32", "shape": [n], "data_offsets": [len(data), len(data) + 4 * n]}
    data += bytes(rng.getrandbits(8) for _ in range(4 * n))
h = json.dumps(hdr).encode()
h += b" " * (-len(h) % 8)
open(path, "wb").write(struct.pack("<Q", len(h)) + h + bytes(data))
PY
}

# A restore held an open object (a file descriptor) for every chunk in
# flight, and with tiny tensors 64 MiB in flight is thousands of them: an
# 11,590-tensor model failed with "Too many open files" under the usual
# limit of 1024, two such files at once even under 20,000.
t_many_tensors_within_the_fd_limit() {
  expect_ok git zipllm install
  git init -q r && cd r
  expect_ok git zipllm track '*.safetensors'
  make_many_tensors a.safetensors 3000 1
  make_many_tensors b.safetensors 3000 2
  cp a.safetensors ../a.orig && cp b.safetensors ../b.orig
  expect_ok bash -c 'ulimit -n 128 && git add . && git commit -qm many'
  rm a.safetensors b.safetensors
  expect_ok bash -c 'ulimit -n 128 && GIT_ZIPLLM_THREADS=2 git zipllm checkout'
  expect_same a.safetensors ../a.orig
  expect_same b.safetensors ../b.orig
  rm a.safetensors
  expect_ok bash -c 'ulimit -n 128 && GIT_ZIPLLM_THREADS=1 git zipllm checkout a.safetensors'
  expect_same a.safetensors ../a.orig
  expect_eq "$(git status --porcelain)" ""
  # A clone's pull: fetched objects are loose, a file each (the chunks in
  # flight, not the pack, are what is bounded).
  git config zipllm.url "$SCRATCH/team"
  expect_ok git zipllm push
  cd .. && GIT_ZIPLLM_SKIP_SMUDGE=1 git clone -q r c && cd c
  git config zipllm.url "$SCRATCH/team"
  expect_ok bash -c 'ulimit -n 256 && GIT_ZIPLLM_THREADS=2 git zipllm pull'
  expect_true [ "$(find .git/zipllm/objects -type f | wc -l)" -ge 6000 ]
  expect_same a.safetensors ../a.orig
  expect_same b.safetensors ../b.orig
}

test_case "checkout and pull keep files with local changes" t_local_changes_are_kept
test_case "checkout of a path that matches nothing fails" t_unknown_path
test_case "checkout in a clone without install configures the filter" t_checkout_installs_the_filter
test_case "checkout refuses to write through a symlinked folder" t_symlinked_parent_refused
test_case "restored files get git's modes (umask, +x)" t_modes_follow_git
test_case "a killed checkout leaves no temp file in the work tree" t_killed_checkout_leaves_nothing_in_the_work_tree
test_case "manifests without attributes: status, verify and checkout say so" t_manifests_without_attributes
test_case "track without install configures the filter and names the next step" t_track_without_install
test_case "a large checkout records the index entry itself (git does not re-clean)" t_large_checkout_records_index
test_case "untrack of an unknown pattern fails" t_untrack_unknown
test_case "a clone of a per-remote store: the error names it, pull completes the clone" t_clone_of_per_remote_store
test_case "ls-files lists models with their delta bases" t_ls_files
test_case "fetch/pull/checkout --include/--exclude and zipllm.fetchinclude/fetchexclude" t_include_exclude
test_case "the progress line in an 80-column tmux pane, -q, and in a log" t_progress_line_in_80_columns
test_case "a split index (core.splitIndex): checkout, status, verify" t_split_index
test_case "several files restored at once: one damaged, the others whole, nothing stray" t_several_files_at_once
test_case "models of thousands of tensors restore within a small open-file limit" t_many_tensors_within_the_fd_limit
finish
