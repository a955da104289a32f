package tests

import (
	"os"
	"testing"

	"github.com/rhesis-ai/rhesis-deploy/tests/testutil"
)

// ociRegistry is the host:port of an OCI registry over TLS for the
// published-chart tests, trusted as a real registry is.
var ociRegistry string

func TestMain(m *testing.M) { os.Exit(testutil.RunWithRegistry(m, &ociRegistry)) }
