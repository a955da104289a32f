//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/config"
	"github.com/rhesis-ai/rhesis-deploy/driver"
	"github.com/rhesis-ai/rhesis-deploy/summary"
)

// previousVersion is the last commit before the chart's values became the
// stack's configuration (its keys: rhesis:namespace, rhesis:dbPassword,
// rhesis:postgres). Stacks it deployed must, after `rhesis migrate-config`,
// upgrade to this version without replacing or deleting anything but the
// migration Job (a changed Job is a new one).
const previousVersion = "fb6c1d6dec80c7dfa7733236de87b166be6cfd97"

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
	prod := previousProdSettings("e2e-upgrade-prod", "raw")
	prodHelm := previousProdSettings("e2e-upgrade-prod-helm", "helm")
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
			// The previous version's keys, set as its README said (--path).
			before := auto.ConfigMap{}
			for k, v := range c.config {
				before["rhesis:"+k] = auto.ConfigValue{Value: v}
			}
			for k, v := range c.secrets {
				before["rhesis:"+k] = auto.ConfigValue{Value: v, Secret: true}
			}
			require.NoError(t, old.s.SetAllConfigWithOptions(old.ctx, before, &auto.ConfigOptions{Path: true}))
			previous := exec.Command(binary, "--stack", c.name, "--project", dir, "--backend", backend, "up")
			out, err := previous.CombinedOutput()
			require.NoError(t, err, "the previous version's up: %s", out)
			// The data lives in the claims: the same claims, by UID, after the upgrade.
			ns := c.config["namespace"]
			t.Logf("claims before the upgrade: %v", claimUIDs(t, ns))
			claimsBefore := claimUIDs(t, ns)
			require.NotEmpty(t, claimsBefore)
			prod := c.config["environment"] == "prod"
			replicas := map[string]float64{"frontend": 1, "backend": 1, "worker": 1, "postgres": 1, "redis": 1}
			if prod {
				replicas = map[string]float64{"frontend": 2, "backend": 3, "worker": 5, "postgres": 1, "redis": 1}
			}
			waitForReplicas(t, ns, replicas)

			// The documented step of the upgrade: every key to where it lives now.
			moved, err := driver.MigrateConfig(old.ctx, old.s)
			require.NoError(t, err)
			assert.Contains(t, moved, "rhesis:namespace")
			if prod {
				assert.Contains(t, moved, "rhesis:dbPassword")
			}
			after, err := driver.StackFileKeys(old.ctx, old.s)
			require.NoError(t, err)
			for k, v := range before {
				to := config.Namespace + ":" + config.NewPath(strings.TrimPrefix(k, config.Namespace+":"))
				if top, _, _ := strings.Cut(k, "."); to != k {
					assert.NotContains(t, after, top, "a key of the previous version was left")
				}
				got, err := old.s.GetConfigWithOptions(old.ctx, to, &auto.ConfigOptions{Path: true})
				require.NoError(t, err, to)
				assert.Equal(t, v, got, "%s kept its value and encryption at %s", k, to)
			}
			t.Logf("moved: %v", moved)

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
			t.Logf("upgrade %s: preview %v, up %v", c.name, preview.Counts, changes)
			t.Logf("claims kept: %v", claimsBefore)
			waitForReplicas(t, ns, replicas)
			assertConverged(t, ns, replicas)
			assertMigrated(t, ns)
			upgradeLeavesTheStores(t, e, dir, ns, prod)
			waitForReplicas(t, ns, replicas)
			assertMigrated(t, ns)
			if prod {
				// Let the kept claims go, so destroy cleans up.
				e.set("database.postgresql.persistence.keep", "false")
				e.up()
			}
			e.destroy()
			assertGone(t, ns)
		})
	}
}

