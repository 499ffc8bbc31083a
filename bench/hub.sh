#!/usr/bin/env bash
# The hub (`git zipllm serve`) against plain LFS storage: a Hugging Face
# style repository (a base and its fine-tunes, no declarations) pushed and
# cloned by git-lfs 3.3 through
#   - a plain LFS server (bench/plain_lfs_server.py: every file kept whole,
#     what a git host's LFS storage does),
#   - the hub, with a plain git-lfs client (basic adapter),
#   - the hub, with a git-zipllm client (zipllm adapter), and that client
#     fetching the generated fine-tune with its base already at hand.
# Prints push and clone throughput, how long the hub takes to store what it
# accepted, bytes stored against raw, and bytes on the wire.
#
#   bench/hub.sh [SIZE_MIB]   (default 512: a generated BF16 base/fine-tune
#                              pair of that size, plus the real families in
#                              ../shared/data when present)
set -euo pipefail
SIZE=${1:-512}
. "$(dirname "$0")/lib.sh"
bench_setup hub --plain

src=$ROOT/tests/data/stories260K
mkdir -p "$WORK/models"
"$BIN_DIR/bench/gen_pair" "$src/base.bf16.safetensors" "$src/ftA_licenses.bf16.safetensors" \
  "$WORK/models/gen-base.safetensors" "$WORK/models/gen-fine.safetensors" "$SIZE" >/dev/null
for f in base ftA_licenses ftB_changelogs ftC_copyright_lr1e-5 ftA2_chain_manpages; do
  cp "$src/$f.bf16.safetensors" "$WORK/models/stories-$f.safetensors"
