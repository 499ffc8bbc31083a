#!/usr/bin/env bash
# Benchmark: `git zipllm checkout` of a sharded model (SHARDS generated BF16
# shards of SIZE_MIB each, committed without a base) on one core and on
# all, interleaved, ROUNDS rounds; the deleted shards are restored into the
# work tree (on disk, $ZIPLLM_BENCH_WORK) and compared byte for byte.
#
#   bench/shards.sh [SHARDS] [SIZE_MIB] [ROUNDS]     (default 4 512 3)
#
# Prints per round the wall and CPU (user + sys) seconds of each core set,
# then the medians and the speed-up from one core to all.
set -euo pipefail
SHARDS=${1:-4}
SIZE=${2:-512}
ROUNDS=${3:-3}
. "$(dirname "$0")/lib.sh"
bench_setup shards

pair_sources
git init -q repo && cd repo
git zipllm track '*.safetensors' >/dev/null
files=()
for i in $(seq 1 "$SHARDS"); do
  f=$(printf 'model-%05d-of-%05d.safetensors' "$i" "$SHARDS")
  # A shard is the generated fine-tune of seed i (distinct bytes per shard).
  "$BIN_DIR/bench/gen_pair" "$src_base" "$src_fine" "$WORK/unused.st" "$WORK/$f" "$SIZE" "$i" >/dev/null
  cp "$WORK/$f" "$f"
  files+=("$f")
done
rm -f "$WORK/unused.st"
git add .gitattributes "${files[@]}" && git commit -q -m shards

all=$(seq -s, 0 $(($(nproc) - 1)))
echo "machine: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo); cores usable: $(nproc)"
echo "checkout of $SHARDS x $SIZE MiB shards (solo), to disk"
echo "| round | cores | wall s | CPU s |"
echo "|---|---|---|---|"
: > "$WORK/times"
for r in $(seq 1 "$ROUNDS"); do
  for cores in 0 "$all"; do
    rm -f "${files[@]}"
    sync
    /usr/bin/time -f "%e %U %S" -o "$WORK/time" taskset -c "$cores" git zipllm checkout >/dev/null 2>"$WORK/err" ||
      { cat "$WORK/err" >&2; exit 1; }
    for f in "${files[@]}"; do
      cmp -s "$f" "$WORK/$f" || { echo "RESTORE MISMATCH: $f" >&2; exit 1; }
    done
    read -r s us ss < "$WORK/time"
    cpu=$(awk -v u="$us" -v k="$ss" 'BEGIN { printf "%.2f", u + k }')
    echo "| $r | $cores | $s | $cpu |"
    echo "$cores $s" >> "$WORK/times"
  done
done
one=$(awk '$1 == "0" { print $2 }' "$WORK/times" | median)
many=$(awk -v c="$all" '$1 == c { print $2 }' "$WORK/times" | median)
echo "median wall: 1 core $one s, $(nproc) cores $many s, speed-up $(awk -v a="$one" -v b="$many" 'BEGIN { printf "%.2f", a / b }')x"
