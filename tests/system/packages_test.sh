#!/bin/bash
# System test, packaging: the .deb and .rpm built by tests/packages.sh (built here unless
# REPO/build-pkg already holds packages of the current sources), checked statically and then
# installed, used, upgraded and purged inside a real systemd 252.
#
# 1. lintian: 0 errors, 0 warnings; rpmlint: 0 errors.
# 2. `dpkg -c` and `rpm -qlp` list the same payload (binaries, unit, bus policy and interface,
#    the environment file in /etc/default vs /etc/sysconfig, man pages, bash completion);
#    `rpm -qp --scripts` holds the systemd scriptlets; `rpm --root SCRATCH --nodeps -i` lays out
#    the same files as the .deb, with the same contents for the text files.
# 3. In a patched copy of systemd-testhost (no io move: this VM's PID 1 pins the v1 blkio
#    hierarchy; SYSD_TESTHOST_IO=0, own name and state dir), with a loop disk bound in as /data
#    and the kubelet emulator running inside: `apt-get install ./iops-limit_*.deb` (enabled and
#    started by the maintainer scripts), configure /etc/default/iops-limit, `systemctl start`,
#    STATUS= "Limiting ...", busctl introspect, iops-limitctl list, the limits on the pods'
#    scopes, `systemctl reload` (and a refused invalid reload), an override, an upgrade to a
#    higher version (service restarted, override and configuration kept), `apt-get purge`
#    leaving no file behind. The testhost is stopped at the end; nothing is left behind.
# Needs root, apt-get (to install the packaging tools), util-linux, e2fsprogs, python3, openssl,
# systemd, dbus. Exit 0 pass, 1 fail, 77 skip.
# shellcheck source-path=SCRIPTDIR disable=SC2015,SC2016  # SC2015: in "check && pass || fail" pass never fails; SC2016: sed/dpkg-query formats
set -u -o pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PKG_OUT=${PKG_OUT:-$REPO/build-pkg}
PACKAGES_SH=$REPO/tests/packages.sh
TH_NAME=iops-limit-pkg
TH_STATE=$WORK/th-state
SHARE=$WORK/share          # bound into the testhost as $IN
IN=/srv/iops-limit-test
DEFAULT_IOPS=1000
RELOAD_IOPS=900
OVERRIDE_IOPS=77
T0=$SECONDS

# ---------- preconditions ----------
[ "$(id -u)" = 0 ] || skip "needs root"
command -v apt-get >/dev/null 2>&1 || skip "apt-get not found (the packaging test needs Debian's tools)"
require_testhost dpkg-deb
[ -e "$CG2/$TH_NAME" ] &&
    die "$CG2/$TH_NAME exists: a testhost '$TH_NAME' left over by an earlier run (stop it: SYSD_TESTHOST_IO=0 SYSD_TESTHOST_NAME=$TH_NAME SYSD_TESTHOST_STATE=<its state dir> <patched systemd-testhost> stop, or kill its processes and rmdir the cgroup)"

make_noio_testhost "$TH_NAME" "$TH_STATE"
blkio_before=$(grep -c ' - cgroup cgroup [^ ]*blkio' /proc/self/mountinfo)

thx() { th exec "$@" < /dev/null; }   # a command inside the testhost (with its own system bus)
# Stop the testhost before lib.sh's cleanup releases the loop disk (the testhost holds a mount
# of it); cleanup then sees the test's exit status as its $?.
# shellcheck disable=SC2154  # rc_ is set inside the trap
trap 'rc_=$?; stop_testhost; (exit "$rc_"); cleanup' EXIT

# ---------- 1. the packages ----------
log "packages in $PKG_OUT"
if PKG_OUT=$PKG_OUT "$PACKAGES_SH" --is-fresh; then
    echo "    built from the current sources already: reusing them"
else
    PKG_OUT=$PKG_OUT "$PACKAGES_SH" --install-tools > "$WORK/tools.log" 2>&1 ||
        { sed 's/^/    /' "$WORK/tools.log"; skip "the packaging tools could not be installed with apt-get (see above)"; }
    t0=$SECONDS
    PKG_OUT=$PKG_OUT "$PACKAGES_SH" > "$WORK/packages.log" 2>&1 ||
        { sed 's/^/    /' "$WORK/packages.log"; die "tests/packages.sh failed"; }
    grep -E '^==>|built in|ccache:' "$WORK/packages.log" | sed 's/^/    /'
    echo "    tests/packages.sh took $((SECONDS - t0)) s"
