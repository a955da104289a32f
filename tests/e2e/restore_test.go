//go:build e2e

package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/driver"
	"github.com/rhesis-ai/rhesis-deploy/preflight"
	"github.com/rhesis-ai/rhesis-deploy/restore"
)

// TestRestoreRunsInOrder: `rhesis restore` on a deployed stack with off-site
// copies stops backend and worker, runs the chart's restore Job for the
// copy asked for, runs the deployed release's migrations again, and starts
// the apps with the replicas they had; the stack is then as deployed (an
// empty preview). The sandbox runs no containers (kwok completes the Jobs'
// pods): what the Job's scripts do to the data is the PostgreSQL drill
// TestOffsiteBackupOnPostgres; here is the order and the end state.
func TestRestoreRunsInOrder(t *testing.T) {
	// The worker scales with KEDA, which would scale it up again from zero:
	// the restore pauses its ScaledObject (KEDA's CRD; no KEDA runs here).
	kedaCRDs := os.Getenv("KEDA_CRDS")
	require.NotEmpty(t, kedaCRDs, "KEDA_CRDS is unset: run through hack/e2e.sh")
	for _, kind := range []string{"scaledobjects", "triggerauthentications"} {
		applyCRDs(t, filepath.Join(kedaCRDs, "keda.sh_"+kind+".yaml"))
	}
	ns := "e2e-restore"
	e := newStack(t, ns, map[string]string{"environment": "local", "deploy.namespace": ns,
		"worker.autoscaling.enabled": "true", "worker.autoscaling.maxReplicas": "4", "worker.keda.enabled": "true",
		"backup.enabled": "true", "backup.keepInCluster": "false",
		"backup.remote.url": "s3://rhesis-backups/e2e", "backup.remote.endpoint": "http://seaweedfs.storage:8333",
		"backup.remote.credentialsSecret": "backup-s3", "backup.encryption.passphrase.name": "backup-key"}, nil)
	e.up()
	// Where KEDA had scaled the worker.
	kubectlRun(t, "scale", "deployment", "worker", "-n", ns, "--replicas=2")
	replicas := map[string]float64{"frontend": 1, "backend": 1, "worker": 2, "postgres": 1, "redis": 1}
	waitForReplicas(t, ns, replicas)
	assertMigrated(t, ns)

	r, err := driver.LoadConfig(e.ctx, e.s, e.dir)
	require.NoError(t, err)
	cluster, err := preflight.Connect("")
	require.NoError(t, err)
	var log bytes.Buffer
	start := time.Now()
	err = restore.Run(e.ctx, cluster.Kube, r, restore.Options{Object: "rhesis-20261203T030000Z.dump.gpg", Timeout: 3 * time.Minute, Log: &log,
		Dynamic: cluster.Dynamic})
	t.Logf("rhesis restore in %s:\n%s", time.Since(start).Round(time.Millisecond), log.String())
	require.NoError(t, err)

	// In order: the apps stopped, the restore, the migrations, the apps back.
	out := log.String()
	steps := []string{"autoscaler worker paused at 0 replicas", "backend scaled from 1 to 0", "worker scaled from 2 to 0",
		"Job postgres-restore-", "completed", "-after-restore-", "completed", "scaled back to", "autoscaler worker resumed"}
	at := 0
	for _, s := range steps {
		i := bytes.Index([]byte(out[at:]), []byte(s))
		require.GreaterOrEqual(t, i, 0, "%q after position %d in the log", s, at)
		at += i + len(s)
	}

	restores := items(kubectl(t, "get", "jobs", "-n", ns, "-l", "app.kubernetes.io/name=postgres-restore"))
	require.Len(t, restores, 1)
	assert.Equal(t, "rhesis-20261203T030000Z.dump.gpg", dig(restores[0], "metadata", "annotations", "rhesis.dev/restore-object"))
	assert.EqualValues(t, 1, dig(restores[0], "status", "succeeded"))
	again := items(kubectl(t, "get", "jobs", "-n", ns, "-l", "app=migrate-after-restore"))
	require.Len(t, again, 1)
	assert.EqualValues(t, 1, dig(again[0], "status", "succeeded"), "the migrations ran again")
	assert.Equal(t, "migrate", dig(again[0], "spec", "template", "metadata", "labels", "app"), "the network policies admit the copy as the migrations")
	restoredAt := dig(restores[0], "status", "completionTime").(string)
	migratedAt := dig(again[0], "status", "startTime").(string)
	assert.LessOrEqual(t, restoredAt, migratedAt, "the migrations start after the restore completed")

	waitForReplicas(t, ns, replicas)
	assertMigrated(t, ns) // the stack's own migration Job is still the one
	assert.Nil(t, dig(kubectl(t, "get", "scaledobject", "worker", "-n", ns), "metadata", "annotations", "autoscaling.keda.sh/paused-replicas"),
		"the autoscaler scales again")
	e.expectNoChanges()

	// A stack that names a copy in its config is refused before anything runs.
	e.set("backup.restore.object", "latest")
	_, err = e.update()
	require.Error(t, err)
	assert.Contains(t, e.log.String(), "rhesis:backup.restore.object")
	e.set("backup.restore.object", "")

	e.destroy()
	assertGone(t, ns)
}
