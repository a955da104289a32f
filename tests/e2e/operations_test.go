//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	buildOnce sync.Once
	rhesisBin string
	buildErr  error
)

// rhesisCommand builds the rhesis command once per test binary.
func rhesisCommand(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rhesis-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		rhesisBin = filepath.Join(dir, "rhesis")
		build := exec.Command("go", "build", "-o", rhesisBin, "./cmd/rhesis")
		build.Dir = repoRoot(t)
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = errors.New(string(out))
		}
	})
	require.NoError(t, buildErr)
	return rhesisBin
}

// cli is one run of the rhesis command on the stack: its exit code and
// everything it printed.
func (e *e2eStack) cli(args ...string) (int, string) {
	e.t.Helper()
	cmd := e.cliCommand(args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), out.String()
	}
	require.NoError(e.t, err)
	return 0, out.String()
}

// expectInSync: `rhesis drift` finds nothing and a preview plans nothing.
func (e *e2eStack) expectInSync() {
	e.t.Helper()
	code, out := e.cli("drift")
	assert.Zero(e.t, code, out)
	e.expectNoChanges()
}

// destroyKept lets the kept claims go (keep off, then up), then destroys.
func (e *e2eStack) destroyKept() {
	e.t.Helper()
	e.set("database.postgresql.persistence.keep", "false")
	e.up()
	e.destroy()
}

func (e *e2eStack) cliCommand(args ...string) *exec.Cmd {
	e.t.Helper()
	full := append([]string{"--stack", e.s.Name(), "--project", e.dir, "--backend", e.backend}, args...)
	cmd := exec.Command(rhesisCommand(e.t), full...)
	// Its own process group: a hard kill takes the CLI it started with it,
	// as a killed terminal or CI job does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// TestDriftIsRepairedByOneUp: objects deleted and edited by hand are listed
// by drift (exit 3) and put back by one up; drift then finds nothing.
func TestDriftIsRepairedByOneUp(t *testing.T) {
	ns := "e2e-drift"
	e := newStack(t, "e2e-drift", map[string]string{"environment": "local", "deploy.namespace": ns}, nil)
	code, out := e.cli("up")
	require.Zero(t, code, out)
	code, out = e.cli("drift")
	require.Zero(t, code, out)
	assert.Contains(t, out, "matches the cluster")

	kubectlRun(t, "delete", "deployment", "frontend", "-n", ns)
	kubectlRun(t, "delete", "service", "redis", "-n", ns)
	kubectlRun(t, "scale", "deployment", "worker", "-n", ns, "--replicas=3")
	kubectlRun(t, "patch", "configmap", "rhesis-config", "-n", ns, "--type=merge", "-p", `{"data":{"LOG_LEVEL":"DEBUG"}}`)

	code, out = e.cli("drift")
	assert.Equal(t, 3, code, out)
	for _, line := range []string{
		"kubernetes:apps/v1:Deployment frontend: deleted in the cluster",
		"kubernetes:core/v1:Service redis: deleted in the cluster",
		"kubernetes:apps/v1:Deployment worker: changed in the cluster: spec.replicas",
		"kubernetes:core/v1:ConfigMap rhesis-config: changed in the cluster: data.LOG_LEVEL",
	} {
		assert.Contains(t, out, line)
	}
	assert.Contains(t, out, "differs from the cluster in 4 objects")

	code, out = e.cli("up")
	require.Zero(t, code, out)
	kubectl(t, "get", "deployment", "frontend", "-n", ns)
	kubectl(t, "get", "service", "redis", "-n", ns)
	assert.EqualValues(t, 1, dig(kubectl(t, "get", "deployment", "worker", "-n", ns), "spec", "replicas"))
	assert.Equal(t, "INFO", dig(kubectl(t, "get", "configmap", "rhesis-config", "-n", ns), "data", "LOG_LEVEL"))
	waitForReplicas(t, ns, map[string]float64{"frontend": 1, "backend": 1, "worker": 1, "postgres": 1, "redis": 1})
	e.expectInSync()

	// A bad config after a good deploy changes nothing live, through the
	// command (refused before the engine runs) or the program itself.
	waitForReplicas(t, ns, map[string]float64{"frontend": 1, "backend": 1, "worker": 1, "postgres": 1, "redis": 1})
	before := resourceVersions(t, ns)
	e.set("backend.resources.limits.memory", "1Mi")
	code, out = e.cli("up")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "rhesis:backend.resources.limits.memory")
	_, err := e.update()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is below its request")
	assert.Equal(t, before, resourceVersions(t, ns), "a refused config changed a live object")
	require.NoError(t, e.s.RemoveConfigWithOptions(e.ctx, "rhesis:backend.resources.limits.memory", pathOption))
	e.destroy()
}