fi
DEB=$(compgen -G "$PKG_OUT/deb/iops-limit_*.deb" | head -n1)
RPM=$(compgen -G "$PKG_OUT/rpm/iops-limit-[0-9]*.rpm" | head -n1)
[ -f "$DEB" ] && [ -f "$RPM" ] || die "no packages in $PKG_OUT (deb: '$DEB', rpm: '$RPM')"
echo "    $DEB"
echo "    $RPM"
DEB_VERSION=$(dpkg-deb -f "$DEB" Version)

log "lintian"
t0=$SECONDS
lintian --display-info "$DEB" "$(compgen -G "$PKG_OUT/deb/*.changes" | head -n1)" > "$WORK/lintian.txt" 2>&1
sed 's/^/    /' "$WORK/lintian.txt"
n_e=$(grep -c '^E: ' "$WORK/lintian.txt"); n_w=$(grep -c '^W: ' "$WORK/lintian.txt")
[ "$n_e" = 0 ] && [ "$n_w" = 0 ] && pass "lintian: 0 errors, 0 warnings ($((SECONDS - t0)) s)" || fail "lintian: $n_e errors, $n_w warnings"

log "rpmlint"
rpmlint -r "$REPO/rpm/iops-limit.rpmlintrc" "$REPO/rpm/iops-limit.spec" "$RPM" > "$WORK/rpmlint.txt" 2>&1
rc=$?
grep -E ': [EW]: | checked;' "$WORK/rpmlint.txt" | sed 's/^/    /'
summary=$(grep -E 'packages and [0-9]+ specfiles checked' "$WORK/rpmlint.txt")
[[ $summary == *" 0 errors"* ]] && [ "$rc" = 0 ] && pass "rpmlint: 0 errors (${summary#*; })" ||
    fail "rpmlint: exit $rc, ${summary:-no summary}"

# ---------- 2. payload, scriptlets, layout ----------
# Paths of the payload, one per line, with the distribution-specific parts named alike:
# the environment file, the unit directory; documentation and build-id links left out.
normalize() {
    sed -e 's,^\./,/,' -e 's,^/etc/default/iops-limit$,ENVFILE,' -e 's,^/etc/sysconfig/iops-limit$,ENVFILE,' \
        -e 's,^/lib/systemd/system/,UNITDIR/,' -e 's,^/usr/lib/systemd/system/,UNITDIR/,' \
        -e 's,\.gz$,,' |
        grep -vE '^/usr/share/doc/|^/usr/lib/\.build-id(/|$)' | sort
}
log "dpkg -c vs rpm -qlp"
dpkg -c "$DEB" | awk '$1 !~ /^d/ { print $6 }' | normalize > "$WORK/deb.list"
rpm -qlp "$RPM" 2>/dev/null | normalize > "$WORK/rpm.list"
sed 's/^/    /' "$WORK/deb.list"
if diff -u "$WORK/deb.list" "$WORK/rpm.list" > "$WORK/list.diff"; then
    pass "dpkg -c and rpm -qlp list the same $(wc -l < "$WORK/deb.list") files"
else
    fail "payloads differ (- deb, + rpm):"; sed 's/^/    /' "$WORK/list.diff"
fi
for f in /usr/sbin/iops-limitd /usr/bin/iops-limitctl UNITDIR/iops-limitd.service ENVFILE \
         /usr/share/dbus-1/system.d/io.iopslimit1.conf /usr/share/dbus-1/interfaces/io.iopslimit1.Manager.xml \
         /usr/share/man/man8/iops-limitd.8 /usr/share/man/man1/iops-limitctl.1 \
         /usr/share/bash-completion/completions/iops-limitctl; do
    grep -qxF "$f" "$WORK/deb.list" && grep -qxF "$f" "$WORK/rpm.list" && pass "both ship $f" || fail "not in both payloads: $f"
done
dpkg -c "$DEB" > "$WORK/dpkg-c.txt"; rpm -qlp "$RPM" > "$WORK/rpm-qlp.txt" 2>/dev/null
grep -q ' \./lib/systemd/system/iops-limitd\.service$' "$WORK/dpkg-c.txt" && pass "deb: unit in /lib/systemd/system" ||
    fail "deb: unit not in /lib/systemd/system"
grep -qx /usr/lib/systemd/system/iops-limitd.service "$WORK/rpm-qlp.txt" && pass "rpm: unit in /usr/lib/systemd/system" ||
    fail "rpm: unit not in /usr/lib/systemd/system"
dpkg-deb -I "$DEB" conffiles > "$WORK/conffiles" 2>&1; dpkg-deb -I "$DEB" postinst > "$WORK/postinst" 2>&1
grep -qx /etc/default/iops-limit "$WORK/conffiles" && pass "deb: /etc/default/iops-limit is a conffile" ||
    fail "deb: /etc/default/iops-limit is not a conffile"
rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$RPM" > "$WORK/rpm-flags.txt" 2>/dev/null
grep -qx 'cn /etc/sysconfig/iops-limit' "$WORK/rpm-flags.txt" &&
    pass "rpm: /etc/sysconfig/iops-limit is %config(noreplace)" || fail "rpm: /etc/sysconfig/iops-limit is not %config(noreplace)"

log "rpm -qp --scripts"
rpm -qp --scripts "$RPM" 2>/dev/null > "$WORK/scripts.txt"
sed 's/^/    /' "$WORK/scripts.txt"
for want in 'postinstall scriptlet' 'preuninstall scriptlet' 'postuninstall scriptlet'; do
    grep -q "^$want" "$WORK/scripts.txt" && pass "rpm has a $want" || fail "rpm has no $want"
done
# Fedora's macros call systemd-update-helper, the fallbacks systemctl: either names the unit
grep -qE '(systemctl --no-reload preset|systemd-update-helper install-system-units) iops-limitd\.service' "$WORK/scripts.txt" &&
    pass "%post presets iops-limitd.service" || fail "%post does not preset iops-limitd.service"
grep -qE '(systemctl --no-reload disable --now|systemd-update-helper remove-system-units) iops-limitd\.service' "$WORK/scripts.txt" &&
    pass "%preun disables and stops iops-limitd.service" || fail "%preun does not disable iops-limitd.service"
grep -qE '(systemctl try-restart|systemd-update-helper mark-restart-system-units) iops-limitd\.service' "$WORK/scripts.txt" &&
    pass "%postun restarts iops-limitd.service on upgrade" || fail "%postun does not restart iops-limitd.service"
grep -q "deb-systemd-helper enable 'iops-limitd.service'" "$WORK/postinst" &&
    grep -q "deb-systemd-invoke \$_dh_action 'iops-limitd.service'" "$WORK/postinst" &&
    pass "deb postinst enables and (re)starts iops-limitd.service" || fail "deb postinst lacks the dh_installsystemd snippets"

log "rpm --root SCRATCH --nodeps -i vs dpkg-deb -x"
RPM_ROOT=$WORK/rpm-root DEB_ROOT=$WORK/deb-root
mkdir -p "$RPM_ROOT" "$DEB_ROOT"
# --noscripts: the scratch root has no /bin/sh or systemctl to run them with
rpm --root "$RPM_ROOT" --dbpath /var/lib/rpm --nodeps --noscripts -i "$RPM" > "$WORK/rpm-i.log" 2>&1 ||
    { sed 's/^/    /' "$WORK/rpm-i.log"; fail "rpm --root $RPM_ROOT -i"; }
dpkg-deb -x "$DEB" "$DEB_ROOT" || fail "dpkg-deb -x"
layout() { (cd "$1" && find . \( -type f -o -type l \) ! -path './var/lib/rpm/*' ! -path './usr/lib/sysimage/*' | normalize); }
if diff -u <(layout "$DEB_ROOT") <(layout "$RPM_ROOT") > "$WORK/layout.diff"; then
    pass "rpm --root lays out the same $(layout "$RPM_ROOT" | wc -l) files as the deb"
else
    fail "layouts differ (- deb, + rpm):"; sed 's/^/    /' "$WORK/layout.diff"
fi
same() {   # DEB-PATH RPM-PATH
    cmp -s "$DEB_ROOT$1" "$RPM_ROOT$2" && pass "same content: $1" || fail "content differs: $1 vs $2"
}
same /etc/default/iops-limit /etc/sysconfig/iops-limit
same /lib/systemd/system/iops-limitd.service /usr/lib/systemd/system/iops-limitd.service
for f in /usr/share/dbus-1/system.d/io.iopslimit1.conf /usr/share/dbus-1/interfaces/io.iopslimit1.Manager.xml \
         /usr/share/bash-completion/completions/iops-limitctl; do same "$f" "$f"; done
for m in man8/iops-limitd.8 man1/iops-limitctl.1; do   # the .TH line carries the build date
    cmp -s <(zcat "$DEB_ROOT/usr/share/man/$m.gz" | grep -v '^\.TH') <(zcat "$RPM_ROOT/usr/share/man/$m.gz" | grep -v '^\.TH') &&
        pass "same man page: $m" || fail "man pages differ: $m"
done
for b in usr/sbin/iops-limitd usr/bin/iops-limitctl; do
    [ "$(stat -c %a "$DEB_ROOT/$b")" = 755 ] && [ "$(stat -c %a "$RPM_ROOT/$b")" = 755 ] && pass "/$b is 0755 in both" ||
        fail "/$b modes: deb $(stat -c %a "$DEB_ROOT/$b"), rpm $(stat -c %a "$RPM_ROOT/$b")"
done
# every variable of `iops-limitd --help` is documented in the environment file and the man page
vars=$("$DEB_ROOT/usr/sbin/iops-limitd" --help | awk '/^Configuration comes/ { on = 1; next } on && /^  [A-Z_]+ / { print $1 }')
[ -n "$vars" ] || fail "iops-limitd --help lists no variables"
missing_env='' missing_man=''
for v in $vars; do
    [ "$v" = STATE_DIRECTORY ] || grep -qE "^#?$v=" "$DEB_ROOT/etc/default/iops-limit" || missing_env+=" $v"
    zcat "$DEB_ROOT/usr/share/man/man8/iops-limitd.8.gz" | grep -q "$v" || missing_man+=" $v"
done
[ -z "$missing_env" ] && pass "/etc/default/iops-limit documents all $(wc -w <<< "$vars") variables of --help (STATE_DIRECTORY is systemd's)" ||
    fail "not in /etc/default/iops-limit:$missing_env"
[ -z "$missing_man" ] && pass "iops-limitd(8) documents every variable of --help" || fail "not in iops-limitd(8):$missing_man"
rm -rf "$RPM_ROOT" "$DEB_ROOT"

# ---------- 3. install, use, upgrade, purge inside systemd ----------
log "upgrade package: $DEB_VERSION -> $DEB_VERSION+pkgtest1 (dpkg-deb repack)"
mkdir -p "$SHARE" && chmod 755 "$SHARE"
cp "$DEB" "$SHARE/" || die "copy $DEB"
DEB_IN=$IN/$(basename "$DEB")
UP_DEB=$(repack_deb "$DEB" "$DEB_VERSION+pkgtest1" "$SHARE") || die "repack $DEB as $DEB_VERSION+pkgtest1"
UP_NAME=$(basename "$UP_DEB")
echo "    $UP_DEB"

log "loop disk (the node's data disk, /data in the testhost), pods, certificates"
make_loop_disk 64M
echo "    $LOOP ($LOOP_MAJMIN) on $LOOP_MNT"
make_podlist "$SHARE/pods.json"
"$REPO/tests/tools/make_certs.sh" "$SHARE/pki" || die "make_certs.sh"
cp "$REPO/tests/tools/kube_emulator.py" "$SHARE/"

log "systemd-testhost start (patched: io left on v1; name $TH_NAME)"
SYSD_TESTHOST_BINDS="$LOOP_MNT:/data $SHARE:$IN" start_noio_testhost
# not eval'd: its DBUS_SYSTEM_BUS_ADDRESS is for host-side clients; everything here runs inside
echo "    up in $TESTHOST_SECONDS s ($(grep -o 'SYSD_TESTHOST_PID=[0-9]*' <<< "$TESTHOST_ENV"))"
thx findmnt -n -o SOURCE,FSTYPE /data | grep -q "^$LOOP ext4" && pass "/data in the testhost is $LOOP" ||
    fail "/data in the testhost: $(thx findmnt -n -o SOURCE,FSTYPE /data)"

log "kubelet emulator inside the testhost (its own network namespace)"
# a transient service, so that the testhost's systemd stops it at shutdown (a process merely
# entered with `exec` keeps the namespace alive until the stop times out and kills it)
thx systemd-run --quiet --unit=kube-emulator python3 "$IN/kube_emulator.py" --pods "$IN/pods.json" \
    --port-file "$IN/emulator.port" --cert "$IN/pki/server.crt" --key "$IN/pki/server.key" \
    --client-ca "$IN/pki/ca.crt" --token "$IN/pki/token" || die "systemd-run kube-emulator"
for _ in $(seq 100); do [ -s "$SHARE/emulator.port" ] && break; sleep 0.1; done
[ -s "$SHARE/emulator.port" ] || { thx journalctl -u kube-emulator --no-pager; die "kube emulator did not start"; }
PORT=$(cat "$SHARE/emulator.port")
echo "    https://127.0.0.1:$PORT/pods (node $PODLIST_NODE)"

log "apt-get install ./$(basename "$DEB")"
# This VM's image ships a Docker-style /usr/sbin/policy-rc.d (exit 101) that forbids starting
# services from maintainer scripts; a real node has none. Remove it in the testhost only (its
# / is a throw-away overlay) so that postinst really enables and starts the unit.
thx rm -f /usr/sbin/policy-rc.d
if thx env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$DEB_IN" > "$WORK/apt-install.log" 2>&1; then
    pass "apt-get install ./$(basename "$DEB")"
else
    sed 's/^/    /' "$WORK/apt-install.log"; die "apt-get install failed"
fi
grep -E 'Setting up|Created symlink' "$WORK/apt-install.log" | sed 's/^/    /'
[ "$(thx systemctl is-enabled iops-limitd)" = enabled ] && pass "iops-limitd.service enabled by the package" ||
    fail "iops-limitd.service is $(thx systemctl is-enabled iops-limitd)"
# started by postinst with the shipped configuration (DATA_MOUNT=/data exists here; no kubelet)
for _ in $(seq 50); do thx systemctl is-active -q iops-limitd && break; sleep 0.2; done
[ "$(thx systemctl is-active iops-limitd)" = active ] && pass "iops-limitd.service started by the package" ||
    { fail "iops-limitd.service after install: $(thx systemctl is-active iops-limitd)"
      thx journalctl -u iops-limitd --no-pager -n 20 -o cat | sed 's/^/    journal: /'; }
for f in /usr/sbin/iops-limitd /usr/bin/iops-limitctl /etc/default/iops-limit /lib/systemd/system/iops-limitd.service \
         /usr/share/dbus-1/system.d/io.iopslimit1.conf /usr/share/man/man8/iops-limitd.8.gz \
         /usr/share/bash-completion/completions/iops-limitctl; do
    thx test -e "$f" || fail "not installed: $f"
done

log "configure /etc/default/iops-limit, pods' scopes, systemctl start iops-limitd"
thx systemctl stop iops-limitd || fail "systemctl stop"
cat > "$WORK/config" <<EOF

# added by packages_test.sh
NODE_NAME=$PODLIST_NODE
KUBELET_HOST=127.0.0.1
KUBELET_PORT=$PORT
KUBELET_CA_PATH=$IN/pki/ca.crt
KUBELET_CLIENT_CERT_PATH=$IN/pki/client.crt
KUBELET_CLIENT_KEY_PATH=$IN/pki/client.key
KUBELET_TOKEN_PATH=$IN/pki/token
DATA_MOUNT=/data
CONTAINER_IOPS_LIMIT=$DEFAULT_IOPS
CHECK_INTERVAL=5
EOF
th exec sh -c 'cat >> /etc/default/iops-limit' < "$WORK/config" || die "write /etc/default/iops-limit"
declare -A UNIT
mapfile -t containers < <(pod_containers "$SHARE/pods.json")
for line in "${containers[@]}"; do
    read -r ns pod ctr id qos uid <<< "$line"
    rel=$(container_cgroup systemd "$qos" "$uid" "$id")
    unit=${rel##*/} slice=$(basename "$(dirname "$rel")")
    th exec systemd-run --quiet --scope --unit="$unit" --slice="$slice" sleep 900 \
        < /dev/null > /dev/null 2>> "$WORK/scopes.log" &
    PIDS+=($!)
    for _ in $(seq 50); do thx systemctl is-active -q "$unit" && break; sleep 0.1; done
    thx systemctl is-active -q "$unit" || die "scope $unit did not start: $(cat "$WORK/scopes.log")"
    UNIT[$pod]=$unit
    echo "    $ns/$pod/$ctr -> $rel"
