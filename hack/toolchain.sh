#!/usr/bin/env bash
# Builds the tools this project runs, from the Go module proxy, and caches them
# outside the checkout so every clone (and CI) reuses them. A tool already
# cached is never rebuilt.
#
#   hack/toolchain.sh [all|pulumi|provider|helm|helm4|lint|sandbox|score|monitoring|backup]...   build what is missing (lint: golangci-lint, actionlint, helm-docs; score: kube-score, trivy; monitoring: promtool and the exporters; backup: rclone and SeaweedFS)
#   hack/toolchain.sh bin                              print the folders to put on PATH
#   hack/toolchain.sh dir helm                         print one tool's folder
#
# Cache: ${RHESIS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rhesis-deploy}/<tool>-<version>
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${RHESIS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rhesis-deploy}
# The CLI and the provider match their SDKs in go.mod, where they are pinned.
sdk_version() { (cd "$ROOT" && go list -m -f '{{.Version}}' "$1") | sed 's/^v//'; }
PULUMI_VERSION=$(sdk_version github.com/pulumi/pulumi/sdk/v3)
PROVIDER_VERSION=$(sdk_version github.com/pulumi/pulumi-kubernetes/sdk/v4)
PROVIDER_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
PROVIDER_PSEUDO=v4.0.0-20260115033456-f47bc2d6f199 # the v4.25.0 release commit
HELM_VERSION=3.19.5
# Helm 4, which the e2e tests install, upgrade and uninstall the chart with too.
HELM4_VERSION=4.3.2
LINT_VERSION=2.15.0
ACTIONLINT_VERSION=1.7.12
KUBE_VERSION=1.34.4
GATEWAY_API_VERSION=1.6.3
KEDA_VERSION=2.21.0
# CloudNativePG and its Barman Cloud plugin: their CRDs, which the chart's
# database.postgresql.cloudnativepg objects are checked against.
CNPG_VERSION=1.29.0
BARMAN_CLOUD_VERSION=0.15.0
ETCD_VERSION=3.6.4
KWOK_VERSION=0.7.0
KUBE_SCORE_VERSION=1.20.0
TRIVY_VERSION=0.74.0
HELM_DOCS_VERSION=1.14.2
PROMETHEUS_VERSION=0.316.0 # promtool of Prometheus 3.16.0
KUBE_STATE_METRICS_VERSION=2.18.0
CERT_MANAGER_VERSION=1.19.2
GRAFANA_OPERATOR_VERSION=5.19.4
# The exporters are built at the tags of the images the chart runs.
image_tag() { sed -n "s#^ *image: .*/$1:v\(.*\)\$#\1#p" "$ROOT/charts/rhesis/values.yaml" | head -1; }
REDIS_EXPORTER_VERSION=$(image_tag redis_exporter)
POSTGRES_EXPORTER_VERSION=$(image_tag postgres-exporter)
# The backup's upload runs rclone's image; the drills run the same release.
RCLONE_VERSION=$(sed -n 's#^ *image: rclone/rclone:\(.*\)$#\1#p' "$ROOT/charts/rhesis/values.yaml" | head -1)
# SeaweedFS, the S3-compatible server of the backup drills (the proxy serves
# it only at pseudo-versions).
SEAWEEDFS_VERSION=v0.0.0-20261109003541-7506e5f91cd6

