#!/bin/bash
# Builds the Debian and RPM packages of iops-limit in one command, on Debian 12 as root:
#
#   tests/packages.sh                  install the tools, build both, run lintian and rpmlint
#   tests/packages.sh --is-fresh       exit 0 if OUT holds packages built from the current sources
#
# Steps: installs the packaging tools and build dependencies with apt-get; snapshots the source
# tree (tracked and untracked files that git does not ignore, as they are on disk) into
# OUT/iops-limit-VERSION.tar.gz; builds the .deb from it with dpkg-buildpackage (deb/debian
# copied to ./debian of the unpacked tree) and the .rpm with rpmbuild (--nodeps: rpm cannot see
# dpkg's packages here); runs lintian (no error, no warning allowed) and rpmlint (no error
# allowed). Nothing is written into the source tree.
#
# Environment: PKG_OUT   output directory (default REPO/build-pkg; replaced on every build)
#              JOBS      parallel jobs (default: nproc)
#              PKG_KINDS "deb rpm" (default) or one of them
# Output:  OUT/deb/iops-limit_VERSION_ARCH.deb     OUT/lintian.txt
#          OUT/rpm/iops-limit-VERSION-1.ARCH.rpm   OUT/rpmlint.txt
#          OUT/*.log (build logs), OUT/source.sha256 (what --is-fresh compares)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
OUT=${PKG_OUT:-$REPO/build-pkg}
JOBS=${JOBS:-$(nproc)}
PKG_KINDS=${PKG_KINDS:-deb rpm}

log() { echo "==> $*"; }
die() { echo "packages.sh: $*" >&2; exit 1; }

# ---------- the source snapshot ----------
source_files() {   # NUL-separated paths, relative to REPO, of the files that make a package
    if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "$REPO" ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' f; do [ -f "$REPO/$f" ] && printf '%s\0' "$f"; done
    else   # an unpacked tarball: everything but build output
        (cd "$REPO" && find . \( -path ./.git -o -name 'build*' -o -path ./debian \) -prune -o -type f -print0 |
            sed -z 's,^\./,,')
    fi | sort -z
}
source_hash() { (cd "$REPO" && source_files | xargs -0 sha256sum | sha256sum | cut -d' ' -f1); }

project_version() {
    sed -n 's/^project(iops-limit VERSION \([0-9][0-9.]*\).*/\1/p' "$REPO/CMakeLists.txt"
}

if [ "${1:-}" = --is-fresh ]; then
    [ -f "$OUT/source.sha256" ] && [ "$(cat "$OUT/source.sha256")" = "$(source_hash)" ] || exit 1
    for k in $PKG_KINDS; do
        case $k in
            deb) compgen -G "$OUT/deb/iops-limit_*.deb" >/dev/null || exit 1 ;;
            rpm) compgen -G "$OUT/rpm/iops-limit-[0-9]*.rpm" >/dev/null || exit 1 ;;
        esac
    done
    exit 0
fi
[ $# -eq 0 ] || die "usage: tests/packages.sh [--is-fresh]"

# ---------- tools ----------
tools=(
    # packaging and checks
    build-essential debhelper dpkg-dev fakeroot lintian rpm rpmlint scdoc git
    # Build-Depends of deb/debian/control (the spec's BuildRequires are their Fedora names)
    cmake pkg-config libsdbus-c++-dev libsdbus-c++-bin libsystemd-dev libcurl4-openssl-dev
    libjsoncpp-dev libsimdjson-dev googletest libgtest-dev libgmock-dev systemd
)
missing=()
for p in "${tools[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "needs root to install: ${missing[*]}"
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

VERSION=$(project_version)
[ -n "$VERSION" ] || die "no project(iops-limit VERSION x.y.z) in $REPO/CMakeLists.txt"
deb_version=$(dpkg-parsechangelog -l "$REPO/deb/debian/changelog" -S Version)
rpm_version=$(sed -n 's/^Version:[[:space:]]*//p' "$REPO/rpm/iops-limit.spec")
[ "${deb_version%%-*}" = "$VERSION" ] ||
    die "deb/debian/changelog is at $deb_version, CMakeLists.txt at $VERSION: add a changelog entry"
[ "$rpm_version" = "$VERSION" ] ||
    die "rpm/iops-limit.spec has Version $rpm_version, CMakeLists.txt $VERSION"

case $OUT in /|"$REPO"|"$REPO"/|"$HOME") die "PKG_OUT=$OUT would be wiped: choose another directory" ;; esac
T0=$SECONDS
rm -rf "$OUT"
mkdir -p "$OUT"
SRC_NAME=iops-limit-$VERSION
TARBALL=$OUT/$SRC_NAME.tar.gz
log "source snapshot $TARBALL"
hash=$(source_hash)
(cd "$REPO" && source_files | tar --null -T - --transform "s,^,$SRC_NAME/," \
    --owner=0 --group=0 --numeric-owner -czf "$TARBALL")

