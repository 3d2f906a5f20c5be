#!/bin/bash
# vm tier: iops-limit on a real node. Boots ../shared/testvm/node-vm once (a Debian 12 guest under
# qemu: systemd 252 as PID 1, pure cgroup v2 with io, /dev/vdb as the data disk, containerd 1.6 +
# runc 1.1.5), installs the .deb built from this tree and runs tests/vm/guest/node_test.sh there,
# phase by phase, streaming its PASS/FAIL lines:
#
#   setup      /dev/vdb as /data, kubelet credentials in /var/lib/kubelet/pki, the kubelet emulator
#              (TLS, client certificate, token) on 127.0.0.1:10250, containerd
#   package    dpkg -i (enabled and started by the package), /etc/default/iops-limit,
#              systemctl enable --now, before the kubelet has made any cgroup
#   run r1     systemd driver (ctr --runc-systemd-cgroup), LIMIT_BACKEND=auto -> systemd, iops-limitd
#              started before the kubepods tree existed; fio
#   ctl r1     systemctl reload with a changed default (and a refused one); iops-limitctl status /
#              list / explain / top as root and as nobody, set denied to nobody
#   lifecycle  io.max of r1's 40 containers sampled throughout: upgrade in place to a repacked higher
#              version, watchdog (SIGSTOP, WatchdogSec=6s drop-in), SIGKILL, daemon-reload, -reexec
#   run r2     systemd driver, LIMIT_BACKEND=cgroupfs, kubepods tree first
#   run r3     cgroupfs driver (ctr --cgroup /kubepods/...), LIMIT_BACKEND=cgroupfs, iops-limitd
#              started before the kubepods tree existed; fio
#   nodeevents r3's containers: DATA_MOUNT mounted after the daemon started (limits within 1 s),
#              DATA_MOUNT a symlink, a pod excluded while iops-limitd was stopped
#   buffered   buffered writes + fsync against io.max: in a runc container (io + memory on its
#              cgroup), in a container cgroup with io only, and without a limit
#   adaptive   a noisy neighbour (fio, 8 threads) beside a victim (fio at 50 IOPS), ADAPTIVE_LIMITS
#              off and on: the victim's p99, only the noisy one tightened, then loosened
#   refuse     LIMIT_BACKEND=systemd with the cgroupfs driver is refused; auto picks cgroupfs
#   purge      dpkg --purge leaves no unit, bus policy, configuration or state
#
# Each run: 40 containers of 10 pods (Guaranteed / Burstable / BestEffort; node default, pod
# annotation, per-container annotation, D-Bus override, excluded), started 4 at a time; every
# container's entrypoint reads its own io.max first: all must see exactly their limit (excluded:
# no line of ours). fio: 4 KiB random direct reads within ±10 % of the limit; excluded >= 3x the
# largest limit.
#
# The .deb comes from tests/packages.sh (PKG_KINDS=deb), reused when it is fresh. The VM runs with
# its own state directory (NODE_VM_STATE, in WORK) and is always stopped. Skips (77) only where
# qemu cannot run (not root, node-vm missing, qemu not installable). Takes about 9 minutes on 2
# cores (the .deb build, ~2 min, included); the guest image is built once per machine (~1.5 min) on top.
# shellcheck source-path=SCRIPTDIR/../system disable=SC2015  # SC2015: in "check && pass || fail" pass never fails
set -u -o pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../system/lib.sh"

