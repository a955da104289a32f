//go:build e2e

package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/tests/testutil"
)

// addNode adds a simulated node, removed when the test ends.
func addNode(t *testing.T, name string) {
	t.Helper()
	cmd := exec.Command("kubectl", "create", "-f", "-")
	cmd.Stdin = strings.NewReader(testutil.SimulatedNode(name))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	t.Cleanup(func() { _ = exec.Command("kubectl", "delete", "node", name, "--wait=false").Run() })
}

// podsOn counts the namespace's running pods per node.
func podsOn(t *testing.T, ns string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, p := range items(kubectl(t, "get", "pods", "-n", ns, "--field-selector=status.phase=Running")) {
		out[fmt.Sprint(dig(p, "spec", "nodeName"))]++
	}
	return out
}

// TestNodeLost: prod runs on a node that is drained and then lost. The
// drain evicts through the API, so every PodDisruptionBudget holds: no
// Deployment ever has fewer available replicas than its budget allows. The pods come back on the remaining node, and the stack
// converges with nothing for up to do.
func TestNodeLost(t *testing.T) {
	ns := "e2e-node-lost"
	const lost = "e2e-lost-node"
	addNode(t, lost)
	// Everything starts on the node that will be lost.
	kubectlRun(t, "cordon", "sandbox-node")
	t.Cleanup(func() { _ = exec.Command("kubectl", "uncordon", "sandbox-node").Run() })
	e := newProdStack(t, ns, "raw")
	e.up()
	replicas := map[string]float64{"frontend": 2, "backend": 3, "worker": 5, "postgres": 1, "redis": 1}
	waitForReplicas(t, ns, replicas)
	require.Equal(t, map[string]int{lost: 12}, podsOn(t, ns), "every pod on the node to be lost")
	kubectlRun(t, "uncordon", "sandbox-node")

	// The fewest available replicas each budget allows during a voluntary disruption.
	budgets := map[string]float64{}
	for _, pdb := range items(kubectl(t, "get", "pdb", "-n", ns)) {
		app := fmt.Sprint(dig(pdb, "spec", "selector", "matchLabels", "app.kubernetes.io/name"))
		unavailable, ok := dig(pdb, "spec", "maxUnavailable").(float64)
		require.True(t, ok, "budget %s without maxUnavailable", name(pdb))
		budgets[app] = replicas[app] - unavailable
	}
	require.NotEmpty(t, budgets)

	// Watch the available replicas while the node drains.
	lowest := map[string]float64{}
	var mu sync.Mutex
	stop := make(chan struct{})
	var watching sync.WaitGroup
	watching.Add(1)
	go func() {
		defer watching.Done()
		for {
			out, err := exec.Command("kubectl", "get", "deployments", "-n", ns, "-o",
				`jsonpath={range .items[*]}{.metadata.name}={.status.availableReplicas}{"\n"}{end}`).Output()
			if err == nil {
				mu.Lock()
				for _, line := range strings.Fields(string(out)) {
					n, v, _ := strings.Cut(line, "=")
					var got float64
					_, _ = fmt.Sscan(v, &got)
					if low, ok := lowest[n]; !ok || got < low {
						lowest[n] = got
					}
				}
				mu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	out, err := exec.Command("kubectl", "drain", lost, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=180s").CombinedOutput()
	close(stop)
	watching.Wait()
	require.NoError(t, err, "drain: %s", out)
	kubectlRun(t, "delete", "node", lost)

	for deployment, min := range budgets {
		assert.GreaterOrEqual(t, lowest[deployment], min, "%s fell below its budget during the drain", deployment)
	}
	t.Logf("lowest available replicas during the drain: %v (budgets %v)", lowest, budgets)
	waitForReplicas(t, ns, replicas)
	assertConverged(t, ns, replicas)
	assert.Equal(t, map[string]int{"sandbox-node": 12}, podsOn(t, ns), "every pod rescheduled on the remaining node")
	code, drift := e.cli("drift")
	assert.Zero(t, code, drift)
	e.expectNoChanges()

	e.set("postgres.persistence.keep", "false")
	e.up()
	e.destroy()
}
