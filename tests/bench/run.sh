#!/bin/bash
# One command: builds Release and prints the benchmark numbers.
#   tests/bench/run.sh [PODS] [RUNS]   parse/plan/reconcile times and peak RSS, start latency,
#                                      watch latency and the daemon at idle (about 2 minutes);
#                                      last, start latency through systemd in systemd-testhost,
#                                      with 100 real runc containers (about 1.5 minutes more;
#                                      "skipped: <reason>" where it cannot run)
# On a real node (qemu, ~6 minutes): tests/bench/vm_entrypoint.sh, not run from here.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${BENCH_BUILD_DIR:-$REPO/build-bench}
cmake -S "$REPO" -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j"$(nproc)" --target iops-limit-bench iops-limit-latency-bench iops-limitd \
    iops-limit-systemd-latency-bench iops-limit-entry-stamp >/dev/null
"$B/tests/bench/iops-limit-bench" "$@"
echo
"$B/tests/bench/iops-limit-latency-bench" 200
echo
python3 "$REPO/tests/bench/watch_latency.py" "$B" 100 60
echo
bash "$REPO/tests/bench/systemd_latency.sh" "$B" 250 50 100 || { rc=$?; [ "$rc" = 77 ] || exit "$rc"; }
