#!/bin/bash
# On a real node: the fraction of containers whose limit was in force before their entrypoint ran,
# for both backends. Boots ../shared/testvm/node-vm through the vm tier's driver
# (tests/vm/node_vm_test.sh, with VM_PHASES): the .deb installed, then per round 40 containers
# with LIMIT_BACKEND=systemd and 40 with LIMIT_BACKEND=cgroupfs, started 4 at a time by
# containerd + runc with the systemd cgroup driver, the kubepods tree there first; each container's
# entrypoint reads its own io.max as its first action.
#   tests/bench/vm_entrypoint.sh [ROUNDS]   (default 1: about 3 minutes; each more round 2-4)
# Prints "skipped: <reason>" and exits 77 where qemu cannot run.
set -u -o pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
ROUNDS=${1:-1}
LOG=$(mktemp "${TMPDIR:-/tmp}/vm-entrypoint.XXXXXX")
trap 'rm -f "$LOG"' EXIT
# shellcheck source-path=SCRIPTDIR source=vm_lib.sh
. "$REPO/tests/bench/vm_lib.sh"

phases="setup; package DEB"
for i in $(seq "$ROUNDS"); do
    phases+="; run s$i systemd systemd tree-first 0; run c$i systemd cgroupfs tree-first 0; teardown systemd keep"
done
echo "limit in force when the entrypoint runs: real node (node-vm), containerd + runc, systemd cgroup driver, 4 parallel starts"
t0=$SECONDS
run_vm_phases "$phases" "$LOG" "ENTRY: "
# ENTRY: RUN DRIVER/BACKEND/ORDER OK N
awk '/^ENTRY: / { split($3, l, "/"); ok[l[2]] += $4; n[l[2]] += $5; runs[l[2]]++ }
     END { for (b in n) printf "  LIMIT_BACKEND=%-9s %4d of %4d containers (%5.1f %%) in %d run(s) of 40\n", b, ok[b], n[b], 100 * ok[b] / n[b], runs[b] }' "$LOG"
grep -E '^FAIL: ' "$LOG" | sed 's/^/  (tier check) /'
echo "  ($((SECONDS - t0)) s, guest boot and package install included)"
