//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/driver"
	"github.com/rhesis-ai/rhesis-deploy/summary"
)

// previousVersion is the last commit whose raw mode built every object in Go.
// Stacks it deployed must upgrade to this version without replacing or
// deleting anything but the migration Job (a changed Job is a new one): same
// URNs, or aliases where an object moved.
const previousVersion = "5acc1333ccedbbdbd0eef4f3975aef6768836541"

// previousProgram builds the previous version's command (cached outside the
// checkout by commit) and returns it with that version's source tree.
func previousProgram(t *testing.T) (binary, src string) {
	t.Helper()
	cache := filepath.Join(driver.ToolCache(), "previous-"+previousVersion[:12])
	binary, src = filepath.Join(cache, "rhesis"), filepath.Join(cache, "src")
	if _, err := os.Stat(binary); err == nil {
		return binary, src
	}
	require.NoError(t, os.RemoveAll(cache))
	require.NoError(t, os.MkdirAll(src, 0o755))
	extract := exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", repoRoot(t), previousVersion, src)
	out, err := extract.CombinedOutput()
	require.NoError(t, err, "extracting %s (the checkout needs its history): %s", previousVersion, out)
	build := exec.Command("go", "build", "-o", binary+".tmp", "./cmd/rhesis")
	build.Dir = src
	out, err = build.CombinedOutput()
	require.NoError(t, err, "building the previous version: %s", out)
	require.NoError(t, os.Rename(binary+".tmp", binary))
	return binary, src
}

// TestUpgradeFromPreviousVersion: local and prod stacks deployed by the
// previous version update in place: nothing created, replaced or deleted,
// and the next preview is empty.
func TestUpgradeFromPreviousVersion(t *testing.T) {
	binary, src := previousProgram(t)
	prod := prodSettings("e2e-upgrade-prod", "raw")
	prodHelm := prodSettings("e2e-upgrade-prod-helm", "helm")
	for _, c := range []struct {
		name            string
		config, secrets map[string]string
	}{
		{"e2e-upgrade-local", map[string]string{"environment": "local", "namespace": "e2e-upgrade-local"}, nil},
		{"e2e-upgrade-prod", prod.config, prod.secrets},
		{"e2e-upgrade-prod-helm", prodHelm.config, prodHelm.secrets},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, backend := t.TempDir(), "file://"+t.TempDir()
			require.NoError(t, driver.CopyProject(src, dir))
			old := newStackAt(t, c.name, dir, backend, nil, nil)
			// The previous version read flat keys (rhesis:backend.replicas).
			flat := auto.ConfigMap{}
			for k, v := range c.config {
				flat["rhesis:"+k] = auto.ConfigValue{Value: v}
			}
			for k, v := range c.secrets {
				flat["rhesis:"+k] = auto.ConfigValue{Value: v, Secret: true}
			}
			require.NoError(t, old.s.SetAllConfig(old.ctx, flat))
			previous := exec.Command(binary, "--stack", c.name, "--project", dir, "--backend", backend, "up")
			out, err := previous.CombinedOutput()
			require.NoError(t, err, "the previous version's up: %s", out)
			// The data lives in the claims: the same claims, by UID, after the upgrade.
			ns := c.config["namespace"]
			claimsBefore := claimUIDs(t, ns)
			require.NotEmpty(t, claimsBefore)
			prod := c.config["environment"] == "prod"
			replicas := map[string]float64{"frontend": 1, "backend": 1, "worker": 1, "postgres": 1, "redis": 1}
			if prod {
				replicas = map[string]float64{"frontend": 2, "backend": 3, "worker": 5, "postgres": 1, "redis": 1}
			}
			waitForReplicas(t, ns, replicas)

			// The documented step of the upgrade: move the flat keys into their objects.
			moved, err := driver.MigrateConfig(old.ctx, old.s)
			require.NoError(t, err)
			if prod {
				assert.Contains(t, moved, "rhesis:ingress.host")
			}
			after, err := old.s.GetAllConfig(old.ctx)
			require.NoError(t, err)
			for k, v := range flat {
				if strings.Contains(k, ".") {
					assert.NotContains(t, after, k, "a flat key was left")
				}
				got, err := old.s.GetConfigWithOptions(old.ctx, k, &auto.ConfigOptions{Path: true})
				require.NoError(t, err, k)
				assert.Equal(t, v, got, "%s kept its value and encryption", k)
			}

			// The new version: its project files, its program, the same state.
			require.NoError(t, os.RemoveAll(filepath.Join(dir, "charts")))
			require.NoError(t, os.Remove(filepath.Join(dir, "Pulumi.yaml")))
			require.NoError(t, driver.CopyProject(repoRoot(t), dir))
			e := newStackAt(t, c.name, dir, backend, nil, nil)

			events, err := driver.Preview(e.ctx, e.s, driver.PreviewOptions{Progress: e.log, Errors: e.log})
			require.NoError(t, err)
			preview := summary.FromEvents(events)
			t.Logf("preview of the upgrade: %v", preview.Counts)
			assert.Empty(t, preview.DataLoss(), "the upgrade would lose data")
			for _, c := range preview.Changes {
				if c.Op != "update" {
					assert.Equal(t, "kubernetes:batch/v1:Job", c.Type, "only the migration Job may be created, replaced or deleted: %s %s", c.Op, c.Name)
				}
			}
			// The upgrade rolls the Deployments whose pods changed; in prod
			// none may have fewer available replicas than its budget allows.
			lowestAvailable := watchAvailable(t, ns)
			changes := e.up().Changes
			lowest := lowestAvailable()
			t.Logf("upgrade: %v; lowest available replicas during it: %v", changes, lowest)
			if prod {
				budgets := budgetsOf(t, ns, replicas)
				for deployment, min := range budgets {
					assert.GreaterOrEqual(t, lowest[deployment], min, "%s fell below its budget during the upgrade", deployment)
				}
				t.Logf("budgets: %v", budgets)
			}
			// The up did what the preview said: at most the Job anew.
			assert.LessOrEqual(t, changes["create"]+changes["replace"], 1, "up: %v", changes)
			assert.LessOrEqual(t, changes["delete"], 1, "up: %v", changes)
			assert.NotZero(t, changes["same"])
			e.expectNoChanges()
			assert.Equal(t, claimsBefore, claimUIDs(t, ns), "every claim survives the upgrade, by UID")
			t.Logf("claims kept: %v", claimsBefore)
			waitForReplicas(t, ns, replicas)
			assertConverged(t, ns, replicas)
			assertMigrated(t, ns)
			if prod {
				// Let the kept claims go, so destroy cleans up.
				e.set("postgres.persistence.keep", "false")
				e.up()
			}
			e.destroy()
			assertGone(t, ns)
		})
	}
}

// claimUIDs maps each volume claim of the namespace to its UID.
func claimUIDs(t *testing.T, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, c := range items(kubectl(t, "get", "pvc", "-n", ns)) {
		out[name(c)] = dig(c, "metadata", "uid").(string)
	}
	return out
}
