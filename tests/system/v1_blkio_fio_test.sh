#!/bin/bash
# System test, cgroup v1 blkio (the VM as booted), cgroupfs driver: iops-limitd --once reads a
# recorded PodList from the kubelet emulator (HTTPS, client cert, token) and writes
# blkio.throttle.* for each container; fio then measures the limits on a loop disk. Then the
# daemon runs long with METRICS_ADDRESS on a private bus while fio reads in the annotated
# container: the metrics count exactly fio's IOs, and iops-limitctl top shows it at its limit.
# Needs root, fio, util-linux, e2fsprogs, python3, openssl, curl, dbus. Exit 0 pass, 1 fail, 77 skip.
# shellcheck source-path=SCRIPTDIR disable=SC2015  # SC2015: in "check && pass || fail" pass never fails
set -u -o pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BLKIO=/sys/fs/cgroup/blkio
DEFAULT_IOPS=1000
TOLERANCE=15   # percent

skip_unless_root_and_tools
findmnt -n -t cgroup -O blkio "$BLKIO" >/dev/null || skip "no cgroup v1 blkio hierarchy at $BLKIO"
require_daemon

blkio_value() {   # FILE: the limit for our disk, empty if none
    awk -v d="$LOOP_MAJMIN" '$1 == d { print $2 }' "$1"
}

log "loop disk"
make_loop_disk 256M
make_fio_file "$LOOP_MNT/fio.dat"
echo "    $LOOP ($LOOP_MAJMIN) on $LOOP_MNT"

log "pods and their container cgroups (cgroupfs driver)"
make_podlist "$WORK/pods.json"
declare -A CG ID
mapfile -t containers < <(pod_containers "$WORK/pods.json")
for line in "${containers[@]}"; do
    read -r ns pod ctr id qos uid <<< "$line"
    rel=$(container_cgroup cgroupfs "$qos" "$uid" "$id")
    make_cgroup "$BLKIO/$rel"
    CG[$pod]=$BLKIO/$rel ID[$pod]=$id
    echo "    $ns/$pod/$ctr -> $rel"
done
[ "${#CG[@]}" -eq 4 ] || die "expected 4 containers, got ${#CG[@]}"

log "kubelet emulator"
start_emulator "$WORK/pods.json"
echo "    https://$KUBELET_HOST:$KUBELET_PORT/pods (node $NODE_NAME)"

export DATA_MOUNT=$LOOP_MNT CONTAINER_IOPS_LIMIT=$DEFAULT_IOPS CGROUP_DRIVER=cgroupfs
unset CGROUP_ROOT CGROUP_VERSION CONTAINER_READ_BPS_LIMIT CONTAINER_WRITE_BPS_LIMIT \
    EXCLUDE_KEYWORDS EXCLUDE_NAMESPACES LIMIT_BACKEND

log "iops-limitd --once"
run_daemon "$WORK/run1.txt" --once || fail "iops-limitd --once exited non-zero"

log "blkio files"
declare -A WANT=([$POD_ANNOTATED]=$ANNOTATED_IOPS [$POD_DEFAULT]=$DEFAULT_IOPS
                 [$POD_DEFAULT2]=$DEFAULT_IOPS [$POD_EXCLUDED]='')
declare -A SOURCE=([$POD_ANNOTATED]=annotation [$POD_DEFAULT]=default
                   [$POD_DEFAULT2]=default [$POD_EXCLUDED]=excluded)
for pod in "${!WANT[@]}"; do
    want=${WANT[$pod]}
    for f in read_iops_device write_iops_device read_bps_device write_bps_device; do
        exp=$want; [[ $f == *bps* ]] && exp=
        got=$(blkio_value "${CG[$pod]}/blkio.throttle.$f")
        if [ "$got" = "$exp" ]; then pass "$pod blkio.throttle.$f = ${got:-(no limit)}"
        else fail "$pod blkio.throttle.$f = '${got:-(no limit)}', want '${exp:-(no limit)}'"; fi
    done
    src=$(table_value "$WORK/run1.txt" "${ID[$pod]}" SOURCE)
    [ "$src" = "${SOURCE[$pod]}" ] && pass "$pod SOURCE $src" || fail "$pod SOURCE '$src', want ${SOURCE[$pod]}"
done

