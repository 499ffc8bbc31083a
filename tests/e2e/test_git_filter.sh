#!/usr/bin/env bash
# The git filter through real git: install, track, add/commit/checkout,
# branches, stash, clone, failure modes.
. "$(dirname "$0")/lib.sh"
export PATH="$(dirname "$BIN"):$PATH"
S=$DATA/stories260K
git config --global user.email test@example.com
git config --global user.name Test
git config --global init.defaultBranch main
git config --global advice.detachedHead false
cd "$SCRATCH"

clean_tree() { [ -z "$(git status --porcelain)" ] && git diff --exit-code >/dev/null; }

t_install_track() {
  run git zipllm install && [ "$(git config --global filter.zipllm.process)" = "git-zipllm filter-process" ] &&
    [ "$(git config --global filter.zipllm.required)" = true ] &&
    git init -q repo && cd repo &&
    printf '*.safetensors filter=lfs diff=lfs merge=lfs -text\n' > .gitattributes &&
    run git zipllm track '*.safetensors' && run git zipllm track '*.safetensors' &&
    [ "$(tail -n1 .gitattributes)" = "*.safetensors filter=zipllm diff=zipllm merge=zipllm -text" ] &&
    [ "$(grep -c zipllm .gitattributes)" = 1 ] &&
    [ "$(git check-attr filter base.safetensors | awk '{print $3}')" = zipllm ]
}
t_add_commit() {
  cp "$S/base.bf16.safetensors" base.safetensors &&
    cp "$S/ftA_licenses.bf16.safetensors" ftA.safetensors &&
    printf 'ftA.safetensors zipllm-base=base.safetensors\n' >> .gitattributes &&
    run git add .gitattributes base.safetensors && run git commit -qm base &&
    run git add ftA.safetensors && run git commit -qm ftA &&
    git cat-file -p HEAD:ftA.safetensors | head -1 | grep -q '^zipllm manifest v1$' &&
    [ "$(git cat-file -s HEAD:ftA.safetensors)" -lt 20000 ] && clean_tree
}
t_delete_checkout() {
  rm base.safetensors ftA.safetensors && run git checkout -- . &&
    cmp -s base.safetensors "$S/base.bf16.safetensors" && cmp -s ftA.safetensors "$S/ftA_licenses.bf16.safetensors" &&
    clean_tree
}
t_delta_used() {
  run git zipllm show HEAD:ftA.safetensors && [ "$(grep -c 'delta (' "$LOG")" -ge 40 ]
}
t_branch_switch() {
  run git switch -q -c other && cp "$S/ftB_changelogs.bf16.safetensors" ftA.safetensors &&
    run git commit -qam "ftB over ftA" && run git switch -q main &&
    cmp -s ftA.safetensors "$S/ftA_licenses.bf16.safetensors" && clean_tree &&
    run git switch -q other && cmp -s ftA.safetensors "$S/ftB_changelogs.bf16.safetensors" && clean_tree &&
    run git switch -q main
}
t_reset_hard() {
  cp "$S/ftC_copyright_lr1e-5.bf16.safetensors" ftA.safetensors && ! clean_tree &&
    run git reset -q --hard && cmp -s ftA.safetensors "$S/ftA_licenses.bf16.safetensors" && clean_tree
}
t_stash() {
  cp "$S/ftC_copyright_lr1e-5.bf16.safetensors" ftA.safetensors && run git stash -q &&
    cmp -s ftA.safetensors "$S/ftA_licenses.bf16.safetensors" && clean_tree &&
    run git stash pop -q && cmp -s ftA.safetensors "$S/ftC_copyright_lr1e-5.bf16.safetensors" &&
    run git checkout -- ftA.safetensors && clean_tree
}
t_reclean_cached() {
  # git re-cleans a touched file; the clean cache answers without re-encoding
  [ -n "$(ls .git/zipllm/cache/clean)" ] && touch ftA.safetensors base.safetensors &&
    clean_tree && rm -rf .git/zipllm/cache && touch ftA.safetensors && clean_tree &&
    [ -n "$(ls .git/zipllm/cache/clean)" ]
}
t_renormalize() {
  run git add --renormalize . && clean_tree
}
t_diff_readable() {
  cp "$S/ftC_copyright_lr1e-5.bf16.safetensors" ftA.safetensors
  git diff > "$LOG" 2>&1
  local ok=$?
  git checkout -- ftA.safetensors
  [ $ok -eq 0 ] && grep -q '^-model.embed_tokens.weight' "$LOG" && grep -q '^+model.embed_tokens.weight' "$LOG" && clean_tree
}
t_chain_previous_version() {
  cp "$S/ftA2_chain_manpages.bf16.safetensors" chain.safetensors && run git add chain.safetensors &&
    run git commit -qm "chain v1 = ftA2's parent would be ftA; start with ftA" &&
    cp "$S/ftA_licenses.bf16.safetensors" chain.safetensors && run git commit -qam "v2" &&
    run git zipllm show HEAD:chain.safetensors && [ "$(grep -c 'delta (' "$LOG")" -ge 40 ]
}
t_clone_local_path() {
  cd "$SCRATCH" && run git clone -q repo clone && cd clone &&
    cmp -s ftA.safetensors "$S/ftA_licenses.bf16.safetensors" && cmp -s base.safetensors "$S/base.bf16.safetensors" &&
    clean_tree && [ -n "$(ls .git/zipllm/objects)" ]
}
t_skip_smudge_then_checkout() {
  cd "$SCRATCH" && GIT_ZIPLLM_SKIP_SMUDGE=1 run git clone -q repo lazy && cd lazy &&
    head -c 18 ftA.safetensors | grep -q 'zipllm manifest v1' &&
    run git zipllm checkout && cmp -s ftA.safetensors "$S/ftA_licenses.bf16.safetensors" && clean_tree
}
t_process_only() {
  cd "$SCRATCH/repo" && git config filter.zipllm.clean false && git config filter.zipllm.smudge false &&
    rm -f base.safetensors ftA.safetensors && run git checkout -- . &&
    cmp -s ftA.safetensors "$S/ftA_licenses.bf16.safetensors" &&
    cp "$S/ftV_vocab576.bf16.safetensors" v.safetensors && run git add v.safetensors && run git commit -qm v &&
    clean_tree && git config --unset filter.zipllm.clean && git config --unset filter.zipllm.smudge
}
t_delayed_checkout() {
  cd "$SCRATCH/fam" && rm -rf ftA_licenses ftB_changelogs ftC_copyright_lr1e-5 &&
    GIT_ZIPLLM_TRACE=1 git checkout -- . > "$LOG" 2>&1 &&
    [ "$(grep -c 'delayed' "$LOG")" -ge 3 ] &&
    cmp -s ftA_licenses/model.safetensors "$S/ftA_licenses.bf16.safetensors" &&
    cmp -s ftB_changelogs/model.safetensors "$S/ftB_changelogs.bf16.safetensors" &&
    cmp -s ftC_copyright_lr1e-5/model.safetensors "$S/ftC_copyright_lr1e-5.bf16.safetensors" && clean_tree
}
t_merge_conflict() {
  cd "$SCRATCH/fam" && git switch -q -c left && cp "$S/ftB_changelogs.bf16.safetensors" base/model.safetensors &&
    git commit -qam left && git switch -q main && git switch -q -c right &&
    cp "$S/ftC_copyright_lr1e-5.bf16.safetensors" base/model.safetensors && git commit -qam right &&
    ! run git merge left && grep -q 'CONFLICT' "$LOG" && grep -q 'both sides changed this model' "$LOG" &&
    cmp -s base/model.safetensors "$S/ftC_copyright_lr1e-5.bf16.safetensors" &&
    run git merge --abort && cmp -s base/model.safetensors "$S/ftC_copyright_lr1e-5.bf16.safetensors" &&
    clean_tree && git switch -q main
}
t_parallel_adds() {
  # Each add's own exit status counts (a bare `wait` returns 0 whatever
  # the jobs did).
  cd "$SCRATCH/fam" && git worktree add -q ../wt2 && (
    cp "$S/ftA2_chain_manpages.bf16.safetensors" p1.safetensors && git add p1.safetensors & a1=$!
    ( cd ../wt2 && cp "$S/ftA2_chain_manpages.bf16.safetensors" p2.safetensors && git add p2.safetensors ) & a2=$!
    wait $a1 && wait $a2 ) && cd ../wt2 && run git commit -qm p2 && cd ../fam && run git commit -qm p1 &&
    rm p1.safetensors && run git checkout -- p1.safetensors && cmp -s p1.safetensors "$S/ftA2_chain_manpages.bf16.safetensors" &&
    cd ../wt2 && rm p2.safetensors && run git checkout -- p2.safetensors &&
    cmp -s p2.safetensors "$S/ftA2_chain_manpages.bf16.safetensors" && [ ! -d .git/zipllm ] &&
    [ -z "$(find "$SCRATCH/fam/.git/zipllm" -name '*.tmp-*')" ]
}
t_killed_clean() {
  # one 64 MiB F32 tensor of random bytes: big enough that git add takes a moment
  local hdr='{"w":{"dtype":"F32","shape":[16777216],"data_offsets":[0,67108864]}}'
  cd "$SCRATCH/fam" &&
    { printf "\\x$(printf %02x ${#hdr})\\0\\0\\0\\0\\0\\0\\0"; printf '%s' "$hdr"; head -c 67108864 /dev/urandom; } > big.safetensors &&
    [ "$(stat -c %s big.safetensors)" = $((8 + ${#hdr} + 67108864)) ] || return 1
  # Kill only our own filter (other suites may run at the same time) while
  # it works: once its spool exists (the file differs from the index, so
  # the clean copies it), not after a guessed delay.
  ( git add big.safetensors > /dev/null 2>&1 & pid=$!
    for _ in $(seq 1 1000); do
      [ -n "$(find .git/zipllm/tmp -name 'spool.tmp-*' 2>/dev/null)" ] && break
      kill -0 $pid 2>/dev/null || break
      sleep 0.005
    done
    pkill -9 -P $pid -f 'git-zipllm filter-process'; rc=$?; wait $pid; exit $rc ) || return 1
    run git zipllm verify && run git zipllm gc --older-than 0 &&
    [ -z "$(find .git/zipllm -name '*.tmp-*')" ] && run git zipllm verify && run git add big.safetensors && run git commit -qm big && rm big.safetensors && run git checkout -- big.safetensors &&
    [ "$(stat -c %s big.safetensors)" -gt 67000000 ] && git rm -q big.safetensors && run git commit -qm rm-big
}
t_model_card_base() {
  cd "$SCRATCH" && git init -q hf && cd hf && run git zipllm track '*.safetensors' &&
    run git zipllm base add org/stories-base "$S/base.bf16.safetensors" &&
    run git zipllm base list && grep -q 'org/stories-base' "$LOG" &&
    printf -- '---\nlicense: mit\nbase_model:\n- org/stories-base\n---\n# A fine-tune\n' > README.md &&
    cp "$S/ftB_changelogs.bf16.safetensors" model.safetensors && run git add . && run git commit -qm ft &&
    run git zipllm show HEAD:model.safetensors && [ "$(grep -c 'delta (' "$LOG")" -ge 40 ] &&
    rm model.safetensors && run git checkout -- model.safetensors &&
    cmp -s model.safetensors "$S/ftB_changelogs.bf16.safetensors" && clean_tree
}
t_malformed_add() {
  cd "$SCRATCH/repo" && head -c 3000 "$S/base.bf16.safetensors" > broken.safetensors &&
    ! run git add broken.safetensors && grep -q 'broken.safetensors' "$LOG" &&
    [ -z "$(git ls-files broken.safetensors)" ] && rm broken.safetensors
}
t_clean_other_content() {
  # Clean usually receives the work tree file; when it does not (hash-object
  # --path, renormalizing merges), it must clean what git sent: another file
  # entirely, or one equal to the work tree file up to the middle.
  cd "$SCRATCH/repo" &&
    [ "$(git hash-object --path base.safetensors ftA.safetensors)" = "$(git rev-parse HEAD:ftA.safetensors)" ] &&
    cp base.safetensors "$SCRATCH/mid.safetensors" &&
    printf 'Z' | dd of="$SCRATCH/mid.safetensors" bs=1 seek=400000 conv=notrunc status=none &&
    id=$(git hash-object -w --path base.safetensors "$SCRATCH/mid.safetensors") &&
    [ "$(git cat-file -p "$id" | sed -n 3p)" = "sha256 $(sha256sum "$SCRATCH/mid.safetensors" | cut -d' ' -f1)" ] &&
    head -c 300000 base.safetensors > "$SCRATCH/short.safetensors" &&
    ! run git hash-object --path base.safetensors "$SCRATCH/short.safetensors" && clean_tree
}
t_generic_file() {
  # A tracked file that is not safetensors at all: stored as compressed
  # generic parts (never whole in git), restored byte-exact.
  cd "$SCRATCH/repo" && { yes 'optimizer state' | head -c 2000000; } > opt.safetensors &&
    run git add opt.safetensors && run git commit -qm opt &&
    git cat-file -p HEAD:opt.safetensors | sed -n 4p | grep -qx generic &&
    [ "$(git cat-file -s HEAD:opt.safetensors)" -lt 1000 ] &&
    rm opt.safetensors && run git checkout -- opt.safetensors &&
    cmp -s opt.safetensors <(yes 'optimizer state' | head -c 2000000) && clean_tree &&
    run git rm -q opt.safetensors && run git commit -qm rm-opt
}
t_corrupt_object() {
  cd "$SCRATCH" && rm -rf corrupt && git clone -q repo corrupt && cd corrupt &&
    id=$(git cat-file -p HEAD:ftA.safetensors | grep '"model.embed_tokens.weight"' | awk '{print $2}') &&
    obj=.git/zipllm/objects/${id:0:2}/${id:2} && [ -f "$obj" ] && chmod u+w "$obj" &&
    printf '\x01\x02\x03\x04' | dd of="$obj" bs=1 seek=2000 conv=notrunc 2>/dev/null &&
    rm -f ftA.safetensors && ! run git checkout -- ftA.safetensors &&
    grep -q 'ftA.safetensors' "$LOG" && grep -q "$id" "$LOG" && grep -qi 'checksum\|wrong' "$LOG" &&
    { [ ! -e ftA.safetensors ] || [ "$(stat -c %s ftA.safetensors)" = 0 ]; }
}
t_status() {
  cd "$SCRATCH/repo" && run git zipllm status && grep -q 'ftA.safetensors' "$LOG" && grep -q total "$LOG"
}
t_verify_detects() {
  cd "$SCRATCH/corrupt" && ! run git zipllm verify && grep -q "$(git cat-file -p HEAD:ftA.safetensors | grep '"model.embed_tokens.weight"' | awk '{print $2}')" "$LOG" &&
    cd "$SCRATCH/repo" && run git zipllm verify && grep -q ' 0 corrupt' "$LOG"
}
t_uninstall() {
  run git zipllm uninstall && [ -z "$(git config --global --get-regexp '^filter\.zipllm\.' || true)" ] &&
    run git zipllm install
}

t_family_size() {
  cd "$SCRATCH" && git init -q fam && cd fam && run git zipllm track '*.safetensors' &&
    for m in base ftA_licenses ftB_changelogs ftC_copyright_lr1e-5 ftV_vocab576; do
      mkdir -p "$m" && cp "$S/$m.bf16.safetensors" "$m/model.safetensors" || return 1
    done &&
    printf '[zipllm]\n\tbase = base/model.safetensors\n' > .zipllmconfig &&
    run git add .gitattributes .zipllmconfig base && run git commit -qm base &&
    run git add . && run git commit -qm finetunes &&
    mkdir ftA2 && cp "$S/ftA2_chain_manpages.bf16.safetensors" ftA2/model.safetensors &&
    printf 'ftA2/*.safetensors zipllm-base=ftA_licenses/model.safetensors\n' >> .gitattributes &&
    run git add . && run git commit -qm ftA2 && run git gc -q && clean_tree &&
    local raw git_size index_size
    raw=$(cat */model.safetensors | wc -c)
    # The base finder's signature index (models/, index/) is a fixed cost
    # per model and key, whatever the model's size: bounded on its own.
    index_size=$(du -s --block-size=1 -c .git/zipllm/models .git/zipllm/index | tail -1 | cut -f1)
    git_size=$(( $(du -s --block-size=1 .git | cut -f1) - index_size ))
    echo "family: raw $raw, .git $git_size bytes on disk besides the index ($index_size)" >> "$LOG.all"
    [ "$index_size" -le $((6 * 16384)) ] &&
    [ $((git_size * 100)) -le $((raw * 45)) ] &&
    run git zipllm show HEAD:ftA2/model.safetensors &&
    base_of_embed=$(git cat-file -p HEAD:ftA_licenses/model.safetensors | grep '"model.embed_tokens.weight"' | awk '{print substr($2,1,12)}') &&
    grep '"\?model.embed_tokens.weight' "$LOG" | grep -q "delta ($base_of_embed)"
}

check "install and track (after an LFS line)" t_install_track
check "add and commit store manifests; tree clean" t_add_commit
check "delete and checkout restore byte-identical" t_delete_checkout
check "declared base gives deltas" t_delta_used
check "branch switch" t_branch_switch
check "reset --hard" t_reset_hard
check "stash and pop" t_stash
check "re-clean of unchanged files hits the clean cache" t_reclean_cached
check "add --renormalize leaves the tree clean" t_renormalize
check "git diff shows tensor lines" t_diff_readable
check "previous version is the default base" t_chain_previous_version
check "clone of a local path restores from the origin's store" t_clone_local_path
check "GIT_ZIPLLM_SKIP_SMUDGE clone + git zipllm checkout" t_skip_smudge_then_checkout
check "filter-process alone (one-shot filters disabled)" t_process_only
check "malformed safetensors: git add fails naming the file" t_malformed_add
check "a tracked non-safetensors file: generic parts, restored" t_generic_file
check "clean of content other than the work tree file" t_clean_other_content
check "corrupt object: checkout fails clearly, no truncated file" t_corrupt_object
check "registered base found through the model card's base_model" t_model_card_base
check "status" t_status
check "verify finds the corrupt object and passes a good store" t_verify_detects
check "stories family: .git <= 0.45 x raw; ftA2 deltas against ftA" t_family_size
check "checkout of several files uses delay and restores them" t_delayed_checkout
check "a merge that conflicts on a model file says so and aborts cleanly" t_merge_conflict
check "two worktrees adding at once share one store" t_parallel_adds
check "killed during clean: no half-written object; retry works" t_killed_clean
check "uninstall removes exactly what install added" t_uninstall
finish
