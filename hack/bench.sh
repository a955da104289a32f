#!/usr/bin/env bash
# Benchmark on the sandbox cluster (hack/bench/): per stack and deploy mode,
# up from empty, no-op up, preview, up --refresh and destroy, next to
# `helm upgrade --install --wait` of the chart; medians of several rounds.
#   hack/bench.sh [-rounds 3] [-envs local,staging,prod] [-scaled=false] [-nodes 4]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
hack/toolchain.sh pulumi provider helm sandbox
hack/sandbox.sh start
KUBECONFIG=$(hack/sandbox.sh kubeconfig)
export KUBECONFIG
PATH="$(hack/toolchain.sh bin | grep helm-):$PATH"
export PATH
go run ./hack/bench "$@"
