#!/usr/bin/env bash
# Benchmarks through real git: add (first clean), re-clean of an unchanged
# file (what `git status` pays after a touch) against a filter that only
# drains git's pipe, direct checkout, and push / clone of a directory store
# and (when tests/servers is installed) of an s3rver bucket, on a generated
# BF16 base/fine-tune pair.
#
#   bench/git.sh [SIZE_MIB]      (default 2048)
#
# Prints "what: seconds, MB/s, peak RSS". Needs ../shared/data's esrgan pair
# or the stories260K fixtures as the statistics source for gen_pair.
set -euo pipefail
SIZE=${1:-2048}
. "$(dirname "$0")/lib.sh"
bench_setup git

pair_sources
"$BIN_DIR/bench/gen_pair" "$src_base" "$src_fine" "$WORK/base.safetensors" "$WORK/fine.safetensors" "$SIZE" >/dev/null
BYTES=$(stat -c %s "$WORK/fine.safetensors")

report() {  # report WHAT SECONDS RSS_KB
  awk -v w="$1" -v s="$2" -v k="$3" -v b="$BYTES" \
    'BEGIN { printf "%-44s %7.2f s %7.0f MB/s %6.0f MiB\n", w, s, b / s / 1e6, k / 1024 }'
}
timed() {  # timed WHAT CMD...
  local what=$1; shift
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
  read -r s kb < "$WORK/time"
  report "$what" "$s" "$kb"
}

git init -q "$WORK/repo" && cd "$WORK/repo"
git zipllm track '*.safetensors' >/dev/null
printf 'fine.safetensors zipllm-base=base.safetensors\n' >> .gitattributes
cp "$WORK/base.safetensors" "$WORK/fine.safetensors" .
git add .gitattributes
timed "git add base (first clean, solo)" git add base.safetensors
timed "git add fine (first clean, delta)" git add fine.safetensors
git commit -qm models
for i in 1 2 3; do touch fine.safetensors; timed "git status after touch (re-clean) #$i" git status --porcelain; done
if command -v python3 >/dev/null; then
  cat > "$WORK/drain.py" <<'PY'
import sys
i, o = sys.stdin.buffer, sys.stdout.buffer
def rd():
    h = i.read(4)
    if not h: sys.exit(0)
    n = int(h, 16)
    return None if n == 0 else i.read(n - 4)
def wr(b): o.write(b'%04x' % (len(b) + 4) + b)
def fl(): o.write(b'0000'); o.flush()
while rd() is not None: pass
wr(b'git-filter-server\n'); wr(b'version=2\n'); fl()
while rd() is not None: pass
wr(b'capability=clean\n'); fl()
while True:
    while rd() is not None: pass
    while rd() is not None: pass
    wr(b'status=success\n'); fl(); wr(b'x\n'); fl(); fl()
PY
  timed "baseline: a filter that only drains the pipe" \
    git -c filter.zipllm.process="python3 $WORK/drain.py" hash-object fine.safetensors
fi
rm fine.safetensors
timed "git zipllm checkout fine (direct)" git zipllm checkout fine.safetensors
cmp -s fine.safetensors "$WORK/fine.safetensors"

mkdir "$WORK/store" && git init -q --bare "$WORK/remote.git"
git remote add origin "$WORK/remote.git"
git config remote.origin.zipllmurl "$WORK/store"
timed "git push (directory store, all objects)" git push -q origin HEAD:main
cd "$WORK"
timed "git clone, empty store (fetch, restore 2 files)" git -c "remote.origin.zipllmurl=$WORK/store" clone -q remote.git c1
cmp -s c1/fine.safetensors fine.safetensors
GIT_ZIPLLM_SKIP_SMUDGE=1 git clone -q remote.git c3
cd c3
timed "skip-smudge clone, then git zipllm pull" git -c "remote.origin.zipllmurl=$WORK/store" zipllm pull
cmp -s fine.safetensors ../fine.safetensors
cd "$WORK"

if [ -d "$ROOT/tests/servers/node_modules/s3rver" ]; then
  node "$ROOT/tests/servers/s3rver.js" "$WORK/s3" "$WORK/s3.port" bench >/dev/null 2>&1 &
  S3=$!
  trap 'kill $S3 2>/dev/null' EXIT
  for _ in $(seq 1 100); do [ -s "$WORK/s3.port" ] && break; sleep 0.1; done
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
  url="s3://bench/m?endpoint=http://127.0.0.1:$(cat "$WORK/s3.port")"
  cd "$WORK/repo"
  timed "git zipllm push (s3rver)" git -c "remote.origin.zipllmurl=$url" zipllm push
  cd "$WORK"
  timed "git clone, empty store (s3rver)" git -c "remote.origin.zipllmurl=$url" clone -q remote.git c2
  cmp -s c2/fine.safetensors fine.safetensors
fi
echo "(MB/s: the fine-tune's raw size, $BYTES bytes, over the wall time)"
