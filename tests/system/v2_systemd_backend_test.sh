#!/bin/bash
# System test, systemd backend: iops-limitd (long-running, on the host) against a real systemd 252
# booted by systemd-testhost, talking to it over the testhost's system bus. The pods' containers are
# scopes in the testhost (cri-containerd-<id>.scope in the kubelet's slices); the daemon picks
# LIMIT_BACKEND=auto -> systemd and sets IOReadIOPSMax/IOWriteIOPSMax/IOReadBandwidthMax/
# IOWriteBandwidthMax on them with SetUnitProperties. Checked with busctl: the properties, the
# SetUnitProperties calls themselves (busctl monitor), that the limits survive daemon-reload,
# daemon-reexec and a restart of iops-limitd without being set again, an override set with
# iops-limitctl, an annotation change, a scope that vanishes, and systemd's UnitNew/JobRemoved
# path alone (inotify off, no poll) limiting a scope started after the daemon.
#
# The io controller stays on cgroup v1 here (hosts whose PID 1 pins the v1 blkio hierarchy cannot
# move it): the test runs a copy of systemd-testhost, generated into $WORK, that skips the move
# (SYSD_TESTHOST_IO=0). systemd stores and reports the IO*Max properties without io; it just
# writes no io.max, so this test checks what the daemon asks systemd for, not the throttling
# (v2_io_fio_test.sh measures that where io can move). Own state dir and name: never collides
# with the plain testhost.
# Needs root, util-linux, e2fsprogs, python3, openssl, systemd (busctl), dbus. Exit 0/1/77.
# shellcheck source-path=SCRIPTDIR disable=SC2015  # SC2015: in "check && pass || fail" pass never fails
set -u -o pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEFAULT_IOPS=1000
INTERVAL=2                        # CHECK_INTERVAL of the daemon
UNLIMITED=18446744073709551615    # UINT64_MAX: systemd's "no limit", written explicitly
OVERRIDE_IOPS=77
NEW_ANNOTATION_IOPS=300
CTL=${IOPSLIMITCTL:-$BUILD_DIR/service/ctl/iops-limitctl}
TH_NAME=iops-limit-sysd
TH_STATE=$WORK/th-state
PROPS=(IOReadIOPSMax IOWriteIOPSMax IOReadBandwidthMax IOWriteBandwidthMax)

# ---------- preconditions ----------
require_testhost
require_daemon
[ -x "$CTL" ] || die "iops-limitctl not built at $CTL (cmake --build $BUILD_DIR)"
[ -e "$CG2/$TH_NAME" ] &&
    die "$CG2/$TH_NAME exists: a testhost '$TH_NAME' left over by an earlier run (stop it: SYSD_TESTHOST_IO=0 SYSD_TESTHOST_NAME=$TH_NAME SYSD_TESTHOST_STATE=<its state dir> <patched systemd-testhost> stop, or kill its processes and rmdir the cgroup)"

make_noio_testhost "$TH_NAME" "$TH_STATE"
# blkio state and testhost state dirs as found, to check that we leave them so
blkio_before=$(grep -c ' - cgroup cgroup [^ ]*blkio' /proc/self/mountinfo)
plain_state_before=$([ -e /tmp/systemd-testhost ] && echo yes)

CLEANUP_HOOKS+=(stop_testhost)

# ---------- helpers ----------
indent() { sed 's/^/    /'; }
want_prop() {   # VALUE ('' = no entry)
    if [ -z "$1" ]; then echo 'a(st) 0'; else echo "a(st) 1 \"$LOOP\" $1"; fi
}

# Checks the four IO*Max properties of every scope against WANT (IOPS; '' = excluded: no entries).
# Bandwidth: the daemon sends UINT64_MAX ("infinity") explicitly (checked on the wire by
# check_calls), but systemd 252 leaves limits at their default out of the property (and of the
# drop-in), so IO*BandwidthMax read back as "a(st) 0". Leaves all values in SNAPSHOT.
declare -A UNIT WANT NS ID SLICE
PODS_ORDER=()
SNAPSHOT=
check_scopes() {   # LABEL
    local pod p got want ok line
    SNAPSHOT=
    for pod in "${PODS_ORDER[@]}"; do
        ok=1 line=
        for p in "${PROPS[@]}"; do
            got=$(unit_prop "${UNIT[$pod]}" "$p")
            case "$p" in
                *IOPS*) want=$(want_prop "${WANT[$pod]}") ;;
                *) want=$(want_prop '') ;;
            esac
            line+="${line:+, }$p=$got"
            [ "$got" = "$want" ] || { ok=; line+=" [want $want]"; }
            SNAPSHOT+="${UNIT[$pod]} $p $got"$'\n'
        done
        if [ -n "$ok" ]; then pass "$1: $pod (${WANT[$pod]:-excluded}): $line"
        else fail "$1: $pod (want ${WANT[$pod]:-excluded}, ${UNIT[$pod]}): $line"; fi
    done
}

