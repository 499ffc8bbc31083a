#!/usr/bin/env bash
# The base finder through real git (issue 12): nothing declared, yet each
# fine-tune is delta-coded against its nearest stored relative; unrelated
# models get no delta; declarations still win unless clearly worse;
# zipllm.autobase=off|suggest; everything restores byte-exact.
. "$(dirname "$0")/lib.sh"
export PATH="$(dirname "$BIN"):$PATH"
S=$DATA/stories260K

store_bytes() {
  find .git/zipllm/objects .git/zipllm/packs -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'
}

new_repo() {
  expect_ok git zipllm install
  git init -q "$1" && cd "$1"
  expect_ok git zipllm track '*.safetensors'
  git add .gitattributes && git commit -qm attributes
}

# add_model NAME [DIR] : the fixture NAME as DIR/model.safetensors, one commit
add_model() {
  local dir=${2:-$1}
  mkdir -p "$dir" && cp "$S/$1.bf16.safetensors" "$dir/model.safetensors"
  git add "$dir" && git commit -qm "$dir"
}

# expect_deltas REV:PATH : most of the model's tensors are delta-coded
expect_deltas() {
  expect_ok git zipllm show "$1"
  [ "$(grep -c 'delta (' "$LOG")" -ge 40 ] || _fail "$1: $(grep -c 'delta (' "$LOG") delta tensors"
}

# base_of PATH : the files `git zipllm ls-files` says PATH's deltas use
base_of() {
  git zipllm ls-files | awk -v p="$1" '$6 == p { print $8 }'
}

