//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/rhesis-ai/rhesis-deploy/tests/testutil"
)

// ociRegistry is the host:port of an OCI registry over TLS, trusted by the
// tests and by the engine and provider they start, as a real registry is.
var ociRegistry string

func TestMain(m *testing.M) {
	host, stop, err := testutil.StartRegistry()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the test registry:", err)
		os.Exit(1)
	}
	ociRegistry = host
	code := m.Run()
	stop()
	os.Exit(code)
}