LOG_MARK=0
mark_log() { LOG_MARK=$(wc -l < "$DAEMON_LOG"); }
new_log() {   # PATTERN: log lines since mark_log matching PATTERN (grep -E, at line start)
    tail -n +"$((LOG_MARK + 1))" "$DAEMON_LOG" | grep -E "^($1)" || true
}
check_quiet() {   # LABEL: no new Applied/Failed lines since mark_log, no SetUnitProperties since mark_calls
    local applied failed calls
    calls=$(new_calls)
    [ -z "$calls" ] && pass "$1: no SetUnitProperties calls" ||
        { fail "$1: SetUnitProperties calls:"; indent <<< "$calls"; }
    applied=$(new_log 'Applied'); failed=$(new_log 'Failed')
    [ -z "$applied" ] && pass "$1: no new 'Applied' log lines" ||
        { fail "$1: new 'Applied' log lines:"; indent <<< "$applied"; }
    [ -z "$failed" ] && pass "$1: no new 'Failed' log lines" ||
        { fail "$1: new 'Failed' log lines:"; indent <<< "$failed"; }
}

# Waits until N reconciles completed after this call (LastSyncUSec changes N times); with N=2
# at least one whole reconcile started after the call.
# ---- the SetUnitProperties calls on the wire (busctl monitor, JSON) ----
MONITOR_OUT=$WORK/monitor.json
start_monitor() {
    : > "$MONITOR_OUT"   # exists before the background job gets to its redirection
    busctl monitor --json=short \
        --match="type='method_call',interface='org.freedesktop.systemd1.Manager',member='SetUnitProperties'" \
        --match="type='method_call',interface='org.freedesktop.DBus.Peer',member='Ping',path='/iops/limit/test/monitor'" \
        >> "$MONITOR_OUT" 2> "$WORK/monitor.err" &
    PIDS+=($!)
    sync_monitor || { cat "$WORK/monitor.err"; die "busctl monitor did not start"; }
}
# Sends a probe and waits until the monitor wrote it: every message the bus routed before it
# (all calls of a finished reconcile) is then in MONITOR_OUT.
sync_monitor() {
    local n i
    n=$(grep -c '"member":"Ping"' "$MONITOR_OUT")
    for i in $(seq 50); do
        # the first probes may go out before the monitor is in place; repeat every second
        [ $(( i % 10 )) = 1 ] && busctl call org.freedesktop.DBus /iops/limit/test/monitor \
            org.freedesktop.DBus.Peer Ping > /dev/null 2>&1
        [ "$(grep -c '"member":"Ping"' "$MONITOR_OUT")" -gt "$n" ] && return 0
        sleep 0.1
    done
    return 1
}
CALL_MARK=0
mark_calls() { sync_monitor; CALL_MARK=$(wc -l < "$MONITOR_OUT"); }
# SetUnitProperties calls since mark_calls, one line each: UNIT RUNTIME P1=DEV:VAL P2=... (or
# "malformed ..."), in order
new_calls() {
    sync_monitor || fail "busctl monitor did not catch up"
    tail -n +"$((CALL_MARK + 1))" "$MONITOR_OUT" | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("member") != "SetUnitProperties" or m.get("type") != "method_call": continue
    unit, runtime, props = m["payload"]["data"]
    out = [unit, "runtime=" + str(runtime).lower()]
    for name, v in props:
        out.append(name + "=" + ",".join("%s:%d" % (d, x) for d, x in v["data"]))
    print(" ".join(out))'
}
# Checks that CALLS (new_calls output) set every unit at most once, all four properties each, for
# $LOOP only, with IOPS from WANT and bandwidth explicitly UINT64_MAX.
check_calls() {   # LABEL CALLS
    local label=$1 calls=$2 pod unit line want n
    for pod in "${PODS_ORDER[@]}"; do
        unit=${UNIT[$pod]}
        n=$(grep -c "^$unit " <<< "$calls")
        [ "$n" -le 1 ] || fail "$label: $n SetUnitProperties calls for $unit"
        [ "$n" -ge 1 ] || continue
        line=$(grep "^$unit " <<< "$calls" | tail -n 1)
        want="$unit runtime=true IOReadIOPSMax=$LOOP:${WANT[$pod]} IOWriteIOPSMax=$LOOP:${WANT[$pod]}"
        want+=" IOReadBandwidthMax=$LOOP:$UNLIMITED IOWriteBandwidthMax=$LOOP:$UNLIMITED"
        [ "$line" = "$want" ] && pass "$label: SetUnitProperties($pod): ${line#"$unit "}" ||
            fail "$label: SetUnitProperties($pod) '$line', want '$want'"
    done
}

