#!/usr/bin/env bash
# Benchmarks: stored size, ratio, ingest/restore throughput and peak RSS of
# git-zipllm against the baselines a user would pick instead, on the real
# pairs in ../shared/data (when present) and a generated large BF16 pair.
#
#   bench/run.sh [--big SIZE_MIB]... [--speed SIZE_MIB]... [--rounds N] [--scaling] [--no-tmpfs] [--no-real] [--bin PATH]
#
# Prints the machine (CPU model, cores usable, kernel, the codec kernel in
# use), then a markdown table (docs/BENCHMARKS.md records one run). Every
# git-zipllm restore is compared byte for byte with its original.
# --speed: on a generated BF16 pair of that size, ingest and restore against
# zstd -3 -T2 and zstd -d, interleaved for --rounds rounds (default 3), with
# wall and CPU (user + sys; sys alone in brackets) seconds, writing to tmpfs
# (/dev/shm, when it has room) and to disk ($WORK).
# --scaling: with --speed, also our ingest and restore on one core
# (taskset -c 0) and on all, interleaved, to tmpfs (disk without room), with
# the medians' speed-up. --no-tmpfs: disk only (an 8 GiB pair's inputs and
# a tmpfs output do not fit in 24 GiB of RAM together).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BIN=${BIN:-$ROOT/build/git-zipllm}
TOOLS=$ROOT/build/bench
DATA=${ZIPLLM_BENCH_DATA:-$ROOT/../shared/data}
WORK=${ZIPLLM_BENCH_WORK:-/tmp/zipllm-bench}
BIG=()
SPEED=()
ROUNDS=3
REAL=1
SCALING=0
TMPFS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --big) BIG+=("$2"); shift 2 ;;
    --speed) SPEED+=("$2"); shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --no-real) REAL=0; shift ;;
    --scaling) SCALING=1; shift ;;
    --no-tmpfs) TMPFS=0; shift ;;
    --bin) BIN=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 1 ;;
  esac
done
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
mkdir -p "$WORK"
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"   # pair_sources, median

# The machine, so every figure below names what it was measured on.
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
fam=$(awk -F': ' '/^cpu family/ {f=$2} /^model\t/ {m=$2} END {print "family " f " model " m}' /proc/cpuinfo)
flags=$(grep -m1 -o -w -E 'avx2|avx512bw|avx512vbmi2|sha_ni|asimd|sha2' /proc/cpuinfo | sort -u | tr '\n' ' ' || true)
echo "machine: ${cpu:-unknown CPU} ($fam; $flags)"
echo "cores usable: $(nproc) of $(nproc --all); kernel $(uname -r); $("$BIN" env | awk '/^codec kernel/ {print "codec kernel " $3}')"
# A VM whose balloon device takes free page reports gives memory freed in
# the guest back to the host; the next write to such a page faults in the
# host. Every tool below pays that as system time, unevenly from run to run
# (the restores and zstd -d write 2 GiB of fresh pages), so say when it is on.
order=/sys/module/page_reporting/parameters/page_reporting_order
if [ -r "$order" ] && compgen -G '/sys/bus/virtio/drivers/virtio_balloon/virtio*' >/dev/null; then
  echo "free page reporting: on (blocks of $((4 << $(cat "$order"))) KiB) — freed memory goes back to the host; sys time varies with it"
fi

# measure OUTVAR_PREFIX CMD...: sets ${prefix}_s (wall seconds), ${prefix}_cpu
# (user + sys seconds), ${prefix}_sys (sys seconds) and ${prefix}_rss (MiB).
# Every tool starts from the same state: the outputs of earlier runs are
# removed (no tool pays for truncating another's 2 GiB file) and dirty pages
# are flushed (none pays for the writeback of the one before it).
measure() {
  local prefix=$1; shift
  rm -f "$WORK"/x.out "$WORK"/x.zout
  sync
  /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/stderr" || { cat "$WORK/stderr" >&2; return 1; }
  read -r s us ss kb < "$WORK/time"
  printf -v "${prefix}_s" '%s' "$s"
  printf -v "${prefix}_cpu" '%s' "$(awk -v u="$us" -v k="$ss" 'BEGIN { printf "%.2f", u + k }')"
  printf -v "${prefix}_sys" '%s' "$ss"
  printf -v "${prefix}_rss" '%s' "$((kb / 1024))"
}
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s <= 0) s = 0.01; printf "%.0f", b / s / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
size() { stat -c %s "$1"; }

