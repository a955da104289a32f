# apt_ensure PACKAGE...: installs the Debian packages that are missing, with
# sudo when not root. Sourced by the test scripts that need real servers.

# Installed means "install ok installed": a removed package keeps its config
# files and still answers dpkg -s.
apt_installed() {
	local p
	for p in "$@"; do
		[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || return 1
	done
}

apt_ensure() {
	apt_installed "$@" && return
	local sudo=()
	[ "$(id -u)" = 0 ] || sudo=(sudo)
	echo "[apt] installing $*" >&2
	"${sudo[@]}" apt-get update -qq
	# Packages' own services are not started here (no init system); the tests run their own servers.
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null
}
