#!/usr/bin/env bash
# Two independent scanners over the chart's render of every environment (raw
# mode creates the same objects: the parity tests prove it):
#   kube-score   fails on any CRITICAL; exemptions are kube-score/ignore
#                annotations with their reason in rhesis.dev/kube-score-why.
#   Trivy        its embedded misconfiguration checks (--skip-check-update:
#                nothing is downloaded); fails on any HIGH or CRITICAL.
#                Exemptions are .trivyignore.yaml, each with its statement.
#
#   hack/scan.sh            print a table per environment
#   hack/scan.sh -v         also print every finding
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
hack/toolchain.sh score >/dev/null 2>&1 || hack/toolchain.sh score
HELM=$(hack/toolchain.sh dir helm)/helm
SCORE=$(hack/toolchain.sh dir kube-score)/kube-score
TRIVY=$(hack/toolchain.sh dir trivy)/trivy
CACHE=${RHESIS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rhesis-deploy}
verbose=0
[ "${1:-}" = -v ] && verbose=1

# The pinned Rhesis release: the chart's appVersion, its one place.
release=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' charts/rhesis/Chart.yaml)
[ -n "$release" ] || { echo "scan: no appVersion in charts/rhesis/Chart.yaml" >&2; exit 1; }
# What an operator adds to staging and prod (see the values files' headers).
required=(--set global.imageTag="$release" --set secrets.existingSecret=rhesis-secrets
	--set ingress.tlsSecret=rhesis-tls --set ingress.className=nginx --set storage.storageClass=shared-rwx)
declare -A variants=(
	[local]="-f charts/rhesis/values-local.yaml"
	[staging]="-f charts/rhesis/values-staging.yaml --set ingress.host=staging.rhesis.test ${required[*]}"
	[prod]="-f charts/rhesis/values-prod.yaml --set ingress.host=rhesis.test ${required[*]}"
	[prod-monitoring-external]="-f charts/rhesis/values-prod.yaml --set ingress.host=rhesis.test ${required[*]} --set monitoring.enabled=true --set database.external.host=db.example.com --set redis.external.host=cache.example.com --set backup.enabled=false --set database.external.maxConnections=2830"
	[local-monitoring]="-f charts/rhesis/values-local.yaml --set monitoring.enabled=true"
	[prod-prefixed]="-f charts/rhesis/values-prod.yaml --set ingress.host=rhesis.test ${required[*]} --set namePrefix=team-b-"
	# Off-site backups, and the restore Job rendered as docs/backups.md runs it.
	[prod-offsite]="-f charts/rhesis/values-prod.yaml --set ingress.host=rhesis.test ${required[*]} --set backup.keepInCluster=false --set backup.remote.url=s3://rhesis-backups/prod --set backup.remote.credentialsSecret=rhesis-backup-s3 --set backup.encryption.passphrase.name=rhesis-backup-key --set backup.restore.object=latest"
)
# trivy MANIFEST IGNOREFILE: Trivy's findings in MANIFEST as JSON.
trivy() {
	"$TRIVY" config --quiet --skip-check-update --cache-dir "$CACHE/trivy-cache" --format json --ignorefile "$2" "$1"
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
printf '%-26s %7s | %-19s | %-37s\n' "" "" "kube-score" "Trivy"
printf '%-26s %7s | %8s %10s | %8s %8s %6s %12s\n' render objects CRITICAL WARNING HIGH+ MEDIUM LOW exempted
for name in local staging prod prod-monitoring-external local-monitoring prod-prefixed prod-offsite; do
	out=$work/$name.yaml
	# shellcheck disable=SC2086 # the variant is a list of flags
	"$HELM" template rhesis charts/rhesis -n rhesis ${variants[$name]} >"$out"
	objects=$(grep -c '^kind:' "$out")

	report=$("$SCORE" score "$out" --output-format ci || true)
	critical=$(grep -c '^\[CRITICAL\]' <<<"$report" || true)
	warning=$(grep -c '^\[WARNING\]' <<<"$report" || true)

	# Once with the exemptions and once without: Trivy's JSON does not list
	# what its ignore file suppressed.
	trivy "$out" .trivyignore.yaml >"$work/$name.json"
	trivy "$out" /dev/null >"$work/$name.all.json"
	count() { jq "[.Results[]?.Misconfigurations[]? | select($1)] | length" "${2:-$work/$name.json}"; }
	high=$(count '.Severity == "HIGH" or .Severity == "CRITICAL"')
	medium=$(count '.Severity == "MEDIUM"')
	low=$(count '.Severity == "LOW" or .Severity == "UNKNOWN"')
	exempted=$(($(count true "$work/$name.all.json") - high - medium - low))

	printf '%-26s %7s | %8s %10s | %8s %8s %6s %12s\n' "$name" "$objects" "$critical" "$warning" "$high" "$medium" "$low" "$exempted"
	if [ $verbose = 1 ] || [ "$critical" != 0 ]; then
		grep -E '^\[(CRITICAL|WARNING)\]' <<<"$report" | sed 's/^/    kube-score /' || true
	fi
	if [ $verbose = 1 ] || [ "$high" != 0 ]; then
		jq -r '.Results[]?.Misconfigurations[]? | "    trivy \(.Severity) \(.ID): \(.Message)"' "$work/$name.json"
	fi
	if [ $verbose = 1 ]; then
		jq -r '.Results[]?.Misconfigurations[]? | "    trivy (exempt or not) \(.Severity) \(.ID): \(.Message)"' "$work/$name.all.json"
	fi
	checks=$(jq '[.Results[]?.MisconfSummary | .Successes + .Failures] | add // 0' "$work/$name.json")
	if [ "$checks" = 0 ]; then
		echo "    Trivy ran no check on this render: it did not take it for Kubernetes manifests" >&2
		failed=1
	fi
	[ "$critical" = 0 ] && [ "$high" = 0 ] || failed=1
done

# The scanner must still see what it is here for: the local render with one
# writable root has to give KSV-0014 (HIGH).
sed 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' "$work/local.yaml" >"$work/canary.yaml"
if ! trivy "$work/canary.yaml" .trivyignore.yaml | jq -e '[.Results[]?.Misconfigurations[]? | select(.ID == "KSV-0014")] | length > 0' >/dev/null; then
	echo "Trivy found no KSV-0014 in a render with writable root filesystems: the scan proves nothing" >&2
	failed=1
fi
exit $failed
