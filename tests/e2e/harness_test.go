//go:build e2e

// Package e2e runs the program with the real Pulumi engine and Kubernetes
// provider against the sandbox cluster (hack/e2e.sh starts it). Simulated
// nodes never run containers, so the tests also check what a kubelet would:
// that every Secret and ConfigMap reference of every pod resolves.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/driver"
	"github.com/rhesis-ai/rhesis-deploy/summary"
	"github.com/rhesis-ai/rhesis-deploy/tests/testutil"
)

// repoRoot is testutil.RepoRoot: the folder holding go.mod and Pulumi.yaml.
var repoRoot = testutil.RepoRoot

// project copies Pulumi.yaml and the chart to a scratch folder, so stack
// files the tests create never touch the checkout.
func project(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, driver.CopyProject(repoRoot(t), dir))
	return dir
}

type e2eStack struct {
	t   *testing.T
	ctx context.Context
	s   auto.Stack
	ns  string
	log *bytes.Buffer
	dir string
	// backend is the state's URL, for the rhesis command's --backend.
	backend string
	clean   bool
}

// newStack opens stack name in a fresh project and backend with config set.
func newStack(t *testing.T, name string, config map[string]string, secrets map[string]string) *e2eStack {
	t.Helper()
	return newStackAt(t, name, project(t), "file://"+t.TempDir(), config, secrets)
}

// newStackAt opens stack name of the project in dir, state in backend.
func newStackAt(t *testing.T, name, dir, backend string, config map[string]string, secrets map[string]string) *e2eStack {
	t.Helper()
	require.NotEmpty(t, os.Getenv("KUBECONFIG"), "run through hack/e2e.sh, which starts the sandbox cluster")
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "e2e-passphrase")
	ctx := context.Background()
	s, err := driver.Open(ctx, driver.Options{Stack: name, ProjectDir: dir, Backend: backend})
	require.NoError(t, err)
	e := &e2eStack{t: t, ctx: ctx, s: s, ns: config["deploy.namespace"], log: &bytes.Buffer{}, dir: dir, backend: backend}
	all := auto.ConfigMap{}
	for k, v := range config {
		all["rhesis:"+k] = auto.ConfigValue{Value: v}
	}
	for k, v := range secrets {
		all["rhesis:"+k] = auto.ConfigValue{Value: v, Secret: true}
	}
	if len(all) > 0 {
		require.NoError(t, s.SetAllConfigWithOptions(ctx, all, &auto.ConfigOptions{Path: true}))
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("engine output:\n%s", e.log.String())
		}
		if !e.clean { // leave no objects behind for the next test
			_, _ = s.Destroy(ctx, optdestroy.ProgressStreams(e.log))
		}
	})
	return e
}

// set sets a key as `pulumi config set --path` does.
func (e *e2eStack) set(key, value string) {
	e.t.Helper()
	require.NoError(e.t, e.s.SetConfigWithOptions(e.ctx, "rhesis:"+key, auto.ConfigValue{Value: value}, &auto.ConfigOptions{Path: true}))
}

func (e *e2eStack) up() driver.UpResult {
	e.t.Helper()
	start := time.Now()
	res, err := e.update()
	require.NoError(e.t, err)
	e.t.Logf("up: %v in %s", res.Changes, time.Since(start).Round(time.Millisecond))
	return res
}

// update runs `pulumi up` as the driver does, without refresh.
func (e *e2eStack) update() (driver.UpResult, error) {
	return driver.Update(e.ctx, e.s, driver.UpOptions{SkipRefresh: true, Progress: e.log, Errors: e.log})
}

// assertOutputsAsStored holds the outputs the driver read from an update's
// events to the ones the CLI reports from the state.
func (e *e2eStack) assertOutputsAsStored(res driver.UpResult) {
	e.t.Helper()
	stored, err := e.s.Outputs(e.ctx)
	require.NoError(e.t, err)
	require.NotEmpty(e.t, stored)
	assert.Equal(e.t, stored, res.Outputs, "the outputs of the update's events are the stack's outputs")
}

// expectNoChanges runs a preview that fails on any change.
func (e *e2eStack) expectNoChanges() {
	e.t.Helper()
	evts, err := driver.Preview(e.ctx, e.s, driver.PreviewOptions{ExpectNoChanges: true, Progress: e.log, Errors: e.log})
	require.NoError(e.t, err, "a second preview must report no changes")
	counts := summary.FromEvents(evts).Counts
	require.NotEmpty(e.t, counts, "the preview's events have its summary")
	for op, n := range counts {
		if op != "same" && op != "read" { // the program reads its own last outputs
			assert.Zero(e.t, n, "preview after up: %d %s", n, op)
		}
	}
}

func (e *e2eStack) destroy() {
	e.t.Helper()
	_, err := e.s.Destroy(e.ctx, optdestroy.ProgressStreams(e.log))
	require.NoError(e.t, err)
	e.clean = true
}

// kubectl runs kubectl and decodes its JSON output.
func kubectl(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out, err := exec.Command("kubectl", append(args, "-o", "json")...).Output()
	require.NoError(t, err, "kubectl %s: %s", strings.Join(args, " "), stderrOf(err))
	var v map[string]any
	require.NoError(t, json.Unmarshal(out, &v))
	return v
}

// stderrOf is testutil.Stderr, short for the many assertions that use it.
var stderrOf = testutil.Stderr

func items(v map[string]any) []map[string]any {
	var out []map[string]any
	for _, i := range v["items"].([]any) {
		out = append(out, i.(map[string]any))
	}
	return out
}

// dig is testutil.Dig, short for the many assertions that use it.
var dig = testutil.Dig

func name(o map[string]any) string { return dig(o, "metadata", "name").(string) }
