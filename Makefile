# Two commands do everything on a fresh machine (see README.md):
#   make up     deploy the local stack
#   make test   run every test
SHELL := /bin/bash
TOOLCHAIN := hack/toolchain.sh
LINT = $(shell $(TOOLCHAIN) bin | grep golangci-lint)/golangci-lint

.PHONY: test unit lint fmt-check tools

## test: everything CI runs: formatting, vet, lint, unit and mock tests
test: fmt-check lint unit

## unit: go test of the main module (mocks, no cluster, seconds)
unit:
	go vet ./...
	go test ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

lint:
	$(TOOLCHAIN) lint
	$(LINT) run ./...

## tools: build and cache the Pulumi CLI, the Kubernetes provider, helm and golangci-lint
tools:
	$(TOOLCHAIN) all