PULUMI_DIR=$CACHE/pulumi-$PULUMI_VERSION
PROVIDER_DIR=$CACHE/pulumi-resource-kubernetes-$PROVIDER_VERSION
HELM_DIR=$CACHE/helm-$HELM_VERSION
HELM4_DIR=$CACHE/helm-$HELM4_VERSION
LINT_DIR=$CACHE/golangci-lint-$LINT_VERSION
ACTIONLINT_DIR=$CACHE/actionlint-$ACTIONLINT_VERSION
KUBE_DIR=$CACHE/kubernetes-$KUBE_VERSION-etcd-$ETCD_VERSION
KWOK_DIR=$CACHE/kwok-$KWOK_VERSION
KUBE_SCORE_DIR=$CACHE/kube-score-$KUBE_SCORE_VERSION
TRIVY_DIR=$CACHE/trivy-$TRIVY_VERSION
HELM_DOCS_DIR=$CACHE/helm-docs-$HELM_DOCS_VERSION
PROMTOOL_DIR=$CACHE/promtool-$PROMETHEUS_VERSION
REDIS_EXPORTER_DIR=$CACHE/redis_exporter-$REDIS_EXPORTER_VERSION
POSTGRES_EXPORTER_DIR=$CACHE/postgres_exporter-$POSTGRES_EXPORTER_VERSION
RCLONE_DIR=$CACHE/rclone-$RCLONE_VERSION
SEAWEEDFS_DIR=$CACHE/seaweedfs-${SEAWEEDFS_VERSION##*-}

log() { printf '[toolchain] %s\n' "$*" >&2; }

# at_least HAVE WANT: version HAVE is WANT or newer.
at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }

# A tool already installed (the official binaries, a setup action, a package
# manager) is used where it is when its version fits the pin, instead of
# being built; the cache is the fallback.
# The Pulumi CLI: the pinned version or newer, as the driver accepts it; its
# root is the folder above its bin/.
installed_pulumi() {
	local bin have
	bin=$(command -v pulumi) || return 1
	have=$("$bin" version 2>/dev/null | sed 's/^v//') || return 1
	[ "${have%%.*}" = "${PULUMI_VERSION%%.*}" ] && at_least "$have" "$PULUMI_VERSION" || return 1
	dirname "$(dirname "$(readlink -f "$bin")")"
}
# helm: exactly the pinned version, since lint, render and scan results follow it.
installed_helm() {
	local bin
	bin=$(command -v helm) || return 1
	[ "$("$bin" version --template '{{.Version}}' 2>/dev/null)" = "v$HELM_VERSION" ] || return 1
	dirname "$(readlink -f "$bin")"
}
# The Kubernetes provider as the CLI installs plugins.
PLUGIN_DIR=${PULUMI_HOME:-$HOME/.pulumi}/plugins/resource-kubernetes-v$PROVIDER_VERSION
if [ ! -x "$PULUMI_DIR/bin/pulumi" ] && root=$(installed_pulumi); then
	PULUMI_DIR=$root
fi
if [ ! -x "$HELM_DIR/helm" ] && dir=$(installed_helm); then
	HELM_DIR=$dir
fi
if [ ! -x "$PROVIDER_DIR/pulumi-resource-kubernetes" ] && [ -x "$PLUGIN_DIR/pulumi-resource-kubernetes" ]; then
	PROVIDER_DIR=$PLUGIN_DIR
fi

# stage copies a checked-in wrapper module to a fixed build folder, so the Go
# build cache hits whichever clone runs the build.
stage() {
	local name=$1 dir=$CACHE/build/$1
	mkdir -p "$dir"
	cp "$ROOT/tools/$name/go.mod" "$ROOT/tools/$name/go.sum" "$ROOT/tools/$name/tools.go" "$dir/"
	printf '%s' "$dir"
}

# gobuild DIR OUT PKG [LDFLAGS]: go build PKG in DIR to OUT through a temporary
# file, so an interrupted build never leaves a binary that looks complete.
gobuild() {
	local dir=$1 out=$2 pkg=$3 ldflags=${4:-}
	mkdir -p "$(dirname "$out")"
	(cd "$dir" && go build -ldflags "$ldflags" -o "$out.tmp" "$pkg")
	mv "$out.tmp" "$out"
}

