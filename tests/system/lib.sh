# shellcheck shell=bash
# Shared helpers for the system tests (tests/system/*_test.sh) and tests/demo.sh. Source it.
#
# Sourcing sets REPO, BUILD_DIR, DAEMON, SYSD_TESTHOST and WORK (a fresh temp dir), and installs
# an EXIT trap (`cleanup`) that undoes everything these helpers did: background processes,
# cgroups, the loop mount and device, temp files. CI runs the tests back to back on one machine,
# and systemd-testhost can only move `io` to cgroup2 while v1 blkio has no child cgroups (dying
# ones included), so the trap must leave the machine exactly as it found it.
#
# Exit codes of the tests: 0 pass, 1 fail, 77 skip (CTest SKIP_RETURN_CODE).

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$LIB_DIR/../.." && pwd -P)
BUILD_DIR=${BUILD_DIR:-$REPO/build}
DAEMON=${IOPSLIMITD:-$BUILD_DIR/service/daemon/iops-limitd}   # CTest sets IOPSLIMITD
# The shared tools (systemd-testhost, node-vm) live in shared/ beside the repository. A clone made
# elsewhere (CI clones main into a scratch directory) finds them beside the repository it was
# cloned from.
find_shared() {   # PATH under shared/, e.g. testhost/systemd-testhost
    local rel=shared/$1 origin
    origin=$(git -C "$REPO" config --get remote.origin.url 2>/dev/null) || origin=
    origin=${origin#file://}
    if [ ! -x "$REPO/../$rel" ] && [ -n "$origin" ] && [ -x "$origin/../$rel" ]; then
        echo "$(cd "$origin/.." && pwd -P)/$rel"
    else
        echo "$REPO/../$rel"
    fi
}
SYSD_TESTHOST=${SYSD_TESTHOST:-$(find_shared testhost/systemd-testhost)}
PODS_RECORDED=$REPO/tests/data/nri-kubernetes_1_35_kubelet_pods.json

# The pods make_podlist keeps (all Running, one container each).
POD_ANNOTATED=e2e-deployment-79967c5968-8bnn8   # scraper, Burstable: gets iops-limit/limit: "200"
POD_DEFAULT=e2e-scraper-5f97dc94d8-vkcjl        # scraper, BestEffort: CONTAINER_IOPS_LIMIT
POD_DEFAULT2=e2e-statefulset-0                  # scraper, Burstable: CONTAINER_IOPS_LIMIT
POD_EXCLUDED=kindnet-zkpn8                      # kube-system, Guaranteed: must stay unlimited
ANNOTATED_IOPS=200

FAILURES=0
PIDS=()            # background processes to kill
CGROUPS=()         # cgroup directories we created, in creation order
IO_ENABLED=()      # pre-existing cgroup2 directories where we enabled io for the children
CLEANUP_HOOKS=()   # functions cleanup runs before removing cgroups (e.g. stop the testhost)
LOOP='' LOOP_MNT='' LOOP_MAJMIN=''
blkio_cgroups() { awk '$1 == "blkio" { n = $3 } END { print n + 0 }' /proc/cgroups; }   # live + dying
BLKIO_CGROUPS=$(blkio_cgroups)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/iops-limit-test.XXXXXX") || { echo "FAIL: mktemp" >&2; exit 1; }

log()  { echo "==> $*"; }
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; FAILURES=$((FAILURES + 1)); }
die()  { echo "FAIL: $*"; exit 1; }        # the EXIT trap cleans up
skip() { echo "SKIP: $*"; exit 77; }
finish() {   # exit with the verdict of the test
    if [ "$FAILURES" -eq 0 ]; then echo "RESULT: PASS"; exit 0; fi
    echo "RESULT: FAIL ($FAILURES failed check(s))"; exit 1
}

skip_unless_root_and_tools() {
    local t
    [ "$(id -u)" = 0 ] || skip "needs root"
    for t in fio losetup mkfs.ext4 python3 openssl; do
        command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
    done
}

require_daemon() {
    [ -x "$DAEMON" ] || die "iops-limitd not built at $DAEMON (cmake -S $REPO -B $BUILD_DIR && cmake --build $BUILD_DIR)"
}

