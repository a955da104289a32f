//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
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

	budgets := budgetsOf(t, ns, replicas)
	// Watch the available replicas while the node drains.
	lowestAvailable := watchAvailable(t, ns)
	out, err := exec.Command("kubectl", "drain", lost, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=180s").CombinedOutput()
	lowest := lowestAvailable()
	require.NoError(t, err, "drain: %s", out)
	kubectlRun(t, "delete", "node", lost)

	for deployment, min := range budgets {
		assert.GreaterOrEqual(t, lowest[deployment], min, "%s fell below its budget during the drain", deployment)
	}
	t.Logf("lowest available replicas during the drain: %v (budgets %v)", lowest, budgets)
	waitForReplicas(t, ns, replicas)
	assertConverged(t, ns, replicas)
	assert.Equal(t, map[string]int{"sandbox-node": 12}, podsOn(t, ns), "every pod rescheduled on the remaining node")
	e.expectInSync()
	e.destroyKept()
}

// budgetsOf is the fewest available replicas each PodDisruptionBudget of ns
// allows during a voluntary disruption, for the given replicas, by
// Deployment.
func budgetsOf(t *testing.T, ns string, replicas map[string]float64) map[string]float64 {
	t.Helper()
	budgets := map[string]float64{}
	for _, pdb := range items(kubectl(t, "get", "pdb", "-n", ns)) {
		app := fmt.Sprint(dig(pdb, "spec", "selector", "matchLabels", "app.kubernetes.io/name"))
		unavailable, ok := dig(pdb, "spec", "maxUnavailable").(float64)
		require.True(t, ok, "budget %s without maxUnavailable", name(pdb))
		budgets[app] = replicas[app] - unavailable
	}
	require.NotEmpty(t, budgets)
	return budgets
}

// watchAvailable polls the available replicas of every Deployment in ns
// every 100 ms until the returned function is called, which gives the lowest
// count each one had.
func watchAvailable(t *testing.T, ns string) (lowest func() map[string]float64) {
	t.Helper()
	low := map[string]float64{}
	stop := make(chan struct{})
	var watching sync.WaitGroup
	watching.Add(1)
	go func() {
		defer watching.Done()
		for {
			out, err := exec.Command("kubectl", "get", "deployments", "-n", ns, "-o",
				`jsonpath={range .items[*]}{.metadata.name}={.status.availableReplicas}{"\n"}{end}`).Output()
			if err == nil {
				for _, line := range strings.Fields(string(out)) {
					n, v, _ := strings.Cut(line, "=")
					var got float64
					_, _ = fmt.Sscan(v, &got)
					if l, ok := low[n]; !ok || got < l {
						low[n] = got
					}
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() map[string]float64 {
		close(stop)
		watching.Wait()
		return low
	}
}

// TestAPIServerRestartDuringUp: while prod is being deployed (raw mode, its
// Deployments created and awaited; the node is cordoned until the outage is
// over), the API server stops, stays down for 5 s and starts again. Whatever that run reports, the next `rhesis up`
// converges: every object in the state exists in the cluster with the UID the
// state records, every Deployment is available, drift finds nothing.
func TestAPIServerRestartDuringUp(t *testing.T) {
	ns := "e2e-apiserver"
	assertGone(t, ns)
	e := newProdStack(t, ns, "raw")
	server, err := exec.Command("kubectl", "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}").Output()
	require.NoError(t, err)
	apiHost := strings.TrimPrefix(string(server), "https://")
	// No pod can start until the outage is over, so the run is certainly
	// awaiting its Deployments when the API server goes away.
	kubectlRun(t, "cordon", "sandbox-node")
	t.Cleanup(func() { _ = exec.Command("kubectl", "uncordon", "sandbox-node").Run() })
	cmd := e.cliCommand("up")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	runEnded := make(chan time.Time, 1)
	var runErr error
	go func() { runErr = cmd.Wait(); runEnded <- time.Now() }()
	deadline := time.Now().Add(2 * time.Minute)
	for !exists("deployment", "backend", "-n", ns) {
		require.True(t, time.Now().Before(deadline), "the run never created the backend:\n%s", out.String())
		time.Sleep(100 * time.Millisecond)
	}
	// When the API server stopped listening, seen from here.
	wentDown := make(chan time.Time, 1)
	go func() {
		for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			c, err := net.DialTimeout("tcp", apiHost, 200*time.Millisecond)
			if err != nil {
				wentDown <- time.Now()
				return
			}
			_ = c.Close()
		}
		close(wentDown)
	}()
	restart := exec.Command(filepath.Join(repoRoot(t), "hack", "sandbox.sh"), "restart", "kube-apiserver", "--down", "5s")
	restarted, err := restart.CombinedOutput()
	require.NoError(t, err, "restart: %s", restarted)
	t.Logf("%s", restarted)
	kubectlRun(t, "uncordon", "sandbox-node")
	down, ended := <-wentDown, <-runEnded
	require.False(t, down.IsZero(), "the API server never stopped listening")
	require.True(t, down.Before(ended), "the run ended before the API server went down: the fault missed it")
	t.Logf("the API server went down %s before the run ended; the run ended with %v:\n%s",
		ended.Sub(down).Round(time.Millisecond), runErr, tail(out.String(), 12))

	code, again := e.cli("up")
	require.Zero(t, code, again)
	replicas := map[string]float64{"frontend": 2, "backend": 3, "worker": 5, "postgres": 1, "redis": 1}
	waitForReplicas(t, ns, replicas)
	assertConverged(t, ns, replicas)
	assertReferencesResolve(t, ns)
	n := assertStateMatchesCluster(t, e)
	t.Logf("%d objects of the state found in the cluster with their UIDs", n)
	e.expectInSync()
	e.destroyKept()
}

// assertStateMatchesCluster: every Kubernetes object of the stack's state
// exists in the cluster, and is the very object the state records (same
// UID), not one created again behind its back. It returns how many it
// compared.
func assertStateMatchesCluster(t *testing.T, e *e2eStack) int {
	t.Helper()
	dep, err := e.s.Export(e.ctx)
	require.NoError(t, err)
	var state struct {
		Resources []struct {
			Type    string         `json:"type"`
			Outputs map[string]any `json:"outputs"`
		} `json:"resources"`
	}
	require.NoError(t, json.Unmarshal(dep.Deployment, &state))
	compared := 0
	for _, r := range state.Resources {
		if !strings.HasPrefix(r.Type, "kubernetes:") || strings.HasPrefix(r.Type, "kubernetes:helm") || r.Type == "pulumi:providers:kubernetes" {
			continue
		}
		kind, _ := r.Outputs["kind"].(string)
		apiVersion, _ := r.Outputs["apiVersion"].(string)
		objName, _ := dig(r.Outputs, "metadata", "name").(string)
		uid, _ := dig(r.Outputs, "metadata", "uid").(string)
		require.NotEmpty(t, uid, "%s %s has no UID in the state", r.Type, objName)
		resource := kind
		if group, _, grouped := strings.Cut(apiVersion, "/"); grouped {
			resource = kind + "." + group
		}
		args := []string{"get", resource, objName}
		if objNs, ok := dig(r.Outputs, "metadata", "namespace").(string); ok && objNs != "" {
			args = append(args, "-n", objNs)
		}
		live := kubectl(t, args...)
		assert.Equal(t, uid, dig(live, "metadata", "uid"), "%s %s is not the object the state records", kind, objName)
		compared++
	}
	require.Positive(t, compared)
	return compared
}
