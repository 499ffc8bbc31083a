#!/usr/bin/env bash
# `git zipllm prune`: deletes what no ref, reflog entry, index or stash
# needs (delta bases counted), keeps what is young, and everything still
# restores byte-exact afterwards (issue 11).
. "$(dirname "$0")/lib.sh"
export PATH="$(dirname "$BIN"):$PATH"
S=$DATA/stories260K

store_bytes() { du -sb .git/zipllm/objects .git/zipllm/packs | awk '{s += $1} END {print s}'; }
count_objects() { find .git/zipllm/objects .git/zipllm/packs -type f | wc -l; }
deleted() { sed -n 's/.*\(deleted\|would delete\) \([0-9]*\) object.*/\2/p' "$LOG"; }
age_store() { find .git/zipllm/objects .git/zipllm/packs -type f -exec touch -d '3 hours ago' {} +; }

repo_with_model() {
  expect_ok git zipllm install
  git init -q r && cd r
  expect_ok git zipllm track '*.safetensors'
  cp "$S/ftA_licenses.bf16.safetensors" m.safetensors
  git add . && git commit -qm one
}

# Adds a second model (ftV) to the last commit and amends it away again:
# only the reflog still reaches it.
drop_model_by_amend() {
  cp "$S/ftV_vocab576.bf16.safetensors" other.safetensors
  git add other.safetensors && git commit -q --amend -m one
  git rm -q other.safetensors && git commit -q --amend -m one
}

# A model dropped by an amended commit: its objects go once the reflog lets
# them go. (Versions of one path amended over each other are delta-coded
# against each other, so those stay needed: the newest needs them.)
t_amends_pruned_after_reflog_expiry() {
  repo_with_model
  drop_model_by_amend
  before=$(store_bytes)
  # The reflog still reaches the dropped model: nothing goes.
  expect_ok git zipllm prune --grace 0
  expect_eq "$(deleted)" 0
  git reflog expire --expire=now --all
  n=$(count_objects)
  expect_ok git zipllm prune --grace 0 --dry-run
  expect_true [ "$(deleted)" -gt 0 ]
  expect_eq "$(count_objects)" "$n" "objects after a dry run"
  # Young objects are kept by default.
  expect_ok git zipllm prune
  expect_eq "$(deleted)" 0
  expect_log 'younger than'
  ftv=.git/zipllm/models/$(sha256sum <"$S/ftV_vocab576.bf16.safetensors" | cut -c1-64)
  expect_true [ -f "$ftv" ]
  expect_ok git zipllm prune --grace 0
  expect_true [ "$(deleted)" -gt 0 ]
  expect_true [ "$(store_bytes)" -lt "$before" ]
  # The base finder's index forgets it (the models it keeps stay).
  expect_true [ ! -e "$ftv" ]
  expect_true [ -n "$(ls .git/zipllm/models)" ]
  expect_ok git zipllm verify
  rm m.safetensors
  expect_ok git zipllm checkout
  expect_same m.safetensors "$S/ftA_licenses.bf16.safetensors"
  cd .. && git clone -q r c
  expect_same c/m.safetensors "$S/ftA_licenses.bf16.safetensors"
}

# Amended versions of one path are each other's delta bases: all stay.
t_amend_chain_kept() {
  repo_with_model
  for ft in ftB_changelogs ftC_copyright_lr1e-5; do
    cp "$S/$ft.bf16.safetensors" m.safetensors
    git add m.safetensors && git commit -q --amend -m one
  done
  git reflog expire --expire=now --all
  expect_ok git zipllm prune --grace 0
  expect_ok git zipllm verify
  rm m.safetensors
  expect_ok git zipllm checkout
  expect_same m.safetensors "$S/ftC_copyright_lr1e-5.bf16.safetensors"
}

# Delta bases of needed objects stay even when no ref reaches their file.
t_delta_bases_kept() {
  repo_with_base_and_finetune r
  expect_ok git zipllm show ft.safetensors
  git rm -q --cached base.safetensors && rm base.safetensors
  printf '*.safetensors filter=zipllm diff=zipllm merge=zipllm -text\n' > .gitattributes
  git add .gitattributes && git commit -q --amend -m 'ft only'
  git reflog expire --expire=now --all
  expect_ok git zipllm prune --grace 0
  expect_ok git zipllm verify
  rm ft.safetensors
  expect_ok git zipllm checkout
  expect_same ft.safetensors "$S/ftA_licenses.bf16.safetensors"
}

