#!/bin/bash
# Installs what is needed, builds, and runs every test tier this machine supports, ending with
# CTest's summary. Tiers that need root, a loop device or the systemd testhost skip themselves
# with their reason elsewhere.
#   tests/run.sh               all tiers
#   TIERS=unit tests/run.sh    one tier (unit | integration | system), or a CTest -L regex
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO/build}
TIERS=${TIERS:-}

"$REPO/tests/install-deps.sh"
echo "==> configuring and building in $BUILD_DIR"
cmake -S "$REPO" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"

cd "$BUILD_DIR"
label=()
[ -n "$TIERS" ] && label=(-L "$TIERS")
echo "==> running tests ${TIERS:+(tiers: $TIERS)}"
# unit and integration run in parallel; system tests are RUN_SERIAL in CMake.
ctest --output-on-failure -j2 "${label[@]}"
