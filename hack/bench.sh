#!/usr/bin/env bash
# Benchmark on the sandbox cluster (hack/bench/): per stack and deploy mode,
# up from empty, no-op up, preview, up --refresh and destroy, next to
# `helm upgrade --install --wait` of the chart; medians of several rounds.
#   hack/bench.sh [-rounds 3] [-envs local,staging,prod] [-scaled=false] [-nodes 4]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
hack/toolchain.sh pulumi provider helm sandbox
# Stop exactly the sandbox started here, as the end-to-end tests do.
was_running=0
hack/sandbox.sh status >/dev/null 2>&1 && was_running=1
hack/sandbox.sh start
if [ $was_running = 0 ]; then
	trap 'hack/sandbox.sh stop >/dev/null' EXIT
fi
KUBECONFIG=$(hack/sandbox.sh kubeconfig)
export KUBECONFIG
PATH="$(hack/toolchain.sh dir helm):$PATH"
export PATH
go run ./hack/bench "$@"