done
t0=$SECONDS
thx systemctl start iops-limitd && pass "systemctl start iops-limitd ($((SECONDS - t0)) s, Type=notify)" ||
    { thx journalctl -u iops-limitd --no-pager | tail -n 30 | sed 's/^/    /'; die "systemctl start iops-limitd"; }
thx systemctl status iops-limitd --no-pager > "$WORK/status.txt" 2>&1
sed 's/^/    /' "$WORK/status.txt" | head -n 20
status_text=$(thx systemctl show -P StatusText iops-limitd)
grep -qF "Status: \"Limiting " "$WORK/status.txt" && [[ $status_text == "Limiting 3 containers on ${LOOP#/dev/} ($LOOP_MAJMIN) via systemd; pods from kubelet"* ]] &&
    pass "STATUS=: $status_text" || fail "STATUS=: '$status_text'"

log "busctl introspect io.iopslimit1 /io/iopslimit1"
thx busctl introspect io.iopslimit1 /io/iopslimit1 > "$WORK/introspect.txt" 2>&1
grep -E '^io\.iopslimit1\.Manager|^\.(ListContainers|SetPodOverride|Reload) |^\.PodSource ' "$WORK/introspect.txt" | sed 's/^/    /'
for m in ListContainers Explain SetPodOverride ClearPodOverride ListOverrides Resync Reload PodSource DefaultLimits; do
    grep -q "^\.$m " "$WORK/introspect.txt" || fail "introspect: no $m"
