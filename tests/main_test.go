package tests

import (
	"fmt"
	"os"
	"testing"

	"github.com/rhesis-ai/rhesis-deploy/tests/testutil"
)

// ociRegistry is the host:port of an OCI registry over TLS for the
// published-chart tests, trusted as a real registry is.
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
