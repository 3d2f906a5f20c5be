#!/bin/bash
# Quick-start demo on a fresh Debian 12 VM, as root: installs the build dependencies, builds
# iops-limitd, fakes a node (a loop disk as the data disk, the cgroups of four recorded pods, the
# kubelet /pods API served over HTTPS from a recording), then lets iops-limitd plan (--dry-run)
# and apply (--once) the limits, and shows what it wrote; then runs it long-running with metrics
# while fio reads in a limited container (iops-limitctl top). Leaves nothing behind.
# IOPSLIMITD=/path/to/iops-limitd skips the install and the build (e.g. an installed package).
# shellcheck source-path=SCRIPTDIR
set -u -o pipefail
. "$(dirname "${BASH_SOURCE[0]}")/system/lib.sh"

[ "$(id -u)" = 0 ] || die "run me as root (I create cgroups and a loop device)"

if [ -n "${IOPSLIMITD:-}" ]; then
    log "using $IOPSLIMITD (IOPSLIMITD is set: no install, no build)"
else
    if [ -x "$REPO/tests/install-deps.sh" ]; then
        log "installing dependencies (tests/install-deps.sh)"
        "$REPO/tests/install-deps.sh" || die "install-deps.sh"
    fi
    log "building iops-limitd in $BUILD_DIR (a few minutes on 2 cores)"
    if ! { cmake -S "$REPO" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
           cmake --build "$BUILD_DIR" -j2 --target iops-limitd iops-limitctl; } > "$WORK/cmake.log" 2>&1; then
        tail -n 30 "$WORK/cmake.log"; die "build"
    fi
fi
require_daemon
skip_unless_root_and_tools

log "a 256 MiB loop disk as the node's data disk"
make_loop_disk 256M
echo "    $LOOP ($LOOP_MAJMIN) mounted on $LOOP_MNT -> DATA_MOUNT"

# The kubelet's cgroupfs layout, on v1 blkio when the machine has it, else on cgroup2 in a
# throw-away root with the io controller enabled down to the containers.
if findmnt -n -t cgroup -O blkio /sys/fs/cgroup/blkio > /dev/null; then
    export CGROUP_VERSION=v1 CGROUP_ROOT=/sys/fs/cgroup
    top=$CGROUP_ROOT/blkio
else
    cg2=$(findmnt -n -t cgroup2 -o TARGET /sys/fs/cgroup || findmnt -n -t cgroup2 -o TARGET /sys/fs/cgroup/unified) ||
        die "no cgroup v1 blkio and no cgroup2 mount"
    grep -qw io "$cg2/cgroup.controllers" || die "the io controller is not available on $cg2"
    export CGROUP_VERSION=v2 CGROUP_ROOT=$cg2/iops-limit-demo-$$
    top=$CGROUP_ROOT
fi
export CGROUP_DRIVER=cgroupfs DATA_MOUNT=$LOOP_MNT
unset CONTAINER_IOPS_LIMIT CONTAINER_READ_BPS_LIMIT CONTAINER_WRITE_BPS_LIMIT EXCLUDE_KEYWORDS \
    EXCLUDE_NAMESPACES LIMIT_BACKEND   # the defaults

log "four recorded pods (kubelet /pods, k8s 1.35); $POD_ANNOTATED gets iops-limit/limit: \"$ANNOTATED_IOPS\""
make_podlist "$WORK/pods.json"
log "their container cgroups (cgroup $CGROUP_VERSION, cgroupfs driver) under $top"
mapfile -t containers < <(pod_containers "$WORK/pods.json")
dirs=()
declare -A CG
for line in "${containers[@]}"; do
    read -r ns pod _ id qos uid <<< "$line"
    dir=$top/$(container_cgroup cgroupfs "$qos" "$uid" "$id")
    make_cgroup "$dir"
    [ "$CGROUP_VERSION" = v2 ] && cg2_enable_io_path "$(dirname "$CGROUP_ROOT")" "$dir"
    dirs+=("$dir")
    CG[$pod]=$dir
    echo "    $ns/$pod ($qos) -> ${dir#"$top"/}"
