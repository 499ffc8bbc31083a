#!/usr/bin/env bash
# The hub (`git zipllm serve`) with Debian's git-lfs 3.3 as a plain client:
# no git-zipllm in the client's HOME, only a committed .lfsconfig pointing
# at the hub on 127.0.0.1 (issue 13).
. "$(dirname "$0")/lib.sh"
# (on PATH for the zipllm clients; a plain client's HOME configures nothing
# of it, so its git-lfs never runs it)
export PATH="$(dirname "$BIN"):$PATH"
S=$DATA/stories260K
FTS="ftA_licenses ftB_changelogs ftC_copyright_lr1e-5"

# start_hub [ARGS...] : serves ${HUB_STORE:-$PWD/hubstore} on a free port ($HUB)
start_hub() {
  rm -f hub.port
  "$BIN" serve --store "${HUB_STORE:-$PWD/hubstore}" --listen 127.0.0.1:0 \
    --port-file "$PWD/hub.port" "$@" 2>>"$PWD/hub.log" &
  HUB_PID=$!
  SERVER_PIDS+=("$HUB_PID")
  for _ in $(seq 100); do [ -s hub.port ] && break; sleep 0.05; done
  [ -s hub.port ] || { cat hub.log; return 1; }
  HUB=http://127.0.0.1:$(cat hub.port)
}

# plain_home DIR : a HOME with git-lfs and nothing of git-zipllm
plain_home() {
  mkdir -p "$1" && HOME=$1 git config --global user.name P && HOME=$1 git config --global \
    user.email p@example.com && HOME=$1 git config --global init.defaultBranch main &&
    HOME=$1 git lfs install >/dev/null
}

# hf_repo DIR REPO : an HF-style repo (base + three fine-tunes, LFS) whose
# .lfsconfig names the hub's REPO, pushed to a bare remote DIR.git
hf_repo() {
  git init -q --bare "$1.git" && git init -q "$1" && cd "$1" &&
    printf '*.safetensors filter=lfs diff=lfs merge=lfs -text\n' >.gitattributes &&
    printf '[lfs]\n\turl = %s/%s.git/info/lfs\n' "$HUB" "$2" >.lfsconfig &&
    printf -- '---\nbase_model: stories/base-260K\n---\n' >README.md &&
    for f in base $FTS; do cp "$S/$f.bf16.safetensors" . || return 1; done &&
    git add . && git commit -qm models && git remote add origin "../$1.git" && cd ..
}

