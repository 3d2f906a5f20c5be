#!/bin/bash
# System test, environment files: what the real systemd 252 gives a service for each sample in
# tests/data/envfiles must still be what tests/data/envfiles/expected.json says, the table
# tests/unit/env_file_test.cpp checks core::parseEnvFile against. It re-runs
# tests/tools/envfile_expectations.sh (one no-io systemd-testhost of its own name, one transient
# `env -0` unit per sample, about 10 s) and compares the answers sample by sample, then checks
# that the comparison notices a changed answer and that the testhost is gone.
# Needs root, util-linux, python3, systemd, dbus (see require_testhost in lib.sh). Exit 0/1/77.
# shellcheck source-path=SCRIPTDIR disable=SC2015  # SC2015: in "check && pass || fail" pass never fails
set -u -o pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GENERATOR=$REPO/tests/tools/envfile_expectations.sh
EXPECTED=$REPO/tests/data/envfiles/expected.json
TH_NAME_ENVFILE=iops-limit-envfile-test   # not the generator's default: a manual run cannot collide
TH_STATE_ENVFILE=$WORK/th-state

require_testhost
[ -f "$EXPECTED" ] || die "$EXPECTED missing"
[ -e "$CG2/$TH_NAME_ENVFILE" ] &&
    die "$CG2/$TH_NAME_ENVFILE exists: a testhost '$TH_NAME_ENVFILE' is running or was left over by an earlier run (stop it: SYSD_TESTHOST_IO=0 SYSD_TESTHOST_NAME=$TH_NAME_ENVFILE SYSD_TESTHOST_STATE=<its state dir> <patched systemd-testhost> stop, or kill its processes and rmdir the cgroup)"
# The generator stops its testhost on every exit path it sees. Should it be killed outright, the
# testhost is stopped here, through the same name and state dir.
make_noio_testhost "$TH_NAME_ENVFILE" "$TH_STATE_ENVFILE"
# shellcheck disable=SC2317  # called by lib.sh's cleanup
stop_leftover_testhost() {
    if [ -e "$CG2/$TH_NAME_ENVFILE" ] || [ -e "$TH_STATE_ENVFILE/unshare.pid" ]; then
        echo "NOTE: stopping the generator's testhost $TH_NAME_ENVFILE" >&2
        TESTHOST_UP=1
        stop_testhost
    fi
}
CLEANUP_HOOKS+=(stop_leftover_testhost)
T0=$SECONDS

# Prints the differences between two expectation files, sample by sample; exit 1 if any.
compare() {   # RECORDED NEW
    python3 - "$1" "$2" <<'PY'
import json, sys
old, new = (json.load(open(p, encoding='utf-8')) for p in sys.argv[1:3])
print('    recorded with %s, now %s' % (old['systemd'], new['systemd']))
if old.get('baseline') != new.get('baseline'):
    print('    NOTE: the variables every unit gets changed: %s -> %s' % (old.get('baseline'), new.get('baseline')))
bad = 0
a, b = old['samples'], new['samples']
for name in sorted(set(a) | set(b)):
    if name not in a:
        print('    %s: no recorded answer (new sample? run tests/tools/envfile_expectations.sh)' % name); bad += 1; continue
    if name not in b:
        print('    %s: recorded, but no such sample any more' % name); bad += 1; continue
    if a[name] == b[name]:
        continue
    bad += 1
    for field in sorted(set(a[name]) | set(b[name])):
        x, y = a[name].get(field), b[name].get(field)
        if x == y:
            continue
        if field == 'variables' and isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y)):
                if x.get(k) != y.get(k):
                    print('    %s: %s: recorded %s, systemd now %s' % (name, k, json.dumps(x.get(k), ensure_ascii=False), json.dumps(y.get(k), ensure_ascii=False)))
        else:
            print('    %s: %s: recorded %s, systemd now %s' % (name, field, json.dumps(x, ensure_ascii=False), json.dumps(y, ensure_ascii=False)))
print('    %d of %d samples differ' % (bad, len(set(a) | set(b))))
sys.exit(1 if bad else 0)
PY
}

log "systemd's answers for every sample (tests/tools/envfile_expectations.sh)"
# Its temp dir inside ours: removed with it even if the generator is killed.
TMPDIR=$WORK ENVFILE_TESTHOST_NAME=$TH_NAME_ENVFILE ENVFILE_TESTHOST_STATE=$TH_STATE_ENVFILE \
    bash "$GENERATOR" "$WORK/systemd.json" 2>&1 | sed 's/^/    /'
rc=${PIPESTATUS[0]}
[ "$rc" = 77 ] && skip "the generator cannot run here (see above)"
[ "$rc" = 0 ] && [ -s "$WORK/systemd.json" ] || die "tests/tools/envfile_expectations.sh failed (exit $rc)"

log "compare with $EXPECTED"
n=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["samples"]))' "$EXPECTED")
compare "$EXPECTED" "$WORK/systemd.json" && pass "systemd gives the recorded answer for all $n samples" ||
    fail "systemd's answers differ from $EXPECTED (above); if systemd changed on purpose, re-run tests/tools/envfile_expectations.sh, check the diff and tests/unit/env_file_test.cpp"

log "the comparison notices a changed answer"
python3 - "$WORK/systemd.json" "$WORK/changed.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1], encoding='utf-8'))
d['samples']['issue-example.env']['variables']['EXCLUDE_NAMESPACES'] = 'kube-system,batch'
json.dump(d, open(sys.argv[2], 'w', encoding='utf-8'), ensure_ascii=False)
PY
out=$(compare "$WORK/systemd.json" "$WORK/changed.json"); rc=$?
[ "$rc" = 1 ] && grep -q 'issue-example.env: EXCLUDE_NAMESPACES' <<< "$out" &&
    pass "a changed value is reported: $(grep 'EXCLUDE_NAMESPACES' <<< "$out" | sed 's/^ *//')" ||
    fail "a changed value went unnoticed (exit $rc): $out"

log "teardown"
[ ! -e "$CG2/$TH_NAME_ENVFILE" ] && pass "testhost cgroup $CG2/$TH_NAME_ENVFILE removed" || fail "$CG2/$TH_NAME_ENVFILE left behind"
[ ! -e "$TH_STATE_ENVFILE/unshare.pid" ] && pass "testhost state dir cleared" || fail "$TH_STATE_ENVFILE still holds a running testhost"
echo "    run time $((SECONDS - T0)) s"
finish