// resourceVersions maps every object the stack owns in ns to its
// resourceVersion: any write to one changes it.
func resourceVersions(t *testing.T, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, kind := range []string{"deployments", "services", "configmaps", "secrets", "serviceaccounts",
		"networkpolicies", "persistentvolumeclaims", "jobs", "poddisruptionbudgets", "roles", "rolebindings"} {
		for _, o := range items(kubectl(t, "get", kind, "-n", ns, "-l", "app.kubernetes.io/part-of=rhesis")) {
			out[kind+"/"+name(o)] = dig(o, "metadata", "resourceVersion").(string)
		}
	}
	require.NotEmpty(t, out)
	return out
}

// TestConfigProblemsPrintOnce: a typo is refused by name, with the key to
// type instead, printed once; nothing is created.
func TestConfigProblemsPrintOnce(t *testing.T) {
	ns := "e2e-typo"
	e := newStack(t, "e2e-typo", map[string]string{"environment": "local", "deploy.namespace": ns, "backend.replica": "3"}, nil)
	code, out := e.cli("up")
	assert.Equal(t, 1, code, out)
	assert.Equal(t, 1, strings.Count(out, "rhesis:backend.replica: is not a setting of the chart; did you mean rhesis:backend.replicas?"), out)
	assert.Contains(t, out, "nothing was created")
	// The program itself refuses it too: the engine hands it the stack's keys.
	_, err := e.update()
	require.Error(t, err)
	assert.Contains(t, e.log.String(), "rhesis:backend.replica: is not a setting of the chart")
	assertGone(t, ns)
	e.clean = true
}

// killDuring starts `rhesis up`, waits until ready says the run is under
// way, then kills it with SIGKILL as a lost machine or CI runner would: its
// process group and every process it started (the engine runs providers in
// process groups of their own).
func (e *e2eStack) killDuring(ready func() bool) {
	e.t.Helper()
	cmd := e.cliCommand("up")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(e.t, cmd.Start())
	deadline := time.Now().Add(2 * time.Minute)
	for !ready() {
		require.True(e.t, time.Now().Before(deadline), "the run never got under way:\n%s", out.String())
		time.Sleep(200 * time.Millisecond)
	}
	tree := descendants(cmd.Process.Pid)
	require.NoError(e.t, syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL))
	for _, pid := range tree {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = cmd.Wait()
	e.t.Logf("killed the run after:\n%s", tail(out.String(), 15))
}

// locked tells whether a run holds the stack's lock in its file backend.
func (e *e2eStack) locked() bool {
	locks, _ := filepath.Glob(filepath.Join(strings.TrimPrefix(e.backend, "file://"), ".pulumi", "locks", "*", "*", e.s.Name(), "*.json"))
	return len(locks) > 0
}

// descendants lists every process below pid, from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 {
			if parent, err := strconv.Atoi(fields[1]); err == nil {
				children[parent] = append(children[parent], child)
			}
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// exists tells whether kubectl finds any object for the arguments.
func exists(args ...string) bool {
	out, err := exec.Command("kubectl", append(append([]string{"get"}, args...), "-o", "name")...).Output()
	return err == nil && len(bytes.TrimSpace(out)) > 0
}

func kubectlRun(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("kubectl", args...).CombinedOutput()
	require.NoError(t, err, "kubectl %s: %s", strings.Join(args, " "), out)
}

var pathOption = &auto.ConfigOptions{Path: true}

