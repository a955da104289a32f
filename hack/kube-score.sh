#!/usr/bin/env bash
# Scores the chart's render of every environment with kube-score (raw mode
# creates the same objects: the parity tests prove it) and fails on any
# CRITICAL. Exemptions are kube-score/ignore annotations, each with its reason
# in rhesis.dev/kube-score-why.
#
#   hack/kube-score.sh            print a summary per environment
#   hack/kube-score.sh -v         also print every CRITICAL and WARNING
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
hack/toolchain.sh score >/dev/null
bins=$(hack/toolchain.sh bin)
HELM=$(grep helm- <<<"$bins")/helm
SCORE=$(grep kube-score- <<<"$bins")/kube-score
verbose=0
[ "${1:-}" = -v ] && verbose=1

# What an operator adds to staging and prod (see the values files' headers).
required=(--set global.imageTag=0.13.0 --set secrets.existingSecret=rhesis-secrets
	--set ingress.tlsSecret=rhesis-tls --set storage.storageClass=shared-rwx)
declare -A variants=(
	[local]="-f charts/rhesis/values-local.yaml"
	[staging]="-f charts/rhesis/values-staging.yaml --set ingress.host=staging.rhesis.test ${required[*]}"
	[prod]="-f charts/rhesis/values-prod.yaml --set ingress.host=rhesis.test ${required[*]}"
	[prod-monitoring-external]="-f charts/rhesis/values-prod.yaml --set ingress.host=rhesis.test ${required[*]} --set monitoring.enabled=true --set database.external.host=db.example.com --set redis.external.host=cache.example.com --set backup.enabled=false"
	[local-monitoring]="-f charts/rhesis/values-local.yaml --set monitoring.enabled=true"
)
failed=0
printf '%-26s %8s %8s %8s\n' render objects CRITICAL WARNING
for name in local staging prod prod-monitoring-external local-monitoring; do
	out=$(mktemp)
	# shellcheck disable=SC2086 # the variant is a list of flags
	"$HELM" template rhesis charts/rhesis -n rhesis ${variants[$name]} >"$out"
	objects=$(grep -c '^kind:' "$out")
	report=$("$SCORE" score "$out" --output-format ci || true)
	critical=$(grep -c '^\[CRITICAL\]' <<<"$report" || true)
	warning=$(grep -c '^\[WARNING\]' <<<"$report" || true)
	printf '%-26s %8s %8s %8s\n' "$name" "$objects" "$critical" "$warning"
	if [ $verbose = 1 ] || [ "$critical" != 0 ]; then
		grep -E '^\[(CRITICAL|WARNING)\]' <<<"$report" | sed 's/^/    /' || true
	fi
	[ "$critical" = 0 ] || failed=1
	rm -f "$out"
done
exit $failed