done
grep -q '^io\.iopslimit1\.Manager ' "$WORK/introspect.txt" && pass "busctl introspect shows io.iopslimit1.Manager" ||
    fail "busctl introspect: $(head -n 3 "$WORK/introspect.txt")"

log "iops-limitctl list"
thx iops-limitctl list > "$WORK/list.txt" 2>&1 || fail "iops-limitctl list: exit $?"
sed 's/^/    /' "$WORK/list.txt"
check_row() {   # POD SOURCE READ-IOPS STATE
    local row
    row=$(awk -v p="$1" '$2 == p { print $5, $6, $10 }' "$WORK/list.txt")
    [ "$row" = "$2 $3 $4" ] && pass "list: $1 $row" || fail "list: $1 '$row', want '$2 $3 $4'"
}
check_row "$POD_ANNOTATED" annotation "$ANNOTATED_IOPS" applied
check_row "$POD_DEFAULT" default "$DEFAULT_IOPS" applied
check_row "$POD_DEFAULT2" default "$DEFAULT_IOPS" applied
check_row "$POD_EXCLUDED" excluded - excluded
scope_iops() { thx systemctl show -P IOReadIOPSMax "${UNIT[$1]}"; }
[ "$(scope_iops "$POD_ANNOTATED")" = "$LOOP $ANNOTATED_IOPS" ] && pass "systemd: ${UNIT[$POD_ANNOTATED]} IOReadIOPSMax=$LOOP $ANNOTATED_IOPS" ||
    fail "systemd: ${UNIT[$POD_ANNOTATED]} IOReadIOPSMax='$(scope_iops "$POD_ANNOTATED")'"
