#!/usr/bin/env bash
# The monitoring proof (monitoring/, a Go module of its own): promtool checks
# and tests the rendered rules, and every metric a rule uses is looked up in a
# real scrape of the pinned exporters or in the platform's published metrics.
# Installs Debian's postgresql-15 and redis-server when missing and builds
# promtool and the exporters (hack/toolchain.sh monitoring); each test starts
# and stops its own servers on 127.0.0.1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=hack/apt.sh
. hack/apt.sh
apt_ensure postgresql-15 redis-server
hack/toolchain.sh monitoring
cd monitoring
go vet ./...
go test -count=1 ./... "$@"