if { [ "$REAL" = 1 ] && [ -d "$DATA" ]; } || [ ${#BIG[@]} -gt 0 ]; then
  echo "| pair | raw | git-zipllm | ratio | BitX zstd-3 | ours/BitX | zstd -3 -T2 | zstd -19 --patch-from | ingest MB/s (zstd -3 -T2) | restore MB/s (zstd -d) | peak RSS ingest/restore MiB |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
fi

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

# gen_pair MIB: a generated BF16 base/fine-tune pair in $WORK (kept for
# later runs): sets $b and $f.
gen_pair() {
  local mib=$1
  local src_base src_fine
  pair_sources
  b=$WORK/gen-$mib-base.safetensors f=$WORK/gen-$mib-fine.safetensors
  [ -f "$f" ] || "$TOOLS/gen_pair" "$src_base" "$src_fine" "$b" "$f" "$mib" >/dev/null
}

for mib in "${BIG[@]}"; do
  gen_pair "$mib"
  bench_pair "generated ${mib} MiB (bf16, from esrgan statistics)" "$b" "$f" nopatch
done

# speed_rounds MIB DIR: ROUNDS interleaved rounds of ours and zstd's ingest
# and restore of the generated pair, outputs in DIR (inputs in the page
# cache). One row per round, then the medians and our share of zstd's.
speed_rounds() {
  local mib=$1 dir=$2 where=$3
  local raw; raw=$(size "$f")
  local rows=()
  for r in $(seq "$ROUNDS"); do
    rm -f "$dir"/zl.zpk "$dir"/zl.out "$dir"/zl.zst "$dir"/zl.zout
    measure ci "$BIN" compress "$f" --base "$b" -o "$dir/zl.zpk"
    measure co "$BIN" decompress "$dir/zl.zpk" --base "$b" -o "$dir/zl.out"
    cmp -s "$dir/zl.out" "$f" || { echo "RESTORE MISMATCH (${mib} MiB, $where)" >&2; exit 1; }
    rm -f "$dir/zl.out" "$dir/zl.zpk"
    measure zi zstd -q -f -3 -T2 "$f" -o "$dir/zl.zst"
    measure zo zstd -q -f -d "$dir/zl.zst" -o "$dir/zl.zout"
    rm -f "$dir/zl.zst" "$dir/zl.zout"
    echo "| ${mib} MiB → $where | $r | $ci_s / $ci_cpu ($ci_sys) | $zi_s / $zi_cpu ($zi_sys) | $co_s / $co_cpu ($co_sys) | $zo_s / $zo_cpu ($zo_sys) | $ci_rss / $co_rss |"
    rows+=("$ci_s $ci_cpu $zi_s $zi_cpu $co_s $co_cpu $zo_s $zo_cpu")
  done
  local m=() k
  for k in 1 2 3 4 5 6 7 8; do
    m+=("$(printf '%s\n' "${rows[@]}" | cut -d' ' -f"$k" | median)")
  done
  awk -v mib="$mib" -v where="$where" -v raw="$raw" -v m="${m[*]}" 'BEGIN {
    split(m, v, " ")
    printf "| %s MiB → %s | median | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | ours/zstd: ingest %.2f× wall %.2f× CPU, restore %.2f× wall %.2f× CPU; restore %.0f MB/s |\n",
      mib, where, v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8],
      v[1] / v[3], v[2] / v[4], v[5] / v[7], v[6] / v[8], raw / v[5] / 1e6
  }'
}