stat_of() { curl -sf "$HUB/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# wait_stored : until the hub has stored every accepted upload (it encodes
# them in the background)
wait_stored() {
  for _ in $(seq 600); do [ "$(stat_of "['pending']")" = 0 ] && return 0; sleep 0.1; done
  echo "uploads still pending after 60 s"; return 1
}

t_plain_push_and_clone() {
  plain_home "$PWD/plain" && export HOME=$PWD/plain
  start_hub --allow-anonymous-push
  hf_repo hf org/model
  (cd hf && expect_ok git push origin main)
  plain_home "$PWD/plain2" && export HOME=$PWD/plain2
  expect_ok git clone -q hf.git clone
  for f in base $FTS; do expect_same "clone/$f.bf16.safetensors" "$S/$f.bf16.safetensors"; done
  (cd clone && expect_ok git lfs fsck)
  wait_stored
  raw=$(stat_of "['raw_bytes']") stored=$(stat_of "['stored_bytes']")
  echo "hub: $stored bytes stored for $raw raw"
  expect_true [ $((stored * 2)) -le "$raw" ]
  # Pushing again, or another repo with the same content: the hub answers
  # "upload needed" for another repo (it never says another repo has it)
  # and links after checking the bytes; nothing new is stored.
  export HOME=$PWD/plain
  sed -i "s|org/model|org/copy|" hf/.lfsconfig && (cd hf && git commit -qam copy &&
    git remote add copy ../copy.git && git init -q --bare ../copy.git && expect_ok git push copy main)
  expect_eq "$(grep -c 'PUT /org/copy.git/info/lfs/objects/[0-9a-f]* 200 ' hub.log)" 4 "uploads to org/copy"
  wait_stored
  expect_eq "$(stat_of "['stored_bytes']")" "$stored" "stored bytes after the same content again"
  expect_eq "$(stat_of "['repos']['org/copy']['objects']")" 4
}

# zipllm_home DIR : a HOME with git-lfs and git-zipllm installed (the
# zipllm transfer adapter is offered to every LFS server)
zipllm_home() {
  plain_home "$1" && HOME=$1 git zipllm install >/dev/null
}

oid_of() { sha256sum "$1" | cut -d' ' -f1; }
# hub_bytes_out PATTERN : bytes the hub sent for requests matching PATTERN
hub_bytes_out() {
  grep -E "$1" hub.log | grep -E ' 20[06] ' | sed 's/.* out=\([0-9]*\) .*/\1/' | awk '{s+=$1} END {print s+0}'
}

# git-zipllm clients: the hub answers the zipllm adapter they offer; a push
# sends only the objects the hub lacks, a clone with the base already in
# the local store downloads only the fine-tune's own objects; plain and
# zipllm clients read each other's pushes byte-exact.
t_zipllm_clients() {
  start_hub --allow-anonymous-push
  zipllm_home "$PWD/home-z1" && export HOME=$PWD/home-z1
  git init -q --bare z.git && git init -q z && cd z &&
    printf '*.safetensors filter=lfs diff=lfs merge=lfs -text\n' >.gitattributes &&
    printf '[lfs]\n\turl = %s/org/z.git/info/lfs\n' "$HUB" >.lfsconfig &&
    cp "$S/base.bf16.safetensors" . && git add . && git commit -qm base &&
    git remote add origin ../z.git && cd ..
  (cd z && git lfs env >../lfs.env 2>&1)
  expect_true grep -q '^UploadTransfers=.*zipllm' lfs.env
  expect_true grep -q '^DownloadTransfers=.*zipllm' lfs.env
  (cd z && expect_ok git push -q origin main)
  base_oid=$(oid_of "$S/base.bf16.safetensors")
  expect_eq "$(grep -c "POST /org/z.git/info/lfs/zipllm/$base_oid/commit 200" hub.log)" 1 "base committed through the zipllm adapter"
  # A fine-tune: only the objects the hub lacks travel (its own tensors;
  # the header and the base's tensors it deltas against are there).
  ft=ftA_licenses.bf16.safetensors ft_oid=$(oid_of "$S/$ft")
  (cd z && cp "$S/$ft" . && git add "$ft" && git commit -qm ft &&
    GIT_TRACE=1 GIT_ZIPLLM_TRACE=1 git push -q origin main 2>../push.trace) || { cat push.trace; return 1; }
  line=$(grep -o "upload $ft_oid to the hub: [0-9]* of [0-9]* object(s) sent" push.trace)
  sent=$(echo "$line" | awk '{print $6}') total=$(echo "$line" | awk '{print $8}')
  echo "fine-tune push: $sent of $total objects sent"
  expect_true [ -n "$sent" ] && expect_true [ "$sent" -gt 0 ] && expect_true [ "$sent" -lt "$total" ]
  expect_eq "$(grep -c "PUT /org/z.git/info/lfs/zipllm/$ft_oid/objects/[0-9a-f]* 200" hub.log)" "$sent" "object uploads"
  # Another zipllm user, base already in the local store: the fine-tune
  # costs its own objects only.
  zipllm_home "$PWD/home-z2" && export HOME=$PWD/home-z2
  GIT_LFS_SKIP_SMUDGE=1 expect_ok git clone -q z.git z2
  (cd z2 && expect_ok git lfs pull -I base.bf16.safetensors)
  expect_same z2/base.bf16.safetensors "$S/base.bf16.safetensors"
  before=$(hub_bytes_out "GET /org/z.git/info/lfs/zipllm/$ft_oid")
  (cd z2 && expect_ok git lfs pull)
  expect_same "z2/$ft" "$S/$ft"
  wire=$(($(hub_bytes_out "GET /org/z.git/info/lfs/zipllm/$ft_oid") - before))
  raw=$(stat -c %s "$S/$ft")
  echo "fine-tune clone with the base at hand: $wire bytes on the wire for $raw raw"
  expect_true [ "$wire" -gt 0 ] && expect_true [ $((wire * 2)) -le "$raw" ]
  (cd z2 && expect_ok git lfs fsck)
  # Mixed: a plain client clones what zipllm clients pushed ...
  plain_home "$PWD/home-p1" && export HOME=$PWD/home-p1
  expect_ok git clone -q z.git zp
  for f in base.bf16.safetensors "$ft"; do expect_same "zp/$f" "$S/$f"; done
  (cd zp && expect_ok git lfs fsck)
  # ... and a zipllm client what a plain client pushed (whole while the hub
  # has not stored it yet, as objects once it has).
  hf_repo hf org/plain
  (cd hf && expect_ok git push -q origin main)
  export HOME=$PWD/home-z2
  expect_ok git clone -q hf.git zc1
  wait_stored
  expect_ok git clone -q hf.git zc2
  for c in zc1 zc2; do
    for f in base $FTS; do expect_same "$c/$f.bf16.safetensors" "$S/$f.bf16.safetensors"; done
    (cd "$c" && expect_ok git lfs fsck)
  done
  expect_true [ "$(grep -c "GET /org/plain.git/info/lfs/zipllm/[0-9a-f]*/manifest 200" hub.log)" -ge 4 ]
}

# A download cut short resumes where it stopped: git-lfs 3.3 keeps the
# bytes in .git/lfs/incomplete/OID.part and asks for the rest with Range.
t_resume() {
  plain_home "$PWD/plain" && export HOME=$PWD/plain
  start_hub --allow-anonymous-push
  hf_repo hf org/model
  (cd hf && expect_ok git push -q origin main)
  wait_stored
  plain_home "$PWD/plain2" && export HOME=$PWD/plain2
  GIT_LFS_SKIP_SMUDGE=1 expect_ok git clone -q hf.git c
  oid=$(sha256sum <"$S/base.bf16.safetensors" | cut -c1-64)
  mkdir -p c/.git/lfs/incomplete && head -c 300000 "$S/base.bf16.safetensors" >"c/.git/lfs/incomplete/$oid.part"
  (cd c && GIT_TRACE=1 git lfs pull -I base.bf16.safetensors 2>../pull.trace) || { cat pull.trace; return 1; }
  expect_true grep -q "server accepted resume download request: \"$oid\" from byte 300000" pull.trace
  expect_true grep -q "GET /org/model.git/info/lfs/objects/$oid 206 " hub.log
  expect_same c/base.bf16.safetensors "$S/base.bf16.safetensors"
}

# s3_bytes DIR PREFIX : bytes of the objects s3rver holds under PREFIX
s3_bytes() {
  find "$1/$2" -name '*._S3rver_object' -printf '%s\n' 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'
}

# The hub on S3 (s3rver behind the verifying front): two instances with
# caches of their own share one bucket; what one stores the other serves; a
# git-zipllm client through either; s3rver down: 5xx within seconds for
# what needs the bucket, and the hub keeps serving what it has.
t_s3_store() {
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_EC2_METADATA_DISABLED=true
  start_s3rver "$PWD/s3" hubs
  url="s3://hubs/prod?endpoint=$S3_ENDPOINT"
  plain_home "$PWD/plain" && export HOME=$PWD/plain
  HUB_STORE=$url start_hub --cache "$PWD/cache1" --allow-anonymous-push
  HUB1=$HUB
  hf_repo hf org/model
  (cd hf && expect_ok git push origin main)
  wait_stored
  raw=$(cat "$S"/base.bf16.safetensors "$S"/ft[ABC]_*.bf16.safetensors | wc -c)
  in_bucket=$(s3_bytes "$PWD/s3/hubs" prod/objects)
  echo "bucket: $in_bucket bytes of objects for $raw raw"
  expect_true [ "$in_bucket" -gt 0 ] && expect_true [ $((in_bucket * 2)) -le "$raw" ]
  # Another instance, its cache empty, serves the same repository.
  HUB_STORE=$url start_hub --cache "$PWD/cache2" --allow-anonymous-push
  HUB2=$HUB
  plain_home "$PWD/plain2" && export HOME=$PWD/plain2
  expect_ok git -c "lfs.url=$HUB2/org/model.git/info/lfs" clone -q hf.git clone2
  for f in base $FTS; do expect_same "clone2/$f.bf16.safetensors" "$S/$f.bf16.safetensors"; done
  # A plain client pushes a fine-tune of ftA through instance 2, which has
  # stored nothing itself: it finds the base in the bucket's index.
  before=$(s3_bytes "$PWD/s3/hubs" prod/objects)
  (cd clone2 && git config lfs.url "$HUB2/org/model.git/info/lfs" &&
    cp "$S/ftA2_chain_manpages.bf16.safetensors" . && git add . && git commit -qm more &&
    git remote set-url origin ../hf.git && expect_ok git push origin main)
  wait_stored
  grown=$(($(s3_bytes "$PWD/s3/hubs" prod/objects) - before)) raw2=$(stat -c %s "$S/ftA2_chain_manpages.bf16.safetensors")
  echo "a fine-tune through instance 2: $grown bytes more in the bucket for $raw2 raw"
  expect_true [ $((grown * 100)) -le $((raw2 * 45)) ]
  # A git-zipllm client pushes another through instance 2 and clones
  # through instance 1.
  zipllm_home "$PWD/home-z" && export HOME=$PWD/home-z
  (cd clone2 &&
    cp "$S/ftV_vocab576.bf16.safetensors" . && git add . && git commit -qm vocab &&
    expect_ok git push origin main)
  expect_ok git clone -q hf.git zclone
  for f in base $FTS ftA2_chain_manpages ftV_vocab576; do
    expect_same "zclone/$f.bf16.safetensors" "$S/$f.bf16.safetensors"
  done
  expect_true grep -q "GET /org/model.git/info/lfs/zipllm/[0-9a-f]*/manifest 200" hub.log
  expect_eq "$(s3_front_refusals)" "" "requests the verifying front refused"
  # s3rver down: a third instance (nothing cached) answers 503 quickly;
  # instance 1 still serves what its cache holds.
  HUB_STORE=$url start_hub --cache "$PWD/cache3" --allow-anonymous-push
  HUB3=$HUB
  kill "$S3_PID" && wait "$S3_PID" 2>/dev/null || true
  local keep=() p
  for p in "${SERVER_PIDS[@]}"; do [ "$p" = "$S3_PID" ] || keep+=("$p"); done
  SERVER_PIDS=("${keep[@]}")  # (gone: stopping it again would fail)
  oid=$(sha256sum <"$S/base.bf16.safetensors" | cut -c1-64) size=$(stat -c %s "$S/base.bf16.safetensors")
  t0=$(date +%s)
  code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/vnd.git-lfs+json' \
    -d "{\"operation\":\"download\",\"objects\":[{\"oid\":\"$oid\",\"size\":$size}]}" \
    "$HUB3/org/model.git/info/lfs/objects/batch")
  t1=$(date +%s)
  expect_eq "$code" 503 "a batch needing the bucket while it is down"
  expect_true [ $((t1 - t0)) -le 15 ]
  expect_eq "$(curl -s "$HUB3/healthz")" ok
  plain_home "$PWD/plain3" && export HOME=$PWD/plain3
  expect_ok git -c "lfs.url=$HUB1/org/model.git/info/lfs" clone -q hf.git clone3
  for f in base $FTS; do expect_same "clone3/$f.bf16.safetensors" "$S/$f.bf16.safetensors"; done
}

t_tokens() {
  plain_home "$PWD/plain" && export HOME=$PWD/plain
  printf 'wtok write org/*\nrtok read org/model # a reader\n' >tokens
  start_hub --auth tokens
  hf_repo hf org/model
  cd hf
  # No credentials: 401, git-lfs asks its credential helper; none answers.
  export GIT_TERMINAL_PROMPT=0
  expect_fail git push origin main
  expect_log 'Git credentials for .* not found|Authentication required|401'
  # A read-only token: 403.
  git config credential.helper '!f() { echo username=u; echo password=rtok; }; f'
  expect_fail git push origin main
  expect_log 'may not push to org/model'
  git config credential.helper '!f() { echo username=u; echo password=wtok; }; f'
  expect_ok git push origin main
  cd ..
  # A reader clones; the same token cannot read another repository.
  plain_home "$PWD/reader" && export HOME=$PWD/reader
  git config --global credential.helper '!f() { echo username=u; echo password=rtok; }; f'
  expect_ok git clone -q hf.git clone
  expect_same clone/ftA_licenses.bf16.safetensors "$S/ftA_licenses.bf16.safetensors"
  oid=$(sha256sum <"$S/base.bf16.safetensors" | cut -c1-64)
  code=$(curl -s -o /dev/null -w '%{http_code}' -u u:rtok -H 'Content-Type: application/vnd.git-lfs+json' \
    -d "{\"operation\":\"download\",\"objects\":[{\"oid\":\"$oid\",\"size\":1}]}" \
    "$HUB/org/other.git/info/lfs/objects/batch")
  expect_eq "$code" 403 "batch on another repository with a reader's token"
  code=$(curl -s -o /dev/null -w '%{http_code}' -u u:nope -H 'Content-Type: application/vnd.git-lfs+json' \
    -d "{\"operation\":\"download\",\"objects\":[{\"oid\":\"$oid\",\"size\":1}]}" \
    "$HUB/org/model.git/info/lfs/objects/batch")
  expect_eq "$code" 401 "an unknown token"
  # /stats names only the repositories the caller may read.
  expect_eq "$(curl -s "$HUB/stats" | python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)["repos"]))')" "[]"
  expect_eq "$(curl -s -u u:rtok "$HUB/stats" | python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)["repos"]))')" "['org/model']"
  # An action token is for one object of one repository, and only as this
  # hub signed it.
  export HOME=$PWD/plain
  f=$S/ftA_licenses.bf16.safetensors oid=$(sha256sum <"$S/ftA_licenses.bf16.safetensors" | cut -c1-64)
  b=$(curl -sf -u u:wtok -H 'Content-Type: application/vnd.git-lfs+json' \
    -d "{\"operation\":\"upload\",\"objects\":[{\"oid\":\"$oid\",\"size\":$(stat -c %s "$f")}]}" \
    "$HUB/org/new.git/info/lfs/objects/batch")
  href=$(action "$b" upload href) auth=$(action "$b" upload auth)
  code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: ${auth%?}x" \
    --data-binary @"$f" "$href")
  expect_eq "$code" 401 "a forged action token"
  code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: $auth" \
    --data-binary @"$f" "${href/org\/new/org\/model}")
  expect_eq "$code" 403 "an action token used for another repository"
  code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: $auth" --data-binary @"$f" "$href")
  expect_eq "$code" 200 "the action token as signed"
  # git-zipllm clients behind the same tokens: the zipllm adapter works
  # with the action tokens alone (git-lfs gives custom agents no other).
  zipllm_home "$PWD/zw" && export HOME=$PWD/zw
  git config --global credential.helper '!f() { echo username=u; echo password=wtok; }; f'
  (cd hf && cp "$S/ftA2_chain_manpages.bf16.safetensors" . && git add . && git commit -qm more &&
    expect_ok git push origin main)
  expect_true grep -q "POST /org/model.git/info/lfs/zipllm/[0-9a-f]*/commit 200" hub.log
  zipllm_home "$PWD/zr" && export HOME=$PWD/zr
  git config --global credential.helper '!f() { echo username=u; echo password=rtok; }; f'
  expect_ok git clone -q hf.git zclone
  for f in base $FTS ftA2_chain_manpages; do
    expect_same "zclone/$f.bf16.safetensors" "$S/$f.bf16.safetensors"
  done
  expect_true grep -q "GET /org/model.git/info/lfs/zipllm/[0-9a-f]*/manifest 200" hub.log
}

# batch REPO OP OID SIZE : the batch response
batch() {
  curl -sf -H 'Content-Type: application/vnd.git-lfs+json' \
    -d "{\"operation\":\"$2\",\"objects\":[{\"oid\":\"$3\",\"size\":$4}],\"ref\":{}}" \
    "$HUB/$1.git/info/lfs/objects/batch"
}
# action JSON NAME FIELD : href, or the Authorization header, of an action
action() {
  python3 -c "import json,sys; a=json.load(sys.stdin)['objects'][0]['actions']['$2']; \
print(a['href'] if '$3' == 'href' else a['header']['Authorization'])" <<<"$1"
}

# upload_action REPO FILE : the batch's upload action for FILE ($oid, $href, $auth)
upload_action() {
  oid=$(sha256sum <"$2" | cut -c1-64)
  local b
  b=$(batch "$1" upload "$oid" "$(stat -c %s "$2")")
  href=$(action "$b" upload href) auth=$(action "$b" upload auth)
}
# slow_upload REPO FILE : that upload at 50 KB/s, in the background ($CURL_PID)
slow_upload() {
  upload_action "$1" "$2"
  curl -s -o /dev/null --limit-rate 50k -X PUT -H "Authorization: $auth" --data-binary @"$2" "$href" &
  CURL_PID=$!
}

t_wrong_bytes_refused() {
  start_hub --allow-anonymous-push
  f=$S/ftA_licenses.bf16.safetensors size=$(stat -c %s "$S/ftA_licenses.bf16.safetensors")
  upload_action org/m "$f"
  # Other bytes of the right size: 422, nothing stored.
  cp "$f" other && printf 'X' | dd of=other bs=1 seek=5000 conv=notrunc 2>/dev/null
  code=$(curl -s -o out -w '%{http_code}' -X PUT -H "Authorization: $auth" --data-binary @other "$href")
  expect_eq "$code" 422 "PUT of bytes that do not hash to the oid"
  expect_true grep -q "do not hash" out
  expect_eq "$(stat_of "['objects']")" 0
  expect_true [ ! -e "hubstore/lfs/${oid:0:2}/${oid:2:2}/$oid" ]
  code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: $auth" --data-binary @"$f" "$href")
  expect_eq "$code" 200
  # Range: a resumed download gets 206 and the rest of the file.
  b=$(batch org/m download "$oid" "$size")
  href=$(action "$b" download href) auth=$(action "$b" download auth)
  code=$(curl -s -o tail -w '%{http_code}' -H "Authorization: $auth" -H 'Range: bytes=1000-' "$href")
  expect_eq "$code" 206
  tail -c +1001 "$f" >want && expect_same tail want
  # Unknown object, unknown repository, malformed requests.
  b=$(batch org/m download "${oid%?}0" 5)
  expect_true grep -q '"code":404' <<<"$b"
  code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/vnd.git-lfs+json' \
    -d '{"operation":"download","objects":[]}' "$HUB/org/none.git/info/lfs/objects/batch")
  expect_eq "$code" 404
  code=$(curl -s -o /dev/null -w '%{http_code}' -d 'not json' "$HUB/org/m.git/info/lfs/objects/batch")
  expect_eq "$code" 422
  b=$(batch org/m upload "NOTANOID" 5)
  expect_true grep -q '"code":422' <<<"$b"
  expect_eq "$(curl -s "$HUB/healthz")" ok
}

# The hub killed -9 in the middle of an upload: after a restart nothing of
# it is visible, and the push retried succeeds.
t_killed_mid_upload() {
  plain_home "$PWD/plain" && export HOME=$PWD/plain
  start_hub --allow-anonymous-push
  slow_upload org/model "$S/base.bf16.safetensors"
  sleep 1
  kill -9 "$HUB_PID" || true
  wait "$CURL_PID" "$HUB_PID" 2>/dev/null || true
  SERVER_PIDS=()  # (that one is gone)
  expect_true [ ! -e "hubstore/lfs/${oid:0:2}/${oid:2:2}/$oid" ]
  expect_true [ -n "$(ls hubstore/tmp)" ]
  start_hub --allow-anonymous-push
  expect_eq "$(stat_of "['objects']")" 0
  expect_eq "$(ls hubstore/tmp)" "" "temp files after a restart"
  hf_repo hf org/model
  (cd hf && expect_ok git push origin main)
  plain_home "$PWD/plain2" && export HOME=$PWD/plain2
  expect_ok git clone -q hf.git clone
  for f in base $FTS; do expect_same "clone/$f.bf16.safetensors" "$S/$f.bf16.safetensors"; done
}

# 8 clients pushing (each its own repository: a fine-tune and a file of its
# own) and 8 cloning at once, with at most 2 uploads in flight: every file
# byte-exact, no error. The uploads past the bound wait for a slot: a 429
# sent before a PUT's body made a git-lfs 3.3 push panic ("sync: negative
# WaitGroup counter"; CI, stop 20), so none is sent while the waiting room
# (24 threads - 2 - 4) holds all 16.
t_load() {
  plain_home "$PWD/plain" && export HOME=$PWD/plain
  start_hub --allow-anonymous-push --max-uploads 2 --threads 24
  hf_repo seed org/seed
  (cd seed && expect_ok git push origin main)
  for i in 1 2 3 4 5 6 7 8; do
    git init -q --bare "p$i.git" && git init -q "p$i" && (cd "p$i" &&
      printf '*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n' >.gitattributes &&
      printf '[lfs]\n\turl = %s/org/p%s.git/info/lfs\n' "$HUB" "$i" >.lfsconfig &&
      cp "$S/ftA2_chain_manpages.bf16.safetensors" model.safetensors &&
      head -c $((200000 + i)) /dev/urandom >own.bin && git add . && git commit -qm "p$i" &&
      git remote add origin "../p$i.git")
  done
  local pids=()
  for i in 1 2 3 4 5 6 7 8; do
    (cd "p$i" && git push -q origin main >../push$i.log 2>&1; echo $? >../push$i.rc) &
    pids+=($!)
    (HOME=$PWD/plain git clone -q seed.git "c$i" >clone$i.log 2>&1; echo $? >clone$i.rc) &
    pids+=($!)
  done
  wait "${pids[@]}"  # (not the hub)
  for i in 1 2 3 4 5 6 7 8; do
    expect_eq "$(cat push$i.rc)" 0 "push $i ($(cat push$i.log))"
    expect_eq "$(cat clone$i.rc)" 0 "clone $i ($(cat clone$i.log))"
    for f in base $FTS; do expect_same "c$i/$f.bf16.safetensors" "$S/$f.bf16.safetensors"; done
  done
  errors=$(grep -v ' /[^ ]*/locks/verify 404 ' hub.log | grep -E ' (4[0-9][0-9]|5[0-9][0-9]) repo' || true)
  expect_eq "$errors" "" "errors in hub.log"
  plain_home "$PWD/plain2" && export HOME=$PWD/plain2
  for i in 1 2 3 4 5 6 7 8; do
    expect_ok git clone -q "p$i.git" "q$i"
    expect_same "q$i/model.safetensors" "$S/ftA2_chain_manpages.bf16.safetensors"
    expect_same "q$i/own.bin" "p$i/own.bin"
  done
}

# SIGTERM: the hub stops within seconds, an upload in flight is not
# published, and a restarted hub serves.
t_sigterm() {
  start_hub --allow-anonymous-push
  slow_upload org/model "$S/base.bf16.safetensors"
  sleep 1
  kill -TERM "$HUB_PID"
  for _ in $(seq 100); do kill -0 "$HUB_PID" 2>/dev/null || break; sleep 0.1; done
  expect_false kill -0 "$HUB_PID" 2>/dev/null
  wait "$CURL_PID" "$HUB_PID" 2>/dev/null || true
  SERVER_PIDS=()
  expect_true grep -q 'the hub stopped' hub.log
  expect_true [ ! -e "hubstore/lfs/${oid:0:2}/${oid:2:2}/$oid" ]
  start_hub --allow-anonymous-push
  expect_eq "$(curl -s "$HUB/healthz")" ok
  expect_eq "$(stat_of "['objects']")" 0
}

# A full disk: 507, nothing kept, the hub keeps serving.
t_disk_full() {
  mkdir -p small
  if mount -t tmpfs -o size=8m tmpfs "$PWD/small" 2>/dev/null; then
    HUB_STORE=$PWD/small/hubstore
  else  # not root: a file size limit on the hub instead
    HUB_PREFIX=(bash -c 'trap "" XFSZ; ulimit -f 8192; exec "$0" "$@"')
  fi
  if [ -n "${HUB_STORE:-}" ]; then start_hub --allow-anonymous-push; else
    rm -f hub.port
    "${HUB_PREFIX[@]}" "$BIN" serve --store "$PWD/hubstore" --listen 127.0.0.1:0 \
      --port-file "$PWD/hub.port" --allow-anonymous-push 2>>"$PWD/hub.log" &
    HUB_PID=$!
    SERVER_PIDS+=("$HUB_PID")
    for _ in $(seq 100); do [ -s hub.port ] && break; sleep 0.05; done
    HUB=http://127.0.0.1:$(cat hub.port)
  fi
  head -c $((12 << 20)) /dev/urandom >big.bin
  upload_action org/m big.bin
  code=$(curl -s -o out -w '%{http_code}' -X PUT -H "Authorization: $auth" --data-binary @big.bin "$href")
  expect_eq "$code" 507 "an upload onto a full disk ($(cat out))"
  expect_eq "$(stat_of "['objects']")" 0
  expect_eq "$(stat_of "['pending']")" 0
  expect_eq "$(ls "${HUB_STORE:-hubstore}/tmp")" "" "temp files left"
  expect_eq "$(curl -s "$HUB/healthz")" ok
  kill "$HUB_PID" && wait "$HUB_PID" 2>/dev/null || true
  SERVER_PIDS=()
  umount "$PWD/small" 2>/dev/null || true
}

test_case "a plain git-lfs client pushes and clones byte-exact; half the raw bytes stored" t_plain_push_and_clone
test_case "git-zipllm clients: zipllm adapter, only missing objects move, mixed clients" t_zipllm_clients
test_case "an interrupted download resumes with Range, byte-exact" t_resume
test_case "the hub on S3: two instances share a bucket; s3rver down: 503, still serving" t_s3_store
test_case "8 clients pushing and 8 cloning at once: byte-exact, uploads past the bound wait" t_load
test_case "tokens: 401 without, 403 for a reader pushing or another repo" t_tokens
test_case "wrong bytes 422 and nothing stored; forged token; Range 206; errors" t_wrong_bytes_refused
test_case "SIGTERM mid-upload: stops, publishes nothing partial" t_sigterm
test_case "a full disk: 507, nothing kept, still serving" t_disk_full
test_case "hub killed -9 mid-upload: nothing partial, the push retried succeeds" t_killed_mid_upload
finish
