//go:build e2e

package e2e

import (
	"os"
	"testing"

	"github.com/rhesis-ai/rhesis-deploy/tests/testutil"
)

// ociRegistry is the host:port of an OCI registry over TLS, trusted by the
// tests and by the engine and provider they start, as a real registry is.
var ociRegistry string

func TestMain(m *testing.M) { os.Exit(testutil.RunWithRegistry(m, &ociRegistry)) }