# goinstall OUT PKG@VERSION [LDFLAGS]: go install a tool into the folder OUT
# through a temporary one, so an interrupted build never leaves a binary that
# looks complete.
goinstall() {
	local out=$1 pkg=$2 ldflags=${3:-}
	rm -rf "$out.tmp"
	mkdir -p "$out.tmp" "$out"
	GOBIN="$out.tmp" go install -ldflags "$ldflags" "$pkg"
	mv "$out.tmp"/* "$out/"
	rmdir "$out.tmp"
}

build_pulumi() {
	[ -x "$PULUMI_DIR/bin/pulumi" ] && return
	log "building pulumi v$PULUMI_VERSION (about 12 CPU-minutes cold)"
	local dir
	dir=$(stage pulumi)
	# <root>/bin/pulumi is the layout the Automation API expects of a CLI root;
	# without the version stamp it refuses the CLI.
	gobuild "$dir" "$PULUMI_DIR/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
		"-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
}

build_provider() {
	[ -x "$PROVIDER_DIR/pulumi-resource-kubernetes" ] && return
	# The CLI downloads the released plugin where it can reach get.pulumi.com.
	if [ -x "$PULUMI_DIR/bin/pulumi" ] &&
		timeout 120 "$PULUMI_DIR/bin/pulumi" plugin install resource kubernetes "v$PROVIDER_VERSION" >/dev/null 2>&1 &&
		[ -x "$PLUGIN_DIR/pulumi-resource-kubernetes" ]; then
		PROVIDER_DIR=$PLUGIN_DIR
		log "installed pulumi-resource-kubernetes v$PROVIDER_VERSION with pulumi plugin install"
		return
	fi
	log "building pulumi-resource-kubernetes v$PROVIDER_VERSION (about 21 CPU-minutes cold)"
	local dir src
	dir=$(stage k8s-provider)
	src=$(cd "$dir" && go mod download -json "$PROVIDER_MODULE@$PROVIDER_PSEUDO" | jq -r .Dir)
	if [ ! -f "$dir/provider-src/cmd/pulumi-resource-kubernetes/schema-embed.json" ]; then
		rm -rf "$dir/provider-src"
		cp -r "$src" "$dir/provider-src"
		chmod -R u+w "$dir/provider-src"
		local cmd=$dir/provider-src/cmd/pulumi-resource-kubernetes
		jq -c --arg v "$PROVIDER_VERSION" '.version=$v' "$cmd/schema.json" >"$cmd/schema-embed.json"
		jq -c . "$cmd/terraform-mapping.json" >"$cmd/terraform-mapping-embed.json"
	fi
	gobuild "$dir" "$PROVIDER_DIR/pulumi-resource-kubernetes" "$PROVIDER_MODULE/cmd/pulumi-resource-kubernetes" \
		"-X $PROVIDER_MODULE/pkg/version.Version=$PROVIDER_VERSION"
}

build_helm() {
	[ -x "$HELM_DIR/helm" ] && return
	log "building helm v$HELM_VERSION"
	goinstall "$HELM_DIR" "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" "-X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION"
}

build_helm4() {
	[ -x "$HELM4_DIR/helm" ] && return
	log "building helm v$HELM4_VERSION"
	goinstall "$HELM4_DIR" "helm.sh/helm/v4/cmd/helm@v$HELM4_VERSION" "-X helm.sh/helm/v4/internal/version.version=v$HELM4_VERSION"
}

build_lint() {
	[ -x "$LINT_DIR/golangci-lint" ] && return
	log "building golangci-lint v$LINT_VERSION"
	goinstall "$LINT_DIR" "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v$LINT_VERSION"
}

build_actionlint() {
	[ -x "$ACTIONLINT_DIR/actionlint" ] && return
	log "building actionlint v$ACTIONLINT_VERSION"
	goinstall "$ACTIONLINT_DIR" "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION"
}

build_helm_docs() {
	[ -x "$HELM_DOCS_DIR/helm-docs" ] && return
	log "building helm-docs v$HELM_DOCS_VERSION"
	goinstall "$HELM_DOCS_DIR" "github.com/norwoodj/helm-docs/cmd/helm-docs@v$HELM_DOCS_VERSION"
}

build_kube_score() {
	[ -x "$KUBE_SCORE_DIR/kube-score" ] && return
	log "building kube-score v$KUBE_SCORE_VERSION"
	goinstall "$KUBE_SCORE_DIR" "github.com/zegl/kube-score/cmd/kube-score@v$KUBE_SCORE_VERSION"
}

# Trivy needs encoding/json/v2 from the toolchain; its checks are embedded in
# the binary (used with --skip-check-update, nothing is downloaded).
build_trivy() {
	[ -x "$TRIVY_DIR/trivy" ] && return
	log "building trivy v$TRIVY_VERSION (about 25 CPU-minutes cold)"
	GOEXPERIMENT=jsonv2 goinstall "$TRIVY_DIR" "github.com/aquasecurity/trivy/cmd/trivy@v$TRIVY_VERSION" \
		"-X github.com/aquasecurity/trivy/pkg/version/app.ver=$TRIVY_VERSION"
}


build_promtool() {
	[ -x "$PROMTOOL_DIR/promtool" ] && return
	log "building promtool v$PROMETHEUS_VERSION (about 8 CPU-minutes cold)"
	goinstall "$PROMTOOL_DIR" "github.com/prometheus/prometheus/cmd/promtool@v$PROMETHEUS_VERSION"
}

# build_exporter NAME MODULE PKG VERSION DIR: an exporter from its wrapper
# module in tools/NAME, which must pin the version the chart's image carries.
build_exporter() {
	local name=$1 module=$2 pkg=$3 version=$4 out=$5 pinned
	[ -x "$out/$name" ] && return
	pinned=$(cd "$ROOT/tools/$name" && go list -m -f '{{.Version}}' "$module")
	if [ "$pinned" != "v$version" ]; then
		echo "tools/$name/go.mod pins $module $pinned, but the chart runs v$version: cd tools/$name && go get $module@v$version && go mod tidy" >&2
		exit 1
	fi
	log "building $name v$version"
	local dir
	dir=$(stage "$name")
	gobuild "$dir" "$out/$name" "$pkg"
}

build_exporters() {
	build_exporter redis-exporter github.com/oliver006/redis_exporter github.com/oliver006/redis_exporter \
		"$REDIS_EXPORTER_VERSION" "$REDIS_EXPORTER_DIR"
	build_exporter postgres-exporter github.com/prometheus-community/postgres_exporter \
		github.com/prometheus-community/postgres_exporter/cmd/postgres_exporter "$POSTGRES_EXPORTER_VERSION" "$POSTGRES_EXPORTER_DIR"
}

build_rclone() {
	[ -x "$RCLONE_DIR/rclone" ] && return
	log "building rclone v$RCLONE_VERSION (about 6 CPU-minutes cold)"
	goinstall "$RCLONE_DIR" "github.com/rclone/rclone@v$RCLONE_VERSION" "-X github.com/rclone/rclone/fs.Version=v$RCLONE_VERSION"
}

# SeaweedFS's go.mod has replace directives, which go install refuses: it is
# built as the main module, from its source in the module cache.
build_seaweedfs() {
	[ -x "$SEAWEEDFS_DIR/weed" ] && return
	log "building SeaweedFS $SEAWEEDFS_VERSION (about 10 CPU-minutes cold)"
	local src dir=$CACHE/build/seaweedfs
	src=$(go mod download -json "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION" | jq -r .Dir)
	if [ ! -f "$dir/.version" ] || [ "$(cat "$dir/.version")" != "$SEAWEEDFS_VERSION" ]; then
		rm -rf "$dir"
		cp -r "$src" "$dir"
		chmod -R u+w "$dir"
		echo "$SEAWEEDFS_VERSION" >"$dir/.version"
	fi
	gobuild "$dir" "$SEAWEEDFS_DIR/weed" ./weed
}

# The sandbox cluster: kube-apiserver, kube-controller-manager,
# kube-scheduler and etcd from one module graph, kwok from its own.
build_kube() {
	local missing=0 b
	for b in kube-apiserver kube-controller-manager kube-scheduler etcd; do
		[ -x "$KUBE_DIR/$b" ] || missing=1
	done
	[ $missing = 0 ] && return
	log "building kubernetes v$KUBE_VERSION control plane and etcd v$ETCD_VERSION (about 11 CPU-minutes cold)"
	local dir
	dir=$(stage sandbox)
	local v=k8s.io/component-base/version
	local ldflags="-X $v.gitVersion=v$KUBE_VERSION -X $v.gitMajor=${KUBE_VERSION%%.*} -X $v.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2) -X $v.gitTreeState=clean"
	for b in kube-apiserver kube-controller-manager kube-scheduler; do
		[ -x "$KUBE_DIR/$b" ] || gobuild "$dir" "$KUBE_DIR/$b" "k8s.io/kubernetes/cmd/$b" "$ldflags"
	done
	[ -x "$KUBE_DIR/etcd" ] || gobuild "$dir" "$KUBE_DIR/etcd" go.etcd.io/etcd/server/v3
}

build_kwok() {
	[ -x "$KWOK_DIR/kwok" ] && return
	log "building kwok v$KWOK_VERSION (about 6 CPU-minutes cold)"
	local dir
	dir=$(stage kwok)
	gobuild "$dir" "$KWOK_DIR/kwok" sigs.k8s.io/kwok/cmd/kwok
}

# main runs last: bash has then read the whole file, so editing this script
# while a long build runs cannot change what the running one does.
main() {
	case "${1:-all}" in
	bin)
		printf '%s\n' "$PULUMI_DIR/bin" "$PROVIDER_DIR" "$HELM_DIR" "$LINT_DIR" "$KUBE_DIR" "$KWOK_DIR" "$ACTIONLINT_DIR" "$KUBE_SCORE_DIR" "$TRIVY_DIR" "$HELM_DOCS_DIR" "$PROMTOOL_DIR" "$REDIS_EXPORTER_DIR" "$POSTGRES_EXPORTER_DIR" "$RCLONE_DIR" "$SEAWEEDFS_DIR"
		exit 0
		;;
	dir)
		# One tool's folder, by the name of its binary.
		case "${2:-}" in
		pulumi) echo "$PULUMI_DIR/bin" ;;
		pulumi-resource-kubernetes) echo "$PROVIDER_DIR" ;;
		helm) echo "$HELM_DIR" ;;
		helm4) echo "$HELM4_DIR" ;;
		golangci-lint) echo "$LINT_DIR" ;;
		actionlint) echo "$ACTIONLINT_DIR" ;;
		kube-score) echo "$KUBE_SCORE_DIR" ;;
		trivy) echo "$TRIVY_DIR" ;;
		helm-docs) echo "$HELM_DOCS_DIR" ;;
		kube-apiserver | etcd) echo "$KUBE_DIR" ;;
		kwok) echo "$KWOK_DIR" ;;
		promtool) echo "$PROMTOOL_DIR" ;;
		redis-exporter) echo "$REDIS_EXPORTER_DIR" ;;
		postgres-exporter) echo "$POSTGRES_EXPORTER_DIR" ;;
		rclone) echo "$RCLONE_DIR" ;;
		weed) echo "$SEAWEEDFS_DIR" ;;
		# kube-state-metrics' published metric tables, at the version the rules are checked against.
		kube-state-metrics-docs) echo "$(go mod download -json "k8s.io/kube-state-metrics/v2@v$KUBE_STATE_METRICS_VERSION" | jq -r .Dir)/docs/metrics" ;;
		# The kubelet's source, of the Kubernetes release the sandbox runs: its volume statistics and the labels of its cAdvisor series.
		kubelet-source) echo "$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | jq -r .Dir)/pkg/kubelet" ;;
		# cAdvisor's container metrics, at the version that Kubernetes release builds the kubelet with.
		cadvisor-metrics)
			local kube cadvisor
			kube=$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | jq -r .Dir)
			cadvisor=$(awk '$1 == "github.com/google/cadvisor" {print $2}' "$kube/go.mod")
			echo "$(go mod download -json "github.com/google/cadvisor@$cadvisor" | jq -r .Dir)/metrics"
			;;
		# cert-manager's certificate metrics.
		cert-manager-metrics) echo "$(go mod download -json "github.com/cert-manager/cert-manager@v$CERT_MANAGER_VERSION" | jq -r .Dir)/pkg/metrics" ;;
		# cert-manager's CRDs (ClusterIssuer), for the preflight e2e.
		cert-manager-crds) echo "$(go mod download -json "github.com/cert-manager/cert-manager@v$CERT_MANAGER_VERSION" | jq -r .Dir)/deploy/crds" ;;
		# The OpenAPI documents of the Kubernetes release the sandbox runs (from the Go module proxy).
		kubernetes-openapi) echo "$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | jq -r .Dir)/api/openapi-spec/v3" ;;
		# The Gateway API's standard CRDs (HTTPRoute), the release the chart's routes are checked against.
		gateway-api-crds) echo "$(go mod download -json "sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION" | jq -r .Dir)/config/crd/standard" ;;
		# The Grafana Operator's CRDs (GrafanaDashboard), for the e2e apply.
		grafana-operator-crds) echo "$(go mod download -json "github.com/grafana/grafana-operator/v5@v$GRAFANA_OPERATOR_VERSION" | jq -r .Dir)/config/crd/bases" ;;
		# KEDA's CRDs (ScaledObject, TriggerAuthentication), for the e2e apply.
		keda-crds) echo "$(go mod download -json "github.com/kedacore/keda/v2@v$KEDA_VERSION" | jq -r .Dir)/config/crd/bases" ;;
		# CloudNativePG's CRDs (Cluster, ScheduledBackup) and the Barman Cloud plugin's (ObjectStore), for the render tests and the e2e apply.
		cnpg-crds) echo "$(go mod download -json "github.com/cloudnative-pg/cloudnative-pg@v$CNPG_VERSION" | jq -r .Dir)/config/crd/bases" ;;
		barman-cloud-crds) echo "$(go mod download -json "github.com/cloudnative-pg/plugin-barman-cloud@v$BARMAN_CLOUD_VERSION" | jq -r .Dir)/config/crd/bases" ;;
		# Their sources, where the metrics a Cluster's instances export are defined, for the monitoring proof.
		cnpg-source) go mod download -json "github.com/cloudnative-pg/cloudnative-pg@v$CNPG_VERSION" | jq -r .Dir ;;
		barman-cloud-source) go mod download -json "github.com/cloudnative-pg/plugin-barman-cloud@v$BARMAN_CLOUD_VERSION" | jq -r .Dir ;;
		*) echo "usage: $0 dir pulumi|pulumi-resource-kubernetes|helm|helm4|golangci-lint|actionlint|kube-score|trivy|helm-docs|kube-apiserver|kwok|promtool|redis-exporter|postgres-exporter|rclone|weed|kubernetes-openapi|gateway-api-crds|keda-crds|grafana-operator-crds|kube-state-metrics-docs|kubelet-source|cadvisor-metrics|cert-manager-metrics|cert-manager-crds|cnpg-crds|barman-cloud-crds|cnpg-source|barman-cloud-source" >&2; exit 2 ;;
		esac
		exit 0
		;;
	esac

	for tool in "${@:-all}"; do
		case $tool in
		all) build_pulumi; build_provider; build_helm; build_helm4; build_lint; build_actionlint; build_kube; build_kwok; build_kube_score; build_trivy; build_helm_docs; build_promtool; build_exporters; build_rclone; build_seaweedfs ;;
		pulumi) build_pulumi ;;
		provider) build_provider ;;
		helm) build_helm ;;
		helm4) build_helm4 ;;
		lint) build_lint; build_actionlint; build_helm_docs ;;
		sandbox) build_kube; build_kwok ;;
		score) build_helm; build_kube_score; build_trivy; build_helm_docs ;;
		monitoring) build_helm; build_promtool; build_exporters ;;
		backup) build_rclone; build_seaweedfs ;;
		*) echo "usage: $0 [all|pulumi|provider|helm|helm4|lint|sandbox|score|monitoring|backup]... | bin" >&2; exit 2 ;;
		esac
	done
	log "ready: ${*:-all}"
}

main "$@"
exit
