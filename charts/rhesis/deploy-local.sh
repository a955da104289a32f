#!/usr/bin/env bash
# Installs (or upgrades) the Rhesis chart on the current kubeconfig context.
#
#   ./deploy-local.sh [--source PATH] [--tag TAG] [--prebuilt] [--namespace NS]
#                     [--release NAME] [--values FILE] [--timeout DURATION]
#
#   --source PATH   a Rhesis monorepo checkout: build the backend, worker,
#                   migrate and frontend images from it (context = the
#                   repository root)
#   --prebuilt      use ghcr.io/rhesis-ai/{backend,worker,frontend}:TAG instead
#                   of locally built rhesis-* images
#   --tag TAG       image tag (default: the chart's appVersion, the pinned
#                   Rhesis release, e.g. 0.13.0)
#   --namespace NS  namespace (default: rhesis; created when missing, labelled
#                   for Pod Security "restricted")
#   --release NAME  Helm release name (default: rhesis)
#   --values FILE   values file (default: values-local.yaml next to this script)
#   --timeout D     how long to wait for the workloads (default: 10m)
#
# Without --source and --prebuilt the images rhesis-{backend,worker,frontend}:TAG
# must already be available to the cluster. With a minikube context, built
# images are loaded into minikube.
set -euo pipefail

CHART=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
APP_VERSION=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$CHART/Chart.yaml")
SOURCE="" TAG=$APP_VERSION PREBUILT=0 NAMESPACE=rhesis RELEASE=rhesis VALUES="$CHART/values-local.yaml" TIMEOUT=10m

die() { echo "deploy-local: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required but not installed ($2)"; }

while [ $# -gt 0 ]; do
	case $1 in
	--source) SOURCE=${2:?--source needs a path}; shift 2 ;;
	--tag) TAG=${2:?--tag needs a value}; shift 2 ;;
	--prebuilt) PREBUILT=1; shift ;;
	--namespace) NAMESPACE=${2:?}; shift 2 ;;
	--release) RELEASE=${2:?}; shift 2 ;;
	--values) VALUES=${2:?}; shift 2 ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	-h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
done

need helm "https://helm.sh/docs/intro/install/"
need kubectl "https://kubernetes.io/docs/tasks/tools/"
[ -f "$VALUES" ] || die "values file $VALUES not found"
[ -n "$SOURCE" ] && [ $PREBUILT = 1 ] && die "--source and --prebuilt exclude each other"
CONTEXT=$(kubectl config current-context 2>/dev/null) || die "no current kubeconfig context; set one with kubectl config use-context"
kubectl version --request-timeout=10s >/dev/null 2>&1 || die "the cluster of context $CONTEXT is not reachable"
echo "deploying release $RELEASE to namespace $NAMESPACE on context $CONTEXT"

set_images=()
if [ -n "$SOURCE" ]; then
	need docker "https://docs.docker.com/get-docker/"
	[ -f "$SOURCE/apps/backend/Dockerfile" ] || die "$SOURCE is not a Rhesis checkout (no apps/backend/Dockerfile)"
	[ -f "$SOURCE/apps/frontend/Dockerfile" ] || die "$SOURCE is not a Rhesis checkout (no apps/frontend/Dockerfile)"
	env=$(sed -n 's/^  environment: *//p' "$VALUES" | head -n1)
	case ${env:-local} in prod) frontend_env=production ;; *) frontend_env=${env:-local} ;; esac
	# Context is the repository root; backend and worker are targets of one Dockerfile.
	docker build -f "$SOURCE/apps/backend/Dockerfile" --target backend -t "rhesis-backend:$TAG" "$SOURCE"
	docker build -f "$SOURCE/apps/backend/Dockerfile" --target worker -t "rhesis-worker:$TAG" "$SOURCE"
	docker build -f "$SOURCE/apps/backend/Dockerfile" --target migrate -t "rhesis-migrate:$TAG" "$SOURCE"
	docker build -f "$SOURCE/apps/frontend/Dockerfile" --build-arg "FRONTEND_ENV=$frontend_env" -t "rhesis-frontend:$TAG" "$SOURCE"
	if [ "$CONTEXT" = minikube ]; then
		need minikube "https://minikube.sigs.k8s.io/docs/start/"
		for img in backend worker migrate frontend; do minikube image load "rhesis-$img:$TAG"; done
	fi
fi
for img in backend worker frontend; do
	repo=rhesis-$img
	[ $PREBUILT = 1 ] && repo=ghcr.io/rhesis-ai/$img
	set_images+=(--set "$img.image.repository=$repo" --set "$img.image.tag=$TAG")
done
# Locally built images include the migrate target; prebuilt ones migrate from
# the backend image (no migrate image is published).
if [ $PREBUILT = 0 ]; then
	set_images+=(--set "migrations.image.repository=rhesis-migrate" --set "migrations.image.tag=$TAG")
fi

if ! kubectl get namespace "$NAMESPACE" >/dev/null 2>&1; then
	kubectl create namespace "$NAMESPACE"
fi
kubectl label --overwrite namespace "$NAMESPACE" \
	pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/warn=restricted >/dev/null

helm upgrade --install "$RELEASE" "$CHART" --namespace "$NAMESPACE" -f "$VALUES" "${set_images[@]}" \
	--wait --timeout "$TIMEOUT"

# helm --wait covers Deployments; check every workload and claim explicitly.
kubectl rollout status deployment --namespace "$NAMESPACE" --timeout "$TIMEOUT"
if [ -n "$(kubectl get pvc --namespace "$NAMESPACE" -o name)" ]; then
	kubectl wait --namespace "$NAMESPACE" --for=jsonpath='{.status.phase}'=Bound pvc --all --timeout "$TIMEOUT"
fi

helm get notes "$RELEASE" --namespace "$NAMESPACE"
