#!/bin/bash
# Records what the real systemd makes of every sample environment file in tests/data/envfiles/:
# for each *.env it starts a transient service with EnvironmentFile=<sample> that runs
# `env -0`, inside a real systemd (a no-io copy of systemd-testhost, see tests/system/lib.sh),
# and writes the variables the process got, systemd's Result= and its journal lines about the
# environment into a JSON file. These are the expectations of tests/unit/env_file_test.cpp; the
# system test tests/system/env_file_systemd_test.sh re-runs this script and compares.
#
#   tests/tools/envfile_expectations.sh [OUT]     # default OUT: tests/data/envfiles/expected.json
#
# Per sample (keys of "samples", the file names):
#   result        systemd's Result= with EnvironmentFile=PATH (success; resources = systemd refused
#                 the file and did not start the unit; exit-code = the command could not run)
#   exec_status   ExecMainStatus (203 = execve() failed)
#   variables     what the started process found in its environment beyond what every unit of this
#                 systemd gets (see "baseline"); a value is a JSON string (systemd passes only valid
#                 UTF-8; control characters are \u escapes), {"hex": ...} if it were not UTF-8, or
#                 {"length": N, "fnv1a64": HEX, "head": FIRST_40} when longer than 1024 bytes.
#                 When result is not success: what a unit with EnvironmentFile=-PATH got (the "-"
#                 our unit uses: a refused file is skipped); null if no process ran at all.
#   dash_result   Result= with EnvironmentFile=-PATH (only when result is not success)
#   log           systemd's journal lines for the unit about its environment, unit prefix and the
#                 samples' directory removed
#
# Needs root and what tests/system/lib.sh's require_testhost needs. Exit 0 written, 1 failure,
# 77 cannot run here (with the reason). Own testhost name (ENVFILE_TESTHOST_NAME, default
# iops-limit-envfile) and state dir (ENVFILE_TESTHOST_STATE, default in its temp dir); the
# testhost is stopped on every exit path.
# shellcheck source-path=SCRIPTDIR
set -u -o pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../system/lib.sh"

SAMPLES=${ENVFILE_SAMPLES:-$REPO/tests/data/envfiles}
OUT=${1:-$SAMPLES/expected.json}
TH_NAME_ENVFILE=${ENVFILE_TESTHOST_NAME:-iops-limit-envfile}
TH_STATE_ENVFILE=${ENVFILE_TESTHOST_STATE:-$WORK/th-state}
IN=/srv/iops-limit-envfiles        # the samples inside the testhost (a copy, bound in)
IN_OUT=/srv/iops-limit-envfiles-out

require_testhost
compgen -G "$SAMPLES/*.env" > /dev/null || die "no samples in $SAMPLES"
[ -e "$CG2/$TH_NAME_ENVFILE" ] &&
    die "$CG2/$TH_NAME_ENVFILE exists: a testhost '$TH_NAME_ENVFILE' is running or was left over by an earlier run (stop it: SYSD_TESTHOST_IO=0 SYSD_TESTHOST_NAME=$TH_NAME_ENVFILE SYSD_TESTHOST_STATE=<its state dir> <patched systemd-testhost> stop, or kill its processes and rmdir the cgroup)"
make_noio_testhost "$TH_NAME_ENVFILE" "$TH_STATE_ENVFILE"
CLEANUP_HOOKS+=(stop_testhost)

# A copy of the samples (systemd only reads them; the source tree is never bound in) and the
# script that runs them, inside the testhost.
mkdir -p "$WORK/samples" "$WORK/out" || die "mkdir"
cp "$SAMPLES"/*.env "$WORK/samples/" || die "copy the samples"
cat > "$WORK/out/run.sh" <<'EOF'
# Inside the testhost: one transient unit per sample, run one after the other.
IN=$1 OUT=$2
run() {   # UNIT ENVFILE-SPEC OUTPUT: prints "RESULT EXEC_STATUS"
    systemd-run --quiet --unit="$1" -p Type=oneshot -p RemainAfterExit=yes ${2:+-p EnvironmentFile="$2"} \
        -p StandardOutput="file:$3" -p StandardError=journal /usr/bin/env -0 > /dev/null 2>&1
    echo "$(systemctl show -P Result "$1") $(systemctl show -P ExecMainStatus "$1")"
    systemctl stop "$1" 2> /dev/null
    systemctl reset-failed "$1" 2> /dev/null
}
systemctl --version | head -n1 > "$OUT/systemd-version"
echo "baseline $(run envfile-baseline '' "$OUT/baseline.env0")" > "$OUT/manifest"
i=0
for f in "$IN"/*.env; do
    i=$((i + 1))
    name=${f##*/}
    set -- $(run "envfile-$i" "$f" "$OUT/$name.env0")
    result=$1 status=$2 dash=-
    if [ "$result" != success ]; then
        set -- $(run "envfile-$i-dash" "-$f" "$OUT/$name.dash.env0")
        dash=$1
    fi
    echo "$name $result $status $dash envfile-$i" >> "$OUT/manifest"