// assertRecovers: after the kill, up is refused with the one command that
// recovers; that command clears what the run left; the next up converges.
func (e *e2eStack) assertRecovers(wantCancel string) {
	e.t.Helper()
	code, out := e.cli("up")
	assert.Equal(e.t, 1, code, out)
	assert.Contains(e.t, out, "is locked by a run that is gone")
	assert.Contains(e.t, out, "clear it with `rhesis --stack "+e.s.Name()+" cancel`")

	code, out = e.cli("cancel")
	require.Zero(e.t, code, out)
	assert.Contains(e.t, out, "cleared the lock left by pid")
	if wantCancel != "" {
		assert.Contains(e.t, out, wantCancel)
	}
	e.t.Logf("cancel:\n%s", out)

	code, out = e.cli("up")
	require.Zero(e.t, code, out)
	waitForReplicas(e.t, e.ns, map[string]float64{"frontend": 1, "backend": 1, "worker": 1, "postgres": 1, "redis": 1})
	assertConverged(e.t, e.ns, map[string]float64{"frontend": 1, "backend": 1, "worker": 1, "postgres": 1, "redis": 1})
	e.expectInSync()
}

// TestKilledRunRecovers: an up killed hard in the middle (raw mode: after
// the namespace exists) leaves a lock; cancel clears it and up converges.
func TestKilledRunRecovers(t *testing.T) {
	ns := "e2e-killed"
	assertGone(t, ns)
	e := newStack(t, "e2e-killed", map[string]string{"environment": "local", "deploy.namespace": ns}, nil)
	e.killDuring(func() bool { return e.locked() && exists("deployment", "backend", "-n", ns) })
	e.assertRecovers("")
	e.destroy()
}

// TestKilledHelmRunRecovers: an up killed while helm installs the release
// leaves it pending-install; cancel forgets that revision, and the next up
// installs it, adopting the objects the killed install had created.
func TestKilledHelmRunRecovers(t *testing.T) {
	ns := "e2e-killed-helm"
	assertGone(t, ns)
	e := newStack(t, "e2e-killed-helm", map[string]string{"environment": "local", "deploy.namespace": ns, "deploy.mode": "helm"}, nil)
	e.killDuring(func() bool {
		return e.locked() && exists("secret", "-n", ns, "-l", "owner=helm,name=rhesis,status=pending-install") &&
			exists("deployment", "backend", "-n", ns)
	})
	e.assertRecovers("release rhesis revision 1 was pending-install")
	assert.Equal(t, "deployed", helmStatus(t, ns))
	e.destroy()
}

func helmStatus(t *testing.T, ns string) string {
	t.Helper()
	out, err := exec.Command("helm", "status", "rhesis", "-n", ns, "-o", "json").Output()
	require.NoError(t, err, stderrOf(err))
	var status struct {
		Info struct{ Status string } `json:"info"`
	}
	require.NoError(t, json.Unmarshal(out, &status))
	return status.Info.Status
}

// assertGatedUp: up of a stack that keeps its data is refused before
// anything changes when it would replace a claim; the claim keeps its UID.
func (e *e2eStack) assertGatedUp(claim, want string) {
	e.t.Helper()
	uid := dig(kubectl(e.t, "get", "pvc", claim, "-n", e.ns), "metadata", "uid")
	// The class exists, so the preflight lets the run through and the
	// data-loss gate is what refuses it.
	kubectlApply(e.t, storageClass("fast-ssd", sandboxProvisioner))
	e.set("database.postgresql.persistence.storageClass", "fast-ssd")
	code, out := e.cli("up")
	assert.Equal(e.t, 1, code, out)
	assert.Contains(e.t, out, want)
	assert.Contains(e.t, out, "nothing was changed")
	assert.NotContains(e.t, out, "updating", "the gate runs before the update")
	assert.Equal(e.t, uid, dig(kubectl(e.t, "get", "pvc", claim, "-n", e.ns), "metadata", "uid"))
	require.NoError(e.t, e.s.RemoveConfigWithOptions(e.ctx, "rhesis:database.postgresql.persistence.storageClass", pathOption))
	e.expectNoChanges()
}