ctl() { "$CTL" "$@"; }

# ---------- 1. disk, pods, emulator, testhost, scopes ----------
T0=$SECONDS
log "loop disk"
make_loop_disk 64M
echo "    $LOOP ($LOOP_MAJMIN) on $LOOP_MNT"

log "kubelet emulator"
make_podlist "$WORK/pods.json"
start_emulator "$WORK/pods.json"
echo "    https://$KUBELET_HOST:$KUBELET_PORT/pods (node $NODE_NAME)"

log "systemd-testhost start, io left on v1 (patched copy, SYSD_TESTHOST_IO=0, name $TH_NAME)"
start_noio_testhost
env=$TESTHOST_ENV
sed 's/^/    /' "$WORK/testhost.log"
eval "$env"
export DBUS_SYSTEM_BUS_ADDRESS SYSD_TESTHOST_CGROUP
echo "    up in $TESTHOST_SECONDS s: cgroup $SYSD_TESTHOST_CGROUP, bus $DBUS_SYSTEM_BUS_ADDRESS"
echo "    systemd $(busctl get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager Version | cut -d' ' -f2-)," \
     "io on cgroup2: $(grep -qw io "$CG2/cgroup.controllers" && echo yes || echo no)"

log "bus policy for io.iopslimit1 in the testhost"
th exec sh -c 'cat > /usr/share/dbus-1/system.d/io.iopslimit1.conf' < "$REPO/dbus/io.iopslimit1.conf" ||
    die "install the bus policy"
busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig || die "dbus ReloadConfig"