NODE_VM=${NODE_VM:-$(find_shared testvm/node-vm)}
export NODE_VM_STATE=${NODE_VM_STATE:-$WORK/node-vm}
PKG_OUT=${PKG_OUT:-$REPO/build-pkg}
GUEST=/srv/vm-test                 # the staged tree inside the guest
# the phases, in order (VM_PHASES overrides, e.g. for a benchmark or to debug one part)
PHASES=${VM_PHASES:-"setup; package DEB; run r1 systemd auto daemon-first; ctl r1; lifecycle r1 UPGRADE_DEB;
    run r2 systemd cgroupfs tree-first 0; teardown systemd;
    run r3 cgroupfs cgroupfs daemon-first; nodeevents r3; buffered; adaptive; refuse; teardown cgroupfs; purge"}
T0=$SECONDS

[ "$(id -u)" = 0 ] || skip "needs root (qemu, the guest image)"
[ -x "$NODE_VM" ] || skip "node-vm not found at $NODE_VM (set NODE_VM)"

# ---------- the package ----------
log "the .deb of this tree"
if PKG_KINDS=deb PKG_OUT=$PKG_OUT "$REPO/tests/packages.sh" --is-fresh; then
    echo "    built from the current sources already: reusing it"
else
    t0=$SECONDS
    PKG_KINDS=deb PKG_OUT=$PKG_OUT JOBS=${JOBS:-2} "$REPO/tests/packages.sh" > "$WORK/packages.log" 2>&1 ||
        { sed 's/^/    /' "$WORK/packages.log"; die "tests/packages.sh failed"; }
    echo "    PKG_KINDS=deb tests/packages.sh took $((SECONDS - t0)) s"
fi
DEB=$(compgen -G "$PKG_OUT/deb/iops-limit_*.deb" | head -n1)
[ -f "$DEB" ] || die "no .deb in $PKG_OUT/deb"
VERSION=$(dpkg-deb -f "$DEB" Version)
STAGE=$WORK/stage/vm-test
mkdir -p "$STAGE"/tests/{system,tools,vm} "$STAGE/debs"
cp "$DEB" "$STAGE/debs/"
# the upgrade: the same package at a higher version
UP_DEB=$(repack_deb "$DEB" "$VERSION+vmtest1" "$STAGE/debs") || die "repack $DEB as $VERSION+vmtest1"
UP_NAME=$(basename "$UP_DEB")
echo "    $(basename "$DEB"), upgrade $UP_NAME"
cp "$REPO/tests/system/lib.sh" "$STAGE/tests/system/"
cp "$REPO/tests/tools/kube_emulator.py" "$REPO/tests/tools/make_certs.sh" "$STAGE/tests/tools/"
cp -r "$REPO/tests/vm/guest" "$STAGE/tests/vm/"

# ---------- the node ----------
VM_UP=
stop_vm() {
    [ -n "$VM_UP" ] || return 0
    VM_UP=
    # a container's PID 1 ignores SIGTERM: kill them first, or the guest's shutdown waits 90 s
    # shellcheck disable=SC2016  # expanded in the guest
    timeout 30 "$NODE_VM" exec 'for d in /sys/fs/cgroup/kubepods.slice /sys/fs/cgroup/kubepods; do
        [ -d "$d" ] && echo 1 > "$d/cgroup.kill"; done; true' > /dev/null 2>&1
    "$NODE_VM" stop
    "$NODE_VM" status && echo "WARNING: node-vm still running ($NODE_VM_STATE)" >&2
}
CLEANUP_HOOKS+=(stop_vm)
log "node-vm start ($NODE_VM)"
t0=$SECONDS
VM_UP=1
"$NODE_VM" start > "$WORK/start.log" 2>&1
rc=$?
sed 's/^/    /' "$WORK/start.log"
[ "$rc" = 77 ] && { VM_UP=; skip "qemu cannot run here: $(tail -n 1 "$WORK/start.log")"; }
[ "$rc" = 0 ] || die "node-vm start failed (exit $rc)"
pass "guest up in $((SECONDS - t0)) s"
"$NODE_VM" put "$STAGE" || die "node-vm put"
"$NODE_VM" exec "rm -rf $GUEST && cp -a /host/in/vm-test $GUEST" || die "copy the tests into the guest"

# Runs one guest phase, streaming its output; its FAIL lines count as this test's failures.
SHARE=$NODE_VM_STATE/share
SUMMARY=()
guest_phase() {   # ARGS...
    local log=$SHARE/phase.log rc n t0=$SECONDS tailer
    : > "$log"
    tail -n +1 -F --pid=$$ "$log" 2> /dev/null &   # ends with this script, whatever happens
    tailer=$!
    timeout "${VM_PHASE_TIMEOUT:-900}" "$NODE_VM" exec "bash $GUEST/tests/vm/guest/node_test.sh $* > /host/phase.log 2>&1"
    rc=$?
    sleep 0.5; kill "$tailer" 2> /dev/null; wait "$tailer" 2> /dev/null
    n=$(grep -c '^FAIL:' "$log")
    FAILURES=$((FAILURES + n))
    [ "$rc" = 0 ] || [ "$n" -gt 0 ] || fail "guest phase '$*' exited $rc"
    grep -E '^(ENTRY|FIO|BUFFERED|ADAPTIVE):' "$log" > /dev/null && mapfile -t -O "${#SUMMARY[@]}" SUMMARY < <(grep -E '^(ENTRY|FIO|BUFFERED|ADAPTIVE):' "$log")
    echo "    [phase '$*': $((SECONDS - t0)) s]"
    [ "$rc" = 124 ] && die "guest phase '$*' timed out"
    return 0
}

IFS=';' read -r -d '' -a phases <<< "$PHASES"
for ph in "${phases[@]}"; do
    ph=$(xargs <<< "$ph")
    [ -n "$ph" ] || continue
    ph=${ph//UPGRADE_DEB/$GUEST/debs/$UP_NAME}
    ph=${ph//DEB/$GUEST/debs/$(basename "$DEB")}
    # shellcheck disable=SC2086  # a phase is words
    guest_phase $ph
done

log "summary"
printf '    %s\n' "${SUMMARY[@]}"
log "node-vm stop"
stop_vm
"$NODE_VM" status && fail "node-vm still running" || pass "node-vm stopped"
echo "    vm tier took $((SECONDS - T0)) s"
finish