log "fio 4k randread, direct, iodepth 16, 4 s"
limited=$(fio_iops "${CG[$POD_ANNOTATED]}/cgroup.procs" "$LOOP_MNT/fio.dat")
default=$(fio_iops "${CG[$POD_DEFAULT]}/cgroup.procs" "$LOOP_MNT/fio.dat")
free=$(fio_iops "${CG[$POD_EXCLUDED]}/cgroup.procs" "$LOOP_MNT/fio.dat")
fio_verdict "$limited" "$default" "$free"

log "iops-limitd --once again: nothing to change"
second_run_unchanged "$WORK/run2.txt"

log "long-running iops-limitd: metrics and iops-limitctl top under real IO"
CTL=${IOPSLIMITCTL:-$BUILD_DIR/service/ctl/iops-limitctl}
if ! command -v dbus-daemon >/dev/null || ! command -v curl >/dev/null || [ ! -x "$CTL" ]; then
    fail "metrics phase needs dbus-daemon, curl and $CTL"
    finish
fi
start_private_bus
METRICS_PORT=$(free_port)
METRICS_ADDRESS=127.0.0.1:$METRICS_PORT STATE_DIRECTORY=$WORK/state CHECK_INTERVAL=3600 \
    "$DAEMON" > "$WORK/daemon.log" 2>&1 &
PIDS+=($!)
metrics() { curl -sf "http://127.0.0.1:$METRICS_PORT/metrics"; }
for _ in $(seq 100); do metrics > /dev/null && "$CTL" status > /dev/null 2>&1 && break; sleep 0.1; done
metrics > /dev/null || { sed 's/^/    log: /' "$WORK/daemon.log"; die "no metrics at 127.0.0.1:$METRICS_PORT"; }
ns_annotated=$(awk -v p="$POD_ANNOTATED" '$2 == p { print $1 }' <<< "$(printf '%s\n' "${containers[@]}")")
series="iopslimit_container_io_ops_total{namespace=\"$ns_annotated\",pod=\"$POD_ANNOTATED\",container=\"[^\"]*\",device=\"$LOOP_MAJMIN\",op=\"read\"}"
reads() { metrics | grep -E "^$series " | awk '{ print $2 }'; }
limit=$(metrics | grep -E "^iopslimit_container_limit\{namespace=\"$ns_annotated\",pod=\"$POD_ANNOTATED\",.*limit=\"read_iops\"\} " | awk '{ print $2 }')
[ "$limit" = "$ANNOTATED_IOPS" ] && pass "metrics: read_iops limit of $POD_ANNOTATED = $limit" ||
    fail "metrics: read_iops limit of $POD_ANNOTATED = '${limit:-none}', want $ANNOTATED_IOPS"
before=$(reads)
fio_iops "${CG[$POD_ANNOTATED]}/cgroup.procs" "$LOOP_MNT/fio.dat" > "$WORK/fio.bg" &
fio_pid=$!
sleep 1
"$CTL" top -b -n 2 -d 2 --order limit > "$WORK/top.txt" 2>&1 || fail "iops-limitctl top exited non-zero"
wait "$fio_pid"
after=$(reads)
fio_reads=$(fio_last_reads)
delta=$(( ${after:-0} - ${before:-0} ))
echo "    fio: $(cat "$WORK/fio.bg") IOPS, $fio_reads reads; metrics: $before -> $after (+$delta)"
# The kernel counts each 4k direct read once; the page cache never sees them.
within "$delta" "${fio_reads:-0}" 2 && pass "metrics count fio's reads (+$delta for $fio_reads)" ||
    fail "metrics: +$delta reads, fio did ${fio_reads:-?}"
sed 's/^/    /' "$WORK/top.txt"
# The last refresh: the annotated container first, reading at about its limit.
row=$(awk '/^POD /{ n = NR } { line[NR] = $0 } END { print line[n + 1] }' "$WORK/top.txt")
read -r t_pod _ t_riops _ _ _ t_share _ <<< "$row"
[ "$t_pod" = "$ns_annotated/$POD_ANNOTATED" ] && pass "top: $t_pod is the most throttled" ||
    fail "top: first row is '$t_pod', want $ns_annotated/$POD_ANNOTATED"
within "${t_riops%.*}" "$ANNOTATED_IOPS" "$TOLERANCE" && pass "top: R-IOPS $t_riops" ||
    fail "top: R-IOPS '$t_riops', want $ANNOTATED_IOPS ±$TOLERANCE%"
[ -n "$t_share" ] && [ "$t_share" != - ] && [ "$t_share" -ge 85 ] && pass "top: LIMIT% $t_share" ||
    fail "top: LIMIT% '$t_share', want >= 85"

finish
