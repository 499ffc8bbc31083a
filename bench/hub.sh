#!/usr/bin/env bash
# The hub (`git zipllm serve`) with a plain git-lfs 3.3 client: a Hugging
# Face style repository (a base and its fine-tunes, no declarations) pushed
# to the hub and cloned back. Prints push and clone throughput, how long the
# hub takes to store what it accepted, bytes stored against raw (what
# git-lfs's own storage keeps: every file whole), and bytes on the wire.
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

git-zipllm serve --store "$WORK/hubstore" --listen 127.0.0.1:0 --port-file "$WORK/port" \
  --allow-anonymous-push 2>"$WORK/hub.log" &
HUB_PID=$!
trap 'kill $HUB_PID 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
HUB=http://127.0.0.1:$(cat "$WORK/port")
stat_of() { curl -sf "$HUB/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

cd "$WORK" && git init -q --bare remote.git && git init -q repo && cd repo
printf '*.safetensors filter=lfs diff=lfs merge=lfs -text\n' >.gitattributes
printf '[lfs]\n\turl = %s/bench/models.git/info/lfs\n' "$HUB" >.lfsconfig
cp "$WORK"/models/* . && git add . && git commit -qm models && git remote add origin ../remote.git
now() { date +%s.%N; }
t0=$(now); git push -q origin main 2>/dev/null; t1=$(now)
while [ "$(stat_of "['pending']")" != 0 ]; do sleep 0.2; done; t2=$(now)
cd "$WORK" && t3=$(now); git clone -q remote.git clone 2>/dev/null; t4=$(now)
for f in models/*; do cmp -s "$f" "clone/${f#models/}" || { echo "MISMATCH $f"; exit 1; }; done
STORED=$(stat_of "['stored_bytes']")
IN=$(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^in=/) s += substr($i, 4)} END {print s + 0}' hub.log)
OUT=$(awk '$2 == "GET" {for (i = 1; i <= NF; i++) if ($i ~ /^out=/) s += substr($i, 5)} END {print s + 0}' hub.log)

cpu() { grep -m1 "^$1" /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'; }
echo "CPU: $(cpu 'model name') (family $(cpu 'cpu family'), model $(cpu 'model\s')), $(nproc) cores"
awk -v raw="$RAW" -v stored="$STORED" -v in_="$IN" -v out="$OUT" \
  -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" -v t4="$t4" 'BEGIN {
  push = t1 - t0; store = t2 - t1; clone = t4 - t3
  printf "files: %d MB raw (a %s MiB generated pair, the stories family%s)\n", raw / 1e6, "'"$SIZE"'", "'"$( [ -d "$DATA/esrgan-thick-x4" ] && echo ', esrgan base + fine-tune')"'"
  printf "%-34s %12s %10s\n", "", "bytes", "x raw"
  printf "%-34s %12d %10.3f\n", "git-lfs storage (every file whole)", raw, 1
  printf "%-34s %12d %10.3f\n", "hub storage", stored, stored / raw
  printf "%-34s %12d %10.3f\n", "wire, push (plain client)", in_, in_ / raw
  printf "%-34s %12d %10.3f\n", "wire, clone (plain client)", out, out / raw
  printf "push  %6.2f s  %7.0f MB/s (accepted: SHA-256 checked, on disk)\n", push, raw / push / 1e6
  printf "store %6.2f s  %7.0f MB/s (background: dedup, base finder, encoding)\n", store, raw / store / 1e6
  printf "clone %6.2f s  %7.0f MB/s (restored while sent, chunks and SHA-256 checked)\n", clone, raw / clone / 1e6
}'