thx iops-limitctl status | sed 's/^/    /'

log "systemctl reload iops-limitd"
thx sed -i "s/^CONTAINER_IOPS_LIMIT=$DEFAULT_IOPS\$/CONTAINER_IOPS_LIMIT=$RELOAD_IOPS/" /etc/default/iops-limit
thx systemctl reload iops-limitd && pass "systemctl reload (CONTAINER_IOPS_LIMIT=$RELOAD_IOPS)" || fail "systemctl reload failed"
defaults=$(thx busctl get-property io.iopslimit1 /io/iopslimit1 io.iopslimit1.Manager DefaultLimits)
[ "$defaults" = "(tttt) $RELOAD_IOPS $RELOAD_IOPS 0 0" ] && pass "DefaultLimits after reload: $defaults" || fail "DefaultLimits after reload: '$defaults'"
[ "$(scope_iops "$POD_DEFAULT")" = "$LOOP $RELOAD_IOPS" ] && pass "systemd: ${UNIT[$POD_DEFAULT]} IOReadIOPSMax=$LOOP $RELOAD_IOPS after reload" ||
    fail "systemd: ${UNIT[$POD_DEFAULT]} IOReadIOPSMax='$(scope_iops "$POD_DEFAULT")' after reload"
pid_before=$(thx systemctl show -P MainPID iops-limitd)
thx sed -i "s/^CONTAINER_IOPS_LIMIT=$RELOAD_IOPS\$/CONTAINER_IOPS_LIMIT=lots/" /etc/default/iops-limit
if thx systemctl reload iops-limitd > "$WORK/bad-reload.txt" 2>&1; then
    fail "systemctl reload accepted CONTAINER_IOPS_LIMIT=lots"
