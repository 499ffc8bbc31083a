# Shared by the bench scripts: a scratch folder and a fresh HOME with a git
# identity and the filter installed, so a run never depends on (or touches)
# the user's own configuration.
#
#   . "$(dirname "$0")/lib.sh"; bench_setup NAME [--plain]  -> $ROOT, $DATA, $WORK
#
# --plain: git-lfs only (a client without git-zipllm). Runs in $WORK, so
# installing never touches the repository the script was started from.
bench_setup() {
  HERE=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
  ROOT=$(dirname "$HERE")
  BIN_DIR=${BIN_DIR:-$ROOT/build}
  DATA=$ROOT/../shared/data
  WORK=${ZIPLLM_BENCH_WORK:-/tmp/zipllm-bench}/$1
  export PATH="$BIN_DIR:$PATH"
  rm -rf "$WORK" && mkdir -p "$WORK/home"
  export HOME=$WORK/home
  for v in $(env | grep -o '^GIT_[A-Z_]*' || true); do unset "$v"; done
  git config --global user.email bench@example.com && git config --global user.name bench
  git config --global init.defaultBranch main
  cd "$WORK"
  if [ "${2:-}" = --plain ]; then
    git lfs install --skip-repo >/dev/null
  else
    git zipllm install >/dev/null
  fi
}

# pair_sources: sets $src_base and $src_fine, the real pair gen_pair draws
# its statistics from (esrgan's from ../shared/data when present, else the
# stories260K fixtures committed in tests/data). Needs $ROOT and $DATA.
pair_sources() {
  src_base=$ROOT/tests/data/stories260K/base.bf16.safetensors
  src_fine=$ROOT/tests/data/stories260K/ftA_licenses.bf16.safetensors
  if [ -f "$DATA/esrgan-thick-x4/base/model.bf16.safetensors" ]; then
    src_base=$DATA/esrgan-thick-x4/base/model.bf16.safetensors
    src_fine=$DATA/esrgan-thick-x4/ft_sr_localimgs/model.bf16.safetensors
  fi
}

# median: the median of the numbers on stdin, one per line (the mean of the
# middle two for an even count).
median() {
  sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
