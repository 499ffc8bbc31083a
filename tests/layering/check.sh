#!/usr/bin/env bash
# The build enforces the layering of docs/ARCHITECTURE.md: a file that may
# use codec (and what codec uses) builds; one that includes a header of a
# layer above it does not, and the compiler names the header.
#   check.sh BUILD_DIR
set -u
build=$1
out=$(cmake --build "$build" --target layering_codec_only 2>&1) || {
  echo "FAIL: a file using codec and the layers below it did not build:"; echo "$out"; exit 1; }
if out=$(cmake --build "$build" --target layering_codec_includes_git 2>&1); then
  echo "FAIL: codec could include git/repo.h: the layering is not enforced"; exit 1
fi
echo "$out" | grep -q 'git/repo.h: No such file' || {
  echo "FAIL: the upward include failed for another reason:"; echo "$out"; exit 1; }
echo "ok: codec builds alone; an upward include (codec -> git) does not compile"