else
    pass "systemctl reload refuses CONTAINER_IOPS_LIMIT=lots"
fi
thx journalctl -u iops-limitd --no-pager -n 3 -o cat | sed 's/^/    journal: /'
[ "$(thx systemctl is-active iops-limitd)" = active ] && [ "$(thx systemctl show -P MainPID iops-limitd)" = "$pid_before" ] &&
    pass "still running (pid $pid_before) with the old configuration" || fail "not running as before after the refused reload"
thx sed -i "s/^CONTAINER_IOPS_LIMIT=lots\$/CONTAINER_IOPS_LIMIT=$RELOAD_IOPS/" /etc/default/iops-limit
thx systemctl reload iops-limitd || fail "systemctl reload after restoring the configuration"

log "metrics under the hardened unit: METRICS_ADDRESS=9863 and reload; top as nobody"
thx sh -c 'echo METRICS_ADDRESS=9863 >> /etc/default/iops-limit'
thx systemctl reload iops-limitd || fail "systemctl reload with METRICS_ADDRESS"
thx curl -sf http://127.0.0.1:9863/metrics > "$WORK/metrics.txt" || fail "no metrics at 127.0.0.1:9863 inside the testhost"
limited=$(grep -c '^iopslimit_container_limit{.*limit="read_iops"}' "$WORK/metrics.txt")
managed=$(awk '$1 == "iopslimit_managed_containers" { print $2 }' "$WORK/metrics.txt")
[ -n "$managed" ] && [ "$managed" -ge 1 ] && [ "$limited" = "$managed" ] &&
    pass "metrics: $managed managed containers, $limited read_iops limits" ||
    fail "metrics: managed '${managed:-none}', read_iops limits $limited"
