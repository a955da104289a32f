#!/usr/bin/env bash
# Benchmark on the sandbox cluster: up from empty, no-op up and preview per
# stack, next to `helm upgrade --install --wait` of the chart (hack/bench/).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
hack/toolchain.sh pulumi provider helm sandbox
hack/sandbox.sh start
KUBECONFIG=$(hack/sandbox.sh kubeconfig)
export KUBECONFIG
PATH="$(hack/toolchain.sh bin | grep helm-):$PATH"
export PATH
go run ./hack/bench