log "pods' containers as scopes in the testhost (systemd driver)"
mapfile -t containers < <(pod_containers "$WORK/pods.json")
for line in "${containers[@]}"; do
    read -r ns pod ctr id qos uid <<< "$line"
    rel=$(container_cgroup systemd "$qos" "$uid" "$id")
    unit=${rel##*/} slice=$(basename "$(dirname "$rel")")
    th exec systemd-run --quiet --scope --unit="$unit" --slice="$slice" \
        sleep 600 < /dev/null > /dev/null 2>> "$WORK/scopes.log" &
    PIDS+=($!)
    for _ in $(seq 50); do th exec systemctl is-active -q "$unit" && break; sleep 0.1; done
    got=$(th exec systemctl show -P ControlGroup "$unit")
    [ "$got" = "/$rel" ] || die "$unit: ControlGroup '$got', want /$rel ($(cat "$WORK/scopes.log"))"
    UNIT[$pod]=$unit NS[$pod]=$ns ID[$pod]=$id SLICE[$pod]=$slice
    PODS_ORDER+=("$pod")
    echo "    $ns/$pod/$ctr -> $rel"
done
[ "${#UNIT[@]}" -eq 4 ] || die "expected 4 containers, got ${#UNIT[@]}"
# the object path we compute is systemd's
obj=$(busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager \
      GetUnit s "${UNIT[$POD_ANNOTATED]}" | awk '{ gsub(/"/, "", $2); print $2 }')
[ "$obj" = "$(unit_object "${UNIT[$POD_ANNOTATED]}")" ] || die "GetUnit: $obj, computed $(unit_object "${UNIT[$POD_ANNOTATED]}")"
WANT=([$POD_ANNOTATED]=$ANNOTATED_IOPS [$POD_DEFAULT]=$DEFAULT_IOPS [$POD_DEFAULT2]=$DEFAULT_IOPS [$POD_EXCLUDED]='')
echo "    set-up took $((SECONDS - T0)) s"

# ---------- 2. the daemon applies the limits through systemd ----------
log "iops-limitd on the host (CHECK_INTERVAL=$INTERVAL, LIMIT_BACKEND=auto)"
start_monitor
mark_calls
start_daemon "$WORK/daemon1.log"
backend=$(mgr_prop Backend)
[ "$backend" = '"systemd"' ] && pass "Backend $backend" || fail "Backend $backend, want \"systemd\""
echo "    CgroupVersion $(mgr_prop CgroupVersion), CgroupDriver $(mgr_prop CgroupDriver), Devices $(mgr_prop Devices)"
sed 's/^/    log: /' "$DAEMON_LOG"
check_scopes "after start"
SNAP_APPLIED=$SNAPSHOT
calls=$(new_calls)
n=$(grep -c . <<< "$calls")
[ "$n" = 3 ] && pass "3 SetUnitProperties calls (one per limited scope, none for the excluded one)" ||
    { fail "$n SetUnitProperties calls, want 3"; indent <<< "$calls"; }
check_calls "start" "$calls"
for pod in "$POD_ANNOTATED" "$POD_DEFAULT" "$POD_DEFAULT2"; do
    if [ "$pod" = "$POD_ANNOTATED" ]; then
        want="Applied Pod-specific IOPS limit for container ${ID[$pod]} (pod: ${NS[$pod]}/$pod): $ANNOTATED_IOPS"
    else want="Applied default IOPS limit for container ${ID[$pod]}: $DEFAULT_IOPS"; fi
    grep -qxF "$want" "$DAEMON_LOG" && pass "logged: $want" || fail "not logged: $want"
done
failed=$(grep '^Failed' "$DAEMON_LOG")
[ -z "$failed" ] && pass "no 'Failed' log lines" || { fail "'Failed' log lines:"; indent <<< "$failed"; }
iomax=$SYSD_TESTHOST_CGROUP/kubepods.slice/io.max
echo "    (io not on cgroup2 here: $([ -e "$iomax" ] && echo "io.max exists?!" || echo "no io.max files, as expected"))"

# ---------- 3. iops-limitctl list / status ----------
log "iops-limitctl list / status"
ctl list --full | sed 's/^/    /'
ctl list --json > "$WORK/list.json" || fail "iops-limitctl list --json"
for pod in "${PODS_ORDER[@]}"; do
    got=$(python3 -c 'import json, sys
for r in json.load(open(sys.argv[1])):
    if r["containerId"] == sys.argv[2]: print(r["target"], r["state"])' "$WORK/list.json" "${ID[$pod]}")
    want="${UNIT[$pod]} $([ -n "${WANT[$pod]}" ] && echo applied || echo excluded)"
    [ "$got" = "$want" ] && pass "list: $pod target/state $got" || fail "list: $pod '$got', want '$want'"
done
ctl status > "$WORK/status.txt" || fail "iops-limitctl status"
sed 's/^/    /' "$WORK/status.txt"
grep -qE '^ *Backend: systemd( |$)' "$WORK/status.txt" && pass "status: Backend systemd" || fail "status: no 'Backend: systemd'"

# ---------- 4. daemon-reload ----------
log "systemctl daemon-reload in the testhost"
mark_log; mark_calls
th exec systemctl daemon-reload || fail "daemon-reload"
check_scopes "after daemon-reload"
[ "$SNAPSHOT" = "$SNAP_APPLIED" ] && pass "properties unchanged by daemon-reload" || fail "properties changed by daemon-reload"
wait_reconciles 2 && echo "    two reconciles later (LastSyncUSec $(mgr_prop LastSyncUSec))"
check_quiet "after daemon-reload"

# ---------- 5. daemon-reexec ----------
log "systemctl daemon-reexec in the testhost"
mark_log; mark_calls
t0=$(date +%s.%N)
th exec systemctl daemon-reexec || fail "daemon-reexec"
for _ in $(seq 100); do
    st=$(th exec systemctl is-system-running 2>/dev/null)
    case "$st" in running|degraded) busctl get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 \
        org.freedesktop.systemd1.Manager Version >/dev/null 2>&1 && break ;; esac
    sleep 0.1
done
echo "    systemd answers again after $(python3 -c "import sys; print(round($(date +%s.%N) - $t0, 2))") s (state: $st)"
check_scopes "after daemon-reexec"
[ "$SNAPSHOT" = "$SNAP_APPLIED" ] && pass "properties unchanged by daemon-reexec" || fail "properties changed by daemon-reexec"
wait_reconciles 2 && echo "    two reconciles later (LastSyncUSec $(mgr_prop LastSyncUSec))"
daemon_alive && pass "iops-limitd still running after daemon-reexec" || fail "iops-limitd died after daemon-reexec"
check_quiet "after daemon-reexec"

# ---------- 6. restart of iops-limitd ----------
log "restart iops-limitd (SIGTERM, start again)"
stop_daemon; rc=$?
[ "$rc" = 0 ] && pass "iops-limitd exited $rc on SIGTERM" || { fail "iops-limitd exited $rc on SIGTERM"; sed 's/^/    log: /' "$DAEMON_LOG"; }
tail -n 1 "$DAEMON_LOG" | sed 's/^/    last log line: /'
mark_calls
start_daemon "$WORK/daemon2.log"
LOG_MARK=0   # everything the new daemon logged counts
sed 's/^/    log: /' "$DAEMON_LOG"
check_quiet "restarted daemon"
check_scopes "after restart"
[ "$SNAPSHOT" = "$SNAP_APPLIED" ] && pass "properties unchanged by the restart" || fail "properties changed by the restart"

# ---------- 7. override with iops-limitctl set ----------
log "iops-limitctl set ${NS[$POD_DEFAULT]}/$POD_DEFAULT --iops $OVERRIDE_IOPS"
mark_log; mark_calls
ctl set "${NS[$POD_DEFAULT]}/$POD_DEFAULT" --iops "$OVERRIDE_IOPS" 2>&1 | indent; rc=${PIPESTATUS[0]}
# (on failure the later steps keep expecting the default for this pod: one failure, no cascade)
[ "$rc" = 0 ] && { pass "iops-limitctl set exited 0"; WANT[$POD_DEFAULT]=$OVERRIDE_IOPS; } ||
    fail "iops-limitctl set exited $rc (want 0 and $OVERRIDE_IOPS in force; the caller is host root, uid 0)"
check_scopes "after set"
calls=$(new_calls)
[ "$(grep -c . <<< "$calls")" = "$([ "$rc" = 0 ] && echo 1 || echo 0)" ] || { fail "SetUnitProperties calls after set:"; indent <<< "$calls"; }
check_calls "set" "$calls"
new_log 'Applied|Set override|Failed' | sed 's/^/    log: /'
ctl overrides > "$WORK/overrides.txt" || fail "iops-limitctl overrides"
sed 's/^/    /' "$WORK/overrides.txt"
grep -E "(^|[[:space:]])${NS[$POD_DEFAULT]}[[:space:]]+${POD_DEFAULT}[[:space:]]+${OVERRIDE_IOPS}[[:space:]]+${OVERRIDE_IOPS}([[:space:]]|$)" \
    "$WORK/overrides.txt" > /dev/null && pass "overrides lists ${NS[$POD_DEFAULT]}/$POD_DEFAULT at $OVERRIDE_IOPS" ||
    fail "overrides does not list ${NS[$POD_DEFAULT]}/$POD_DEFAULT at $OVERRIDE_IOPS"

# ---------- 8. annotation change ----------
log "annotation change: $POD_DEFAULT2 gets iops-limit/limit: \"$NEW_ANNOTATION_IOPS\""
mark_log; mark_calls
python3 - "$WORK/pods.json" "$POD_DEFAULT2" "$NEW_ANNOTATION_IOPS" <<'EOF' || die "rewrite pods.json"
import json, os, sys
path, name, limit = sys.argv[1:]
with open(path) as f:
    pods = json.load(f)
for p in pods["items"]:
    if p["metadata"]["name"] == name:
        p["metadata"].setdefault("annotations", {})["iops-limit/limit"] = limit
with open(path + ".new", "w") as f:
    json.dump(pods, f, indent=1)
os.replace(path + ".new", path)
EOF
t0=$(date +%s.%N)
want=$(want_prop "$NEW_ANNOTATION_IOPS")
for _ in $(seq $(( (INTERVAL + 3) * 10 ))); do
    [ "$(unit_prop "${UNIT[$POD_DEFAULT2]}" IOReadIOPSMax)" = "$want" ] && break
    sleep 0.1
done
took=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
got=$(unit_prop "${UNIT[$POD_DEFAULT2]}" IOReadIOPSMax)
if [ "$got" = "$want" ] && python3 -c "import sys; sys.exit(not $took <= $INTERVAL + 2)"; then
    pass "$POD_DEFAULT2 IOReadIOPSMax $got after $took s (<= CHECK_INTERVAL + 2)"
else fail "$POD_DEFAULT2 IOReadIOPSMax '$got' after $took s, want '$want' within $((INTERVAL + 2)) s"; fi
WANT[$POD_DEFAULT2]=$NEW_ANNOTATION_IOPS
check_scopes "after annotation change"
calls=$(new_calls)
[ "$(grep -c . <<< "$calls")" = 1 ] || { fail "SetUnitProperties calls after the annotation change, want 1:"; indent <<< "$calls"; }
check_calls "annotation" "$calls"
want="Applied Pod-specific IOPS limit for container ${ID[$POD_DEFAULT2]} (pod: ${NS[$POD_DEFAULT2]}/$POD_DEFAULT2): $NEW_ANNOTATION_IOPS"
grep -qxF "$want" "$DAEMON_LOG" && pass "logged: $want" || fail "not logged: $want"
[ -z "$(new_log Failed)" ] && pass "no 'Failed' log lines" || { fail "'Failed' log lines:"; new_log Failed | sed 's/^/    /'; }

# ---------- 9. a scope vanishes ----------
gone=$POD_ANNOTATED
log "systemctl stop ${UNIT[$gone]} (pod $gone; the pods file still lists it as running)"
mark_log; mark_calls
th exec systemctl stop "${UNIT[$gone]}" || fail "systemctl stop ${UNIT[$gone]}"
echo "    GetUnit now: $(busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager \
      GetUnit s "${UNIT[$gone]}" 2>&1)"
wait_reconciles 2 && echo "    two reconciles later (LastSyncUSec $(mgr_prop LastSyncUSec))"
daemon_alive && pass "iops-limitd still running" || fail "iops-limitd died after the scope vanished"
failed=$(new_log Failed)
[ -z "$failed" ] && pass "no 'Failed' log lines for the vanished scope" || { fail "'Failed' log lines:"; indent <<< "$failed"; }
new_log Applied | sed 's/^/    log: /'
calls=$(new_calls)
echo "    SetUnitProperties calls since the stop: $(grep -c . <<< "$calls")$(cut -d' ' -f1 <<< "$calls" | sort | uniq -c | awk '$1 { printf " (%s x %s)", $1, $2 }')"
others=$(grep -v "^${UNIT[$gone]} " <<< "$calls")
[ -z "$others" ] && pass "no SetUnitProperties calls for the other scopes" || { fail "calls for other scopes:"; indent <<< "$others"; }
ctl list --full | sed 's/^/    /'
ctl list --json > "$WORK/list2.json" || fail "iops-limitctl list --json"
got=$(python3 -c 'import json, sys
for r in json.load(open(sys.argv[1])):
    if r["containerId"] == sys.argv[2]: print(r["state"], "|", r["message"])' "$WORK/list2.json" "${ID[$gone]}")
case "$got" in
    "pending |"*) pass "list: $gone state ${got/|/(message:}$([ "${got#*| }" ] && echo ")")" ;;
    "") pass "list: $gone no longer listed" ;;
    *) fail "list: $gone '$got', want state pending (or not listed)" ;;
