#!/bin/bash
# On a real node: adaptive limits against a noisy neighbour. Boots ../shared/testvm/node-vm
# through the vm tier's driver (tests/vm/node_vm_test.sh, with VM_PHASES): the .deb installed,
# then per round the vm tier's adaptive scene with SECONDS of measurement per scene, the pods' disk
# capacity set to 1,500 read IOPS (io.max on the kubepods cgroup; see the scene): a victim (fio,
# 4 KiB random direct reads at 50 IOPS) alone, beside a noisy container (fio, 8 threads of the same
# reads, unthrottled) with ADAPTIVE_LIMITS=off, and with it on (shipped ADAPTIVE_PRESSURE=10,
# ADAPTIVE_WINDOW=10, ADAPTIVE_FACTOR=0.75; ADAPTIVE_COOLDOWN=10). Prints the victim's p99
# completion latency per scene, the noisy container's IOPS off and on, the time from the noise's
# start to the first tightening, and from its end to the first loosening; per scene the share of it
# in which all pods waited for IO (kubepods PSI full) and the victim did (its PSI some).
#   tests/bench/vm_adaptive.sh [ROUNDS] [SECONDS]   (default 1 round of 20 s: about 3 minutes, 5 with the .deb build)
# Prints "skipped: <reason>" and exits 77 where qemu cannot run.
set -u -o pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
ROUNDS=${1:-1}
SECS=${2:-20}
LOG=$(mktemp "${TMPDIR:-/tmp}/vm-adaptive.XXXXXX")
trap 'rm -f "$LOG"' EXIT
# shellcheck source-path=SCRIPTDIR source=vm_lib.sh
. "$REPO/tests/bench/vm_lib.sh"

phases="setup; package DEB"
for _ in $(seq "$ROUNDS"); do phases+="; adaptive $SECS; teardown cgroupfs"; done
echo "adaptive limits on a real node (node-vm, cgroup v2 io, virtio disk under qemu): victim p99 solo / noisy + off / noisy + on"
t0=$SECONDS
run_vm_phases "$phases" "$LOG" "ADAPTIVE: "
grep '^ADAPTIVE: ' "$LOG" | sed 's/^ADAPTIVE: /  /'
# "PSI over the scene: kubepods full F %, the victim's some S %" in the alone, off and on lines
grep -E "^PASS: (victim alone|ADAPTIVE_LIMITS=off)|^    adaptive limits on:" "$LOG" |
    sed -n "s/.*PSI over the scene: kubepods full \([0-9.]*\) %, the victim's some \([0-9.]*\) %.*/\1 \2/p" | paste -d' ' - - - |
    awk '{ printf "  round %d: kubepods full / victim some, percent of the scene: alone %s / %s, off %s / %s, on %s / %s\n", NR, $1, $2, $3, $4, $5, $6 }'
# ADAPTIVE: victim p99 solo S ms; noisy+off O ms (...); noisy+on A ms (...); first tightening F s ...
awk '/^ADAPTIVE: / { s = $5; o = $8; a = $14; n++
        printf "  round %d: with adaptive limits the victim p99 is %.1fx its solo p99 (target <= 2x); without them %.1fx\n", n, a / s, o / s }' "$LOG"
grep -E '^FAIL: ' "$LOG" | sed 's/^/  (tier check) /'
echo "  ($((SECONDS - t0)) s, guest boot and package install included)"