grep -q '^iopslimit_build_info{.*backend="systemd"' "$WORK/metrics.txt" && pass "metrics: backend systemd" ||
    fail "metrics: no build_info with backend systemd"
thx setpriv --reuid=65534 --regid=65534 --clear-groups iops-limitctl top -b -n 1 > "$WORK/top.txt" 2>&1 &&
    grep -q "^POD " "$WORK/top.txt" && pass "iops-limitctl top as uid 65534 (the shipped bus policy)" ||
    { sed 's/^/    /' "$WORK/top.txt"; fail "iops-limitctl top as uid 65534"; }

log "iops-limitctl set $(echo "$POD_DEFAULT" | cut -c1-20)... --iops $OVERRIDE_IOPS"
NS_DEFAULT=$(awk -v p="$POD_DEFAULT" '$2 == p { print $1 }' "$WORK/list.txt")
thx iops-limitctl set "$NS_DEFAULT/$POD_DEFAULT" --iops "$OVERRIDE_IOPS" && pass "iops-limitctl set $NS_DEFAULT/$POD_DEFAULT --iops $OVERRIDE_IOPS" ||
    fail "iops-limitctl set"
check_override() {   # LABEL
    local o
    o=$(thx iops-limitctl --no-legend overrides | awk -v p="$POD_DEFAULT" '$2 == p { print $3, $4 }')
    [ "$o" = "$OVERRIDE_IOPS $OVERRIDE_IOPS" ] && pass "$1: override $o" || fail "$1: override '$o'"
    for _ in $(seq 50); do [ "$(scope_iops "$POD_DEFAULT")" = "$LOOP $OVERRIDE_IOPS" ] && break; sleep 0.2; done
    [ "$(scope_iops "$POD_DEFAULT")" = "$LOOP $OVERRIDE_IOPS" ] && pass "$1: ${UNIT[$POD_DEFAULT]} IOReadIOPSMax=$LOOP $OVERRIDE_IOPS" ||
        fail "$1: ${UNIT[$POD_DEFAULT]} IOReadIOPSMax='$(scope_iops "$POD_DEFAULT")'"
}
check_override "after set"

log "upgrade: apt-get install ./$UP_NAME"
pid_before=$(thx systemctl show -P MainPID iops-limitd)
if thx env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$IN/$UP_NAME" > "$WORK/apt-upgrade.log" 2>&1; then
    pass "apt-get install ./$UP_NAME"
else
    sed 's/^/    /' "$WORK/apt-upgrade.log"; fail "apt-get install (upgrade) failed"