# What only the index or a stash holds is needed.
t_index_and_stash_kept() {
  repo_with_model
  cp "$S/ftB_changelogs.bf16.safetensors" m.safetensors
  git stash -q
  cp "$S/ftC_copyright_lr1e-5.bf16.safetensors" staged.safetensors
  git add staged.safetensors
  expect_ok git zipllm prune --grace 0
  rm staged.safetensors
  expect_ok git zipllm checkout staged.safetensors
  expect_same staged.safetensors "$S/ftC_copyright_lr1e-5.bf16.safetensors"
  git commit -qm staged
  git stash pop -q
  expect_same m.safetensors "$S/ftB_changelogs.bf16.safetensors"
}

# A clean that deduplicates against old unneeded objects makes them young
# again, so a prune that runs before git records the manifest (in the
# index, a commit) keeps them.
t_reused_objects_freshened() {
  repo_with_model
  drop_model_by_amend
  git reflog expire --expire=now --all
  age_store
  # The clean runs (git hash-object), its manifest is not recorded anywhere
  # yet: the window a running `git add` has.
  cp "$S/ftV_vocab576.bf16.safetensors" again.safetensors
  blob=$(git hash-object -w --path again.safetensors again.safetensors)
  expect_ok git zipllm prune --grace 60
  # The file goes before git records it, so nothing can clean it again.
  rm again.safetensors
  git update-index --add --cacheinfo "100644,$blob,again.safetensors"
  git commit -qm again
  expect_ok git zipllm verify
  expect_ok git zipllm checkout
  expect_same again.safetensors "$S/ftV_vocab576.bf16.safetensors"
}

# status tells what the store holds against what git needs, and which work
# tree files are still manifest text (issue 11, "See it").
t_status_totals() {
  repo_with_model
  drop_model_by_amend
  expect_ok git zipllm status
  expect_log '^  HEAD and the index need +[1-9][0-9]* '
  expect_log '^  only history needs +[1-9][0-9]* '
  expect_log '^  nothing needs +0 '
  git reflog expire --expire=now --all
  expect_ok git zipllm status
  expect_log '^  only history needs +0 '
  expect_log '^  nothing needs +[1-9][0-9]* .*git zipllm prune'
  # stdout alone: stderr may carry notes (and, under ASan, LSan's summary).
  git zipllm status --json >../status.json
  python3 - ../status.json <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert j['store']['unreferenced']['objects'] > 0, j['store']
assert j['store']['history_only']['objects'] == 0, j['store']
f = j['files'][0]
assert f['path'] == 'm.safetensors' and f['work_tree'] == 'present' and f['raw'] > 0, f
assert j['store']['all']['objects'] == sum(j['store'][k]['objects'] for k in ('head', 'history_only', 'unreferenced'))
EOF
  expect_ok git zipllm prune --grace 0
  expect_ok git zipllm status
  expect_log '^  nothing needs +0 '
  # A clone that skipped smudging holds manifest text: said per file and overall.
  cd .. && GIT_ZIPLLM_SKIP_SMUDGE=1 git clone -q r c && cd c
  expect_ok git zipllm status
  expect_log 'm.safetensors .*placeholder: run `git zipllm checkout`'
  expect_log '1 file\(s\) hold manifest text'
}

