#!/usr/bin/env bash
# The base finder on real model families: every model in its own folder,
# committed one per commit in a natural order, nothing declared. Prints the
# store's size three ways:
#   none    zipllm.autobase=off (what a repo without declarations stored
#           before the finder: every file alone)
#   finder  zipllm.autobase=on (the default)
#   best    each file declared (zipllm-base attribute) against the earlier
#           file that `git zipllm compress --base` codes it smallest with
# and the time the finder adds to `git add` of the last file.
#
#   bench/base_finder.sh            families from ../shared/data, else the
#                                   stories260K BF16 fixtures in tests/data
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_setup base_finder

store_bytes() {
  find "$1/.git/zipllm/objects" "$1/.git/zipllm/packs" -type f -printf '%s\n' |
    awk '{s += $1} END {print s + 0}'
}

# commit_all MODE REPO FILE... : one folder per file (named after the file's
# parent folder), one commit each, in the order given.
commit_all() {
  local mode=$1 repo=$2
  shift 2
  rm -rf "$repo" && mkdir -p "$repo"
  (
    cd "$repo"
    git init -q .
    git config zipllm.autobase "$mode"
    git zipllm track '*.safetensors' >/dev/null
    git add .gitattributes && git commit -qm attributes
    for f in "$@"; do
      local dir
      dir=$(basename "$(dirname "$f")")
      mkdir -p "$dir" && cp "$f" "$dir/model.safetensors"
      if [ -n "${BEST_BASE[$dir]:-}" ]; then
        echo "$dir/model.safetensors zipllm-base=${BEST_BASE[$dir]}/model.safetensors" >>.gitattributes
        git add .gitattributes
      fi
      local t0 t1
      t0=$(date +%s.%N)
      git add "$dir"
      t1=$(date +%s.%N)
      LAST_ADD=$(echo "$t1 - $t0" | bc)
      git commit -qm "$dir"
    done
    echo "$LAST_ADD" >"$repo.last_add"
  )
}

declare -A BEST_BASE
family() {
  local name=$1
  shift
  BEST_BASE=()
  commit_all off "$WORK/$name-none" "$@"
  local none finder best
  none=$(store_bytes "$WORK/$name-none")
  commit_all on "$WORK/$name-finder" "$@"
  finder=$(store_bytes "$WORK/$name-finder")
  local t_none t_finder
  t_none=$(cat "$WORK/$name-none.last_add")
  t_finder=$(cat "$WORK/$name-finder.last_add")
  # The best earlier base per file, by coding it against each.
  local files=("$@") i j
  for ((i = 1; i < ${#files[@]}; i++)); do
    local min="" arg=""
    git zipllm compress "${files[$i]}" -o "$WORK/solo.zpk" >/dev/null 2>&1
    min=$(stat -c %s "$WORK/solo.zpk")
    for ((j = 0; j < i; j++)); do
      git zipllm compress "${files[$i]}" --base "${files[$j]}" -o "$WORK/d.zpk" >/dev/null 2>&1
      local s
      s=$(stat -c %s "$WORK/d.zpk")
      if [ "$s" -lt "$min" ]; then min=$s && arg=$(basename "$(dirname "${files[$j]}")"); fi
    done
    [ -n "$arg" ] && BEST_BASE[$(basename "$(dirname "${files[$i]}")")]=$arg
  done
  commit_all off "$WORK/$name-best" "$@"
  best=$(store_bytes "$WORK/$name-best")
  local raw=0 f
  for f in "$@"; do raw=$((raw + $(stat -c %s "$f"))); done
  awk -v n="$name" -v raw="$raw" -v a="$none" -v b="$finder" -v c="$best" \
    -v tn="$t_none" -v tf="$t_finder" 'BEGIN {
      printf "%-22s raw %10d  none %10d  finder %10d  best %10d  finder/best %.3f  finder/none %.3f  last add %.2fs (off %.2fs)\n",
        n, raw, a, b, c, b / c, b / a, tf, tn }'
}

if [ -d "$DATA/stories260K" ]; then
  S=$DATA/stories260K
  for dt in bf16 fp16 fp32; do
    family "stories260K-$dt" "$S"/base/model.$dt.safetensors "$S"/ftA_licenses/model.$dt.safetensors \
      "$S"/ftB_changelogs/model.$dt.safetensors "$S"/ftC_copyright_lr1e-5/model.$dt.safetensors \
      "$S"/ftA2_chain_manpages/model.$dt.safetensors "$S"/ftV_vocab576/model.$dt.safetensors
  done
  family esrgan-thick-x4 "$DATA"/esrgan-thick-x4/base/model.bf16.safetensors \
    "$DATA"/esrgan-thick-x4/ft_sr_localimgs/model.bf16.safetensors
  family faceres "$DATA"/real/faceres/model.bf16.safetensors \
    "$DATA"/real/faceres-deep/model.bf16.safetensors
  family silero-v5-v6 "$DATA"/real/silero-vad-v5/model.fp32.safetensors \
    "$DATA"/real/silero-vad-v6/model.fp32.safetensors
else
  # Fixtures: one file per "folder" named after the model.
  T=$ROOT/tests/data/stories260K
  mkdir -p "$WORK/fixtures"
  for m in base ftA_licenses ftB_changelogs ftC_copyright_lr1e-5 ftA2_chain_manpages ftV_vocab576; do
    mkdir -p "$WORK/fixtures/$m" && cp "$T/$m.bf16.safetensors" "$WORK/fixtures/$m/model.bf16.safetensors"
  done
  F=$WORK/fixtures
  family stories260K-bf16 "$F"/base/model.bf16.safetensors "$F"/ftA_licenses/model.bf16.safetensors \
    "$F"/ftB_changelogs/model.bf16.safetensors "$F"/ftC_copyright_lr1e-5/model.bf16.safetensors \
    "$F"/ftA2_chain_manpages/model.bf16.safetensors "$F"/ftV_vocab576/model.bf16.safetensors
fi
