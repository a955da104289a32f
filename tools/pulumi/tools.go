//go:build tools

// Package tools pins the Pulumi CLI so hack/toolchain.sh can build it from the
// Go module proxy (`go install` refuses pkg/v3 because of its replace directives).
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
