#!/bin/bash
# Start latency through systemd: a container scope is created -> its limit is in force, p50/p99,
# for iops-limitd (inotify on the cgroup tree, SetUnitProperties, LimitApplied) and for a plain 1 s
# poller, both against a real systemd 252 in systemd-testhost (the no-io copy from
# tests/system/lib.sh: this VM's PID 1 pins the v1 blkio hierarchy). Then the same daemon with
# RUNC_CONTAINERS real runc containers (systemd cgroup driver, `runc create` then `runc start`, 4
# at a time): scope cgroup appears -> systemd has our limit, against scope cgroup appears -> the
# container's entrypoint runs, and the margin between the two (runc is installed with apt-get
# when missing).
#   tests/bench/systemd_latency.sh [BUILD_DIR] [CONTAINERS] [INTERVAL_MS] [RUNC_CONTAINERS]
# BUILD_DIR holds iops-limitd, iops-limit-systemd-latency-bench and iops-limit-entry-stamp
# (default: REPO/build-bench, as tests/bench/run.sh builds it). Prints "skipped: <reason>" and
# exits 77 where it cannot run (not root, no systemd, no dbus, ...). Takes about a minute.
# shellcheck source-path=SCRIPTDIR/../system
set -u -o pipefail
REPO_=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
export BUILD_DIR=${1:-$REPO_/build-bench}
N=${2:-250}
INTERVAL_MS=${3:-50}
RUNC_N=${4:-100}
LIMIT=300
. "$REPO_/tests/system/lib.sh"
DAEMON=$BUILD_DIR/service/daemon/iops-limitd
CLIENT=$BUILD_DIR/tests/bench/iops-limit-systemd-latency-bench
STAMP=$BUILD_DIR/tests/bench/iops-limit-entry-stamp
skip() { echo "  skipped: $*"; exit 77; }

echo "start latency through systemd: container scope created -> limit in force ($N containers, one every $INTERVAL_MS ms)"
require_testhost
{ [ -x "$DAEMON" ] && [ -x "$CLIENT" ] && [ -x "$STAMP" ]; } || skip "not built: $DAEMON, $CLIENT, $STAMP"
command -v runc > /dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends runc > /dev/null 2>&1 ||
    skip "runc is not installed and apt-get could not install it"
TH_NAME=iops-limit-bench-sysd
[ -e "$CG2/$TH_NAME" ] && skip "$CG2/$TH_NAME exists: a testhost '$TH_NAME' is running or was left over"
make_noio_testhost "$TH_NAME" "$WORK/th-state"
CLEANUP_HOOKS+=(stop_testhost)

make_loop_disk 64M > /dev/null
echo '{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[]}' > "$WORK/pods.json"
NODE_NAME=bench
start_emulator "$WORK/pods.json"   # no pods: every container is new to the daemon, as at a start
# the runc containers: one read-only rootfs holding only the entrypoint; bundles and the
# entrypoints' stamps in $WORK/runc, bound into the testhost as /srv/runc
RUNC=$WORK/runc
mkdir -p "$RUNC"/rootfs/{proc,dev,sys,out} "$RUNC/out" "$RUNC/bundles"
cp "$STAMP" "$RUNC/rootfs/stamp"
runc spec --bundle "$RUNC" || die "runc spec"
python3 - "$RUNC/config.json" <<'EOF' || die "runc config"
import json, sys
c = json.load(open(sys.argv[1]))
c["process"].update(terminal=False, args=["/stamp", "/out/@ID@"])
c["root"] = {"path": "/srv/runc/rootfs", "readonly": True}
c["mounts"].append({"destination": "/out", "type": "bind", "source": "/srv/runc/out", "options": ["rbind", "rw"]})
c["linux"]["cgroupsPath"] = "@SLICE@:cri-containerd:@ID@"
json.dump(c, open(sys.argv[1] + ".tpl", "w"), indent=1)
EOF
TESTHOST_UP=1
env=$(SYSD_TESTHOST_BINDS="$RUNC:/srv/runc" th start < /dev/null 2> "$WORK/testhost.log") ||
    { sed 's/^/    /' "$WORK/testhost.log"; skip "systemd-testhost did not start"; }
eval "$env"
export DBUS_SYSTEM_BUS_ADDRESS SYSD_TESTHOST_CGROUP
th exec sh -c 'cat > /usr/share/dbus-1/system.d/io.iopslimit1.conf' < "$REPO/dbus/io.iopslimit1.conf" || die "bus policy"
busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig || die "dbus ReloadConfig"
if grep -qw io "$SYSD_TESTHOST_CGROUP/cgroup.controllers"; then
    echo "  (io is on cgroup2 here, but the figures below are still up to systemd reporting the property)"
else
    echo "  NOTE: io is not on cgroup2 on this machine: io.max cannot be observed, so \"in force\" means"
    echo "        systemd accepted the limit and reports IOReadIOPSMax for the unit (it writes no io.max here)"
