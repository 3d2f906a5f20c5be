#!/bin/bash
# Installs what is needed, builds, and runs every test tier this machine supports, ending with
# CTest's summary. Tiers that need root, a loop device or the systemd testhost skip themselves
# with their reason elsewhere.
#   tests/run.sh               all tiers
#   TIERS=unit tests/run.sh    one tier (unit | integration | system | vm), or a CTest -L regex
#   SANITIZE=1 tests/run.sh    also the unit and integration tiers under ASan+UBSan (on in CI)
#   FUZZ=1 tests/run.sh        also each libFuzzer target for a few seconds (on in CI)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO/build}
TIERS=${TIERS:-}
CI_DEFAULT=$([ "${CI:-}" = true ] && echo 1 || echo 0)
SANITIZE=${SANITIZE:-$CI_DEFAULT}
FUZZ=${FUZZ:-$CI_DEFAULT}

"$REPO/tests/install-deps.sh"
status=0

if [ "$FUZZ" = 1 ] && [ -f "$REPO/tests/fuzz/CMakeLists.txt" ]; then
    echo "==> libFuzzer targets, ${FUZZ_SECONDS:-5} s each (tests/fuzz.sh SECONDS runs them longer)"
    cmake -S "$REPO" -B "$REPO/build-fuzz" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
        -DIOPSLIMIT_FUZZ=ON -DBUILD_TESTING=OFF -DIOPSLIMIT_FUZZ_SECONDS="${FUZZ_SECONDS:-5}" >/dev/null
    cmake --build "$REPO/build-fuzz" -j"$(nproc)" --target fuzzers
    (cd "$REPO/build-fuzz" && ctest --output-on-failure -j2 -L fuzz) || status=1
fi

if [ "$SANITIZE" = 1 ]; then
    echo "==> unit and integration tiers under AddressSanitizer + UndefinedBehaviorSanitizer"
    cmake -S "$REPO" -B "$REPO/build-asan" -DCMAKE_BUILD_TYPE=Debug -DIOPSLIMIT_SANITIZE=ON >/dev/null
    cmake --build "$REPO/build-asan" -j"$(nproc)" --target unit_tests integration_tests iops-limitd iops-limitctl
    (cd "$REPO/build-asan" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --output-on-failure -j2 -L 'unit|integration') || status=1
fi

echo "==> configuring and building in $BUILD_DIR"
cmake -S "$REPO" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"

cd "$BUILD_DIR"
label=()
[ -n "$TIERS" ] && label=(-L "$TIERS")
echo "==> running tests ${TIERS:+(tiers: $TIERS)}"
# unit and integration run in parallel; system and vm tests are RUN_SERIAL in CMake, vm last.
ctest --output-on-failure -j2 "${label[@]}" || status=1
exit $status