// upgradeLeavesTheStores upgrades the stack to a new chart version (helm
// mode labels its objects with it), a new Rhesis release in prod, and a
// setting only the apps read: the apps roll, while PostgreSQL and Redis
// keep their pods (by UID) and never drop below one available replica.
func upgradeLeavesTheStores(t *testing.T, e *e2eStack, dir, ns string, prod bool) {
	t.Helper()
	stores := []string{"postgres", "redis"}
	before := podUIDs(t, ns, append([]string{"backend"}, stores...)...)
	chartFile := filepath.Join(dir, "charts", "rhesis", "Chart.yaml")
	chart, err := os.ReadFile(chartFile)
	require.NoError(t, err)
	bumped := regexp.MustCompile(`(?m)^version: .*$`).ReplaceAll(chart, []byte("version: 99.0.0"))
	require.NotEqual(t, chart, bumped)
	require.NoError(t, os.WriteFile(chartFile, bumped, 0o644))
	e.set("models.generation", "openai/gpt-4o")
	if prod {
		e.set("global.imageTag", "0.13.1")
	}
	lowestAvailable := watchAvailable(t, ns)
	started := time.Now()
	changes := e.up().Changes
	lowest := lowestAvailable()
	after := podUIDs(t, ns, append([]string{"backend"}, stores...)...)
	t.Logf("upgrade that leaves the stores: %v; lowest available: %v; pods before %v, after %v", changes, lowest, before, after)
	for _, store := range stores {
		require.NotEmpty(t, before[store])
		assert.Equal(t, before[store], after[store], "%s's pods were replaced by an upgrade that does not change them", store)
		assert.EqualValues(t, 1, lowest[store], "%s lost its available pod during the upgrade", store)
	}
	assert.NotEqual(t, before["backend"], after["backend"], "the backend rolls onto the new settings")
	if prod {
		backedUpBeforeMigrations(t, ns, "0.13.1", started)
	}
	e.expectNoChanges()
}

// backedUpBeforeMigrations asserts that a backup Job taken before the
// change (raw mode's hook or the chart's pre-upgrade hook, which Helm
// deletes once it succeeds, hence the Jobs' events) completed after since
// and before the migration Job of the release tagged tag was created.
func backedUpBeforeMigrations(t *testing.T, ns, tag string, since time.Time) {
	t.Helper()
	var migrated time.Time
	for _, j := range items(kubectl(t, "get", "jobs", "-n", ns, "-l", "app=migrate")) {
		if strings.HasSuffix(dig(j, "spec", "template", "spec", "containers", 0, "image").(string), ":"+tag) {
			migrated = timeAt(t, j, "metadata", "creationTimestamp")
		}
	}
	require.False(t, migrated.IsZero(), "no migration Job of %s", tag)
	var backups []string
	for _, e := range items(kubectl(t, "get", "events", "-n", ns, "--field-selector", "involvedObject.kind=Job,reason=Completed")) {
		job := dig(e, "involvedObject", "name").(string)
		if !strings.HasPrefix(job, "postgres-backup-before-") {
			continue
		}
		completed := timeAt(t, e, "lastTimestamp")
		if completed.Before(since.Truncate(time.Second)) {
			continue // an earlier up's
		}
		backups = append(backups, fmt.Sprintf("%s completed %s", job, completed.Format(time.RFC3339)))
		assert.False(t, completed.After(migrated), "the backup %s completed at %s, after the migrations of %s started at %s", job, completed, tag, migrated)
	}
	require.NotEmpty(t, backups, "no backup was taken before the migrations of %s", tag)
	t.Logf("backups before the migrations of %s (created %s): %v", tag, migrated.Format(time.RFC3339), backups)
}

func timeAt(t *testing.T, obj any, path ...string) time.Time {
	t.Helper()
	keys := make([]any, len(path))
	for i, p := range path {
		keys[i] = p
	}
	at, err := time.Parse(time.RFC3339, dig(obj, keys...).(string))
	require.NoError(t, err)
	return at
}

// podUIDs maps each app label to the sorted UIDs of its running pods.
func podUIDs(t *testing.T, ns string, apps ...string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, app := range apps {
		for _, p := range items(kubectl(t, "get", "pods", "-n", ns, "-l", "app="+app)) {
			if dig(p, "metadata", "deletionTimestamp") == nil {
				out[app] = append(out[app], dig(p, "metadata", "uid").(string))
			}
		}
		sort.Strings(out[app])
	}
	return out
}

// previousProdSettings is prodSettings in the previous version's keys.
func previousProdSettings(ns, mode string) stackSettings {
	return stackSettings{
		config: map[string]string{"environment": "prod", "namespace": ns, "deploy.mode": mode,
			"ingress.host": "rhesis.e2e.test", "ingress.tlsSecret": "rhesis-tls", "ingress.className": "nginx", "images.tag": "0.13.0",
			"storage.storageClass": "standard"},
		secrets: map[string]string{
			"sessionSecretKey": "e2e-session", "jwtSecretKey": "e2e-jwt", "nextauthSecret": "e2e-nextauth",
			"dbEncryptionKey": "ZTJlLWZlcm5ldC1rZXktMzItYnl0ZXMtbG9uZyEhISE=", "dbPassword": "e2e-db", "dbAppPassword": "e2e-app-db",
			"redisPassword": "e2e@redis/pw", "auditHashKey": "e2e-audit-hash-key",
		},
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
