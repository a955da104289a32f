#!/usr/bin/env bash
# The Kubernetes types in charts/rhesis/values.schema.json ($defs io.k8s.*) are
# copied by hack/chart-schema from the OpenAPI document of the Kubernetes
# release the sandbox runs and from the Gateway API's HTTPRoute CRD; the rest of the schema is written by hand, and the
# tool keeps the whole file in one form (sorted keys).
#
#   hack/chart-schema.sh          write it
#   hack/chart-schema.sh --check  fail when it differs from what the tool writes
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
args=(-openapi "$(hack/toolchain.sh dir kubernetes-openapi)" -gateway-api "$(hack/toolchain.sh dir gateway-api-crds)")
if [ "${1:-}" = --check ]; then
	exec go run ./hack/chart-schema "${args[@]}" -check
fi
exec go run ./hack/chart-schema "${args[@]}"