esac
echo "    ${UNIT[$gone]} now: $(th exec systemctl show -P LoadState,ActiveState "${UNIT[$gone]}" | xargs)," \
     "IOReadIOPSMax $(unit_prop "${UNIT[$gone]}" IOReadIOPSMax)"
# the others keep theirs
saved=("${PODS_ORDER[@]}")
PODS_ORDER=()
for pod in "${saved[@]}"; do [ "$pod" = "$gone" ] || PODS_ORDER+=("$pod"); done
check_scopes "after the scope vanished"
PODS_ORDER=("${saved[@]}")

log "the pods file drops $gone: the daemon forgets it"
python3 - "$WORK/pods.json" "$gone" <<'EOF2' || die "rewrite pods.json"
import json, os, sys
path, name = sys.argv[1:]
with open(path) as f:
    pods = json.load(f)
pods["items"] = [p for p in pods["items"] if p["metadata"]["name"] != name]
with open(path + ".new", "w") as f:
    json.dump(pods, f, indent=1)
os.replace(path + ".new", path)
EOF2
mark_log
wait_reconciles 2
mark_calls
wait_reconciles 1 && echo "    three reconciles later (LastSyncUSec $(mgr_prop LastSyncUSec))"
calls=$(new_calls)
[ -z "$calls" ] && pass "no SetUnitProperties calls once the pod is gone" || { fail "SetUnitProperties calls:"; indent <<< "$calls"; }
[ -z "$(new_log Failed)" ] && pass "no 'Failed' log lines" || { fail "'Failed' log lines:"; new_log Failed | indent; }
ctl list --json > "$WORK/list3.json" || fail "iops-limitctl list --json"
rows=$(python3 -c 'import json, sys; print(" ".join(sorted(r["pod"] for r in json.load(open(sys.argv[1])))))' "$WORK/list3.json")
want=$(for pod in "${PODS_ORDER[@]}"; do [ "$pod" = "$gone" ] || echo "$pod"; done | sort | xargs)
[ "$rows" = "$want" ] && pass "list: $rows" || fail "list: '$rows', want '$want'"
daemon_alive && pass "iops-limitd still running" || fail "iops-limitd died"