fi
grep -E 'Unpacking|Setting up' "$WORK/apt-upgrade.log" | sed 's/^/    /'
v=$(thx dpkg-query -W -f '${Version}' iops-limit)
[ "$v" = "$DEB_VERSION+pkgtest1" ] && pass "installed version $v" || fail "installed version '$v'"
pid_after=$(thx systemctl show -P MainPID iops-limitd)
[ "$(thx systemctl is-active iops-limitd)" = active ] && [ "$pid_after" != 0 ] && [ "$pid_after" != "$pid_before" ] &&
    pass "restarted on upgrade (pid $pid_before -> $pid_after) and running" ||
    fail "after upgrade: $(thx systemctl is-active iops-limitd), pid $pid_before -> $pid_after"
thx grep -qx "KUBELET_PORT=$PORT" /etc/default/iops-limit && thx grep -qx "CONTAINER_IOPS_LIMIT=$RELOAD_IOPS" /etc/default/iops-limit &&
    pass "modified conffile /etc/default/iops-limit kept" || fail "/etc/default/iops-limit lost our settings"
check_override "after upgrade"
[[ $(thx systemctl show -P StatusText iops-limitd) == "Limiting 3 containers"* ]] && pass "STATUS= after upgrade: $(thx systemctl show -P StatusText iops-limitd)" ||
    fail "STATUS= after upgrade: $(thx systemctl show -P StatusText iops-limitd)"

log "apt-get purge iops-limit"
thx test -s /var/lib/iops-limit/overrides.json &&
    pass "state before the purge: /var/lib/iops-limit/{$(thx ls -A /var/lib/iops-limit | paste -sd,)}" ||
    fail "no /var/lib/iops-limit/overrides.json before the purge"
if thx env DEBIAN_FRONTEND=noninteractive apt-get purge -y iops-limit > "$WORK/apt-purge.log" 2>&1; then
    pass "apt-get purge iops-limit"
else
    sed 's/^/    /' "$WORK/apt-purge.log"; fail "apt-get purge failed"
fi
grep -E 'Removing|Purging' "$WORK/apt-purge.log" | sed 's/^/    /'
left=''
for f in /usr/sbin/iops-limitd /usr/bin/iops-limitctl /etc/default/iops-limit /lib/systemd/system/iops-limitd.service \
         /usr/share/dbus-1/system.d/io.iopslimit1.conf /usr/share/dbus-1/interfaces/io.iopslimit1.Manager.xml \
         /var/lib/iops-limit /usr/share/man/man8/iops-limitd.8.gz /usr/share/man/man1/iops-limitctl.1.gz \
         /usr/share/bash-completion/completions/iops-limitctl /usr/share/doc/iops-limit \
         /etc/systemd/system/multi-user.target.wants/iops-limitd.service; do
    thx test -e "$f" && left+=" $f"
done
[ -z "$left" ] && pass "no file of ours left after purge" || fail "left after purge:$left"
st=$(thx dpkg-query -W -f '${db:Status-Abbrev}' iops-limit 2>/dev/null)
[ -z "$st" ] || [ "${st:0:2}" = un ] || [ "${st:0:2}" = pn ] && pass "dpkg: iops-limit not installed (${st:-unknown})" || fail "dpkg status after purge: '$st'"
[ "$(thx systemctl is-active iops-limitd)" != active ] && pass "iops-limitd no longer running" || fail "iops-limitd still running after purge"
thx busctl status io.iopslimit1 > /dev/null 2>&1 && fail "io.iopslimit1 still on the bus" || pass "io.iopslimit1 gone from the bus"

# ---------- teardown ----------
log "teardown"
t0=$SECONDS
stop_testhost && pass "testhost stopped in $((SECONDS - t0)) s" || fail "patched systemd-testhost stop failed"
[ ! -e "$TH_STATE" ] && pass "testhost state dir removed" || fail "$TH_STATE left behind: $(ls -A "$TH_STATE")"
[ ! -e "$CG2/$TH_NAME" ] && pass "testhost cgroup $CG2/$TH_NAME removed" || fail "$CG2/$TH_NAME left behind"
blkio_after=$(grep -c ' - cgroup cgroup [^ ]*blkio' /proc/self/mountinfo)
[ "$blkio_after" = "$blkio_before" ] && pass "v1 blkio mounts as found ($blkio_after)" || fail "v1 blkio mounts: $blkio_after, were $blkio_before"
echo "    run time $((SECONDS - T0)) s"

finish
