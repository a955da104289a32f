//go:build tools

// Package tools pins kwok, which simulates the sandbox cluster's node and the
// lifecycle of its pods.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
