#!/usr/bin/env bash
# Installs Debian's prometheus package, pinned, for `promtool test rules`
# (make monitoring-check) and the e2e test that runs a real Prometheus
# against the daemon. Idempotent: nothing happens when the pinned version is
# installed. The package's service is never left running: Debian's postinst
# starts it, so a policy-rc.d that forbids starting services is put in place
# for the install (unless one exists), and the service is stopped and
# disabled afterwards in case an init system started it anyway. The tests
# start their own Prometheus with their own config and storage.
set -euo pipefail

# Debian 12's version (bookworm + bookworm-security); promtool's rule-test
# format and the alerts API used by the tests are those of Prometheus 2.42.
PROMETHEUS_DEB_VERSION=${PROMETHEUS_DEB_VERSION:-2.42.0+ds-5+deb12u1}

log() { printf '[install-prometheus] %s\n' "$*"; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=lib/install.sh
. "$(dirname "$0")/lib/install.sh" # deb_installed, apt_install

have=$(dpkg-query -W -f='${Version}' prometheus 2>/dev/null || true)
if deb_installed prometheus "$PROMETHEUS_DEB_VERSION"; then
	log "prometheus $PROMETHEUS_DEB_VERSION already installed"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || die "must run as root (apt)"

policy=/usr/sbin/policy-rc.d
ours=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# nri-seccomp hack/install-prometheus.sh: no service starts during the install\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	ours=1
fi
cleanup() { if [ "$ours" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

log "installing prometheus=$PROMETHEUS_DEB_VERSION (have: ${have:-none})"
apt_install "prometheus=$PROMETHEUS_DEB_VERSION"

# In case the init system started it regardless (no policy-rc.d honoured).
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
	systemctl disable --now prometheus.service >/dev/null 2>&1 || true
fi
if [ -x /etc/init.d/prometheus ]; then
	/etc/init.d/prometheus stop >/dev/null 2>&1 || true
	update-rc.d prometheus disable >/dev/null 2>&1 || true
fi
promtool --version 2>&1 | head -1