# ---------- 10. UnitNew alone ----------
pod=$POD_DEFAULT2
log "UnitNew: without inotify (IOPS_LIMIT_NO_INOTIFY=1) and without a poll (CHECK_INTERVAL=3600), a scope started after the daemon gets its limit"
stop_daemon || fail "iops-limitd exit status on SIGTERM"
th exec systemctl stop "${UNIT[$pod]}" < /dev/null
for _ in $(seq 50); do th exec systemctl is-active -q "${UNIT[$pod]}" < /dev/null || break; sleep 0.1; done
saved_interval=$INTERVAL INTERVAL=3600
export IOPS_LIMIT_NO_INOTIFY=1
start_daemon "$WORK/daemon-unitnew.log"
unset IOPS_LIMIT_NO_INOTIFY
INTERVAL=$saved_interval
t0=$(date +%s%N)
th exec systemd-run --quiet --scope --unit="${UNIT[$pod]}" --slice="${SLICE[$pod]}" \
    sleep 600 < /dev/null > /dev/null 2>> "$WORK/scopes.log" &
PIDS+=($!)
want=$(want_prop "${WANT[$pod]}") got=
for _ in $(seq 100); do
    got=$(unit_prop "${UNIT[$pod]}" IOReadIOPSMax)
    [ "$got" = "$want" ] && break
    sleep 0.05
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$got" = "$want" ] && pass "UnitNew: ${UNIT[$pod]} IOReadIOPSMax=$got ${ms} ms after systemd-run" ||
    fail "UnitNew: ${UNIT[$pod]} IOReadIOPSMax='$got' after ${ms} ms, want '$want'"

