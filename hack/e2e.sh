#!/usr/bin/env bash
# End-to-end tests: builds what they need, starts the sandbox cluster, runs
# the tests tagged e2e, and stops exactly the sandbox it started.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
hack/toolchain.sh pulumi provider helm helm4 sandbox
# gpg, with which hack/chart-publish.sh signs the chart the tests publish.
# shellcheck source=hack/apt.sh
. hack/apt.sh
command -v gpg >/dev/null || apt_ensure gnupg

was_running=0
hack/sandbox.sh status >/dev/null 2>&1 && was_running=1
hack/sandbox.sh start
if [ $was_running = 0 ]; then
	trap 'hack/sandbox.sh stop >/dev/null' EXIT
fi
KUBECONFIG=$(hack/sandbox.sh kubeconfig)
export KUBECONFIG
# helm for the tests' `helm status`; the driver finds pulumi and the provider itself.
PATH="$(hack/toolchain.sh dir helm):$PATH"
export PATH
# The Gateway API and KEDA CRDs the platform test applies, the Grafana
# Operator's the monitoring test applies, and cert-manager's the preflight
# test applies.
GATEWAY_API_CRDS=$(hack/toolchain.sh dir gateway-api-crds)
KEDA_CRDS=$(hack/toolchain.sh dir keda-crds)
GRAFANA_OPERATOR_CRDS=$(hack/toolchain.sh dir grafana-operator-crds)
CERT_MANAGER_CRDS=$(hack/toolchain.sh dir cert-manager-crds)
# CloudNativePG's and its Barman Cloud plugin's, which the move to a Cluster applies.
CNPG_CRDS=$(hack/toolchain.sh dir cnpg-crds)
BARMAN_CLOUD_CRDS=$(hack/toolchain.sh dir barman-cloud-crds)
export GATEWAY_API_CRDS KEDA_CRDS GRAFANA_OPERATOR_CRDS CERT_MANAGER_CRDS CNPG_CRDS BARMAN_CLOUD_CRDS
# Helm 4, for the tests that run the chart with it (helm on PATH stays Helm 3).
HELM4="$(hack/toolchain.sh dir helm4)/helm"
export HELM4
go test -tags e2e -count=1 -timeout 40m -v ./tests/e2e/ "$@"
