//go:build tools

// Package tools pins pulumi-resource-kubernetes v4.25.0: the Go module proxy
// serves its source only as this pseudo-version (the v4.25.0 release commit).
package tools

import _ "github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes"
