//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/driver"
)

// previousVersion is the last commit whose raw mode built every object in Go.
// Stacks it deployed must upgrade to this version without a single
// replacement or deletion: same URNs, or aliases where an object moved.
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
			claimsBefore := claimUIDs(t, c.config["namespace"])
			require.NotEmpty(t, claimsBefore)

			// The documented step of the upgrade: move the flat keys into their objects.
			moved, err := driver.MigrateConfig(old.ctx, old.s)
			require.NoError(t, err)
			if c.config["environment"] == "prod" {
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

			preview, err := e.s.Preview(e.ctx, optpreview.ProgressStreams(e.log))
			require.NoError(t, err)
			t.Logf("preview of the upgrade: %v", preview.ChangeSummary)
			changes := *e.up().Summary.ResourceChanges
			t.Logf("upgrade: %v", changes)
			for _, op := range []string{"create", "delete", "replace", "create-replacement", "delete-replaced"} {
				assert.Zero(t, preview.ChangeSummary[apitype.OpType(op)], "preview: %s", op)
				assert.Zero(t, changes[op], "up: %s", op)
			}
			assert.NotZero(t, changes["same"])
			e.expectNoChanges()
			assert.Equal(t, claimsBefore, claimUIDs(t, c.config["namespace"]), "every claim survives the upgrade, by UID")
			t.Logf("claims kept: %v", claimsBefore)
			if c.config["environment"] == "prod" {
				// Let the kept claims go, so destroy cleans up.
				e.set("postgres.persistence.keep", "false")
				e.up()
			}
			e.destroy()
			assertGone(t, c.config["namespace"])
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
