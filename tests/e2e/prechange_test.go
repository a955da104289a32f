//go:build e2e

package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFailedBackupStopsTheChange: in raw mode a new Rhesis release's
// migrations wait for the backup before them. When it cannot be taken (here
// its CronJob was deleted behind the stack's back) the up fails, naming the
// backup and the setting that skips it, and the new migrations are not
// created; backup.beforeChange=false then lets the same change through.
func TestFailedBackupStopsTheChange(t *testing.T) {
	ns := "e2e-prechange"
	e := newStack(t, ns, map[string]string{"environment": "local", "deploy.namespace": ns, "backup.enabled": "true"}, nil)
	e.up()
	assertMigrated(t, ns)
	migrations := func() []string {
		var images []string
		for _, j := range items(kubectl(t, "get", "jobs", "-n", ns, "-l", "app=migrate")) {
			images = append(images, dig(j, "spec", "template", "spec", "containers", 0, "image").(string))
		}
		return images
	}
	before := migrations()

	out, err := exec.Command("kubectl", "delete", "cronjob", "postgres-backup", "-n", ns).CombinedOutput()
	require.NoError(t, err, string(out))
	e.set("global.imageTag", "0.13.1")
	_, err = e.update()
	require.Error(t, err, "the up went on without its backup")
	log := e.log.String()
	assert.Contains(t, log, "the backup before the migrations of ghcr.io/rhesis-ai/backend:0.13.1")
	assert.Contains(t, log, "nothing of it was changed")
	assert.Contains(t, log, "pulumi config set -s e2e-prechange --path backup.beforeChange false", "the error says how to skip the backup")
	assert.Equal(t, before, migrations(), "no migrations of the new release were created")
	for _, image := range migrations() {
		assert.False(t, strings.HasSuffix(image, ":0.13.1"), "the new release migrated without a backup")
	}

	e.set("backup.beforeChange", "false")
	e.up()
	assert.Contains(t, strings.Join(migrations(), " "), ":0.13.1", "with the backup skipped the new release migrates")
	e.destroy()
}
