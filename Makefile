# Two commands do everything on a fresh machine (see README.md):
#   make up     deploy the local stack
#   make test   run every test
SHELL := /bin/bash
TOOLCHAIN := hack/toolchain.sh
LINT = $(shell $(TOOLCHAIN) dir golangci-lint)/golangci-lint
ACTIONLINT = $(shell $(TOOLCHAIN) dir actionlint)/actionlint

.PHONY: up preview destroy drift unlock test unit score dbtest monitoring e2e drills lint fmt-check tools sandbox-start sandbox-stop

## up: deploy the local stack (STACK=... for another); starts the sandbox cluster when no cluster is reachable
up:
	hack/up.sh up

preview:
	hack/up.sh preview

destroy:
	hack/up.sh destroy

## drift: list what differs between the stack's state and the cluster (exit 3 when something does)
drift:
	hack/up.sh drift

## unlock: after a run was killed, clear its stale lock, pending operations and a pending Helm release
unlock:
	hack/up.sh cancel

## test: everything CI runs: formatting, vet, lint, unit, mock, chart and parity tests, kube-score and Trivy, the tests on a real PostgreSQL, the monitoring proof, then the end-to-end tests
test: fmt-check lint unit score dbtest monitoring e2e

## unit: go test of the main module (mocks, no cluster, seconds)
unit:
	go vet ./...
	go test ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

lint:
	$(TOOLCHAIN) lint
	$(LINT) run ./...
	cd monitoring && $(LINT) run ./...
	$(ACTIONLINT)
	hack/chart-readme.sh --check
	hack/chart-schema.sh --check

## score: kube-score and Trivy of every environment's render; fails on any kube-score CRITICAL or Trivy HIGH/CRITICAL
score:
	hack/scan.sh

## dbtest: the chart's database scripts against a real PostgreSQL (installed with apt when missing)
dbtest:
	hack/postgres-tests.sh

## monitoring: promtool checks and tests the rendered alert rules; each metric they use is found in a real scrape of the pinned exporters (PostgreSQL and Redis from apt) or in the platform's published metrics
monitoring:
	hack/monitoring-tests.sh

## e2e: real Pulumi engine and provider against the sandbox cluster (started and stopped here)
e2e:
	hack/e2e.sh

## drills: only the data drills: backup and restore on a real PostgreSQL, the upgrade, and the faults injected into real runs (all part of test)
drills:
	hack/postgres-tests.sh -run 'TestBackupAndRestoreOnPostgres'
	hack/e2e.sh -run 'TestUpgradeFromPreviousVersion|TestKilledRunRecovers|TestKilledHelmRunRecovers|TestAPIServerRestartDuringUp|TestNodeLost|TestDriftIsRepairedByOneUp'

sandbox-start:
	hack/sandbox.sh start

sandbox-stop:
	hack/sandbox.sh stop

## tools: build and cache every tool: the Pulumi CLI, the Kubernetes provider, helm, the linters, helm-docs, kube-score, Trivy and the sandbox
tools:
	$(TOOLCHAIN) all
