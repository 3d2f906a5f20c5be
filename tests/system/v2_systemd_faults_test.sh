#!/bin/bash
# System test, systemd backend under faults: iops-limitd on the host against systemd 252 booted by
# systemd-testhost (the no-io copy, as in v2_systemd_backend_test.sh: systemd stores and reports
# IO*Max but writes no io.max here), containers as cri-containerd-<id>.scope units in the kubelet's
# slices. Each case ends with every live container scope read back with busctl (IOReadIOPSMax and
# IOWriteIOPSMax) and compared with what its pod calls for: zero wrong limits.
#
# a. kubelet down at start: iops-limitd starts with no state and nothing listening on the kubelet
#    port; the scopes get the node default (never unlimited, the excluded pod included: nothing
#    is known about it yet). Then the kubelet emulator comes up on that port: within a few
#    CHECK_INTERVALs the annotated pod has its annotation, the excluded pod no limit.
# b. churn: 500 container scopes created and stopped in 5 bursts of 100 (each burst stops the
#    previous one's scopes while it starts its own), their pods appearing in the kubelet's list
#    half-way through each burst, and the annotations of 20 long-lived pods changing every burst.
#    After each burst settles: every live scope right. Across the 4 bursts after the first: the
#    daemon's RssAnon grows by at most RSS_BOUND_KB (see there).
# c. systemd reexecutes back to back (daemon-reexec) while annotations change: the daemon waits
#    for it, logs no failure, and then every scope is right.
# Needs root, util-linux, e2fsprogs, python3, openssl, systemd (busctl), dbus. Exit 0/1/77.
# shellcheck source-path=SCRIPTDIR disable=SC2015  # SC2015: in "check && pass || fail" pass never fails
set -u -o pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEFAULT_IOPS=1000
INTERVAL=2                        # CHECK_INTERVAL of the daemon
UNLIMITED=18446744073709551615    # UINT64_MAX: systemd's "no limit"
BURSTS=5
PER_BURST=100
LONG_LIVED=20
# RssAnon growth allowed from the end of burst 1 to the end of burst 5. Both points have the same
# number of live containers (4 + 20 + 100) and pods, so the live state is the same size; burst 1
# is the warm-up (measured: +0.8 MiB from 24 to 124 containers, allocator pools and caches sized).
# Measured over the 4 bursts after it: +80 kB. 400 containers churned in between, so 2 MiB
# catches a leak of 5 KiB per container (a leaked pod, plan entry or bus message each) and leaves
# glibc room for a new heap segment or two.
RSS_BOUND_KB=2048
TH_STATE=$WORK/th-state

# ---------- preconditions ----------
require_testhost
require_daemon
TH_NAME=iops-limit-faults
[ -e "$CG2/$TH_NAME" ] &&
    die "$CG2/$TH_NAME exists: a testhost '$TH_NAME' left over by an earlier run (stop it: SYSD_TESTHOST_IO=0 SYSD_TESTHOST_NAME=$TH_NAME SYSD_TESTHOST_STATE=<its state dir> <patched systemd-testhost> stop, or kill its processes and rmdir the cgroup)"
make_noio_testhost "$TH_NAME" "$TH_STATE"

CLEANUP_HOOKS+=(stop_testhost)

rss_kb() {   # FIELD (VmRSS, RssAnon) of the daemon, in kB
    awk -v f="$1:" '$1 == f { print $2 }' "/proc/$DAEMON_PID/status"
}