fail_log() { echo "packages.sh: $1 failed; last lines of $2:" >&2; tail -n 40 "$2" >&2; exit 1; }

# ---------- deb ----------
build_deb() {
    local dir=$OUT/deb t=$SECONDS
    mkdir -p "$dir"
    tar -xzf "$TARBALL" -C "$dir"
    cp -a "$REPO/deb/debian" "$dir/$SRC_NAME/debian"
    log "dpkg-buildpackage -us -uc -b -j$JOBS (log: $OUT/deb-build.log)"
    (cd "$dir/$SRC_NAME" && dpkg-buildpackage -us -uc -b -j"$JOBS") > "$OUT/deb-build.log" 2>&1 ||
        fail_log dpkg-buildpackage "$OUT/deb-build.log"
    rm -rf "${dir:?}/$SRC_NAME"
    echo "    built in $((SECONDS - t)) s: $(cd "$dir" && ls ./*.deb ./*.ddeb 2>/dev/null | xargs)"
    log "lintian"
    lintian --fail-on error,warning --display-info "$dir"/*.changes > "$OUT/lintian.txt" 2>&1 ||
        { cat "$OUT/lintian.txt"; die "lintian reports errors or warnings (see $OUT/lintian.txt)"; }
    sed 's/^/    /' "$OUT/lintian.txt"
    echo "    lintian: $(grep -c '^E: ' "$OUT/lintian.txt") errors, $(grep -c '^W: ' "$OUT/lintian.txt") warnings," \
         "$(grep -c '^I: ' "$OUT/lintian.txt") info"
}

# ---------- rpm ----------
build_rpm() {
    local top=$OUT/rpmbuild t=$SECONDS
    mkdir -p "$top"/{SOURCES,SPECS,BUILD,RPMS,SRPMS} "$OUT/rpm"
    cp "$TARBALL" "$top/SOURCES/"
    cp "$REPO/rpm/iops-limit.spec" "$top/SPECS/"
    log "rpmbuild -bb --nodeps (log: $OUT/rpm-build.log)"
    rpmbuild -bb --nodeps --define "_topdir $top" --define "_smp_mflags -j$JOBS" \
        "$top/SPECS/iops-limit.spec" > "$OUT/rpm-build.log" 2>&1 || fail_log rpmbuild "$OUT/rpm-build.log"
    find "$top/RPMS" -name '*.rpm' -exec mv -t "$OUT/rpm" {} +
    rm -rf "$top"
    echo "    built in $((SECONDS - t)) s: $(cd "$OUT/rpm" && ls ./*.rpm | xargs)"
    log "rpmlint"
    local rc=0
    rpmlint "$REPO/rpm/iops-limit.spec" "$OUT"/rpm/*.rpm > "$OUT/rpmlint.txt" 2>&1 || rc=$?
    sed 's/^/    /' "$OUT/rpmlint.txt"
    # rpmlint exits 64 when it reports errors, 66 when badness exceeds the threshold
    if [ "$rc" -ne 0 ] || grep -qE '^[0-9]+ packages and [0-9]+ specfiles checked; [1-9][0-9]* errors' "$OUT/rpmlint.txt"; then
        die "rpmlint reports errors (exit $rc; see $OUT/rpmlint.txt)"
    fi
}

for k in $PKG_KINDS; do
    case $k in
        deb) build_deb ;;
        rpm) build_rpm ;;
        *) die "PKG_KINDS: unknown kind '$k'" ;;
    esac
done
echo "$hash" > "$OUT/source.sha256"

log "packages (built in $((SECONDS - T0)) s)"
for k in $PKG_KINDS; do
    case $k in
        deb) ls -l "$OUT"/deb/*.deb ;;
        rpm) ls -l "$OUT"/rpm/*.rpm ;;
    esac
done | awk '{ print "    " $NF " (" $5 " bytes)" }'
echo "    install: apt-get install $OUT/deb/iops-limit_${deb_version}_*.deb | dnf install $OUT/rpm/iops-limit-$VERSION-*.rpm"