# ---------- loop disk ----------
make_loop_disk() {   # SIZE (truncate syntax, e.g. 256M); exports LOOP LOOP_MNT LOOP_MAJMIN
    truncate -s "$1" "$WORK/disk.img" || die "truncate $WORK/disk.img"
    LOOP=$(losetup --find --show --direct-io=on "$WORK/disk.img") || die "losetup"
    # no lazy init: ext4lazyinit would write to the disk in the background while fio measures
    mkfs.ext4 -q -E lazy_itable_init=0,lazy_journal_init=0 "$LOOP" || die "mkfs.ext4 $LOOP"
    LOOP_MNT=$WORK/mnt
    mkdir -p "$LOOP_MNT" || die "mkdir $LOOP_MNT"
    mount "$LOOP" "$LOOP_MNT" || { LOOP_MNT=''; die "mount $LOOP"; }
    LOOP_MAJMIN=$(cat "/sys/class/block/${LOOP#/dev/}/dev") || die "maj:min of $LOOP"
    export LOOP LOOP_MNT LOOP_MAJMIN
}

# Unmount and detach the loop disk, then delete and re-create the loop device (loop-control
# REMOVE + ADD). The kernel (6.18 here) keeps every blkio/io cgroup that did IO through a loop
# device alive (dying, after rmdir) for 60-120 s, even after the detach, unless the device is
# deleted; and systemd-testhost cannot move io between v1 and cgroup2 while dying cgroups remain.
# Idempotent.
release_loop_disk() {
    local i n
    if [ -n "$LOOP_MNT" ] && mountpoint -q "$LOOP_MNT"; then
        for i in $(seq 20); do umount "$LOOP_MNT" 2>/dev/null && break; sleep 0.2; done
        mountpoint -q "$LOOP_MNT" && { echo "WARNING: could not unmount $LOOP_MNT" >&2; return 1; }
    fi
    LOOP_MNT=
    [ -n "$LOOP" ] || return 0
    losetup -d "$LOOP" || { echo "WARNING: could not detach $LOOP" >&2; return 1; }
    n=${LOOP#/dev/loop}; LOOP=
    for i in $(seq 20); do   # busy for a moment after the detach, or someone else took it
        [ -e "/sys/class/block/loop$n/loop/backing_file" ] && return 0
        loop_ctl REMOVE "$n" 2>/dev/null && { loop_ctl ADD "$n" || echo "WARNING: could not re-create loop$n" >&2; return 0; }
        sleep 0.1
    done
    echo "NOTE: loop$n still busy; its cgroups are freed within ~2 min" >&2
}

loop_ctl() {   # ADD|REMOVE INDEX (ioctls on /dev/loop-control)
    python3 -c 'import fcntl, os, sys
fcntl.ioctl(os.open("/dev/loop-control", os.O_RDWR), {"ADD": 0x4C80, "REMOVE": 0x4C81}[sys.argv[1]], int(sys.argv[2]))' "$@"
}

make_fio_file() {   # PATH [SIZE_MB]: real data blocks (reads of unwritten extents never reach the disk)
    dd if=/dev/zero of="$1" bs=1M count="${2:-64}" oflag=direct conv=fsync status=none || die "dd $1"
}

# ---------- pods ----------
# OUT: a PodList with the four pods above, POD_ANNOTATED annotated with iops-limit/limit: "200".
# Exports PODLIST_NODE (their spec.nodeName) for NODE_NAME.
make_podlist() {   # OUT
    PODLIST_NODE=$(python3 - "$PODS_RECORDED" "$1" "$POD_ANNOTATED" "$ANNOTATED_IOPS" \
        "$POD_DEFAULT" "$POD_DEFAULT2" "$POD_EXCLUDED" <<'EOF'
import json, sys
src, out, annotated, limit, *keep = sys.argv[1:]
pods = json.load(open(src))
byname = {p["metadata"]["name"]: p for p in pods["items"]}
items = []
for name in [annotated] + keep:
    p = byname[name]
    assert p["status"]["phase"] == "Running", name
    if name == annotated:
        p["metadata"].setdefault("annotations", {})["iops-limit/limit"] = limit
    items.append(p)
pods["items"] = items
json.dump(pods, open(out, "w"), indent=1)
print(items[0]["spec"]["nodeName"])
EOF
    ) || die "make_podlist"
    export PODLIST_NODE
}

# One line per container with an ID: NAMESPACE POD CONTAINER ID QOS UID (ID without containerd://)
pod_containers() {   # PODLIST_JSON
    python3 - "$1" <<'EOF'
import json, sys
for p in json.load(open(sys.argv[1]))["items"]:
    m, st = p["metadata"], p.get("status", {})
    for c in st.get("containerStatuses") or []:
        cid = c.get("containerID", "")
        if cid:
            print(m["namespace"], m["name"], c["name"], cid.split("://", 1)[1],
                  st.get("qosClass", "BestEffort").lower(), m["uid"])
EOF
}

# Relative cgroup path of a container the way the kubelet names it.
container_cgroup() {   # DRIVER(cgroupfs|systemd) QOS(lowercase) UID ID
    local driver=$1 qos=$2 uid=$3 id=$4 q= 
    case "$driver" in
        cgroupfs)
            [ "$qos" = guaranteed ] || q=$qos/
            echo "kubepods/${q}pod$uid/$id" ;;
        systemd)
            [ "$qos" = guaranteed ] || q=-$qos
            local pod="kubepods$q-pod${uid//-/_}.slice"
            if [ -n "$q" ]; then echo "kubepods.slice/kubepods$q.slice/$pod/cri-containerd-$id.scope"
            else echo "kubepods.slice/$pod/cri-containerd-$id.scope"; fi ;;
    esac
}