fi

# one process per container, already running in the testhost; StartTransientUnit moves it
# shellcheck disable=SC2016  # expanded by the shell in the testhost
th exec bash -c 'for i in $(seq "$1"); do sleep 3600 < /dev/null > /dev/null 2>&1 & echo $!; done' sleepers $((2 * N)) \
    < /dev/null > "$WORK/pids" || die "sleepers"
head -n "$N" "$WORK/pids" > "$WORK/pids.daemon"
tail -n "$N" "$WORK/pids" > "$WORK/pids.poller"

# iops-limitd, as the unit would run it (LIMIT_BACKEND=auto picks systemd), on the testhost's bus
env -i PATH="$PATH" DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" NODE_NAME=bench \
    KUBELET_HOST="$KUBELET_HOST" KUBELET_PORT="$KUBELET_PORT" KUBELET_CA_PATH="$KUBELET_CA_PATH" \
    KUBELET_CLIENT_CERT_PATH="$KUBELET_CLIENT_CERT_PATH" KUBELET_CLIENT_KEY_PATH="$KUBELET_CLIENT_KEY_PATH" \
    KUBELET_TOKEN_PATH="$KUBELET_TOKEN_PATH" CGROUP_ROOT="$SYSD_TESTHOST_CGROUP" LIMIT_BACKEND=auto \
    DATA_MOUNT="$LOOP_MNT" CONTAINER_IOPS_LIMIT=$LIMIT CHECK_INTERVAL=10 STATE_DIRECTORY="$WORK/state" \
    IOPS_LIMIT_ENV_FILES="$WORK/none" "$DAEMON" > /dev/null 2> "$WORK/daemon.log" &
DPID=$!
PIDS+=("$DPID")
for _ in $(seq 100); do [ "$(mgr_prop Backend)" = '"systemd"' ] && break; sleep 0.1; done
[ "$(mgr_prop Backend)" = '"systemd"' ] || { sed 's/^/    log: /' "$WORK/daemon.log"; die "iops-limitd: backend $(mgr_prop Backend), want systemd"; }

"$CLIENT" daemon "$N" "$INTERVAL_MS" "$WORK/pids.daemon" "$SYSD_TESTHOST_CGROUP" "$LOOP_MNT" "$LIMIT" 2> "$WORK/daemon.err" ||
    { sed 's/^/    /' "$WORK/daemon.err"; die "iops-limit-systemd-latency-bench daemon"; }

echo
echo "real runc containers: scope cgroup appears -> systemd has our limit / -> the entrypoint runs ($RUNC_N containers, 4 at a time)"
echo "  ($(runc --version | head -n1), systemd cgroup driver, cgroupsPath <pod slice>:cri-containerd:<id>)"
cat > "$WORK/start-runc" <<EOF
#!/bin/bash
# ID SLICE: in the testhost, runc create and then runc start, as containerd's shim runs them for
# the CRI plugin's CreateContainer and StartContainer (the kubelet sends the two back to back)
mkdir -p "$RUNC/bundles/\$1" &&
    sed -e "s/@ID@/\$1/g" -e "s/@SLICE@/\$2/g" "$RUNC/config.json.tpl" > "$RUNC/bundles/\$1/config.json" &&
    nsenter -t "$SYSD_TESTHOST_PID" -a runc --systemd-cgroup create --bundle "/srv/runc/bundles/\$1" "\$1" \
        < /dev/null > /dev/null 2>> "$WORK/runc.err" &&
    exec nsenter -t "$SYSD_TESTHOST_PID" -a runc --systemd-cgroup start "\$1" 2>> "$WORK/runc.err"
EOF
chmod +x "$WORK/start-runc"
"$CLIENT" runc "$RUNC_N" 4 "$WORK/start-runc" "$SYSD_TESTHOST_CGROUP" "$LOOP_MNT" "$LIMIT" "$RUNC/out" 2> "$WORK/runc-client.err" ||
    { sed 's/^/    /' "$WORK/runc-client.err" "$WORK/runc.err"; die "iops-limit-systemd-latency-bench runc"; }
[ -s "$WORK/runc.err" ] && sed 's/^/    runc: /' "$WORK/runc.err" | head -n 5
kill -TERM "$DPID"; wait "$DPID"
keep=(); for p in "${PIDS[@]}"; do [ "$p" = "$DPID" ] || keep+=("$p"); done; PIDS=("${keep[@]}")
"$CLIENT" poller "$N" "$INTERVAL_MS" "$WORK/pids.poller" "$SYSD_TESTHOST_CGROUP" "$LOOP_MNT" "$LIMIT" 2> "$WORK/poller.err" ||
    { sed 's/^/    /' "$WORK/poller.err"; die "iops-limit-systemd-latency-bench poller"; }
echo "  target: p99 <= 20 ms through systemd (see tests/bench/latency.cpp for the raw path)"