# ---------- expected limits ----------
# EXPECT_FILE: one line per container that should be live: UNIT SLICE READ WRITE [NS/POD [early]]
# (IOPS; "none" = no limit from us; "early": its scope started before the kubelet listed its pod). A scope's limit as systemd reports it: the IOPS for $LOOP, or "none" for no
# entry or UINT64_MAX (how a removed limit may read back).
EXPECT_FILE=$WORK/expect
iops_of() {   # UNIT PROPERTY
    local v
    v=$(unit_prop "$1" "$2")
    case "$v" in
        'a(st) 0') echo none ;;
        "a(st) 1 \"$LOOP\" $UNLIMITED") echo none ;;
        "a(st) 1 \"$LOOP\" "*) echo "${v##* }" ;;
        *) echo "?($v)" ;;
    esac
}
live_scopes() {   # active cri-containerd-*.scope units in the testhost, one per line
    busctl --json=short call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager \
        ListUnitsByPatterns asas 1 active 1 'cri-containerd-*.scope' |
        python3 -c 'import json, sys
for u in json.load(sys.stdin)["data"][0]: print(u[0])'
}
# Every live scope against EXPECT_FILE; a live scope it does not list is wrong too, and so is a
# listed one that is not live. Sets WRONG (their number) and LIVE, prints the wrong ones (up to 10).
WRONG=0 LIVE=0
count_wrong() {
    local unit slice r w pod early gr gw n=0 shown=0 live
    declare -A want=() who=()
    WRONG=0 LIVE=0
    while read -r unit slice r w pod early; do want[$unit]="$r $w"; who[$unit]="${pod:-}${early:+, started before its pod was listed}"; done < "$EXPECT_FILE"
    live=$(live_scopes) || { WRONG=1; echo "    ListUnitsByPatterns failed"; return; }
    while read -r unit; do
        [ -n "$unit" ] || continue
        n=$((n + 1))
        gr=$(iops_of "$unit" IOReadIOPSMax); gw=$(iops_of "$unit" IOWriteIOPSMax)
        if [ "${want[$unit]-unexpected}" != "$gr $gw" ]; then
            WRONG=$((WRONG + 1))
            [ $((shown++)) -lt 10 ] && echo "    wrong: $unit (${who[$unit]-?}) read $gr write $gw, want ${want[$unit]-(not a container we started)}"
        fi
        unset "want[$unit]"
    done <<< "$live"
    for unit in "${!want[@]}"; do
        WRONG=$((WRONG + 1))
        [ $((shown++)) -lt 10 ] && echo "    wrong: $unit is not active (want ${want[$unit]})"
    done
    LIVE=$n
}
check_all() {   # LABEL
    count_wrong
    [ "$WRONG" = 0 ] && pass "$1: $LIVE live container scopes, 0 with a wrong limit" ||
        fail "$1: $WRONG of $LIVE live container scopes with a wrong limit"
}
# Polls until no scope is wrong or TIMEOUT s passed, then checks; SETTLED = the seconds it took.
settle_and_check() {   # LABEL TIMEOUT
    local t0 deadline=$((SECONDS + $2))
    t0=$(date +%s.%N)
    while count_wrong > /dev/null; [ "$WRONG" != 0 ] && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.3; done
    SETTLED=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
    check_all "$1"
    echo "    settled after $SETTLED s"
}

# Starts the scopes (lines UNIT SLICE on stdin) inside the testhost, all at once from one shell
# there, each a `sleep` under systemd-run --scope, and waits until they are all active.
start_scopes() {
    # shellcheck disable=SC2016  # expanded by the shell in the testhost
    th exec bash -c 'units=()
        while read -r unit slice; do
            systemd-run --quiet --scope --unit="$unit" --slice="$slice" sleep 1800 < /dev/null > /dev/null 2>> /tmp/scopes.log &
            units+=("$unit")
        done
        for i in $(seq 300); do
            n=$(systemctl show -P ActiveState "${units[@]}" | grep -cx active)
            [ "$n" = "${#units[@]}" ] && exit 0
            sleep 0.1
        done
        echo "only $n of ${#units[@]} scopes active; $(tail -n 3 /tmp/scopes.log)" >&2
        exit 1' > /dev/null
}
stop_scopes() {   # UNITS...: systemctl stop inside the testhost
    [ "$#" -gt 0 ] || return 0
    th exec systemctl stop "$@" < /dev/null 2>> "$WORK/stop.log"   # warnings about the runtime drop-ins
}

# Pods for the churn: writes the pods file (the 4 base pods, LONG_LIVED long-lived pods with
# annotations that depend on the burst, and the pods of burst K) and EXPECT_FILE. Pod kinds by
# index: 0 iops-limit/limit, 1 read-iops + write-iops, 2 no annotation (default), 3 kube-system
# (excluded). "units K" prints UNIT SLICE of burst K's containers (K=0: the long-lived ones).
cat > "$WORK/churn.py" <<'EOF'
import copy, hashlib, json, os, sys

base_file, default, long_lived, per_burst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cmd, k = sys.argv[5], int(sys.argv[6])
base = json.load(open(base_file))
base_expect = open(base_file.replace("base-pods.json", "base-expect")).read()
templ = {p["status"]["qosClass"]: p for p in base["items"] if p["metadata"]["namespace"] != "kube-system"}

def unit_slice(qos, uid, cid):
    q = "" if qos == "guaranteed" else "-" + qos
    pod = "kubepods%s-pod%s.slice" % (q, uid.replace("-", "_"))
    return "cri-containerd-%s.scope" % cid, pod