# scaling_rounds MIB DIR WHERE: ROUNDS interleaved rounds of our ingest
# and restore on one core and on all; the medians and their ratio.
scaling_rounds() {
  local mib=$1 dir=$2 where=$3
  local all; all=$(seq -s, 0 $(($(nproc) - 1)))
  echo
  echo "| ${mib} MiB → $where | round | cores | ingest s wall / CPU (sys) | restore s wall / CPU (sys) |"
  echo "|---|---|---|---|---|"
  local rows=()
  for r in $(seq "$ROUNDS"); do
    for cores in 0 "$all"; do
      rm -f "$dir"/zl.zpk "$dir"/zl.out
      measure ci taskset -c "$cores" "$BIN" compress "$f" --base "$b" -o "$dir/zl.zpk"
      measure co taskset -c "$cores" "$BIN" decompress "$dir/zl.zpk" --base "$b" -o "$dir/zl.out"
      cmp -s "$dir/zl.out" "$f" || { echo "RESTORE MISMATCH (${mib} MiB, $where)" >&2; exit 1; }
      rm -f "$dir"/zl.zpk "$dir"/zl.out
      echo "| | $r | $cores | $ci_s / $ci_cpu ($ci_sys) | $co_s / $co_cpu ($co_sys) |"
      rows+=("$cores $ci_s $co_s")
    done
  done
  # median_of CORES FIELD: the median of one column over one core set's rounds.
  median_of() { printf '%s\n' "${rows[@]}" | awk -v c="$1" -v k="$2" '$1 == c { print $k }' | median; }
  local i1 i2 r1 r2
  i1=$(median_of 0 2) i2=$(median_of "$all" 2) r1=$(median_of 0 3) r2=$(median_of "$all" 3)
  awk -v n="$(nproc)" -v a="$i1" -v b="$i2" -v c="$r1" -v d="$r2" 'BEGIN {
    printf "| | median | 1 → %d cores | ingest %.2f → %.2f s (%.2f×) | restore %.2f → %.2f s (%.2f×) |\n",
      n, a, b, a / b, c, d, c / d
  }'
}

if [ ${#SPEED[@]} -gt 0 ]; then
  echo
  echo "| pair → output | round | ingest s wall / CPU (sys) | zstd -3 -T2 | restore s wall / CPU (sys) | zstd -d | peak RSS ingest / restore MiB |"
  echo "|---|---|---|---|---|---|---|"
fi
for mib in "${SPEED[@]}"; do
  gen_pair "$mib"
  # tmpfs needs room for the restored file and the compressed one.
  shm_free=$(df -k --output=avail /dev/shm 2>/dev/null | tail -1 || echo 0)
  shm_room=0
  if [ "$TMPFS" = 0 ]; then
    echo "| ${mib} MiB → tmpfs | not run (--no-tmpfs) | | | | | |"
  elif [ -d /dev/shm ] && [ "$shm_free" -gt $((mib * 1024 * 22 / 10)) ]; then
    shm_room=1
    mkdir -p /dev/shm/zipllm-bench && speed_rounds "$mib" /dev/shm/zipllm-bench tmpfs
    rm -rf /dev/shm/zipllm-bench
  else
    echo "| ${mib} MiB → tmpfs | not run: /dev/shm has $((shm_free / 1024)) MiB free, needs $((mib * 22 / 10)) | | | | | |"
  fi
  speed_rounds "$mib" "$WORK" disk
  if [ "$SCALING" = 1 ]; then
    if [ "$shm_room" = 1 ]; then
      mkdir -p /dev/shm/zipllm-bench && scaling_rounds "$mib" /dev/shm/zipllm-bench tmpfs
      rm -rf /dev/shm/zipllm-bench
    else
      scaling_rounds "$mib" "$WORK" disk
    fi
  fi
done
