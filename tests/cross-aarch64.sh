#!/usr/bin/env bash
# The layers below git and the network (util, format, codec, store, ops),
# cross-compiled for 64-bit ARM and their unit tests run under qemu-user:
# the golden files pin the codec's bytes, so this shows an x86 machine
# writes and reads what an ARM one does. Installs Debian's cross compiler,
# qemu-user and the arm64 -dev packages (multiarch) when missing.
#
#   tests/cross-aarch64.sh            # build-arm64/, then ctest
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PACKAGES=(g++-aarch64-linux-gnu qemu-user libzstd-dev:arm64 libhtscodecs-dev:arm64
  libxxhash-dev:arm64 libssl-dev:arm64)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "cross-aarch64: installing ${missing[*]}"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

cmake -S . -B build-arm64 -G Ninja -DCMAKE_BUILD_TYPE=Release -DZIPLLM_CORE_ONLY=ON \
  -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake ${ZIPLLM_CMAKE_ARGS:-} >/dev/null
cmake --build build-arm64 -j"$(nproc)"
# ELF e_machine 183 (EM_AARCH64), little-endian: what qemu-user runs.
[ "$(od -An -tx1 -j18 -N2 build-arm64/tests/core_tests | tr -d ' \n')" = "b700" ] || {
  echo "cross-aarch64: build-arm64/tests/core_tests is not an aarch64 executable" >&2; exit 1; }
ctest --test-dir build-arm64 --output-on-failure
