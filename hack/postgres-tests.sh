#!/usr/bin/env bash
# Tests that need a real PostgreSQL (build tag postgres): installs Debian's
# postgresql-15, gnupg and the Python libraries the chart's database scripts
# use when they are missing, builds rclone and SeaweedFS (the off-site drills'
# client and S3-compatible server), then runs them. Each test starts and stops its own server
# in a temporary folder on 127.0.0.1; nothing is left running.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=hack/apt.sh
. hack/apt.sh
apt_ensure postgresql-15 gnupg python3-alembic python3-sqlalchemy python3-psycopg2
hack/toolchain.sh backup
PATH=$(hack/toolchain.sh dir rclone):$(hack/toolchain.sh dir weed):$PATH
export PATH
go test -tags postgres -count=1 -run 'OnPostgres' ./tests/ "$@"
