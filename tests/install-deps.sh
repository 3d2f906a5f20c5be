#!/bin/bash
# Installs, from Debian 12's archive, everything the build and every test tier need.
# Idempotent: does nothing when all packages are present. Needs root (or sudo) when it installs.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config
  libsdbus-c++-dev libsdbus-c++-bin libsystemd-dev libcurl4-openssl-dev libjsoncpp-dev libsimdjson-dev libmicrohttpd-dev
  googletest libgtest-dev libgmock-dev
  # integration tier: loopback HTTPS emulator, certificates, private D-Bus
  python3 openssl curl dbus-daemon dbus-bin
  # system tier: real cgroups, loop devices, fio, the systemd testhost
  fio util-linux mount e2fsprogs systemd dbus procps
  # vm tier: the node-vm guest (qemu; its image is built once with mmdebstrap)
  qemu-system-x86 qemu-utils mmdebstrap
  # fuzzing (libFuzzer comes with clang)
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "==> installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
