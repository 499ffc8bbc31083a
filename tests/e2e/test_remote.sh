#!/usr/bin/env bash
# Remote stores in filter mode, through real git and real servers on
# 127.0.0.1: s3rver (S3, signed requests), a directory store, the default
# store inside a local-path remote, git over HTTP (lighttpd + http-backend);
# hooks and their chaining; faults (unreachable, bad credentials, server
# killed mid-push, corrupt remote object).
. "$(dirname "$0")/lib.sh"
export PATH="$(dirname "$BIN"):$PATH"
S=$DATA/stories260K
GEN_PAIR=${ZIPLLM_GEN_PAIR:-}
git config --global user.email test@example.com
git config --global user.name Test
# These suites test transport with a committed .zipllmconfig; whether such
# a file is trusted is test_hostile.sh's subject.
git config --global zipllm.trustcommitted true
git config --global init.defaultBranch main
git config --global advice.detachedHead false
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
unset AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3
cd "$SCRATCH"
start_s3rver "$SCRATCH/s3data" models || exit 1
URL="s3://models/team?endpoint=$S3_ENDPOINT"

clean_tree() { [ -z "$(git status --porcelain)" ] && git diff --exit-code >/dev/null; }
same_files() {  # same_files DIR: every model of DIR equals the fixture it came from
  cmp -s "$1/base.safetensors" "$S/base.bf16.safetensors" &&
    cmp -s "$1/ftA.safetensors" "$S/ftA_licenses.bf16.safetensors" &&
    cmp -s "$1/ftB.safetensors" "$S/ftB_changelogs.bf16.safetensors"
}
# Distinct object ids named by a manifest (header, tensors, tail).
manifest_ids() { git cat-file -p "$1" | awk '$1=="header"||$1=="tensor"||$1=="tail"{print $2}' | sort -u; }
check_here() { cd "$SCRATCH"; check "$@"; }
uploaded() { grep -o 'uploaded [0-9]* object' "$LOG" | tail -1 | awk '{print $2}'; }