done

log "the kubelet emulator serves them over HTTPS (client certificate + bearer token)"
start_emulator "$WORK/pods.json"
echo "    KUBELET_HOST=$KUBELET_HOST KUBELET_PORT=$KUBELET_PORT NODE_NAME=$NODE_NAME"

log "iops-limitd --dry-run (prints the plan, changes nothing)"
run_daemon "$WORK/plan.txt" --dry-run || die "iops-limitd --dry-run"

log "iops-limitd --once (applies it; default CONTAINER_IOPS_LIMIT=500, kube-system excluded)"
run_daemon "$WORK/applied.txt" --once || die "iops-limitd --once"

log "what is in the cgroups now"
show() { printf '        %-32s %s\n' "$1" "$(xargs < "$2/$1")"; }   # empty = no limit
for dir in "${dirs[@]}"; do
    echo "    ${dir#"$top"/}"
    if [ "$CGROUP_VERSION" = v1 ]; then
        for f in read_iops_device write_iops_device read_bps_device write_bps_device; do
            show "blkio.throttle.$f" "$dir"
        done
    else
        show io.max "$dir"
    fi
done

# Long-running, as under systemd: a private D-Bus for iops-limitctl, metrics on loopback, and
# real IO in the annotated container.
CTL=${IOPSLIMITCTL:-$BUILD_DIR/service/ctl/iops-limitctl}
if [ -x "$CTL" ] && command -v dbus-daemon > /dev/null && command -v curl > /dev/null; then
    log "iops-limitd long-running (METRICS_ADDRESS, a private bus); fio reads in $POD_ANNOTATED"
    make_fio_file "$LOOP_MNT/fio.dat"
    start_private_bus
    port=$(free_port)
    METRICS_ADDRESS=127.0.0.1:$port STATE_DIRECTORY=$WORK/state "$DAEMON" > "$WORK/daemon.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do "$CTL" status > /dev/null 2>&1 && break; sleep 0.1; done
    fio_iops "${CG[$POD_ANNOTATED]}/cgroup.procs" "$LOOP_MNT/fio.dat" > "$WORK/fio.out" &
    sleep 1.5
    log "iops-limitctl top -b -n 1 (LIMIT% = share of the container's limit in use)"
    "$CTL" top -b -n 1 | sed 's/^/    /'
    wait $!
    echo "    fio in $POD_ANNOTATED: $(cat "$WORK/fio.out") IOPS against its limit of $ANNOTATED_IOPS"
    log "curl http://127.0.0.1:$port/metrics (some of it)"
    curl -s "http://127.0.0.1:$port/metrics" |
        grep -E "^iopslimit_(containers|pod_source|container_limit|container_io_ops_total)\{.*($POD_ANNOTATED|source=\"kubelet|source=\"annotation)" |
        sed 's/^/    /'
fi

# The systemd path, where a real systemd can be booted in private namespaces (the testhost):
# the same kind of pods as scopes, limits set through systemd's SetUnitProperties and read back,
# kept across daemon-reload, daemon-reexec and a restart of iops-limitd.
if [ -x "$SYSD_TESTHOST" ] && [ -x /lib/systemd/systemd ] && [ "${DEMO_SYSTEMD:-1}" = 1 ]; then
    log "the systemd path: iops-limitd against a real systemd (tests/system/v2_systemd_backend_test.sh)"
    IOPSLIMITD=$DAEMON bash "$REPO/tests/system/v2_systemd_backend_test.sh" 2>&1 |
        grep -E '^(==>|PASS|FAIL|SKIP|RESULT)|IOReadIOPSMax|Backend' | sed 's/^/    /'
fi

log "cleaning up (processes, cgroups, loop disk, temp files)"