# ---------- cgroups ----------
make_cgroup() {   # DIR: mkdir -p, remembering every level we create (cleanup removes them)
    local d=$1 missing=()
    while [ ! -d "$d" ]; do missing=("$d" "${missing[@]}"); d=$(dirname "$d"); done
    for d in "${missing[@]}"; do
        mkdir "$d" || die "mkdir $d"
        CGROUPS+=("$d")
    done
}

# cgroup2: enable io in cgroup.subtree_control of TOP and of every level below it down to LEAF's
# parent, so LEAF has io.max. Levels that existed before are put back by cleanup.
cg2_enable_io_path() {   # TOP LEAF
    local d=$2 dirs=()
    while [ "$d" != "$1" ]; do d=$(dirname "$d"); dirs=("$d" "${dirs[@]}"); done
    for d in "${dirs[@]}"; do
        grep -qw io "$d/cgroup.subtree_control" && continue
        echo +io > "$d/cgroup.subtree_control" || die "enable io in $d"
        [[ " ${CGROUPS[*]} " == *" $d "* ]] || IO_ENABLED+=("$d")
    done
}

remove_cgroup() {   # DIR: move leftover processes to the hierarchy root, then rmdir (with retries)
    local d=$1 root pid i
    [ -d "$d" ] || return 0
    root=$(findmnt -n -o TARGET -T "$d")
    for i in $(seq 50); do
        while read -r pid; do echo "$pid" > "$root/cgroup.procs" 2>/dev/null; done < "$d/cgroup.procs"
        rmdir "$d" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "WARNING: could not remove cgroup $d" >&2; return 1
}

# ---------- kubelet emulator ----------
# Exports the KUBELET_* variables iops-limitd reads for an emulator on 127.0.0.1:PORT (and
# NODE_NAME from make_podlist); makes the certificates on first use. A test can point the daemon
# at a port before anything listens there (free_port, then start_emulator PODLIST PORT).
emulator_env() {   # PORT
    local pki=$WORK/pki
    [ -s "$pki/ca.crt" ] || "$REPO/tests/tools/make_certs.sh" "$pki" || die "make_certs.sh"
    export KUBELET_HOST=127.0.0.1 KUBELET_PORT=$1
    export KUBELET_CA_PATH=$pki/ca.crt KUBELET_CLIENT_CERT_PATH=$pki/client.crt \
        KUBELET_CLIENT_KEY_PATH=$pki/client.key KUBELET_TOKEN_PATH=$pki/token
    export NODE_NAME=${PODLIST_NODE:-$NODE_NAME}
}

