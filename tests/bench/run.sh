#!/bin/bash
# One command: builds Release and prints the benchmark numbers.
#   tests/bench/run.sh [PODS] [RUNS]   parse/plan/reconcile times and peak RSS, then start latency
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${BENCH_BUILD_DIR:-$REPO/build-bench}
cmake -S "$REPO" -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j"$(nproc)" --target iops-limit-bench iops-limit-latency-bench >/dev/null
"$B/tests/bench/iops-limit-bench" "$@"
echo
"$B/tests/bench/iops-limit-latency-bench" 200