# prune --remote on a directory store: what no ref of the remote needs goes
# (listed first, and not before the grace period); a fresh clone still
# restores everything; a clone that has not fetched refuses.
t_prune_remote_dir() {
  expect_ok git zipllm install
  git init -q --bare remote.git && mkdir store
  git init -q r && cd r
  git remote add origin ../remote.git
  git config remote.origin.zipllmurl "$PWD/../store"
  expect_ok git zipllm track '*.safetensors'
  cp "$S/ftA_licenses.bf16.safetensors" m.safetensors
  git add . && git commit -qm one && expect_ok git zipllm push origin
  # Objects there, but the remote has no refs yet: nothing decides, nothing goes.
  expect_fail git zipllm prune --remote --grace 0
  expect_log 'origin has no refs, so nothing would be kept'
  expect_true [ "$(find ../store/objects -type f | wc -l)" -gt 0 ]
  expect_ok git push -q origin main
  keys_before=$(find ../store/objects -type f | wc -l)
  # The model is replaced by an unrelated one in an amended, force-pushed commit.
  python3 - "$S/base.bf16.safetensors" m.safetensors <<'EOF'
import json, random, struct, sys
d = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', d[:8])[0]
h = json.loads(d[8:8 + n])
body = bytearray(d[8 + n:])
rng = random.Random(5)
for k, t in h.items():
    if k != '__metadata__':
        b, e = t['data_offsets']
        w = [bytes(body[i:i + 2]) for i in range(b, e, 2)]
        rng.shuffle(w)
        body[b:e] = b''.join(w)
open(sys.argv[2], 'wb').write(d[:8 + n] + bytes(body))
EOF
  cp m.safetensors ../expected.safetensors
  git add . && git commit -q --amend -m one && expect_ok git push -q -f origin main
  keys=$(find ../store/objects -type f | wc -l)
  expect_ok git zipllm prune --remote --dry-run --grace 0
  expect_log '^  unneeded: objects/'
  expect_log 'would delete [1-9][0-9]* object'
  expect_eq "$(find ../store/objects -type f | wc -l)" "$keys" "store after --dry-run"
  expect_ok git zipllm prune --remote
  expect_log 'deleted 0 object'
  expect_log 'written within the last 1440 minute'
  expect_ok git zipllm prune --remote origin --grace 0
  expect_log 'deleted [1-9][0-9]* object'
  after=$(find ../store/objects -type f | wc -l)
  [ "$after" -lt "$keys" ] || _fail "store kept $after of $keys objects"
  cd .. && GIT_ZIPLLM_SKIP_SMUDGE=1 git clone -q remote.git fresh && cd fresh
  git config remote.origin.zipllmurl "$PWD/../store"
  expect_ok git zipllm pull
  expect_same m.safetensors ../expected.safetensors
  # Another clone pushes; this one has not fetched: nothing is decided.
  cp "$S/ftC_copyright_lr1e-5.bf16.safetensors" c.safetensors
  git add . && git commit -qm c && expect_ok git push -q origin main
  cd ../r
  expect_fail git zipllm prune --remote --grace 0
  expect_log 'has commits this clone lacks .*git fetch origin. first'
  git fetch -q origin
  expect_fail git zipllm prune --remote --grace 0
  expect_log 'not in this clone.s store .*git zipllm fetch --all. first \(nothing was deleted\)'
  expect_ok git zipllm fetch --all
  expect_ok git zipllm prune --remote --grace 0
  cd ../fresh && rm c.safetensors m.safetensors && expect_ok git zipllm checkout
  expect_same c.safetensors "$S/ftC_copyright_lr1e-5.bf16.safetensors"
}

# The store of a local-path remote holds packs (its own git add wrote
# them): prune --remote lists what is unneeded there (this hung: the listing
# looked objects up under the store's lock).
t_prune_remote_packed() {
  repo_with_model
  cp "$S/ftV_vocab576.bf16.safetensors" m.safetensors
  git add . && git commit -q --amend -m one
  git reflog expire --expire=now --all
  [ -n "$(ls .git/zipllm/packs)" ] || _fail "no packs in the remote's store"
  cd .. && git clone -q r c && cd c
  expect_ok timeout 120 git zipllm prune --remote --grace 0
  expect_log '^  unneeded: objects/[0-9a-f]{2}/[0-9a-f]{30}  [0-9]+ B$'
  # (the old version's objects stay: the new one is coded against them)
  expect_log 'kept: [1-9][0-9]* object'
  cd ../r && rm m.safetensors && expect_ok git zipllm checkout
  expect_same m.safetensors "$S/ftV_vocab576.bf16.safetensors"
}

test_case "amended models are pruned once the reflog lets them go" t_amends_pruned_after_reflog_expiry
test_case "delta bases of needed objects are kept" t_delta_bases_kept
test_case "amended versions that are delta bases stay" t_amend_chain_kept
test_case "the index and stashes are roots" t_index_and_stash_kept
test_case "objects reused by git add are not pruned" t_reused_objects_freshened
test_case "status: store totals, placeholders, --json" t_status_totals
test_case "prune --remote: a directory store" t_prune_remote_dir
test_case "prune --remote: a local-path remote's store with packs" t_prune_remote_packed
finish