# ---------- 11. teardown ----------
log "teardown"
stop_daemon; rc=$?
[ "$rc" = 0 ] && pass "iops-limitd exited $rc on SIGTERM" || fail "iops-limitd exited $rc on SIGTERM"
t0=$SECONDS
stop_testhost && pass "testhost stopped in $((SECONDS - t0)) s" || fail "patched systemd-testhost stop failed"
[ ! -e "$TH_STATE" ] && pass "testhost state dir removed" || fail "$TH_STATE left behind: $(ls -A "$TH_STATE")"
[ ! -e "$CG2/$TH_NAME" ] && pass "testhost cgroup $CG2/$TH_NAME removed" || fail "$CG2/$TH_NAME left behind"
[ -e /tmp/systemd-testhost ] && [ -z "$plain_state_before" ] && fail "/tmp/systemd-testhost appeared"
blkio_after=$(grep -c ' - cgroup cgroup [^ ]*blkio' /proc/self/mountinfo)
[ "$blkio_after" = "$blkio_before" ] && pass "v1 blkio mounts as found ($blkio_after): $(grep ' - cgroup cgroup [^ ]*blkio' /proc/self/mountinfo | cut -d' ' -f5 | xargs)" ||
    fail "v1 blkio mounts: $blkio_after, were $blkio_before"
echo "    run time $((SECONDS - T0)) s"

finish
