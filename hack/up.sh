#!/usr/bin/env bash
# `make up`: deploy a stack (default local) with the project's driver. When
# no cluster is reachable through the current kubeconfig, start the sandbox
# cluster and deploy there. A second run changes nothing and takes seconds.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK=${STACK:-local}
cd "$ROOT"

hack/toolchain.sh pulumi provider
if [ -z "${RHESIS_SANDBOX:-}" ] && kubectl version --request-timeout=5s >/dev/null 2>&1; then
	echo "deploying to kubectl context $(kubectl config current-context)"
else
	hack/sandbox.sh start
	KUBECONFIG=$(hack/sandbox.sh kubeconfig)
	export KUBECONFIG
	echo "deploying to the sandbox cluster (KUBECONFIG=$KUBECONFIG)"
fi
mkdir -p bin
go build -o bin/rhesis ./cmd/rhesis
exec bin/rhesis --project "$ROOT" --stack "$STACK" "${1:-up}"
