#!/usr/bin/env bash
# The longer fuzz run: configures build-fuzz with clang, builds every libFuzzer target of
# tests/fuzz and runs each for SECONDS (default 300), JOBS at a time (default: CPU count).
#
#   tests/fuzz.sh [SECONDS]
#
# Environment: BUILD_DIR (default <repo>/build-fuzz), JOBS, FUZZ_TARGETS (e.g. "podlist config";
# default: all). New corpus entries go to $BUILD_DIR/tests/fuzz/corpus/<target>/ and are kept for
# the next run; crashes go to .../artifacts/<target>/, full logs to .../logs/<target>.log.
# Exits 1 when a target crashed, leaked, timed out or broke an invariant. See tests/fuzz/README.md.
set -euo pipefail

SECONDS_PER_TARGET=${1:-300}
case $SECONDS_PER_TARGET in
    '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-fuzz}
JOBS=${JOBS:-$(nproc)}
WORK=$BUILD/tests/fuzz

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_CXX_COMPILER=clang++ -DIOPSLIMIT_FUZZ=ON -DBUILD_TESTING=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" --target fuzzers -j "$JOBS"

targets=${FUZZ_TARGETS:-$(cat "$WORK/targets.txt")}
cmake -DSOURCE_DIR="$ROOT" -DWORK_DIR="$WORK" -DTARGETS="$(echo $targets | tr ' ' ',')" \
    -P "$ROOT/tests/fuzz/seed_corpus.cmake"
mkdir -p "$WORK/logs"

run() {
    local t=$1 args rc=0
    mapfile -t args <"$WORK/args/$t.txt"
    "$WORK/fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" "${args[@]}" >"$WORK/logs/$t.log" 2>&1 || rc=$?
    echo "$rc" >"$WORK/logs/$t.rc"
}

echo "fuzzing $(echo $targets | wc -w) targets for ${SECONDS_PER_TARGET}s each, $JOBS at a time"
for t in $targets; do
    [[ -f $WORK/args/$t.txt ]] || { echo "unknown fuzz target: $t" >&2; exit 2; }
done
for t in $targets; do
    rm -f "$WORK/logs/$t.rc"
    while (($(jobs -rp | wc -l) >= JOBS)); do wait -n || true; done
    run "$t" &
done
wait

failed=0
printf '%-16s %-6s %12s %10s %8s %8s\n' target result execs exec/s rss_mb corpus
for t in $targets; do
    result=ok
    [[ $(cat "$WORK/logs/$t.rc" 2>/dev/null) == 0 ]] || { result=FAIL; failed=1; }
    log=$WORK/logs/$t.log
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
    printf '%-16s %-6s %12s %10s %8s %8s\n' "$t" "$result" "$(stat number_of_executed_units)" \
        "$(stat average_exec_per_sec)" "$(stat peak_rss_mb)" "$(ls "$WORK/corpus/$t" | wc -l)"
    if [[ $result == FAIL ]]; then
        grep -E '^==[0-9]+==ERROR|^FUZZ_CHECK|^  |what\(\)|runtime error|^SUMMARY|Test unit written' "$log" | head -8 |
            sed 's/^/    /'
    fi
done
((failed == 0)) || { echo "crash inputs: $WORK/artifacts/<target>/, logs: $WORK/logs/" >&2; exit 1; }
