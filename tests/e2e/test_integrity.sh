#!/usr/bin/env bash
# Damage and repair: corrupt, missing and odd store entries are detected,
# named, never trusted, and replaced (re-add, fetch, verify --repair).
. "$(dirname "$0")/lib.sh"
export PATH="$(dirname "$BIN"):$PATH"
S=$DATA/stories260K

# A repository with the filter installed and *.safetensors tracked.
new_repo() {
  expect_ok git zipllm install
  git init -q "$1"
  cd "$1"
  expect_ok git zipllm track '*.safetensors'
  git add .gitattributes
  git commit -qm attributes
}

# Issue 10, defect 2: a damaged object was trusted forever.
t_add_replaces_damaged_loose_object() {
  new_repo r
  make_model big.safetensors 1048576
  git add big.safetensors && git commit -qm big
  local id; id=$(tensor_id HEAD:big.safetensors w)
  expect_file "$(object_path "$id")"
  flip_byte "$(object_path "$id")" 3000
  expect_fail git zipllm verify
  expect_log "$id"
  # Another file holding the same tensor (a byte after the last tensor
  # makes it another file; re-adding the same file answers from the clean
  # cache, which checks presence, not integrity).
  { cat big.safetensors; printf 'x'; } > copy.safetensors
  expect_ok git add copy.safetensors
  expect_ok git zipllm verify
  cp big.safetensors big.orig
  rm big.safetensors copy.safetensors
  expect_ok git checkout -- big.safetensors copy.safetensors
  expect_same big.safetensors big.orig
  expect_eq "$(head -c -1 copy.safetensors | cmp - big.orig && echo same)" same
  expect_true ls .git/zipllm/corrupt/"$id".*
}

t_add_replaces_damaged_packed_object() {
  new_repo r
  cp "$S/base.bf16.safetensors" base.safetensors
  git add base.safetensors && git commit -qm base
  local pack; pack=$(ls -S .git/zipllm/packs/*.zpk | head -1)
  flip_byte "$pack" 5000
  expect_fail git zipllm verify
  expect_log 'corrupt'
  { cat base.safetensors; printf 'x'; } > again.safetensors
  expect_ok git add again.safetensors
  expect_ok git zipllm verify
  rm base.safetensors again.safetensors
  expect_ok git checkout -- base.safetensors again.safetensors
  expect_same base.safetensors "$S/base.bf16.safetensors"
  expect_eq "$(head -c -1 again.safetensors | cmp - "$S/base.bf16.safetensors" && echo same)" same
}

t_verify_repair_from_work_tree() {
  new_repo r
  make_model big.safetensors 1048576
  git add big.safetensors && git commit -qm big
  local id; id=$(tensor_id HEAD:big.safetensors w)
  flip_byte "$(object_path "$id")" 3000
  expect_fail git zipllm verify
  expect_log "corrupt: object $id"
  expect_log 'verify --repair'
  expect_ok git zipllm verify --repair
  expect_log 'repaired 1 object\(s\) from the work tree'
  expect_ok git zipllm verify
  cp big.safetensors "$OLDPWD/big.orig"
  rm big.safetensors
  expect_ok git checkout -- big.safetensors
  expect_same big.safetensors "$OLDPWD/big.orig"
}

t_verify_repair_and_fetch_from_remote() {
  new_repo origin
  make_model big.safetensors 1048576
  git add big.safetensors && git commit -qm big
  cd ..
  git clone -q origin clone
  cd clone
  local id; id=$(tensor_id HEAD:big.safetensors w)
  expect_file "$(object_path "$id")"
  # The work tree file cannot help (changed), so the origin's store must.
  flip_byte "$(object_path "$id")" 3000
  echo changed >> big.safetensors
  expect_ok git zipllm verify --repair
  expect_log 'from the remote'
  expect_ok git zipllm verify
  # fetch replaces a damaged local copy too, rather than trusting it.
  flip_byte "$(object_path "$id")" 4000
  expect_fail git zipllm verify
  expect_ok git zipllm fetch
  expect_ok git zipllm verify
  git checkout -q -- big.safetensors
  expect_same big.safetensors ../origin/big.safetensors
}

t_verify_reports_odd_entries() {
  new_repo r
  make_model big.safetensors 1048576
  cp "$S/base.bf16.safetensors" base.safetensors
  git add . && git commit -qm models
  local id; id=$(tensor_id HEAD:big.safetensors w)
  # An object that is a directory is damage, not a present object.
  rm -f "$(object_path "$id")"
  mkdir "$(object_path "$id")"
  expect_fail git zipllm verify
  expect_log "$id.*not a regular file"
  rmdir "$(object_path "$id")"
  # A pack that cannot be read is named as damaged (not only "missing").
  local pack; pack=$(ls -S .git/zipllm/packs/*.zpk | head -1)
  chmod u+w "$pack"
  truncate -s -10 "$pack"
  expect_fail git zipllm verify
  expect_log "pack .*$(basename "$pack").* cannot be read"
  expect_ok git zipllm verify --repair
  expect_ok git zipllm verify
  rm base.safetensors big.safetensors
  expect_ok git checkout -- .
  expect_same base.safetensors "$S/base.bf16.safetensors"
}

# Issue 10, defect 4: an index manifest that does not parse was skipped.
t_damaged_manifest_is_named() {
  new_repo r
  local blob
  blob=$(printf 'zipllm manifest v1\nsize 12\nsha256 nothex\n' | git hash-object -w --stdin)
  git update-index --add --cacheinfo "100644,$blob,bad.safetensors"
  expect_fail git zipllm verify
  expect_log 'bad.safetensors.*damaged'
  expect_fail git zipllm checkout
  expect_log 'bad.safetensors'
}

# Issue 10, defect 13: a 200-byte manifest claiming a 4 GiB header made
# restore allocate 4 GiB before noticing the object is smaller.
t_manifest_lengths_do_not_drive_allocations() {
  new_repo r
  cp "$S/base.bf16.safetensors" model.safetensors
  git add model.safetensors && git commit -qm model
  local blob
  blob=$(git cat-file -p HEAD:model.safetensors |
         awk '$1=="size" {print "size 4294968000"; next} $1=="header" {print $1, $2, "4294967296"; next} {print}' |
         git hash-object -w --stdin)
  git update-index --cacheinfo "100644,$blob,model.safetensors"
  rm model.safetensors
  expect_fail /usr/bin/time -f 'maxrss %M' git-zipllm checkout
  expect_log 'holds [0-9]+ bytes, the manifest says 4294967296'
  local kb; kb=$(awk '/^maxrss/ {print $2}' "$LOG")
  expect_true [ "$kb" -lt 512000 ]
  expect_no_file model.safetensors
}

test_case "add replaces a damaged loose object" t_add_replaces_damaged_loose_object
test_case "add replaces a damaged packed object" t_add_replaces_damaged_packed_object
test_case "verify --repair rewrites from the work tree" t_verify_repair_from_work_tree
test_case "verify --repair and fetch download replacements" t_verify_repair_and_fetch_from_remote
test_case "verify reports directories and unreadable packs" t_verify_reports_odd_entries
test_case "a damaged manifest in the index is named, not skipped" t_damaged_manifest_is_named
test_case "manifest lengths do not drive allocations" t_manifest_lengths_do_not_drive_allocations
finish