t_setup() {
  run git zipllm install && git init -q --bare remote.git && git init -q work && cd work &&
    run git zipllm track '*.safetensors' && [ -x .git/hooks/pre-push ] &&
    grep -q 'git-zipllm hook v1' .git/hooks/pre-push &&
    cp "$S/base.bf16.safetensors" base.safetensors && cp "$S/ftA_licenses.bf16.safetensors" ftA.safetensors &&
    cp "$S/ftB_changelogs.bf16.safetensors" ftB.safetensors &&
    printf '[zipllm]\n\turl = %s\n\tbase = base.safetensors\n' "$URL" > .zipllmconfig &&
    run git add . && run git commit -qm models && git remote add origin ../remote.git && cd ..
}
t_push_s3() {
  cd work && run git push origin main && cd .. &&
    n=$(uploaded) && [ "$n" -gt 40 ] && [ "$(s3_keys models team/objects/)" -eq "$n" ] &&
    [ "$(git --git-dir=remote.git rev-parse main)" = "$(git -C work rev-parse main)" ]
}
t_clone_empty_store() {
  # A fresh HOME and an empty store: everything comes from the bucket.
  ( export HOME="$SCRATCH/home2" && mkdir -p "$HOME" && git config --global zipllm.trustcommitted true && git config --global user.email t@e &&
    git config --global user.name T && run git zipllm install && GIT_ZIPLLM_TRACE=1 run git clone remote.git clone1 &&
    # Delayed smudges: every file's missing objects came down in one batch.
    grep -q 'prefetched [0-9]* object(s) for [3-9] file(s)' "$LOG" && same_files clone1 && cd clone1 && clean_tree && [ -x .git/hooks/pre-push ] &&
    [ "$(find .git/zipllm/objects -type f | wc -l)" -gt 0 ] )
}
t_second_push_only_new() {
  cd work && cp "$S/ftC_copyright_lr1e-5.bf16.safetensors" ftC.safetensors && run git add ftC.safetensors &&
    run git commit -qm ftC &&
    # Expected: ids of ftC's manifest that no earlier manifest named.
    expect=$(comm -23 <(manifest_ids HEAD:ftC.safetensors) \
      <(for f in base ftA ftB; do manifest_ids HEAD~1:$f.safetensors; done | sort -u) | wc -l) &&
    before=$(s3_keys models team/objects/) && run git push origin main && n=$(uploaded) && cd .. &&
    [ "$n" -eq "$expect" ] && [ "$n" -gt 0 ] && [ "$(s3_keys models team/objects/)" -eq $((before + n)) ]
}
t_pull_lazy_fetch() {
  # The clone gets ftC through git pull: smudge fetches on demand.
  ( export HOME="$SCRATCH/home2" && cd clone1 && run git pull -q &&
    cmp -s ftC.safetensors "$S/ftC_copyright_lr1e-5.bf16.safetensors" && clean_tree )
}
t_skip_smudge_then_pull() {
  ( export HOME="$SCRATCH/home2" && GIT_ZIPLLM_SKIP_SMUDGE=1 run git clone remote.git clone2 && cd clone2 &&
    head -1 ftA.safetensors | grep -q '^zipllm manifest v1$' && run git zipllm pull &&
    grep -q 'downloaded [1-9][0-9]* object' "$LOG" && same_files . && clean_tree )
}
t_fetch_command() {
  ( export HOME="$SCRATCH/home2" && GIT_ZIPLLM_SKIP_SMUDGE=1 run git clone remote.git clone3 && cd clone3 &&
    run git zipllm fetch && grep -q 'downloaded [1-9][0-9]* object' "$LOG" &&
    # Everything is local now: checkout works with the bucket unreachable.
    run git -c "zipllm.url=s3://models/team?endpoint=http://127.0.0.1:1" zipllm checkout && same_files . )
}
t_dir_store() {
  mkdir -p dirstore && cd work && git remote add mirror ../remote.git &&
    git config remote.mirror.zipllmurl "file://$SCRATCH/dirstore" && run git zipllm push mirror && cd .. &&
    [ "$(find dirstore/objects -type f | wc -l)" -eq "$(uploaded)" ] &&
    [ -z "$(find dirstore -name '*.tmp*' -o -name '*~*')" ] &&
    ( export HOME="$SCRATCH/home2" && run git -c "zipllm.url=$SCRATCH/dirstore" clone remote.git clone4 && same_files clone4 )
}
t_local_default_store() {
  # No store configured and a local-path remote: the store inside it.
  git init -q --bare plain.git && git init -q plain && cd plain && run git zipllm track '*.safetensors' &&
    cp "$S/base.bf16.safetensors" base.safetensors && run git add . && run git commit -qm b &&
    git remote add origin ../plain.git && run git push origin main && cd .. &&
    [ "$(find plain.git/zipllm/objects -type f | wc -l)" -gt 0 ] &&
    ( export HOME="$SCRATCH/home2" && run git clone plain.git plainclone &&
      cmp -s plainclone/base.safetensors "$S/base.bf16.safetensors" )
}
t_http_remote() {
  mkdir -p srv && git init -q --bare srv/models.git && git --git-dir=srv/models.git config http.receivepack true &&
    start_git_http "$SCRATCH/srv" && cd work && git remote add web "$HTTP_URL/models.git" &&
    git config remote.web.zipllmurl "s3://models/web?endpoint=$S3_ENDPOINT" &&
    cp "$S/ftA2_chain_manpages.bf16.safetensors" ftA2.safetensors && run git add ftA2.safetensors &&
    run git commit -qm ftA2 && run git push web main && n=$(uploaded) && cd .. && [ "$n" -gt 40 ] &&
    [ "$(s3_keys models web/objects/)" -eq "$n" ] &&
    ( export HOME="$SCRATCH/home2" &&
      run git -c "remote.origin.zipllmurl=s3://models/web?endpoint=$S3_ENDPOINT" clone "$HTTP_URL/models.git" webclone &&
      cmp -s webclone/ftA2.safetensors "$S/ftA2_chain_manpages.bf16.safetensors" && same_files webclone )
}
# Issue 11: `git push -q` stays quiet (git tells its hooks nothing of -q);
# without -q the hook says what it uploaded.
t_push_quiet() {
  cd work && head -c 200000 /dev/urandom > quiet.safetensors && run git add quiet.safetensors &&
    run git commit -qm quiet && before=$(s3_keys models team/objects/) &&
    git push -q origin main 2>"$SCRATCH/quiet.err" >"$LOG" && [ ! -s "$SCRATCH/quiet.err" ] &&
    [ "$(s3_keys models team/objects/)" -gt "$before" ] &&
    head -c 200000 /dev/urandom > quiet.safetensors && run git commit -qam loud &&
    run git push origin main && grep -q 'uploaded [1-9][0-9]* object' "$LOG" && cd ..
}
t_hook_chaining() {
  git init -q hooked && cd hooked && printf '#!/bin/sh\necho foreign-hook-ran "$1" >&2\n' > .git/hooks/pre-push &&
    chmod +x .git/hooks/pre-push && run git zipllm install --local &&
    grep -q 'git-zipllm hook v1' .git/hooks/pre-push && grep -q foreign-hook-ran .git/hooks/pre-push.zipllm-chained &&
    run git zipllm install --local && [ ! -e .git/hooks/pre-push.zipllm-chained.zipllm-chained ] &&
    git remote add origin ../plain.git && git commit -q --allow-empty -m x && run git push origin main:other &&
    grep -q 'foreign-hook-ran origin' "$LOG" &&
    run git zipllm uninstall --local && grep -q foreign-hook-ran .git/hooks/pre-push &&
    [ ! -e .git/hooks/pre-push.zipllm-chained ] && cd ..
}
t_hook_chains_git_lfs() {
  git init -q lfsrepo && cd lfsrepo && run git lfs install --local && grep -q 'git lfs pre-push' .git/hooks/pre-push &&
    run git zipllm install --local && grep -q 'git lfs pre-push' .git/hooks/pre-push.zipllm-chained && cd ..
}
t_unreachable_fast() {
  cd work && git commit -q --allow-empty -m unreachable && cp "$S/ftV_vocab576.bf16.safetensors" ftV.safetensors &&
    run git add ftV.safetensors && run git commit -qm ftV &&
    start=$(date +%s) &&
    ! run git -c "zipllm.url=s3://models/team?endpoint=http://127.0.0.1:1" push origin main &&
    [ $(( $(date +%s) - start )) -lt 20 ] && grep -q '127.0.0.1:1' "$LOG" &&
    [ "$(git --git-dir=../remote.git rev-parse main)" != "$(git rev-parse main)" ] && cd ..
}
t_stalled_server() {
  # A server that accepts connections and never answers: an error, not a hang.
  node -e 'const s=require("net").createServer(()=>{});s.listen(0,"127.0.0.1",()=>{require("fs").writeFileSync(process.argv[1],String(s.address().port))})' \
    "$SCRATCH/stall.port" & SERVER_PIDS+=("$!")
  for _ in $(seq 1 50); do [ -s "$SCRATCH/stall.port" ] && break; sleep 0.1; done
  cd work && start=$(date +%s) &&
    ! GIT_ZIPLLM_PING_TIMEOUT_MS=1000 run git -c "zipllm.url=s3://models/team?endpoint=http://127.0.0.1:$(cat "$SCRATCH/stall.port")" push origin main &&
    [ $(( $(date +%s) - start )) -lt 30 ] && grep -q 'timed out\|Timeout' "$LOG" && cd ..
}
t_bad_credentials() {
  cd work && ! AWS_ACCESS_KEY_ID=nobody run git push origin main && grep -q 'HTTP 403' "$LOG" &&
    grep -q 'access denied' "$LOG" && cd ..
}
t_killed_mid_push() {
  [ -x "$GEN_PAIR" ] || { echo "ZIPLLM_GEN_PAIR not set" > "$LOG"; return 1; }
  cd work && run "$GEN_PAIR" "$S/base.bf16.safetensors" "$S/ftA_licenses.bf16.safetensors" big.safetensors \
    "$SCRATCH/unused.safetensors" 192 7 && run git add big.safetensors && run git commit -qm big || return 1
    # Multipart with small parts, one transfer at a time: the push takes a while.
    ( GIT_ZIPLLM_TRANSFERS=1 GIT_ZIPLLM_RETRIES=2 GIT_ZIPLLM_S3_MULTIPART_THRESHOLD=8388608 \
      GIT_ZIPLLM_S3_PART_SIZE=5242880 GIT_ZIPLLM_MAX_SEND_SPEED=20000000 \
      git push origin main >"$SCRATCH/killed.log" 2>&1; echo $? >"$SCRATCH/killed.rc" ) &
    pusher=$! &&
    # Throttled to 20 MB/s, the upload runs for several seconds: kill the
    # server once the first uploads have arrived.
    stored() { grep -a -c 'Stored' "$SCRATCH/s3rver.log" || true; } &&
    n0=$(stored) &&
    for _ in $(seq 1 300); do
      [ "$(stored)" -gt $((n0 + 2)) ] && break; sleep 0.05
    done && kill -9 "$S3_PID" && wait "$pusher"
    rc=$(cat "$SCRATCH/killed.rc"); cp "$SCRATCH/killed.log" "$LOG"
    [ "$rc" -ne 0 ] && grep -q "$S3_ENDPOINT\|127.0.0.1:$S3_PORT" "$LOG" &&
    [ "$(git --git-dir=../remote.git rev-parse main)" != "$(git rev-parse main)" ] &&
    s3rver_drop_torn_writes "$SCRATCH/s3data" && start_s3rver "$SCRATCH/s3data" models && GIT_ZIPLLM_S3_MULTIPART_THRESHOLD=8388608 \
      GIT_ZIPLLM_S3_PART_SIZE=5242880 run git push origin main &&
    [ "$(git --git-dir=../remote.git rev-parse main)" = "$(git rev-parse main)" ] && cd .. &&
    ( export HOME="$SCRATCH/home2" && run git clone remote.git clone5 &&
      cmp -s clone5/big.safetensors work/big.safetensors && cd clone5 && run git zipllm verify )
}
t_verify_remote() {
  # Is the remote store complete for HEAD? Named object missing -> fails; a
  # push repairs it.
  cd work && run git zipllm push mirror && run git zipllm verify --remote mirror &&
    grep -q ', 0 missing' "$LOG" &&
    id=$(git cat-file -p HEAD:ftC.safetensors | awk '$1=="tensor"{print $2; exit}') &&
    rm -f "$SCRATCH/dirstore/objects/${id:0:2}/${id:2}" &&
    ! run git zipllm verify --remote mirror && grep -q "missing in the remote store: object $id" "$LOG" &&
    run git zipllm push mirror && grep -q 'uploaded 1 object' "$LOG" && run git zipllm verify --remote mirror &&
    # A truncated copy (what a server killed mid-upload may keep) is not
    # "present": verify names it, push replaces it.
    obj="$SCRATCH/dirstore/objects/${id:0:2}/${id:2}" && chmod u+w "$obj" && truncate -s 100 "$obj" &&
    ! run git zipllm verify --remote mirror && grep -q "object $id in the remote store has 100 bytes" "$LOG" &&
    run git zipllm push mirror && grep -q 'uploaded 1 object' "$LOG" && run git zipllm verify --remote mirror && cd ..
}
t_corrupt_remote_object() {
  # Flip a byte in the middle of the object of base's embedding (its
  # largest tensor), in the directory store (brought up to date first).
  ( cd work && run git zipllm push mirror ) &&
  id=$(git --git-dir=remote.git cat-file -p main:base.safetensors | awk '$1=="tensor"{print $2; exit}') &&
  obj=dirstore/objects/${id:0:2}/${id:2} && [ -f "$obj" ] &&
    chmod u+w "$obj" && size=$(stat -c %s "$obj") &&
    printf 'X' | dd of="$obj" bs=1 seek=$((size / 2)) conv=notrunc status=none &&
    ( export HOME="$SCRATCH/home2" && ! run git -c "zipllm.url=$SCRATCH/dirstore" clone remote.git clone6 ;
      grep -q 'corrupt' "$LOG" && grep -q "$(basename "$(dirname "$obj")")$(basename "$obj")" "$LOG" &&
      # No half-written model in the work tree: each is whole or absent.
      for f in clone6/*.safetensors; do [ ! -e "$f" ] || head -c 8 "$f" >/dev/null; done &&
      ! find clone6/.git/zipllm/objects -type f -name "$(basename "$obj")" | grep -q . )
}

check_here "install, track, hook, commit" t_setup
check_here "push to S3 uploads every object" t_push_s3
check_here "clone with a fresh HOME and empty store" t_clone_empty_store
check_here "second push uploads only the new objects" t_second_push_only_new
check_here "git pull fetches on demand in smudge" t_pull_lazy_fetch
check_here "skip-smudge clone + git zipllm pull" t_skip_smudge_then_pull
check_here "git zipllm fetch, then offline checkout" t_fetch_command
check_here "directory store (file://)" t_dir_store
check_here "default store inside a local-path remote" t_local_default_store
check_here "git over HTTP (lighttpd + http-backend)" t_http_remote
check_here "git push -q: the hook is quiet too" t_push_quiet
check_here "install chains to a foreign pre-push hook" t_hook_chaining
check_here "install chains to git-lfs's pre-push hook" t_hook_chains_git_lfs
check_here "unreachable store fails the push fast" t_unreachable_fast
check_here "stalled server: error within seconds, not a hang" t_stalled_server
check_here "bad credentials: clear message" t_bad_credentials
check_here "server killed mid-push, push retried" t_killed_mid_push
check_here "verify --remote finds a missing or truncated object; push repairs it" t_verify_remote
check_here "corrupt object in the remote store" t_corrupt_remote_object
# Issue 15: every signed request was right (the verifying front re-signs
# each with botocore, as AWS would check it).
t_front_verified_everything() {
  s3_front_refusals > "$LOG"
  [ ! -s "$LOG" ] && [ "$(grep -c '^VERIFIED' "$S3_FRONT_LOG")" -gt 20 ]
}
check_here "every S3 request's signature verified by botocore" t_front_verified_everything
finish
