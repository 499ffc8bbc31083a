#!/usr/bin/env bash
# The Git LFS door: a Hugging Face style repository (ordinary LFS pointers)
# pushes its models through `git zipllm transfer` (git-lfs 3.3 standalone
# custom transfer agent) into an s3rver bucket; a fresh clone restores them.
. "$(dirname "$0")/lib.sh"
export PATH="$(dirname "$BIN"):$PATH"
S=$DATA/stories260K
git config --global user.email test@example.com
git config --global user.name Test
# These suites test transport with a committed .zipllmconfig; whether such
# a file is trusted is test_hostile.sh's subject.
git config --global zipllm.trustcommitted true
git config --global init.defaultBranch main
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
unset AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3
cd "$SCRATCH"
start_s3rver "$SCRATCH/s3data" hub || exit 1
URL="s3://hub/models?endpoint=$S3_ENDPOINT"
FILES="base ftA_licenses ftB_changelogs ftC_copyright_lr1e-5"
AGENT=(-c lfs.standalonetransferagent=zipllm)
check_here() { cd "$SCRATCH"; check "$@"; }
same_models() { for f in $FILES; do cmp -s "$1/$f.bf16.safetensors" "$S/$f.bf16.safetensors" || return 1; done; }

t_setup() {
  run git lfs install && run git zipllm install && git init -q --bare remote.git && git init -q hf && cd hf &&
    printf '*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n' > .gitattributes &&
    for f in $FILES; do cp "$S/$f.bf16.safetensors" .; done &&
    head -c 300000 /dev/urandom > extra.bin &&
    printf '[zipllm]\n\turl = %s\n\tbase = base.bf16.safetensors\n' "$URL" > .zipllmconfig &&
    run git add . && run git commit -qm models && git cat-file -p HEAD:base.bf16.safetensors | grep -q '^oid sha256:' &&
    git remote add origin ../remote.git && run git zipllm lfs-enable &&
    git config --get-regexp 'lfs\..*standalonetransferagent' | grep -q zipllm
}
t_push() {
  cd hf && run git push origin main && cd .. &&
    [ "$(s3_keys hub models/lfs/)" -eq 5 ] && [ ! -d remote.git/lfs ] &&
    # extra.bin (not safetensors) is stored as generic parts: a manifest under lfs/.
    xoid=$(git -C hf cat-file -p HEAD:extra.bin | sed -n 's/^oid sha256://p') &&
    curl -s "$S3_ENDPOINT/hub/models/lfs/${xoid:0:2}/${xoid:2:2}/$xoid" | sed -n 4p | grep -qx generic &&
    raw=$(for f in $FILES; do stat -c %s "$S/$f.bf16.safetensors"; done | awk '{s+=$1} END {print s}') &&
    stored=$(( $(s3_bytes hub models/objects/) + $(s3_bytes hub models/lfs/) - 300000 )) &&
    echo "bucket: $stored bytes for $raw raw bytes" >>"$LOG.all" &&
    [ $((stored * 2)) -le "$raw" ]
}
t_push_again_skips() {
  cd hf && before=$(s3_keys hub models/) && git commit -q --allow-empty -m again &&
    run git push origin main && cd .. && [ "$(s3_keys hub models/)" -eq "$before" ]
}
t_fresh_clone() {
  ( export HOME="$SCRATCH/home2" && mkdir -p "$HOME" && git config --global zipllm.trustcommitted true && run git lfs install && run git zipllm install &&
    run git "${AGENT[@]}" clone remote.git clone1 && same_models clone1 &&
    cmp -s clone1/extra.bin hf/extra.bin && cd clone1 && [ -z "$(git status --porcelain)" ] &&
    run git lfs fsck )
}
# Issue 11, defect 5: the clone keeps the agent, so the next pull (no -c)
# downloads through git-zipllm too.
t_pull_after_clone() {
  ( cd hf && cp "$S/ftA2_chain_manpages.bf16.safetensors" . && run git add . &&
    run git commit -qm more && run git push origin main ) &&
  ( export HOME="$SCRATCH/home2" &&
    git -C clone1 config --local --get lfs.standalonetransferagent | grep -qx zipllm &&
    cd clone1 && run git pull &&
    cmp -s ftA2_chain_manpages.bf16.safetensors "$S/ftA2_chain_manpages.bf16.safetensors" &&
    [ -z "$(git status --porcelain)" ] )
}
# Issue 11, "see it": status, verify and show understand the LFS door's
# files (they said "0 tracked files" and "does not start with 'zipllm
# manifest v1'" before).
t_door_visible() {
  cd hf && run git zipllm status &&
    grep -Eq '^base\.bf16\.safetensors .* LFS$' "$LOG" &&
    grep -q 'LFS: 6 file(s) stored through git-zipllm' "$LOG" &&
    git zipllm status --json >"$SCRATCH/status.json" 2>"$LOG" &&
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); \
assert sum(f['lfs'] for f in d['files']) == 6, d" "$SCRATCH/status.json" &&
    run git zipllm verify && grep -q ' 6 tracked files, 0 missing' "$LOG" &&
    run git zipllm show ftA_licenses.bf16.safetensors && grep -q 'model.embed_tokens.weight' "$LOG" &&
    run git zipllm show HEAD:ftB_changelogs.bf16.safetensors && grep -q 'delta (' "$LOG"
}
# Issue 11: git-lfs's copies of files the door holds are not kept twice:
# prune deletes those no checked-out file points at, and git-lfs gets them
# back through the agent, byte-exact, when a checkout needs them.
t_lfs_copies_pruned() {
  cd hf && coid=$(git cat-file -p HEAD:ftC_copyright_lr1e-5.bf16.safetensors | sed -n 's/^oid sha256://p') &&
    copy=.git/lfs/objects/${coid:0:2}/${coid:2:2}/$coid && [ -f "$copy" ] &&
    run git rm -q ftC_copyright_lr1e-5.bf16.safetensors && run git commit -qm "drop ftC" &&
    run git push origin main &&
    run git zipllm prune --grace 0 --dry-run && grep -q 'would delete 1 file(s)' "$LOG" && [ -f "$copy" ] &&
    run git zipllm prune --grace 0 && grep -Eq 'Git LFS copies: deleted 1 file\(s\) .*kept 5' "$LOG" &&
    [ ! -e "$copy" ] && run git lfs fsck &&
    run git checkout -q HEAD~1 && cmp -s ftC_copyright_lr1e-5.bf16.safetensors "$S/ftC_copyright_lr1e-5.bf16.safetensors" &&
    [ -f "$copy" ] && run git checkout -q main && [ -z "$(git status --porcelain)" ]
}
t_corrupt_remote() {
  # Corrupt one tensor object of ftB in the bucket: its download must fail,
  # and git-lfs must not accept a file for it.
  oid=$(git -C hf cat-file -p HEAD:ftB_changelogs.bf16.safetensors | sed -n 's/^oid sha256://p') &&
    id=$(curl -s "$S3_ENDPOINT/hub/models/lfs/${oid:0:2}/${oid:2:2}/$oid" | awk '$1=="tensor"{print $2; exit}') &&
    # Is this object ftB's own (not shared with base)? Pick the first that is not in base's manifest.
    boid=$(git -C hf cat-file -p HEAD:base.bf16.safetensors | sed -n 's/^oid sha256:\(.*\)/\1/p') &&
    id=$(comm -23 <(curl -s "$S3_ENDPOINT/hub/models/lfs/${oid:0:2}/${oid:2:2}/$oid" | awk '$1=="tensor"{print $2}' | sort) \
      <(curl -s "$S3_ENDPOINT/hub/models/lfs/${boid:0:2}/${boid:2:2}/$boid" | awk '$1=="tensor"{print $2}' | sort) | head -1) &&
    f=$(find s3data/hub -path "*objects/${id:0:2}/${id:2}*" -type f -name '*object*' | head -1) && [ -n "$f" ] &&
    size=$(stat -c %s "$f") && printf 'XY' | dd of="$f" bs=1 seek=$((size / 2)) conv=notrunc status=none &&
    ( export HOME="$SCRATCH/home2" && ! run git "${AGENT[@]}" clone remote.git clone2 ;
      grep -q 'corrupt' "$LOG" && cd clone2 && ! git lfs fsck >/dev/null 2>&1 ;
      [ ! -e ".git/lfs/objects/${oid:0:2}/${oid:2:2}/$oid" ] &&
      # The other models are fine.
      cmp -s base.bf16.safetensors "$S/base.bf16.safetensors" )
}
t_wrong_endpoint() {
  ( export HOME="$SCRATCH/home2" && start=$(date +%s) &&
    ! run git "${AGENT[@]}" -c "zipllm.url=s3://hub/models?endpoint=http://127.0.0.1:1" clone remote.git clone3 ;
    [ $(( $(date +%s) - start )) -lt 30 ] && grep -q '127.0.0.1:1' "$LOG" )
}

check_here "HF style repo, LFS pointers, lfs-enable" t_setup
check_here "git push goes through the agent into the bucket, <= 0.5 x raw" t_push
check_here "a second push uploads nothing new" t_push_again_skips
check_here "fresh clone restores every file byte-identical" t_fresh_clone
check_here "a clone made with -c keeps the agent: git pull works" t_pull_after_clone
check_here "status, verify and show see the LFS door's files" t_door_visible
check_here "prune drops git-lfs's copies the store restores" t_lfs_copies_pruned
check_here "corrupt object in the bucket: download fails, file not accepted" t_corrupt_remote
check_here "wrong endpoint: clear error naming it" t_wrong_endpoint
# Issue 15: every signed request was right (the verifying front re-signs
# each with botocore, as AWS would check it).
t_front_verified_everything() {
  s3_front_refusals > "$LOG"
  [ ! -s "$LOG" ] && [ "$(grep -c '^VERIFIED' "$S3_FRONT_LOG")" -gt 20 ]
}
check_here "every S3 request's signature verified by botocore" t_front_verified_everything
finish
