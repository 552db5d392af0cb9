# hack/lib/install.sh: helpers shared by the project's installers
# (hack/install-build-deps.sh, hack/install-prometheus.sh, test/e2e/install.sh,
# test/cluster/install.sh). Sourced, not run. Each installer defines its own
# step/die (their prefixes name the installer in CI logs) before using these.

# Compile on a shared machine without starving it; a caller that has nice'd
# the whole installer already (.ci/run's background jobs) sets
# NRI_SECCOMP_BUILD_NICE=0 so the two do not add up to nice 19.
BUILD=(nice -n "${NRI_SECCOMP_BUILD_NICE:-10}")

# deb_installed PACKAGE [VERSION]: whether dpkg has PACKAGE installed (at
# exactly VERSION when given).
deb_installed() {
	local want="install ok installed${2:+ $2}" fmt='${Status}'
	[ -n "${2:-}" ] && fmt='${Status} ${Version}'
	[ "$(dpkg-query -W -f="$fmt" "$1" 2>/dev/null)" = "$want" ]
}

# apt_missing PACKAGE...: prints the packages dpkg does not have, one per line.
apt_missing() {
	local p
	for p in "$@"; do
		deb_installed "$p" || printf '%s\n' "$p"
	done
}

# apt_install PACKAGE...: installs exactly these (names may carry =VERSION)
# from Debian's archive, without recommends, non-interactively, after
# refreshing the package lists (a fresh machine's may be stale or empty).
apt_install() {
	command -v apt-get >/dev/null || die "cannot install $*: no apt-get (install them with your package manager)"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ensure_debs PACKAGE...: installs whichever of them are missing and says
# what it did through step.
ensure_debs() {
	local missing
	mapfile -t missing < <(apt_missing "$@")
	if [ ${#missing[@]} -eq 0 ]; then
		step "  already installed: $*"
		return 0
	fi
	[ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]}; run as root, or: sudo apt-get install ${missing[*]}"
	step "  installing: ${missing[*]} (apt-get update first)"
	apt_install "${missing[@]}"
	step "  installed: ${missing[*]}"
}

# go_mod_version BINARY MODULE: the version of MODULE recorded in the binary's
# build info ("" when the binary is absent or does not name it). Works for
# anything built by `go install m@v` or `go build` in a module that requires m.
go_mod_version() {
	local bin=$1 mod=$2
	[ -x "$bin" ] || return 0
	go version -m "$bin" 2>/dev/null | awk -v m="$mod" '($1=="mod"||$1=="dep") && $2==m {print $3; exit}'
}