done
journalctl --sync
while read -r name _ _ _ unit; do
    journalctl -u "$unit.service" -o cat --no-pager > "$OUT/$name.log" 2>&1
done < <(tail -n +2 "$OUT/manifest")
EOF

log "systemd-testhost (no io move, name $TH_NAME_ENVFILE)"
TESTHOST_UP=1
t0=$SECONDS
if ! SYSD_TESTHOST_BINDS="$WORK/samples:$IN $WORK/out:$IN_OUT" th start < /dev/null > /dev/null 2> "$WORK/testhost.log"; then
    sed 's/^/    /' "$WORK/testhost.log"
    die "systemd-testhost start (patched, no io)"
fi
echo "    up in $((SECONDS - t0)) s"

samples=("$WORK"/samples/*.env)
log "${#samples[@]} samples, one transient unit each"
t0=$SECONDS
th exec bash "$IN_OUT/run.sh" "$IN" "$IN_OUT" < /dev/null || die "running the samples in the testhost failed"
echo "    $(cat "$WORK/out/systemd-version") in $((SECONDS - t0)) s"
stop_testhost || die "systemd-testhost stop failed"
[ ! -e "$CG2/$TH_NAME_ENVFILE" ] || die "testhost cgroup $CG2/$TH_NAME_ENVFILE left behind"

python3 - "$WORK/out" "$OUT" "$IN" <<'EOF' || die "writing $OUT failed"
import json, os, re, sys

out, dest, indir = sys.argv[1:]

def read_env0(path):
    if not os.path.exists(path):
        return None
    env = {}
    for item in open(path, 'rb').read().split(b'\0'):
        if item:
            k, _, v = item.partition(b'=')
            env[k.decode()] = v
    return env

def fnv1a64(b):
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
    return '%016x' % h

def value(b):
    if len(b) > 1024:
        return {'length': len(b), 'fnv1a64': fnv1a64(b), 'head': b[:40].decode('utf-8', 'replace')}
    try:
        return b.decode('utf-8')
    except UnicodeDecodeError:
        return {'hex': b.hex()}

manifest = [line.split() for line in open(os.path.join(out, 'manifest'))]
assert manifest[0][0] == 'baseline' and manifest[0][1] == 'success', manifest[0]
baseline = read_env0(os.path.join(out, 'baseline.env0'))
per_run = {'INVOCATION_ID', 'SYSTEMD_EXEC_PID', 'JOURNAL_STREAM'}   # differ in every run

def variables(path):
    env = read_env0(path)
    if env is None:
        return None
    return {k: value(v) for k, v in sorted(env.items())
            if k not in per_run and not (k in baseline and baseline[k] == v)}

keep = re.compile(r'nvironment|Failed to execute|Failed at step|status=')
samples = {}
for name, result, status, dash, unit in manifest[1:]:
    s = {'result': result, 'exec_status': int(status)}
    if result == 'success':
        s['variables'] = variables(os.path.join(out, name + '.env0'))
    else:
        s['dash_result'] = dash
        s['variables'] = variables(os.path.join(out, name + '.dash.env0')) if dash == 'success' else None
    log = []
    for line in open(os.path.join(out, name + '.log'), errors='replace'):
        line = line.rstrip('\n')
        if keep.search(line) and not line.startswith('-- '):
            log.append(line.replace(unit + '.service: ', '').replace(indir + '/', ''))
    s['log'] = log
    samples[name] = s

doc = {
    'comment': 'Written by tests/tools/envfile_expectations.sh: what the real systemd gave a service '
               'with EnvironmentFile=<sample>. Do not edit by hand; run the script (as root) instead.',
    'systemd': open(os.path.join(out, 'systemd-version')).read().strip(),
    'baseline': sorted(k for k in baseline),
    'samples': samples,
}
with open(dest + '.tmp', 'w', encoding='utf-8') as f:
    json.dump(doc, f, ensure_ascii=False, indent=1, sort_keys=True)
    f.write('\n')
os.replace(dest + '.tmp', dest)
print('    %d samples written to %s' % (len(samples), dest))
EOF
