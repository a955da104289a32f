#!/usr/bin/env bash
# Tests that need a real PostgreSQL (build tag postgres): installs Debian's
# postgresql-15 and the Python libraries the chart's database scripts use when
# they are missing, then runs them. Each test starts and stops its own server
# in a temporary folder on 127.0.0.1; nothing is left running.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
packages=(postgresql-15 python3-alembic python3-sqlalchemy python3-psycopg2)
# Installed means "install ok installed": a removed package keeps its config
# files and still answers dpkg -s.
installed() {
	local p
	for p in "$@"; do
		[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || return 1
	done
}
if ! installed "${packages[@]}"; then
	sudo=()
	[ "$(id -u)" = 0 ] || sudo=(sudo)
	echo "[postgres-tests] installing ${packages[*]}" >&2
	"${sudo[@]}" apt-get update -qq
	# The package's own cluster is not needed: the tests run their own servers.
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${packages[@]}" >/dev/null
fi
go test -tags postgres -count=1 -run 'OnPostgres' ./tests/ "$@"