# write_shards DIR : base split in two shards, DIR/model-0000N-of-00002.safetensors
write_shards() {
  mkdir -p "$1"
  python3 - "$S/base.bf16.safetensors" "$1" <<'EOF'
import json, struct, sys
src, out = sys.argv[1], sys.argv[2]
data = open(src, 'rb').read()
n = struct.unpack('<Q', data[:8])[0]
header = json.loads(data[8:8 + n])
body = data[8 + n:]
names = [k for k in header if k != '__metadata__']
for i, part in enumerate([names[:len(names) // 2], names[len(names) // 2:]]):
    h, blob = {}, b''
    for k in part:
        b, e = header[k]['data_offsets']
        h[k] = {'dtype': header[k]['dtype'], 'shape': header[k]['shape'],
                'data_offsets': [len(blob), len(blob) + e - b]}
        blob += body[b:e]
    j = json.dumps(h).encode()
    j += b' ' * (-len(j) % 8)
    open('%s/model-%05d-of-00002.safetensors' % (out, i + 1), 'wb').write(
        struct.pack('<Q', len(j)) + j + blob)
EOF
}

# Issue 12 defect: a folder base staged in the same `git add` as its
# fine-tune failed with "no model at 'base'".
t_folder_base_in_same_add() {
  new_repo r
  write_shards base
  mkdir -p ft && cp "$S/ftA_licenses.bf16.safetensors" ft/model.safetensors
  printf 'ft/model.safetensors zipllm-base=base\n' >>.gitattributes
  expect_ok git add .
  git commit -qm models
  expect_eq "$(base_of ft/model.safetensors)" \
    "base/model-00001-of-00002.safetensors,base/model-00002-of-00002.safetensors" "ft's base"
  # Undeclared, the finder takes the shards as one model.
  mkdir -p ftC && cp "$S/ftC_copyright_lr1e-5.bf16.safetensors" ftC/model.safetensors
  git add ftC && git commit -qm ftC
  expect_eq "$(base_of ftC/model.safetensors)" \
    "base/model-00001-of-00002.safetensors,base/model-00002-of-00002.safetensors" "ftC's base"
}

t_folders_nothing_declared() {
  new_repo r
  for m in base ftA_licenses ftB_changelogs ftA2_chain_manpages; do add_model $m; done
  expect_eq "$(base_of ftA_licenses/model.safetensors)" "base/model.safetensors" "ftA's base"
  expect_ok git zipllm show HEAD:ftA_licenses/model.safetensors
  expect_log '^base: base finder: base/model.safetensors \(estimated 0\.[0-9]+ of solo\)'
  expect_log '% same exponent  base/model.safetensors$'
  # The chain child is nearest its parent, not the root.
  base_of ftA2_chain_manpages/model.safetensors | grep -q 'ftA_licenses/model.safetensors' ||
    _fail "ftA2 not coded against ftA: $(base_of ftA2_chain_manpages/model.safetensors)"
  on=$(store_bytes)
  cd .. && new_repo off && git config zipllm.autobase off
  for m in base ftA_licenses ftB_changelogs ftA2_chain_manpages; do add_model $m; done
  expect_eq "$(base_of ftA_licenses/model.safetensors)" "" "ftA's base with autobase=off"
  off=$(store_bytes)
  # Measured: 0.5 on these four; the floor the issue asks of the finder is 0.75.
  [ "$on" -lt $((off * 3 / 4)) ] || _fail "store with the finder $on, without $off"
  # Every file restores byte-exact in a fresh clone.
  cd .. && git clone -q r clone && cd clone
  for m in base ftA_licenses ftB_changelogs ftA2_chain_manpages; do
    expect_same $m/model.safetensors "$S/$m.bf16.safetensors"
  done
}

# One `git add` of everything: each file can use those git cleaned before it.
t_one_add() {
  new_repo r
  for m in base ftA_licenses ftC_copyright_lr1e-5; do
    mkdir -p $m && cp "$S/$m.bf16.safetensors" $m/model.safetensors
  done
  git add . && git commit -qm all
  expect_eq "$(base_of ftA_licenses/model.safetensors)" "base/model.safetensors" "ftA's base"
  expect_eq "$(base_of ftC_copyright_lr1e-5/model.safetensors)" "base/model.safetensors" "ftC's base"
  rm -rf base ftA_licenses ftC_copyright_lr1e-5
  expect_ok git zipllm checkout
  expect_same ftC_copyright_lr1e-5/model.safetensors "$S/ftC_copyright_lr1e-5.bf16.safetensors"
}

# A model only another branch has (the store cleaned it before) is a
# candidate too.
t_model_on_another_branch() {
  new_repo r
  add_model base
  git checkout -q --orphan other && git rm -rq --cached base && rm -rf base
  git add .gitattributes && git commit -qm attributes
  mkdir -p ftA && cp "$S/ftA_licenses.bf16.safetensors" ftA/model.safetensors
  git add ftA && git commit -qm ftA
  expect_deltas HEAD:ftA/model.safetensors
  rm -rf ftA && expect_ok git zipllm checkout
  expect_same ftA/model.safetensors "$S/ftA_licenses.bf16.safetensors"
}

t_checkpoints() {
  new_repo r
  add_model base checkpoint-100
  add_model ftA_licenses checkpoint-200
  add_model ftA2_chain_manpages checkpoint-300
  expect_eq "$(base_of checkpoint-200/model.safetensors)" "checkpoint-100/model.safetensors" "checkpoint-200's base"
  base_of checkpoint-300/model.safetensors | grep -q 'checkpoint-200/model.safetensors' ||
    _fail "checkpoint-300 not coded against checkpoint-200: $(base_of checkpoint-300/model.safetensors)"
}

t_unrelated_gets_no_delta() {
  new_repo r
  add_model base
  mkdir -p retrained && write_unrelated "$S/base.bf16.safetensors" retrained/model.safetensors
  git add retrained && git commit -qm retrained
  expect_eq "$(base_of retrained/model.safetensors)" "" "retrained's base"
  expect_ok git zipllm show HEAD:retrained/model.safetensors
  expect_no_log 'delta'
  # Never larger than stored alone.
  with=$(store_bytes)
  cd .. && new_repo alone && mkdir -p retrained && write_unrelated "$S/base.bf16.safetensors" retrained/model.safetensors
  git add retrained && git commit -qm retrained
  alone=$(store_bytes)
  cd .. && new_repo base_only && add_model base
  base_only=$(store_bytes)
  [ $((with - base_only)) -le "$alone" ] ||
    _fail "retrained stored in $((with - base_only)) bytes beside base, $alone alone"
  # Retrained at the same path: its previous version is no base either.
  cd ../r
  write_unrelated "$S/base.bf16.safetensors" base/model.safetensors 13
  git add base && git commit -qm "retrained in place"
  expect_ok git zipllm show HEAD:base/model.safetensors
  expect_log '^base: none \(coded alone\)'
  expect_log 'ruled out: unrelated weights'
  expect_no_log 'delta \('
}

t_declared_base_kept_unless_clearly_worse() {
  new_repo r
  add_model base
  add_model ftA_licenses
  # Declared and as good as anything here: kept.
  printf 'ftC_copyright_lr1e-5/model.safetensors zipllm-base=base/model.safetensors\n' >>.gitattributes
  # Declared, but the chain child's parent is far better than the root.
  printf 'ftA2_chain_manpages/model.safetensors zipllm-base=base/model.safetensors\n' >>.gitattributes
  git add .gitattributes && git commit -qm declare
  add_model ftC_copyright_lr1e-5
  add_model ftA2_chain_manpages
  expect_eq "$(base_of ftC_copyright_lr1e-5/model.safetensors)" "base/model.safetensors" "ftC's base"
  base_of ftA2_chain_manpages/model.safetensors | grep -q 'ftA_licenses/model.safetensors' ||
    _fail "ftA2 kept the worse declared base: $(base_of ftA2_chain_manpages/model.safetensors)"
}

t_autobase_modes() {
  new_repo r
  add_model base
  git config zipllm.autobase off
  add_model ftA_licenses
  expect_eq "$(base_of ftA_licenses/model.safetensors)" "" "ftA's base with autobase=off"
  git config zipllm.autobase suggest
  mkdir -p ftC && cp "$S/ftC_copyright_lr1e-5.bf16.safetensors" ftC/model.safetensors
  expect_ok git add ftC
  expect_log 'hint: ftC/model.safetensors would store about [0-9]+ % smaller against (base|ftA_licenses)/model.safetensors'
  git commit -qm ftC
  expect_eq "$(base_of ftC/model.safetensors)" "" "ftC's base with autobase=suggest"
  git config zipllm.autobase sometimes
  mkdir -p ftB && cp "$S/ftB_changelogs.bf16.safetensors" ftB/model.safetensors
  expect_fail git add ftB
  expect_log "zipllm.autobase is 'sometimes'; expected on, suggest or off"
}

# fake_hf_cache ID FILE : FILE as the only snapshot of model ID in the
# Hugging Face cache under $HOME, laid out as huggingface_hub does it.
fake_hf_cache() {
  local repo="$HOME/.cache/huggingface/hub/models--${1/\//--}"
  mkdir -p "$repo/blobs" "$repo/refs" "$repo/snapshots/0123abcd"
  cp "$2" "$repo/blobs/5eed"
  ln -s ../../blobs/5eed "$repo/snapshots/0123abcd/model.safetensors"
  printf 0123abcd >"$repo/refs/main"
}

# fake_hf_cache_sharded ID : base as two shards and their index, the way a
# sharded model sits in the Hugging Face cache (plus a stray .safetensors
# file the index does not list, which must be ignored).
fake_hf_cache_sharded() {
  local snap="$HOME/.cache/huggingface/hub/models--${1/\//--}/snapshots/feedbeef"
  write_shards "$snap"
  python3 - "$snap" <<'EOF'
import json, struct, sys
snap = sys.argv[1]
wm = {}
for i in (1, 2):
    f = '%s/model-%05d-of-00002.safetensors' % (snap, i)
    d = open(f, 'rb').read()
    n = struct.unpack('<Q', d[:8])[0]
    for k in json.loads(d[8:8 + n]):
        wm[k] = 'model-%05d-of-00002.safetensors' % i
json.dump({'metadata': {}, 'weight_map': wm}, open(snap + '/model.safetensors.index.json', 'w'))
EOF
  cp "$S/ftB_changelogs.bf16.safetensors" "$snap/training_state.safetensors"
}

card() { printf -- '---\nlicense: mit\nbase_model: %s\n---\n# A fine-tune\n' "$1"; }

# The card is in the repository's root, the models in sub-folders, the base
# only in the Hugging Face cache.
t_card_in_root_names_hf_cached_base() {
  fake_hf_cache stories/base-260K "$S/base.bf16.safetensors"
  new_repo r
  card stories/base-260K >README.md
  mkdir -p ftA ftC
  cp "$S/ftA_licenses.bf16.safetensors" ftA/model.safetensors
  cp "$S/ftC_copyright_lr1e-5.bf16.safetensors" ftC/model.safetensors
  expect_ok git add .
  expect_log 'README.md base_model: stories/base-260K: storing base stories/base-260K from the Hugging Face cache'
  git commit -qm models
  expect_ok git zipllm base list
  expect_log '^stories/base-260K '
  expect_deltas HEAD:ftA/model.safetensors
  # A clone without that cache restores both: the base travels in the store.
  cd .. && HOME=$PWD/home2 && mkdir -p "$HOME" && git config --global user.name T &&
    git config --global user.email t@example.com && expect_ok git zipllm install
  git clone -q r clone
  expect_same clone/ftA/model.safetensors "$S/ftA_licenses.bf16.safetensors"
  expect_same clone/ftC/model.safetensors "$S/ftC_copyright_lr1e-5.bf16.safetensors"
}

t_card_names_sharded_hf_model() {
  fake_hf_cache_sharded stories/base-sharded
  new_repo r
  card stories/base-sharded >README.md
  mkdir -p ftA && cp "$S/ftA_licenses.bf16.safetensors" ftA/model.safetensors
  expect_ok git add .
  expect_log 'storing base stories/base-sharded from the Hugging Face cache'
  git commit -qm ftA
  expect_ok git zipllm base list
  expect_log '^stories/base-sharded +2 shard\(s\), 47 tensors'
  expect_deltas HEAD:ftA/model.safetensors
  rm -rf ftA && expect_ok git zipllm checkout
  expect_same ftA/model.safetensors "$S/ftA_licenses.bf16.safetensors"
}

t_unknown_card_base_warns_once() {
  new_repo r
  add_model base
  card nobody/nothing >README.md
  mkdir -p ftA ftC
  cp "$S/ftA_licenses.bf16.safetensors" ftA/model.safetensors
  cp "$S/ftC_copyright_lr1e-5.bf16.safetensors" ftC/model.safetensors
  expect_ok git add .
  expect_log 'warning: README.md names base_model nobody/nothing, which is neither a registered base nor in the Hugging Face cache'
  expect_log 'git zipllm base add nobody/nothing FILE'
  expect_eq "$(grep -c 'names base_model' "$LOG")" 1 "warnings"
  git commit -qm models
  # The finder still chose.
  expect_eq "$(base_of ftA/model.safetensors)" "base/model.safetensors" "ftA's base"
}

# A Hugging Face style repository through the LFS door: nothing declared but
# the card, the base only in the cache; the store holds at most half the
# raw bytes and a fresh clone restores byte-exact.
t_lfs_door_card_and_finder() {
  fake_hf_cache stories/base-260K "$S/base.bf16.safetensors"
  git config --global zipllm.trustcommitted true
  expect_ok git lfs install
  expect_ok git zipllm install
  git init -q --bare remote.git && mkdir store && git init -q hf && cd hf
  printf '*.safetensors filter=lfs diff=lfs merge=lfs -text\n' >.gitattributes
  card stories/base-260K >README.md
  for f in ftA_licenses ftB_changelogs ftC_copyright_lr1e-5; do cp "$S/$f.bf16.safetensors" .; done
  printf '[zipllm]\n\turl = %s\n' "$PWD/../store" >.zipllmconfig
  git add . && git commit -qm models
  git remote add origin ../remote.git
  expect_ok git zipllm lfs-enable
  expect_ok git push origin main
  cd ..
  raw=$(for f in ftA_licenses ftB_changelogs ftC_copyright_lr1e-5; do stat -c %s "$S/$f.bf16.safetensors"; done |
    awk '{s += $1} END {print s}')
  stored=$(find store -type f -printf '%s\n' | awk '{s += $1} END {print s}')
  echo "LFS door: $stored bytes stored for $raw raw bytes"
  [ $((stored * 2)) -le "$raw" ] || _fail "stored $stored bytes for $raw raw bytes"
  HOME=$PWD/home2 && mkdir -p "$HOME" && git config --global zipllm.trustcommitted true
  git config --global user.name T && git config --global user.email t@example.com
  expect_ok git lfs install
  expect_ok git zipllm install
  expect_ok git -c lfs.standalonetransferagent=zipllm clone remote.git clone
  for f in ftA_licenses ftB_changelogs ftC_copyright_lr1e-5; do
    expect_same "clone/$f.bf16.safetensors" "$S/$f.bf16.safetensors"
  done
  # A new version of a file at the same path: coded against what the door
  # stored before (the old version, or a sibling), not alone.
  cd clone
  cp "$S/ftA2_chain_manpages.bf16.safetensors" ftA_licenses.bf16.safetensors
  git add . && git commit -qm "new version"
  before=$(find ../store -type f -printf '%s\n' | awk '{s += $1} END {print s}')
  expect_ok git push origin main
  grown=$(( $(find ../store -type f -printf '%s\n' | awk '{s += $1} END {print s}') - before ))
  size=$(stat -c %s "$S/ftA2_chain_manpages.bf16.safetensors")
  echo "LFS door: the new version added $grown bytes for $size raw"
  [ $((grown * 10)) -le $((size * 3)) ] || _fail "the new version added $grown bytes for $size raw"
}

t_hfcache_off() {
  fake_hf_cache stories/base-260K "$S/base.bf16.safetensors"
  git config --global zipllm.hfcache false
  new_repo r
  card stories/base-260K >README.md
  mkdir -p ftA && cp "$S/ftA_licenses.bf16.safetensors" ftA/model.safetensors
  expect_ok git add .
  expect_no_log 'from the Hugging Face cache'
  expect_log 'names base_model stories/base-260K, which is neither'
  expect_ok git zipllm base list
  expect_no_log 'stories'
}

t_registry_names() {
  new_repo r
  cp "$S/base.bf16.safetensors" b.safetensors
  cp "$S/ftA_licenses.bf16.safetensors" a.safetensors
  expect_ok git zipllm base add org/b b.safetensors
  expect_ok git zipllm base add org/b b.safetensors
  expect_fail git zipllm base add org/b a.safetensors
  expect_log 'base org/b is already registered with other files; `git zipllm base add --force org/b FILE...` re-points it'
  expect_ok git zipllm base add --force org/b a.safetensors
  expect_ok git zipllm base list
  expect_log '^org/b '
  expect_ok git zipllm base remove org/b
  expect_ok git zipllm base list
  expect_no_log 'org/b'
  expect_fail git zipllm base remove org/b
  expect_log 'no base named org/b is registered'
}

# A base registered from outside the repository, named by the card: a
# teammate's clone knows the name (committed .zipllmbases) and codes its
# own fine-tune against it.
t_registry_travels() {
  cp "$S/base.bf16.safetensors" outside.safetensors
  new_repo r
  expect_ok git zipllm base add org/base "$PWD/../outside.safetensors"
  expect_log 'Next: git add .zipllmbases'
  card org/base >README.md
  mkdir -p ftA && cp "$S/ftA_licenses.bf16.safetensors" ftA/model.safetensors
  git add . && git commit -qm "ftA on org/base"
  git ls-files | grep -q '^.zipllmbases/org/base/outside.safetensors.manifest$' ||
    _fail ".zipllmbases not committed: $(git ls-files)"
  cd .. && HOME=$PWD/home2 && mkdir -p "$HOME" && git config --global user.name T &&
    git config --global user.email t@example.com && expect_ok git zipllm install
  git clone -q r clone && cd clone
  expect_same ftA/model.safetensors "$S/ftA_licenses.bf16.safetensors"
  expect_ok git zipllm base list
  expect_log '^org/base '
  mkdir -p ftC && cp "$S/ftC_copyright_lr1e-5.bf16.safetensors" ftC/model.safetensors
  expect_ok git add ftC
  expect_no_log 'warning'
  git commit -qm ftC
  expect_deltas HEAD:ftC/model.safetensors
  rm -rf ftC && expect_ok git zipllm checkout
  expect_same ftC/model.safetensors "$S/ftC_copyright_lr1e-5.bf16.safetensors"
}

# .zipllmconfig names a model only the Hugging Face cache has.
t_config_name_from_hf_cache() {
  fake_hf_cache stories/base-260K "$S/base.bf16.safetensors"
  new_repo r
  printf '[zipllm]\n\tbase = stories/base-260K\n' >.zipllmconfig
  mkdir -p ft && cp "$S/ftA_licenses.bf16.safetensors" ft/model.safetensors
  expect_ok git add .
  expect_log 'storing base stories/base-260K from the Hugging Face cache'
  git commit -qm ft
  expect_deltas HEAD:ft/model.safetensors
  # A name found nowhere is still an error here (it was declared), saying where it looked.
  printf '[zipllm]\n\tbase = nobody/nothing\n' >.zipllmconfig
  cp "$S/ftC_copyright_lr1e-5.bf16.safetensors" ft/model.safetensors
  expect_fail git add ft
  expect_log "no model at 'nobody/nothing', no registered base of that name .* and no such model in the Hugging Face cache"
}

MODELS="base ftA_licenses ftB_changelogs ftC_copyright_lr1e-5 ftA2_chain_manpages ftV_vocab576"

all_restore_exact() {
  for m in $MODELS; do rm -rf "$m"; done
  expect_ok git zipllm checkout
  for m in $MODELS; do expect_same $m/model.safetensors "$S/$m.bf16.safetensors"; done
}

# Committed with the finder off, repacked later: the same store as the finder
# at commit time; every file restores byte-exact before and after.
t_repack_reaches_finder_size() {
  new_repo on
  for m in $MODELS; do add_model $m; done
  on=$(store_bytes)
  cd .. && new_repo r && git config zipllm.autobase off
  for m in $MODELS; do add_model $m; done
  off=$(store_bytes)
  all_restore_exact
  expect_ok git zipllm repack --dry-run
  expect_log 'would re-encode [0-9]+ object'
  expect_eq "$(store_bytes)" "$off" "store after --dry-run"
  expect_ok git zipllm repack
  expect_log 'ftA_licenses/model.safetensors: .* base finder: base/model.safetensors'
  after=$(store_bytes)
  echo "store: $off bytes committed alone, $after repacked, $on with the finder at commit time"
  [ "$after" -le $((on * 103 / 100)) ] || _fail "repacked $after bytes, finder at commit time $on"
  expect_ok git zipllm verify
  all_restore_exact
  expect_ok git zipllm show HEAD:ftA_licenses/model.safetensors
  expect_log '^base: base finder: base/model.safetensors'
  expect_ok git zipllm repack
  expect_log 're-encoded 0 object'
  expect_ok git zipllm repack ftA_licenses/model.safetensors
  expect_fail git zipllm repack nothere.safetensors
  expect_log 'nothere.safetensors is not a tracked model file'
}

# kill -9 at many points of a repack: every object stays readable, every
# file restores byte-exact, and a later repack finishes the job.
t_repack_killed() {
  new_repo r && git config zipllm.autobase off
  for m in $MODELS; do add_model $m; done
  off=$(store_bytes)
  for delay in 0.01 0.03 0.06 0.1 0.15 0.2 0.3; do
    git zipllm repack >/dev/null 2>&1 &
    pid=$!
    sleep $delay
    kill -9 $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    expect_ok git zipllm verify
    all_restore_exact
  done
  expect_ok git zipllm repack
  expect_ok git zipllm verify
  all_restore_exact
  # Copies a kill left (a rewritten pack published, the old one not yet
  # deleted) go with prune.
  expect_ok git zipllm prune --grace 0
  expect_ok git zipllm verify
  all_restore_exact
  [ "$(store_bytes)" -le $((off * 51 / 100)) ] || _fail "store $(store_bytes) after repack, $off before"
  expect_ok git zipllm gc --older-than 0
  leftovers=$(find .git/zipllm/tmp -type f | wc -l)
  expect_eq "$leftovers" 0 "files left in tmp/"
}

# Two repositories sharing one store (zipllm.storepath): the second finds
# the first's model through the store's signature index, also when the
# store predates the index (it is rebuilt from the clean cache once).
t_shared_store_index() {
  new_repo one
  git config zipllm.storepath "$SCRATCH/shared"
  add_model base
  [ -n "$(ls "$SCRATCH/shared/index/sig")" ] || _fail "no signature index in the shared store"
  [ -f "$SCRATCH/shared/models/$(sha256sum <base/model.safetensors | cut -c1-64)" ] ||
    _fail "base not in models/"
  rm -rf "$SCRATCH/shared/index" "$SCRATCH/shared/models"
  cd .. && new_repo two
  git config zipllm.storepath "$SCRATCH/shared"
  add_model ftA_licenses ftA
  expect_deltas HEAD:ftA/model.safetensors
  expect_log 'stored model '
  [ -n "$(ls "$SCRATCH/shared/index/sig")" ] || _fail "index not rebuilt"
  rm -rf ftA && expect_ok git zipllm checkout
  expect_same ftA/model.safetensors "$S/ftA_licenses.bf16.safetensors"
}

# A teammate's new repository using the same remote store: nothing of the
# base is local, its push published it in the remote store's index, so the
# fine-tune is still delta-coded (the base's objects are fetched) and
# restores byte-exact in a third repository with an empty store.
t_remote_index_teammate() {
  new_repo one
  git config zipllm.url "$SCRATCH/team"
  add_model base
  expect_ok git zipllm push
  [ -n "$(ls "$SCRATCH/team/index/sig")" ] || _fail "push published no index"
  cd .. && new_repo two
  git config zipllm.url "$SCRATCH/team"
  add_model ftA_licenses ftA
  expect_deltas HEAD:ftA/model.safetensors
  expect_log "remote model $(sha256sum <"$S/base.bf16.safetensors" | cut -c1-12)"
  expect_ok git zipllm push
  cd .. && new_repo three
  git config zipllm.url "$SCRATCH/team"
  git fetch -q ../two HEAD && git reset -q --hard FETCH_HEAD
  expect_ok git zipllm checkout
  expect_same ftA/model.safetensors "$S/ftA_licenses.bf16.safetensors"
  # An unreachable remote store costs nothing but the check.
  cd .. && new_repo four
  git config zipllm.url "s3://models/x?endpoint=http://127.0.0.1:1"
  add_model ftC_copyright_lr1e-5 ftC
  expect_ok git zipllm show HEAD:ftC/model.safetensors
  rm -rf ftC && expect_ok git -c zipllm.url= zipllm checkout
  expect_same ftC/model.safetensors "$S/ftC_copyright_lr1e-5.bf16.safetensors"
}

test_case "folders, nothing declared: each fine-tune against its nearest relative" t_folders_nothing_declared
test_case "one git add: later files use the earlier ones" t_one_add
test_case "a folder base in the same git add; shards found as one model" t_folder_base_in_same_add
test_case "checkpoint-N folders: each against its predecessor" t_checkpoints
test_case "a model only another branch has is a candidate" t_model_on_another_branch
test_case "two repositories sharing a store find each other's models (index, rebuilt once)" t_shared_store_index
test_case "a teammate's repository finds the base in the remote store's index" t_remote_index_teammate
test_case "an unrelated model of the same architecture gets no delta" t_unrelated_gets_no_delta
test_case "a declared base stays unless clearly worse" t_declared_base_kept_unless_clearly_worse
test_case "zipllm.autobase off, suggest, and a bad value" t_autobase_modes
test_case "a card in the root names a base found in the Hugging Face cache" t_card_in_root_names_hf_cached_base
test_case "a card names a sharded model in the Hugging Face cache" t_card_names_sharded_hf_model
test_case "an unknown card base is a warning, once; the finder still chooses" t_unknown_card_base_warns_once
test_case "base add refuses to re-point without --force; base remove" t_registry_names
test_case "registered names travel to a teammate's clone" t_registry_travels
test_case ".zipllmconfig names a base only the Hugging Face cache has" t_config_name_from_hf_cache
test_case "repack reaches the finder's size; byte-exact before and after" t_repack_reaches_finder_size
test_case "repack killed at many points loses nothing" t_repack_killed
test_case "zipllm.hfcache=false: the cache is not read" t_hfcache_off
test_case "the LFS door: card + cache + finder, half the raw bytes, clone byte-exact" t_lfs_door_card_and_finder
finish
