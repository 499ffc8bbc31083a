#!/usr/bin/env bash
# Sets up git-zipllm on Debian 12: installs the build and runtime packages,
# builds Release, installs git-zipllm to /usr/local/bin (so `git zipllm`
# works) and the demo models to /usr/local/share/git-zipllm.
#
#   ./install.sh           set up and install
#   ./install.sh --test    the same, then run the whole test suite
#
# Idempotent: packages already present are not reinstalled, the build is
# incremental.
set -euo pipefail
cd "$(dirname "$0")"

RUN_TESTS=0
for arg in "$@"; do
  case "$arg" in
    --test) RUN_TESTS=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg" >&2; exit 1 ;;
  esac
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PACKAGES=(build-essential cmake ninja-build pkg-config git git-lfs zstd procps diffutils coreutils time
  libgit2-dev libzstd-dev libxxhash-dev libcli11-dev nlohmann-json3-dev doctest-dev
  libhtscodecs-dev libssl-dev libcurl4-openssl-dev libcpp-httplib-dev)
# The end-to-end tests also start servers on 127.0.0.1: s3rver (npm) for S3
# behind a verifying front (python3-botocore), and lighttpd + git
# http-backend for git over HTTP.
# Every S3 request of the tests is re-signed by botocore (python3-botocore)
# in a verifying front before it reaches s3rver.
# tmux gives the progress-line test an 80-column terminal.
if [ "$RUN_TESTS" -eq 1 ]; then PACKAGES+=(lighttpd curl python3 python3-botocore tmux); fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node may come from elsewhere than Debian (its npm then is not a separate
# package, and Debian's would conflict): ask for the commands, not packages.
if [ "$RUN_TESTS" -eq 1 ] && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "install.sh: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

BUILD=${ZIPLLM_BUILD_DIR:-build}
# ZIPLLM_CMAKE_ARGS: extra configure options (CI adds -DZIPLLM_WERROR=ON).
# shellcheck disable=SC2086
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr/local \
  ${ZIPLLM_CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
$SUDO cmake --install "$BUILD" >/dev/null
echo "install.sh: installed $(command -v git-zipllm) ($(git-zipllm --version))"

if [ "$RUN_TESTS" -eq 1 ]; then
  # Test servers, installed from tests/servers/package-lock.json (never
  # committed); again whenever the lock file changes.
  lock_sum=$(sha256sum tests/servers/package-lock.json | cut -d' ' -f1)
  if [ "$(cat tests/servers/node_modules/.lock-sha256 2>/dev/null)" != "$lock_sum" ]; then
    (cd tests/servers && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_sum" > tests/servers/node_modules/.lock-sha256
  fi
  ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)"
fi