def pod(burst, i, version):
    h = hashlib.sha256(b"churn-%d-%d" % (burst, i)).hexdigest()
    uid = "%s-%s-4%s-8%s-%s" % (h[:8], h[8:12], h[13:16], h[17:20], h[20:32])
    cid = hashlib.sha256(b"ctr-%d-%d" % (burst, i)).hexdigest()
    qos = "BestEffort" if i % 2 else "Burstable"
    p = copy.deepcopy(templ[qos])
    m = p["metadata"]
    m["name"] = "churn-%d-%03d" % (burst, i)
    m["uid"] = uid
    m["namespace"] = "kube-system" if i % 4 == 3 else "churn"
    ann = {k: v for k, v in m.get("annotations", {}).items() if not k.startswith("iops-limit/")}
    lim = 100 + 10 * version + i  # version: the burst for long-lived pods, so they change each burst
    if i % 4 == 0:
        ann["iops-limit/limit"] = str(lim); want = (lim, lim)
    elif i % 4 == 1:
        ann["iops-limit/read-iops"] = str(lim); ann["iops-limit/write-iops"] = str(lim + 1); want = (lim, lim + 1)
    elif i % 4 == 2:
        want = (default, default)
    else:
        want = ("none", "none")
    m["annotations"] = ann
    cs = p["status"]["containerStatuses"][0]
    cs["containerID"] = "containerd://" + cid
    cs["name"] = "app"
    p["spec"]["containers"][0]["name"] = "app"
    unit, slice_ = unit_slice(qos.lower(), uid, cid)
    p["_expect"] = "%s/%s%s" % (m["namespace"], m["name"], " early" if burst and i < per_burst // 2 else "")
    return p, unit, slice_, want

def burst_pods(b, version):
    n = long_lived if b == 0 else per_burst
    return [pod(b, i, version) for i in range(n)]

if cmd == "units":
    for _, unit, slice_, _ in burst_pods(k, 0):
        print(unit, slice_)
elif cmd == "pods":
    out, expect = sys.argv[7], sys.argv[8]
    items, lines = list(base["items"]), base_expect.splitlines()
    for b in ([0, k] if k else [0]):
        for p, unit, slice_, want in burst_pods(b, k):
            lines.append("%s %s %s %s %s" % (unit, slice_, want[0], want[1], p.pop("_expect")))
            items.append(p)
    doc = dict(base); doc["items"] = items
    with open(out + ".new", "w") as f:
        json.dump(doc, f)
    os.replace(out + ".new", out)
    with open(expect, "w") as f:
        f.write("\n".join(lines) + "\n")
EOF
churn() { python3 "$WORK/churn.py" "$WORK/base-pods.json" "$DEFAULT_IOPS" "$LONG_LIVED" "$PER_BURST" "$@"; }

# ---------- set-up: disk, pods, testhost, the base pods' scopes ----------
T0=$SECONDS
log "loop disk"
make_loop_disk 64M
echo "    $LOOP ($LOOP_MAJMIN) on $LOOP_MNT"

log "pods; the kubelet port chosen, nothing listening there yet"
make_podlist "$WORK/pods.json"
cp "$WORK/pods.json" "$WORK/base-pods.json"
emulator_env "$(free_port)"
echo "    kubelet https://$KUBELET_HOST:$KUBELET_PORT/pods (node $NODE_NAME): down"

log "systemd-testhost start, io left on v1 (patched copy, SYSD_TESTHOST_IO=0, name $TH_NAME)"
start_noio_testhost
env=$TESTHOST_ENV
eval "$env"
export DBUS_SYSTEM_BUS_ADDRESS SYSD_TESTHOST_CGROUP
echo "    up in $TESTHOST_SECONDS s: cgroup $SYSD_TESTHOST_CGROUP, bus $DBUS_SYSTEM_BUS_ADDRESS"
th exec sh -c 'cat > /usr/share/dbus-1/system.d/io.iopslimit1.conf' < "$REPO/dbus/io.iopslimit1.conf" ||
    die "install the bus policy"
busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig || die "dbus ReloadConfig"

log "the base pods' containers as scopes"
declare -A WANT_BASE=([$POD_ANNOTATED]="$ANNOTATED_IOPS $ANNOTATED_IOPS" [$POD_DEFAULT]="$DEFAULT_IOPS $DEFAULT_IOPS"
                      [$POD_DEFAULT2]="$DEFAULT_IOPS $DEFAULT_IOPS" [$POD_EXCLUDED]="none none")
: > "$WORK/base-expect"
while read -r ns pod ctr id qos uid; do
    rel=$(container_cgroup systemd "$qos" "$uid" "$id")
    echo "${rel##*/} $(basename "$(dirname "$rel")") ${WANT_BASE[$pod]} $ns/$pod" >> "$WORK/base-expect"
    echo "    $ns/$pod/$ctr -> $rel (want ${WANT_BASE[$pod]})"
done < <(pod_containers "$WORK/pods.json")
[ "$(wc -l < "$WORK/base-expect")" = 4 ] || die "expected 4 containers in the base pods"
cut -d' ' -f1,2 "$WORK/base-expect" | start_scopes || die "start the base scopes"
echo "    set-up took $((SECONDS - T0)) s"

# ---------- a. kubelet down at start, then back ----------
log "a. iops-limitd starts (no state, kubelet down): the node default everywhere"
: > "$EXPECT_FILE"
while read -r unit slice _ _ pod; do echo "$unit $slice $DEFAULT_IOPS $DEFAULT_IOPS $pod" >> "$EXPECT_FILE"; done < "$WORK/base-expect"
[ -z "$(ls -A "$WORK/state" 2>/dev/null)" ] && pass "state directory empty" || fail "state directory not empty"
start_daemon "$WORK/daemon.log"
settle_and_check "kubelet down" $((2 * INTERVAL + 5))
echo "    PodSource $(mgr_prop PodSource), LastSyncUSec $(mgr_prop LastSyncUSec)"
grep -q '^Failed to get pods from kubelet API' "$DAEMON_LOG" && pass "logged the kubelet failure" ||
    fail "no 'Failed to get pods from kubelet API' in the log"
sleep $((2 * INTERVAL))
check_all "kubelet still down, $((2 * INTERVAL)) s later"

log "a. the kubelet emulator comes up on port $KUBELET_PORT"
cp "$WORK/base-expect" "$EXPECT_FILE"
start_emulator "$WORK/pods.json" "$KUBELET_PORT"
[ "$KUBELET_PORT" = "$(cat "$WORK/emulator.port")" ] || die "emulator on another port"
settle_and_check "kubelet back" $((4 * INTERVAL + 5))
python3 -c "import sys; sys.exit(not $SETTLED <= 3 * $INTERVAL + 1)" &&
    pass "annotation limits in force $SETTLED s after the kubelet came back (<= 3 x CHECK_INTERVAL + 1)" ||
    fail "annotation limits took $SETTLED s after the kubelet came back (want <= $((3 * INTERVAL + 1)) s)"
echo "    PodSource $(mgr_prop PodSource)"
daemon_alive && pass "iops-limitd running" || fail "iops-limitd died"

# ---------- b. churn ----------
log "b. churn: $LONG_LIVED long-lived pods, then $BURSTS bursts of $PER_BURST containers"
churn pods 0 "$WORK/pods.json" "$EXPECT_FILE" || die "churn.py pods 0"
churn units 0 > "$WORK/units-0"
start_scopes < "$WORK/units-0" || die "start the long-lived scopes"
wait_reconciles 2
settle_and_check "long-lived pods" $((2 * INTERVAL + 5))
RSS0=$(rss_kb RssAnon)
echo "    RssAnon ${RSS0} kB, VmRSS $(rss_kb VmRSS) kB before the churn"
prev=()
tb=$SECONDS
for k in $(seq "$BURSTS"); do
    t0=$SECONDS
    churn units "$k" > "$WORK/units-$k"
    # the first half of the scopes starts before the kubelet lists their pods ...
    head -n $((PER_BURST / 2)) "$WORK/units-$k" | start_scopes ||
        fail "burst $k: start the first half"
    # ... then the pods file changes: this burst's pods in, the last burst's out, long-lived
    # annotations changed; the last burst's scopes are stopped while the second half starts.
    churn pods "$k" "$WORK/pods.json" "$EXPECT_FILE" || die "churn.py pods $k"
    stop_scopes "${prev[@]}" & stopper=$!
    tail -n +$((PER_BURST / 2 + 1)) "$WORK/units-$k" | start_scopes ||
        fail "burst $k: start the second half"
    wait "$stopper" || fail "burst $k: stop the scopes of burst $((k - 1))"
    mapfile -t prev < <(cut -d' ' -f1 "$WORK/units-$k")
    echo "    burst $k: $PER_BURST started, $([ "$k" -gt 1 ] && echo "$PER_BURST" || echo 0) stopped in $((SECONDS - t0)) s"
    wait_reconciles 2
    settle_and_check "burst $k" $((2 * INTERVAL + 5))
    [ "$k" = 1 ] && RSS1=$(rss_kb RssAnon)
    echo "    RssAnon $(rss_kb RssAnon) kB, VmRSS $(rss_kb VmRSS) kB"
    daemon_alive || die "iops-limitd died in burst $k"
done
RSS5=$(rss_kb RssAnon)
echo "    $((BURSTS * PER_BURST)) containers in $((SECONDS - tb)) s"
echo "    RssAnon: ${RSS0} kB before, ${RSS1} kB after burst 1, ${RSS5} kB after burst $BURSTS" \
     "(+$((RSS5 - RSS0)) kB in all, +$((RSS5 - RSS1)) kB over the last $((BURSTS - 1)) bursts)"
[ $((RSS5 - RSS1)) -le "$RSS_BOUND_KB" ] &&
    pass "RssAnon grew $((RSS5 - RSS1)) kB over $(((BURSTS - 1) * PER_BURST)) churned containers (<= $RSS_BOUND_KB kB)" ||
    fail "RssAnon grew $((RSS5 - RSS1)) kB over $(((BURSTS - 1) * PER_BURST)) churned containers (> $RSS_BOUND_KB kB)"
n_applied=$(grep -c '^Applied' "$DAEMON_LOG"); n_failed=$(grep -c '^Failed' "$DAEMON_LOG")
echo "    daemon log: $n_applied 'Applied', $n_failed 'Failed' lines (kubelet-down failures included)"
grep '^Failed' "$DAEMON_LOG" | grep -v '^Failed to get pods from kubelet API' | sort | uniq -c | sort -rn | head -n 5 | sed 's/^/    /'

# ---------- c. systemd reexecutes under the daemon ----------
# daemon-reexec (as a package upgrade of systemd runs it): the call in flight gets NoReply, the
# next ones find nobody on org.freedesktop.systemd1 until systemd is back. That is no failure of a
# container's limit: the daemon says once that it waits, tries again every 2 s, and then every
# scope is right. The reexecs run back to back for REEXEC_SECONDS, so polls (every CHECK_INTERVAL)
# and the writes of changed annotations land while systemd is away.
REEXEC_SECONDS=8
log "c. systemd reexecutes back to back for $REEXEC_SECONDS s while the long-lived pods' annotations change"
stop_scopes "${prev[@]}" || fail "stop the scopes of burst $BURSTS"
wait_reconciles 1
mark=$(wc -l < "$DAEMON_LOG")
churn pods 0 "$WORK/pods.json" "$EXPECT_FILE" || die "churn.py pods 0"
n=0 t0=$SECONDS
while [ $((SECONDS - t0)) -lt "$REEXEC_SECONDS" ]; do
    th exec systemctl daemon-reexec < /dev/null 2>> "$WORK/reexec.log" && n=$((n + 1))
done
echo "    $n daemon-reexec in $((SECONDS - t0)) s"
[ "$n" -gt 0 ] || die "systemctl daemon-reexec failed in the testhost: $(tail -n 3 "$WORK/reexec.log")"
settle_and_check "after daemon-reexec" $((2 * INTERVAL + 10))
for _ in $(seq 50); do   # the retry that finds systemd back runs up to 2 s after it is
    tail -n +$((mark + 1)) "$DAEMON_LOG" > "$WORK/reexec-daemon.log"
    grep -q '^systemd answers again' "$WORK/reexec-daemon.log" && break
    sleep 0.1
done
grep -q '^systemd did not answer for' "$WORK/reexec-daemon.log" &&
    pass "the daemon waited for systemd: $(grep -m1 '^systemd did not answer' "$WORK/reexec-daemon.log" | cut -c1-160)" ||
    fail "no 'systemd did not answer' in the log: no poll or write met systemd away (or it was not recognised)"
! grep -q '^Failed to apply' "$WORK/reexec-daemon.log" &&
    pass "no 'Failed to apply' across the reexecs" ||
    fail "'Failed to apply' across the reexecs: $(grep -m2 '^Failed to apply' "$WORK/reexec-daemon.log" | cut -c1-200)"
grep -q '^systemd answers again' "$WORK/reexec-daemon.log" && pass "the daemon logged that systemd answers again" ||
    fail "no 'systemd answers again' in the log"
daemon_alive && pass "iops-limitd running" || fail "iops-limitd died"

# ---------- teardown ----------
log "teardown"
stop_daemon; rc=$?
[ "$rc" = 0 ] && pass "iops-limitd exited $rc on SIGTERM" || fail "iops-limitd exited $rc on SIGTERM"
t0=$SECONDS
stop_testhost && pass "testhost stopped in $((SECONDS - t0)) s" || fail "patched systemd-testhost stop failed"
[ ! -e "$CG2/$TH_NAME" ] && pass "testhost cgroup $CG2/$TH_NAME removed" || fail "$CG2/$TH_NAME left behind"
echo "    run time $((SECONDS - T0)) s"

finish