free_port() {   # a TCP port on 127.0.0.1 that was free a moment ago
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Serves PODLIST_JSON as the kubelet /pods over HTTPS with client-cert and bearer-token auth, on
# PORT (default: any free port); exports the KUBELET_* variables (emulator_env).
start_emulator() {   # PODLIST_JSON [PORT]
    local pki=$WORK/pki i
    [ -s "$pki/ca.crt" ] || "$REPO/tests/tools/make_certs.sh" "$pki" || die "make_certs.sh"
    rm -f "$WORK/emulator.port"
    python3 "$REPO/tests/tools/kube_emulator.py" --pods "$1" --port "${2:-0}" --port-file "$WORK/emulator.port" \
        --cert "$pki/server.crt" --key "$pki/server.key" --client-ca "$pki/ca.crt" \
        --token "$pki/token" > "$WORK/emulator.log" 2>&1 &
    PIDS+=($!)
    for i in $(seq 100); do [ -s "$WORK/emulator.port" ] && break; sleep 0.1; done
    [ -s "$WORK/emulator.port" ] || { cat "$WORK/emulator.log"; die "kube emulator did not start"; }
    emulator_env "$(cat "$WORK/emulator.port")"
}

# ---------- systemd units over D-Bus (busctl; DBUS_SYSTEM_BUS_ADDRESS picks the bus) ----------
unit_object() {   # UNIT: its D-Bus object path (sd-bus label escaping)
    local s=$1 out='' i c
    for (( i = 0; i < ${#s}; i++ )); do
        c=${s:i:1}
        if [[ $c == [a-zA-Z] ]] || { [ "$i" -gt 0 ] && [[ $c == [0-9] ]]; }; then out+=$c
        else out+=$(printf '_%02x' "'$c"); fi
    done
    echo "/org/freedesktop/systemd1/unit/$out"
}
unit_prop() {   # UNIT PROPERTY: busctl's answer, or ERROR(...)
    local v
    v=$(busctl get-property org.freedesktop.systemd1 "$(unit_object "$1")" org.freedesktop.systemd1.Scope "$2" 2>&1) ||
        v="ERROR($v)"
    echo "$v"
}
mgr_prop() {   # PROPERTY of io.iopslimit1 (busctl's answer without the signature)
    busctl get-property io.iopslimit1 /io/iopslimit1 io.iopslimit1.Manager "$1" 2>/dev/null | cut -d' ' -f2-
}

# ---------- the no-io testhost and a long-running daemon against it ----------
# shellcheck disable=SC2120  # the extra tools are optional
require_testhost() {   # [TOOL...]: skips unless root, the tools, systemd-testhost, systemd and dbus; sets CG2
    local t
    [ "$(id -u)" = 0 ] || skip "needs root"
    for t in losetup mkfs.ext4 python3 openssl busctl nsenter unshare flock diff sed "$@"; do
        command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
    done
    [ -x "$SYSD_TESTHOST" ] || skip "systemd-testhost not found at $SYSD_TESTHOST (set SYSD_TESTHOST)"
    [ -x /lib/systemd/systemd ] || skip "systemd not installed"
    command -v dbus-daemon >/dev/null || skip "dbus not installed"
    # shellcheck disable=SC2034  # CG2 is for the caller
    if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then CG2=/sys/fs/cgroup
    elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then CG2=/sys/fs/cgroup/unified
    else skip "no cgroup2 mount at /sys/fs/cgroup or /sys/fs/cgroup/unified"; fi
}

TESTHOST_UP=
stop_testhost() {   # idempotent; io was never moved, so this is quick
    [ -n "$TESTHOST_UP" ] || return 0
    TESTHOST_UP=
    th stop < /dev/null
}

DAEMON_PID=
daemon_alive() { [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; }
# iops-limitd on the host, long-running, against the testhost's systemd (SYSD_TESTHOST_CGROUP,
# DBUS_SYSTEM_BUS_ADDRESS), the loop disk, DEFAULT_IOPS and CHECK_INTERVAL=INTERVAL; the test's
# other iops-limitd variables are dropped. Waits for io.iopslimit1 on the bus.
start_daemon() {   # LOG
    local i t0=$SECONDS
    DAEMON_LOG=$1
    mkdir -p "$WORK/state"
    env -u JOURNAL_STREAM -u INVOCATION_ID -u NOTIFY_SOCKET -u WATCHDOG_USEC -u WATCHDOG_PID \
        -u CGROUP_VERSION -u CGROUP_DRIVER -u KUBELET_CGROUP_ROOT -u EXCLUDE_KEYWORDS \
        -u EXCLUDE_NAMESPACES -u EXCLUDE_REGEXPS -u EXCLUDE_LABEL_SELECTOR \
        -u CONTAINER_READ_IOPS_LIMIT -u CONTAINER_WRITE_IOPS_LIMIT \
        -u CONTAINER_READ_BPS_LIMIT -u CONTAINER_WRITE_BPS_LIMIT -u KUBE_API_SERVER \
        CGROUP_ROOT="$SYSD_TESTHOST_CGROUP" LIMIT_BACKEND=auto DATA_MOUNT="$LOOP_MNT" \
        CONTAINER_IOPS_LIMIT="$DEFAULT_IOPS" CHECK_INTERVAL="$INTERVAL" STATE_DIRECTORY="$WORK/state" \
        IOPS_LIMIT_ENV_FILES="$WORK/no-such-env-file" \
        "$DAEMON" > "$DAEMON_LOG.out" 2> "$DAEMON_LOG" &
    DAEMON_PID=$!
    PIDS+=("$DAEMON_PID")
    for i in $(seq 100); do
        [ -n "$(mgr_prop Backend)" ] && break
        daemon_alive || { sed 's/^/    log: /' "$DAEMON_LOG"; die "iops-limitd exited at start"; }
        sleep 0.1
    done
    [ -n "$(mgr_prop Backend)" ] || { sed 's/^/    log: /' "$DAEMON_LOG"; die "io.iopslimit1 did not appear on the bus within 10 s"; }
    echo "    iops-limitd pid $DAEMON_PID, backend $(mgr_prop Backend), on the bus after $((SECONDS - t0)) s"
}
stop_daemon() {   # SIGTERM, returns its exit status
    local rc=0 keep=() p
    [ -n "$DAEMON_PID" ] || return 0
    kill -TERM "$DAEMON_PID" 2>/dev/null
    wait "$DAEMON_PID" || rc=$?
    for p in "${PIDS[@]}"; do [ "$p" = "$DAEMON_PID" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")   # cleanup must not signal a recycled pid
    DAEMON_PID=
    return "$rc"
}
# Waits until N reconciles from fresh pod data completed after this call (LastSyncUSec changes N times).
wait_reconciles() {   # N
    local n=$1 prev cur deadline=$((SECONDS + $1 * INTERVAL + 15))
    prev=$(mgr_prop LastSyncUSec)
    while [ "$n" -gt 0 ]; do
        [ "$SECONDS" -lt "$deadline" ] || { fail "no reconcile within $(($1 * INTERVAL + 15)) s (LastSyncUSec ${prev:-?})"; return 1; }
        sleep 0.2
        cur=$(mgr_prop LastSyncUSec)
        if [ -n "$cur" ] && [ "$cur" != "$prev" ]; then n=$((n - 1)); prev=$cur; fi
    done
}

# ---------- the daemon and its table ----------
run_daemon() {   # OUT ARGS...: runs iops-limitd ARGS, table to OUT (and shown), logs to OUT.log
    local out=$1 rc; shift
    "$DAEMON" "$@" > "$out" 2> "$out.log"; rc=$?
    sed 's/^/    /' "$out"
    if [ "$rc" -ne 0 ]; then sed 's/^/    log: /' "$out.log"; fi
    return "$rc"
}

table_column() {   # TABLE COLUMN: COLUMN of every row as "CONTAINER-ID VALUE"
    awk -v col="$2" '
        $1 == "NAMESPACE" && !h { for (i = 1; i <= NF; i++) idx[$i] = i; h = 1; next }
        h && NF > 0 { print $idx["CONTAINER-ID"], $idx[col] }' "$1"
}

table_value() {   # TABLE CONTAINER-ID COLUMN (the full or short ID, as the table prints it)
    table_column "$1" "$3" | awk -v id="$2" 'index(id, $1) == 1 || index($1, id) == 1 { print $2; exit }'
}

# ---------- fio ----------
# 4k random direct reads for 4 s from a shell that first moves itself into the cgroup whose
# cgroup.procs is given ("-": stays where RUNNER starts it, e.g. `ctr task exec` in a container);
# prints the read IOPS. RUNNER (optional, e.g. "systemd-testhost exec") runs that shell elsewhere;
# PROCS and FILE are then paths as RUNNER sees them.
fio_iops() {   # PROCS FILE [RUNNER...]
    local procs=$1 file=$2; shift 2
    # shellcheck disable=SC2016  # expanded by the inner shell
    "$@" bash -c '[ "$1" = - ] || echo $$ > "$1" || exit 1
        exec fio --name=iops --filename="$2" --direct=1 --rw=randread --bs=4k --ioengine=libaio \
            --iodepth=16 --runtime=4 --time_based --output-format=terse --terse-version=3' \
        fio_iops "$procs" "$file" 2>> "$WORK/fio.log" | tee "$WORK/fio.last" | awk -F';' 'NR == 1 { print $8 }'
}
# The read IOs of the last fio_iops run (terse field 6 is the KiB read, in 4 KiB blocks).
fio_last_reads() { awk -F';' 'NR == 1 { print int($6 / 4) }' "$WORK/fio.last"; }

# ---------- packages ----------
# The same .deb at a higher version, for upgrade tests: repacked with dpkg-deb, not built again.
repack_deb() {   # DEB VERSION OUT_DIR: prints the path of the new .deb
    local dir=$WORK/repack name
    name=$(basename "$1" | sed "s/_$(dpkg-deb -f "$1" Version)_/_$2_/")
    rm -rf "$dir"
    if dpkg-deb -R "$1" "$dir" && sed -i "s/^Version: .*/Version: $2/" "$dir/DEBIAN/control" &&
        dpkg-deb --root-owner-group -b "$dir" "$3/$name" > /dev/null; then
        rm -rf "$dir"; echo "$3/$name"
    else
        rm -rf "$dir"; return 1
    fi
}

# ---------- a private system bus ----------
# dbus-daemon with an allow-all policy on a socket in WORK; exports DBUS_SYSTEM_BUS_ADDRESS so
# iops-limitd and iops-limitctl use it, never the host's bus.
start_private_bus() {
    local sock=$WORK/bus.sock i
    cat > "$WORK/bus.conf" <<EOC
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
EOC
    dbus-daemon --config-file="$WORK/bus.conf" --nofork --nopidfile > "$WORK/bus.log" 2>&1 &
    PIDS+=($!)
    for i in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
    [ -S "$sock" ] || { cat "$WORK/bus.log"; die "dbus-daemon did not start"; }
    export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$sock
}

# The verdict of the fio tests on the pods of make_podlist: the annotated and the default container
# within TOLERANCE % of their limits, the excluded one at least 5 times the annotated one.
# shellcheck disable=SC2015  # pass never fails
fio_verdict() {   # LIMITED_IOPS DEFAULT_IOPS_MEASURED FREE_IOPS (DEFAULT_IOPS, TOLERANCE: the test's)
    local limited=$1 default=$2 free=$3
    echo "    annotated ($ANNOTATED_IOPS): ${limited:-?} IOPS, default ($DEFAULT_IOPS): ${default:-?} IOPS," \
         "excluded (unlimited): ${free:-?} IOPS"
    within "$limited" "$ANNOTATED_IOPS" "$TOLERANCE" && pass "annotated container at $limited IOPS" ||
        fail "annotated container at ${limited:-?} IOPS, want $ANNOTATED_IOPS ±$TOLERANCE%"
    within "$default" "$DEFAULT_IOPS" "$TOLERANCE" && pass "default container at $default IOPS" ||
        fail "default container at ${default:-?} IOPS, want $DEFAULT_IOPS ±$TOLERANCE%"
    [ -n "$free" ] && [ -n "$limited" ] && [ "$free" -ge $(( 5 * limited )) ] &&
        pass "excluded container unthrottled ($free IOPS >= 5 x $limited)" ||
        fail "excluded container at ${free:-?} IOPS, want >= 5 x ${limited:-?}"
}

# A second --once over the pods of make_podlist: the three limited containers are in force
# already, the kube-system one stays excluded.
second_run_unchanged() {   # OUT
    run_daemon "$1" --once || fail "second iops-limitd --once exited non-zero"
    local states rows
    states=$(table_column "$1" STATE | awk '{ print $2 }' | sort | uniq -c | xargs)
    rows=$(table_column "$1" STATE | wc -l)
    if [ "$rows" -eq 4 ] && [ "$states" = "1 excluded 3 unchanged" ]; then pass "second run: 3 rows unchanged, 1 excluded"
    else fail "second run: $rows rows, STATE counts: $states"; fi
}

within() {   # VALUE TARGET PERCENT: exit 0 if VALUE is within TARGET ± PERCENT %
    [ -n "$1" ] && [ $(( $1 * 100 >= $2 * (100 - $3) && $1 * 100 <= $2 * (100 + $3) )) = 1 ]
}

# ---------- systemd-testhost without the io move ----------
# A copy of systemd-testhost in $WORK that leaves io on cgroup v1 when SYSD_TESTHOST_IO=0 (hosts
# whose PID 1 pins the v1 blkio hierarchy cannot move it): only two lines change, or the test
# skips. Sets TH_NAME, TH_STATE and TH_PATCHED for `th`, which runs that copy with its own name
# and state dir, so it never collides with the plain testhost or another test's.
make_noio_testhost() {   # NAME STATE
    local patch_diff
    TH_NAME=$1 TH_STATE=$2 TH_PATCHED=$WORK/systemd-testhost-noio
    # shellcheck disable=SC2016  # $CG2 and ${SYSD_TESTHOST_IO} are text for the copy
    sed -e 's/^    move_blkio_to_v2$/    [ "${SYSD_TESTHOST_IO:-1}" = 1 ] \&\& move_blkio_to_v2/' \
        -e 's/^    if ! grep -qw io "\$CG2\/cgroup.subtree_control"; then$/    if [ "${SYSD_TESTHOST_IO:-1}" = 1 ] \&\& ! grep -qw io "$CG2\/cgroup.subtree_control"; then/' \
        "$SYSD_TESTHOST" > "$TH_PATCHED" || die "sed $SYSD_TESTHOST"
    chmod +x "$TH_PATCHED"
    patch_diff=$(diff "$SYSD_TESTHOST" "$TH_PATCHED")
    if [ "$(grep -c '^<' <<< "$patch_diff")" != 2 ] || [ "$(grep -c '^>' <<< "$patch_diff")" != 2 ] ||
       [ "$(grep '^>' <<< "$patch_diff" | grep -c 'SYSD_TESTHOST_IO:-1}" = 1 ] &&')" != 2 ]; then
        echo "$patch_diff"
        skip "$SYSD_TESTHOST changed: the no-io patch (skip move_blkio_to_v2 and +io at the cgroup2 root) no longer applies to exactly 2 lines"
    fi
}
# shellcheck disable=SC2034  # TESTHOST_ENV and TESTHOST_SECONDS are for the caller
start_noio_testhost() {   # sets TESTHOST_ENV (its exports, for the host's clients); extra env before it: binds
    TESTHOST_UP=1
    local t0=$SECONDS
    if ! TESTHOST_ENV=$(th start < /dev/null 2> "$WORK/testhost.log"); then
        sed 's/^/    /' "$WORK/testhost.log"
        die "systemd-testhost start (patched, no io)"
    fi
    TESTHOST_SECONDS=$((SECONDS - t0))
}
th() {   # ARGS...: the copy made by make_noio_testhost
    SYSD_TESTHOST_IO=0 SYSD_TESTHOST_NAME=$TH_NAME SYSD_TESTHOST_STATE=$TH_STATE SYSD_TESTHOST_TIMEOUT=45 \
        "$TH_PATCHED" "$@"
}

# ---------- cleanup ----------
cleanup() {
    local rc=$? h pid i
    trap - EXIT INT TERM
    set +e
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    release_loop_disk   # first: a deleted loop device lets the testhost stop quickly
    for h in "${CLEANUP_HOOKS[@]}"; do "$h"; done
    for (( i = ${#CGROUPS[@]} - 1; i >= 0; i-- )); do remove_cgroup "${CGROUPS[i]}"; done
    for (( i = ${#IO_ENABLED[@]} - 1; i >= 0; i-- )); do
        echo -io > "${IO_ENABLED[i]}/cgroup.subtree_control"
    done
    # removed cgroups linger (dying) for a moment; wait till the kernel's count is back
    for i in $(seq 50); do [ "$(blkio_cgroups)" -le "$BLKIO_CGROUPS" ] && break; sleep 0.2; done
    [ "$(blkio_cgroups)" -le "$BLKIO_CGROUPS" ] ||
        echo "NOTE: $(( $(blkio_cgroups) - BLKIO_CGROUPS )) blkio cgroup(s) still dying" >&2
    [ -n "$LOOP_MNT" ] || rm -rf --one-file-system "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
