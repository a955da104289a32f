#!/usr/bin/env bash
# The sandbox cluster: a real Kubernetes control plane on 127.0.0.1 with one
# simulated node (see tools/sandbox/cmd/sandbox).
#
#   hack/sandbox.sh start|stop|status|kubeconfig
#   hack/sandbox.sh restart NAME [--down 5s]   stop one process and start it again
#
# State (certificates, etcd data, logs, PIDs, kubeconfig) lives in
# ${RHESIS_SANDBOX_DIR:-<repo>/.sandbox}. The binaries come from hack/toolchain.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${RHESIS_SANDBOX_DIR:-$ROOT/.sandbox}

case "${1:-}" in
kubeconfig)
	echo "$STATE/kubeconfig"
	exit 0
	;;
start | stop | status | restart) ;;
*)
	echo "usage: $0 start|stop|status|kubeconfig | restart NAME [--down DURATION]" >&2
	exit 2
	;;
esac

"$ROOT/hack/toolchain.sh" sandbox
mkdir -p "$STATE/bin"
# The sandbox command is this repository's code: rebuilt when it changed (the
# Go build cache makes an unchanged rebuild a relink at most).
(cd "$ROOT/tools/sandbox" && go build -o "$STATE/bin/sandbox.new" ./cmd/sandbox)
if ! cmp -s "$STATE/bin/sandbox.new" "$STATE/bin/sandbox" 2>/dev/null; then
	mv "$STATE/bin/sandbox.new" "$STATE/bin/sandbox"
else
	rm -f "$STATE/bin/sandbox.new"
fi

PATH="$("$ROOT/hack/toolchain.sh" dir kube-apiserver):$("$ROOT/hack/toolchain.sh" dir kwok):$PATH"
export PATH
if [ "$1" = restart ]; then
	[ $# -ge 2 ] || { echo "usage: $0 restart NAME [--down DURATION]" >&2; exit 2; }
	name=$2
	shift 2
	exec "$STATE/bin/sandbox" --state "$STATE" "$@" restart "$name"
fi
exec "$STATE/bin/sandbox" --state "$STATE" "$1"
