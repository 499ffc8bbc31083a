#!/usr/bin/env bash
# Benchmarks: stored size, ratio, ingest/restore throughput and peak RSS of
# git-zipllm against the baselines a user would pick instead, on the real
# pairs in ../shared/data (when present) and a generated large BF16 pair.
#
#   bench/run.sh [--big SIZE_MIB]... [--no-real] [--bin PATH]
#
# Prints a markdown table (docs/BENCHMARKS.md records one run). Every
# git-zipllm restore is compared byte for byte with its original.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BIN=${BIN:-$ROOT/build/git-zipllm}
TOOLS=$ROOT/build/bench
DATA=${ZIPLLM_BENCH_DATA:-$ROOT/../shared/data}
WORK=${ZIPLLM_BENCH_WORK:-/tmp/zipllm-bench}
BIG=()
REAL=1
while [ $# -gt 0 ]; do
  case "$1" in
    --big) BIG+=("$2"); shift 2 ;;
    --no-real) REAL=0; shift ;;
    --bin) BIN=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 1 ;;
  esac
done
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
mkdir -p "$WORK"

# measure OUTVAR_PREFIX CMD...: sets ${prefix}_s (wall seconds) and ${prefix}_rss (MiB).
# Every tool starts from the same state: the outputs of earlier runs are
# removed (no tool pays for truncating another's 2 GiB file) and dirty pages
# are flushed (none pays for the writeback of the one before it).
measure() {
  local prefix=$1; shift
  rm -f "$WORK"/x.out "$WORK"/x.zout
  sync
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/stderr" || { cat "$WORK/stderr" >&2; return 1; }
  read -r s kb < "$WORK/time"
  printf -v "${prefix}_s" '%s' "$s"
  printf -v "${prefix}_rss" '%s' "$((kb / 1024))"
}
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s <= 0) s = 0.01; printf "%.0f", b / s / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
size() { stat -c %s "$1"; }

echo "| pair | raw | git-zipllm | ratio | BitX zstd-3 | ours/BitX | zstd -3 -T2 | zstd -19 --patch-from | ingest MB/s (zstd -3 -T2) | restore MB/s (zstd -d) | peak RSS ingest/restore MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"

bench_pair() {  # NAME BASE FINE [patch]
  local name=$1 base=$2 fine=$3 patch=${4:-patch}
  local raw; raw=$(size "$fine")
  local args=()
  [ -n "$base" ] && args=(--base "$base")
  rm -f "$WORK/x.zpk" "$WORK/x.zst"
  measure in "$BIN" compress "$fine" "${args[@]}" -o "$WORK/x.zpk"
  local ours; ours=$(size "$WORK/x.zpk")
  measure out "$BIN" decompress "$WORK/x.zpk" "${args[@]}" -o "$WORK/x.out"
  cmp -s "$WORK/x.out" "$fine" || { echo "RESTORE MISMATCH for $name" >&2; exit 1; }
  rm -f "$WORK/x.out"
  measure z3 zstd -q -f -3 -T2 "$fine" -o "$WORK/x.zst"
  local z3size; z3size=$(size "$WORK/x.zst")
  measure zd zstd -q -f -d "$WORK/x.zst" -o "$WORK/x.zout"
  local bitx="-" rel="-" pf="-"
  if [ -n "$base" ]; then
    bitx=$("$TOOLS/bitx_pair" "$base" "$fine" | awk '{print $2}')
    rel=$(ratio "$ours" "$bitx")
    if [ "$patch" = patch ]; then
      zstd -q -f -19 --long=31 --patch-from="$base" "$fine" -o "$WORK/x.pf" 2>/dev/null && pf=$(size "$WORK/x.pf")
    fi
  fi
  echo "| $name | $raw | $ours | $(ratio "$raw" "$ours") | $bitx | $rel | $z3size | $pf | $(mbps "$raw" "$in_s") ($(mbps "$raw" "$z3_s")) | $(mbps "$raw" "$out_s") ($(mbps "$raw" "$zd_s")) | $in_rss / $out_rss |"
}

if [ "$REAL" = 1 ] && [ -d "$DATA" ]; then
  S=$DATA/stories260K
  for dt in bf16 fp16 fp32; do
    for ft in ftA_licenses ftB_changelogs ftC_copyright_lr1e-5 ftV_vocab576; do
      bench_pair "stories base→$ft ($dt)" "$S/base/model.$dt.safetensors" "$S/$ft/model.$dt.safetensors"
    done
    bench_pair "stories ftA→ftA2 ($dt)" "$S/ftA_licenses/model.$dt.safetensors" "$S/ftA2_chain_manpages/model.$dt.safetensors"
  done
  bench_pair "esrgan base→ft_sr_localimgs (bf16)" "$DATA/esrgan-thick-x4/base/model.bf16.safetensors" "$DATA/esrgan-thick-x4/ft_sr_localimgs/model.bf16.safetensors"
  bench_pair "faceres→faceres-deep (bf16)" "$DATA/real/faceres/model.bf16.safetensors" "$DATA/real/faceres-deep/model.bf16.safetensors"
  bench_pair "silero v5→v6 (fp32)" "$DATA/real/silero-vad-v5/model.fp32.safetensors" "$DATA/real/silero-vad-v6/model.fp32.safetensors"
  bench_pair "silero v6 alone (fp32)" "" "$DATA/real/silero-vad-v6/model.fp32.safetensors"
  bench_pair "maxim alone (bf16, 11,590 tensors)" "" "$DATA/real/maxim-dehazing-indoor/model.bf16.safetensors"
fi

for mib in "${BIG[@]}"; do
  src_base=$DATA/esrgan-thick-x4/base/model.bf16.safetensors
  src_fine=$DATA/esrgan-thick-x4/ft_sr_localimgs/model.bf16.safetensors
  if [ ! -f "$src_base" ]; then
    src_base=$ROOT/tests/data/stories260K/base.bf16.safetensors
    src_fine=$ROOT/tests/data/stories260K/ftA_licenses.bf16.safetensors
  fi
  b=$WORK/gen-$mib-base.safetensors f=$WORK/gen-$mib-fine.safetensors
  [ -f "$f" ] || "$TOOLS/gen_pair" "$src_base" "$src_fine" "$b" "$f" "$mib" >/dev/null
  bench_pair "generated ${mib} MiB (bf16, from esrgan statistics)" "$b" "$f" nopatch
done