done
if [ -d "$DATA/esrgan-thick-x4" ]; then
  cp "$DATA"/esrgan-thick-x4/base/*.safetensors "$WORK/models/esrgan-base.safetensors"
  cp "$DATA"/esrgan-thick-x4/ft_sr_localimgs/*.safetensors "$WORK/models/esrgan-ft.safetensors"
fi
RAW=$(cat "$WORK"/models/* | wc -c)

now() { date +%s.%N; }
# start_server NAME CMD... : runs a server that writes its port to
# $WORK/NAME.port; sets URL
start_server() {
  local name=$1; shift
  "$@" >/dev/null 2>"$WORK/$name.log" &
  PIDS+=($!)
  for _ in $(seq 100); do [ -s "$WORK/$name.port" ] && break; sleep 0.05; done
  URL="http://127.0.0.1:$(cat "$WORK/$name.port")"
}
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null' EXIT
start_server plain python3 "$ROOT/bench/plain_lfs_server.py" "$WORK/plainstore" "$WORK/plain.port"
PLAIN=$URL
start_server hub git-zipllm serve --store "$WORK/hubstore" --listen 127.0.0.1:0 \
  --port-file "$WORK/hub.port" --allow-anonymous-push
HUB=$URL
start_server hub2 git-zipllm serve --store "$WORK/hubstore2" --listen 127.0.0.1:0 \
  --port-file "$WORK/hub2.port" --allow-anonymous-push
HUB2=$URL
stat_of() { curl -sf "$1/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)$2)"; }
# wire LOG DIR [PATTERN] : bytes the hub received (in) or sent (out) for
# requests matching PATTERN
wire() {
  if [ "$2" = in ]; then
    awk -v p="${3:-.}" '$0 ~ p {for (i = 1; i <= NF; i++) if ($i ~ /^in=/) s += substr($i, 4)} END {printf "%.0f\n", s}' "$1"
  else
    awk -v p="${3:-.}" '$2 == "GET" && $0 ~ p {for (i = 1; i <= NF; i++) if ($i ~ /^out=/) s += substr($i, 5)} END {printf "%.0f\n", s}' "$1"
  fi
}
# push_clone NAME LFS_URL : a repository of the models, pushed, then cloned
# in a fresh HOME of the same kind; sets T_PUSH, T_CLONE (seconds)
push_clone() {
  local name=$1 url=$2 t0 t1
  cd "$WORK" && git init -q --bare "$name.git" && git init -q "$name" && cd "$name"
  printf '*.safetensors filter=lfs diff=lfs merge=lfs -text\n' >.gitattributes
  printf '[lfs]\n\turl = %s\n' "$url" >.lfsconfig
  cp "$WORK"/models/* . && git add . && git commit -qm models && git remote add origin "../$name.git"
  t0=$(now); git push -q origin main 2>/dev/null; t1=$(now)
  T_PUSH=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
  cd "$WORK" && rm -rf "$name-clone" && t0=$(now); git clone -q "$name.git" "$name-clone" 2>/dev/null; t1=$(now)
  T_CLONE=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
  for f in models/*; do cmp -s "$f" "$name-clone/${f#models/}" || { echo "MISMATCH $name $f"; exit 1; }; done
}

# Plain LFS storage, then the hub, both with plain clients.
push_clone plain "$PLAIN/bench/models.git/info/lfs"
P_PUSH=$T_PUSH P_CLONE=$T_CLONE P_STORED=$(cat "$WORK"/plainstore/* | wc -c)
t0=$(now)
push_clone hub "$HUB/bench/models.git/info/lfs"
H_PUSH=$T_PUSH
while [ "$(stat_of "$HUB" "['pending']")" != 0 ]; do sleep 0.2; done
H_STORE=$(awk -v a="$t0" -v b="$(now)" -v p="$H_PUSH" 'BEGIN {print b - a - p}')
# (cloned again once stored: the first clone may have been served as uploaded)
before=$(wire "$WORK/hub.log" out)
cd "$WORK" && rm -rf hub-clone && t0=$(now) && git clone -q hub.git hub-clone 2>/dev/null && t1=$(now)
H_CLONE=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
H_OUT=$(($(wire "$WORK/hub.log" out) - before))
H_STORED=$(stat_of "$HUB" "['stored_bytes']")
H_IN=$(wire "$WORK/hub.log" in)

# git-zipllm clients (the zipllm adapter), on a hub of their own.
export HOME=$WORK/home-z && mkdir -p "$HOME" && git config --global user.email b@example.com &&
  git config --global user.name b && git config --global init.defaultBranch main &&
  git lfs install --skip-repo >/dev/null && git zipllm install >/dev/null
rm -rf "$WORK/hub.git" "$WORK/hub"
push_clone zhub "$HUB2/bench/models.git/info/lfs"
Z_PUSH=$T_PUSH
Z_IN=$(wire "$WORK/hub2.log" in)
Z_STORED=$(stat_of "$HUB2" "['stored_bytes']")
rm -rf "$WORK/zhub-clone"
export HOME=$WORK/home-z2 && mkdir -p "$HOME" && git lfs install --skip-repo >/dev/null && git zipllm install >/dev/null
before=$(wire "$WORK/hub2.log" out)
cd "$WORK" && t0=$(now) && git clone -q zhub.git zhub-clone 2>/dev/null && t1=$(now)
Z_CLONE=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
Z_OUT=$(($(wire "$WORK/hub2.log" out) - before))
for f in models/*; do cmp -s "$f" "zhub-clone/${f#models/}" || { echo "MISMATCH zhub $f"; exit 1; }; done
# The fine-tune alone, by a git-zipllm user who has the base already.
export HOME=$WORK/home-z3 && mkdir -p "$HOME" && git lfs install --skip-repo >/dev/null && git zipllm install >/dev/null
cd "$WORK" && GIT_LFS_SKIP_SMUDGE=1 git clone -q zhub.git zft 2>/dev/null && cd zft &&
  git lfs pull -I gen-base.safetensors 2>/dev/null
before=$(wire "$WORK/hub2.log" out)
git lfs pull -I gen-fine.safetensors 2>/dev/null
cmp -s gen-fine.safetensors "$WORK/models/gen-fine.safetensors" || { echo "MISMATCH zft"; exit 1; }
F_OUT=$(($(wire "$WORK/hub2.log" out) - before))
F_RAW=$(stat -c %s "$WORK/models/gen-fine.safetensors")

cpu() { grep -m1 "^$1" /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'; }
echo "CPU: $(cpu 'model name') (family $(cpu 'cpu family'), model $(cpu 'model\s')), $(nproc) cores"
echo "files: $((RAW / 1000000)) MB raw (a $SIZE MiB generated pair, the stories family$( [ -d "$DATA/esrgan-thick-x4" ] && echo ', esrgan base + fine-tune'))"
awk -v raw="$RAW" -v fraw="$F_RAW" -v p_stored="$P_STORED" -v h_stored="$H_STORED" -v z_stored="$Z_STORED" \
  -v h_in="$H_IN" -v h_out="$H_OUT" -v z_in="$Z_IN" -v z_out="$Z_OUT" -v f_out="$F_OUT" \
  -v p_push="$P_PUSH" -v p_clone="$P_CLONE" -v h_push="$H_PUSH" -v h_store="$H_STORE" -v h_clone="$H_CLONE" \
  -v z_push="$Z_PUSH" -v z_clone="$Z_CLONE" 'BEGIN {
  printf "%-46s %12s %8s\n", "", "bytes", "x raw"
  printf "%-46s %12d %8.3f\n", "plain LFS server: stored", p_stored, p_stored / raw
  printf "%-46s %12d %8.3f\n", "hub: stored (plain clients)", h_stored, h_stored / raw
  printf "%-46s %12d %8.3f\n", "hub: stored (git-zipllm clients)", z_stored, z_stored / raw
  printf "%-46s %12d %8.3f\n", "wire, push, plain client", h_in, h_in / raw
  printf "%-46s %12d %8.3f\n", "wire, clone, plain client", h_out, h_out / raw
  printf "%-46s %12d %8.3f\n", "wire, push, git-zipllm client", z_in, z_in / raw
  printf "%-46s %12d %8.3f\n", "wire, clone, git-zipllm client", z_out, z_out / raw
  printf "%-46s %12d %8.3f\n", "wire, fine-tune with its base at hand (x its raw)", f_out, f_out / fraw
  printf "%-46s %8s %10s\n", "", "s", "MB/s"
  printf "%-46s %8.2f %10.0f\n", "push, plain LFS server", p_push, raw / p_push / 1e6
  printf "%-46s %8.2f %10.0f\n", "push, hub, plain client (accepted)", h_push, raw / h_push / 1e6
  printf "%-46s %8.2f %10.0f\n", "  then stored in the background", h_store, raw / h_store / 1e6
  printf "%-46s %8.2f %10.0f\n", "push, hub, git-zipllm client (ingest + send)", z_push, raw / z_push / 1e6
  printf "%-46s %8.2f %10.0f\n", "clone, plain LFS server", p_clone, raw / p_clone / 1e6
  printf "%-46s %8.2f %10.0f\n", "clone, hub, plain client", h_clone, raw / h_clone / 1e6
  printf "%-46s %8.2f %10.0f\n", "clone, hub, git-zipllm client", z_clone, raw / z_clone / 1e6
}'
