#!/bin/bash
# Builds the Debian and RPM packages of iops-limit in one command, on Debian 12 as root:
#
#   tests/packages.sh                  install the tools, build both, run lintian and rpmlint
#   tests/packages.sh --is-fresh       exit 0 if OUT holds packages built from the current sources
#   tests/packages.sh --install-tools  only install the tools (exit 1 if apt-get cannot)
#
# Steps: installs the packaging tools and build dependencies with apt-get; snapshots the source
# tree (tracked and untracked files that git does not ignore, as they are on disk) into
# OUT/iops-limit-VERSION.tar.gz; builds the .deb from it with dpkg-buildpackage (deb/debian
# copied to ./debian of the unpacked tree) and the .rpm with rpmbuild (--nodeps: rpm cannot see
# dpkg's packages here); runs lintian (no error, no warning allowed) and rpmlint (no error
# allowed). Nothing is written into the source tree.
#
# Both builds compile the same sources in the same directory (OUT/src/iops-limit-VERSION) with
# the same compiler flags (dpkg-buildflags'), through ccache (OUT/ccache, kept between runs), so
# the rpm build reuses the objects of the deb build: one compile instead of two on a small machine.
#
# Environment: PKG_OUT   output directory (default REPO/build-pkg; replaced on every build,
#                        except its ccache)
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
TOOLS_ONLY=
[ "${1:-}" = --install-tools ] && { TOOLS_ONLY=1; shift; }
[ $# -eq 0 ] || die "usage: tests/packages.sh [--is-fresh | --install-tools]"

# ---------- tools ----------
tools=(
    # packaging and checks
    build-essential debhelper dpkg-dev fakeroot lintian rpm rpmlint scdoc git ccache file
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
[ -z "$TOOLS_ONLY" ] || exit 0

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
mkdir -p "$OUT"
find "$OUT" -mindepth 1 -maxdepth 1 ! -name ccache -exec rm -rf {} +
SRC_NAME=iops-limit-$VERSION
SRC_DIR=$OUT/src/$SRC_NAME   # both builds run here
export CCACHE_DIR=$OUT/ccache CCACHE_BASEDIR=$SRC_DIR CCACHE_NOHASHDIR=true CCACHE_MAXSIZE=2G
export CMAKE_CXX_COMPILER_LAUNCHER=ccache   # read by CMake >= 3.17 as the default launcher
ccache -z >/dev/null
TARBALL=$OUT/$SRC_NAME.tar.gz
log "source snapshot $TARBALL"
hash=$(source_hash)
(cd "$REPO" && source_files | tar --null -T - --transform "s,^,$SRC_NAME/," \
    --owner=0 --group=0 --numeric-owner -czf "$TARBALL")

fail_log() { echo "packages.sh: $1 failed; last lines of $2:" >&2; tail -n 40 "$2" >&2; exit 1; }

# ---------- deb ----------
build_deb() {
    local t=$SECONDS
    mkdir -p "$OUT/src" "$OUT/deb"
    tar -xzf "$TARBALL" -C "$OUT/src"
    cp -a "$REPO/deb/debian" "$SRC_DIR/debian"
    log "dpkg-buildpackage -us -uc -b -j$JOBS (log: $OUT/deb-build.log)"
    # LANG=C as rpmbuild has it: ccache hashes the locale (compiler messages depend on it)
    (cd "$SRC_DIR" && LANG=C dpkg-buildpackage -us -uc -b -j"$JOBS") > "$OUT/deb-build.log" 2>&1 ||
        fail_log dpkg-buildpackage "$OUT/deb-build.log"
    find "$OUT/src" -maxdepth 1 -type f -exec mv -t "$OUT/deb" {} +
    rm -rf "$SRC_DIR"
    echo "    built in $((SECONDS - t)) s: $(cd "$OUT/deb" && echo ./*.deb)"
    log "lintian"
    lintian --fail-on error,warning --display-info "$OUT"/deb/*.changes > "$OUT/lintian.txt" 2>&1 ||
        { cat "$OUT/lintian.txt"; die "lintian reports errors or warnings (see $OUT/lintian.txt)"; }
    sed 's/^/    /' "$OUT/lintian.txt"
    echo "    lintian: $(grep -c '^E: ' "$OUT/lintian.txt") errors, $(grep -c '^W: ' "$OUT/lintian.txt") warnings," \
         "$(grep -c '^I: ' "$OUT/lintian.txt") info"
}

# ---------- rpm ----------
build_rpm() {
    local top=$OUT/rpmbuild t=$SECONDS rc=0
    mkdir -p "$top"/{SOURCES,SPECS,RPMS,SRPMS} "$OUT/src" "$OUT/rpm"
    cp "$TARBALL" "$top/SOURCES/"
    cp "$REPO/rpm/iops-limit.spec" "$top/SPECS/"
    # dpkg-buildflags' flags, as debhelper passes them to CMake (CPPFLAGS appended to CXXFLAGS),
    # computed in the build directory (-ffile-prefix-map); %set_build_flags keeps them.
    local CXXFLAGS LDFLAGS
    mkdir -p "$SRC_DIR"
    CXXFLAGS="$(cd "$SRC_DIR" && DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get CXXFLAGS) $(cd "$SRC_DIR" && DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get CPPFLAGS)"
    LDFLAGS=$(cd "$SRC_DIR" && DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get LDFLAGS)
    # Debian's rpm runs its brp-compress (a bash script) with /bin/sh (dash): man pages stay
    # uncompressed. Run the same post-install steps with brp-compress under bash.
    local post
    post=$(rpm --eval '%{__os_install_post}' | sed 's,^ *\(/usr/lib/rpm/brp-compress\),bash \1,' |
           grep -v '^ *$' | paste -sd';')
    log "rpmbuild -bb --nodeps (log: $OUT/rpm-build.log)"
    CXXFLAGS=$CXXFLAGS LDFLAGS=$LDFLAGS rpmbuild -bb --nodeps --define "_topdir $top" \
        --define "_builddir $OUT/src" --define "_smp_mflags -j$JOBS" --define "__os_install_post $post" \
        "$top/SPECS/iops-limit.spec" > "$OUT/rpm-build.log" 2>&1 || fail_log rpmbuild "$OUT/rpm-build.log"
    find "$top/RPMS" -name '*.rpm' -exec mv -t "$OUT/rpm" {} +
    rm -rf "$top" "$OUT/src"
    echo "    built in $((SECONDS - t)) s: $(cd "$OUT/rpm" && echo ./*.rpm)"
    log "rpmlint"
    rpmlint -r "$REPO/rpm/iops-limit.rpmlintrc" "$REPO/rpm/iops-limit.spec" "$OUT"/rpm/*.rpm \
        > "$OUT/rpmlint.txt" 2>&1 || rc=$?
    sed 's/^/    /' "$OUT/rpmlint.txt"
    # rpmlint exits 64 when it reports errors, 66 when the badness threshold is exceeded
    if [ "$rc" -ne 0 ] || ! grep -qE '^ *[0-9]+ packages and [0-9]+ specfiles checked; 0 errors' "$OUT/rpmlint.txt"; then
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
if command -v ccache >/dev/null; then
    ccache -s 2>/dev/null | grep -E '^ *(Hits|Misses):' | sed 's/^ */    ccache: /' || true
fi

log "packages (built in $((SECONDS - T0)) s)"
for k in $PKG_KINDS; do
    case $k in
        deb) ls -l "$OUT"/deb/*.deb ;;
        rpm) ls -l "$OUT"/rpm/*.rpm ;;
    esac
done | awk '{ print "    " $NF " (" $5 " bytes)" }'
echo "    install: apt-get install $OUT/deb/iops-limit_${deb_version}_*.deb | dnf install $OUT/rpm/iops-limit-$VERSION-*.rpm"
