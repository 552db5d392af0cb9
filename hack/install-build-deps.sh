#!/usr/bin/env bash
# install-build-deps.sh: what building and unit-testing nri-seccomp needs beyond
# Go, installed from Debian's packages when missing. `make build`, `make test`
# and `make demo` run it first, so both README commands work on a fresh Debian
# 12 machine with nothing but the base system and Go.
#
# The binary links libseccomp statically (cgo): `profile lint` counts BPF
# instructions with it and the property tests use it as their oracle. Debian 12
# ships libseccomp 2.5.4; the tests' expectations (instruction counts, the
# hang note in docs/profiles.md) are for 2.5.x, so another series is refused.
#
# Idempotent: a warm run checks dpkg and prints one line. Needs root only when
# something is missing.
set -euo pipefail

PACKAGES=(gcc libc6-dev pkg-config libseccomp-dev)
LIBSECCOMP_SERIES=2.5.

say() { printf '[deps] %s\n' "$*"; }
die() { printf '[deps] ERROR: %s\n' "$*" >&2; exit 1; }

# shellcheck source=lib/install.sh
. "$(dirname "$0")/lib/install.sh" # apt_missing, apt_install

mapfile -t missing < <(apt_missing "${PACKAGES[@]}")
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]}; run as root, or: sudo apt-get install ${missing[*]}"
	say "installing ${missing[*]} from Debian's packages (about 20 s the first time)"
	apt_install "${missing[@]}"
fi
v=$(pkg-config --modversion libseccomp 2>/dev/null) || die "libseccomp-dev is installed but pkg-config cannot find libseccomp"
case $v in
"$LIBSECCOMP_SERIES"*) ;;
*) die "libseccomp $v found; nri-seccomp is built and tested against the ${LIBSECCOMP_SERIES}x series (Debian 12)" ;;
esac
if [ ${#missing[@]} -gt 0 ]; then
	say "installed ${missing[*]}; libseccomp $v"
else
	say "build dependencies present (gcc, pkg-config, libseccomp $v)"
fi
