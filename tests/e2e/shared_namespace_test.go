//go:build e2e

package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/tests/testutil"
)

// TestTwoStacksShareANamespace: stack a, in helm mode, installs the chart
// published to an OCI registry (over TLS, pulled by the real provider) with
// namePrefix a-; stack b, in raw mode from this checkout's chart, deploys
// into a's namespace with namePrefix b- without owning it. Both converge
// side by side, each wired to its own stores; destroying b leaves a whole,
// and the namespace goes with a.
func TestTwoStacksShareANamespace(t *testing.T) {
	ref, err := testutil.PushChart(ociRegistry, repoRoot(t)+"/charts/rhesis", "rhesis", "9.9.9")
	require.NoError(t, err)
	ns := "e2e-shared"
	a := newStack(t, "e2e-shared-a", map[string]string{
		"environment": "local", "deploy.namespace": ns, "namePrefix": "a-",
		"deploy.mode": "helm", "deploy.chart": ref, "deploy.chartVersion": "9.9.9",
	}, nil)
	a.up()
	b := newStack(t, "e2e-shared-b", map[string]string{
		"environment": "local", "deploy.namespace": ns, "namePrefix": "b-", "deploy.createNamespace": "false",
	}, nil)
	b.up()

	want := map[string]float64{}
	for name, n := range localReplicas {
		want["a-"+name], want["b-"+name] = n, n
	}
	assertConverged(t, ns, want)
	assertReferencesResolve(t, ns)
	release := items(kubectl(t, "get", "secrets", "-n", ns, "-l", "owner=helm,name=a-rhesis,status=deployed"))
	require.Len(t, release, 1, "helm mode's release is a-rhesis")
	cmA := kubectl(t, "get", "configmap", "a-rhesis-config", "-n", ns)
	assert.Equal(t, "9.9.9", dig(cmA, "data", testutil.PublishedMark), "a runs the published chart")
	assert.Equal(t, "a-postgres", dig(cmA, "data", "DB_HOST"))
	cmB := kubectl(t, "get", "configmap", "b-rhesis-config", "-n", ns)
	assert.Nil(t, dig(cmB, "data", testutil.PublishedMark), "b runs this checkout's chart")
	assert.Equal(t, "b-postgres", dig(cmB, "data", "DB_HOST"))
	assert.Equal(t, "b-redis", dig(cmB, "data", "REDIS_HOST"))
	a.expectNoChanges()
	b.expectNoChanges()

	b.destroy()
	out, err := exec.Command("kubectl", "get", "all,configmaps,secrets,pvc,networkpolicies", "-n", ns, "-o", "name").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.NotContains(t, string(out), "/b-", "b left objects behind")
	assert.Contains(t, string(out), "deployment.apps/a-backend", "destroying b took a's objects")
	assert.True(t, strings.Contains(string(out), "configmap/a-rhesis-config"))
	a.destroy()
	assertGone(t, ns)
}
