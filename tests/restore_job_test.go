package tests

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/restore"
)

// TestRestoreJobOfAStack: `rhesis restore` runs the chart's restore Job as
// the stack's values render it, for the copy asked for; a stack without
// off-site copies is told what it needs.
func TestRestoreJobOfAStack(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "prod")
	s.set("namePrefix", "team-a-")
	s.set("backup.remote.url", "s3://rhesis-backups/prod")
	s.set("backup.encryption.passphrase.name", "rhesis-backup-key")
	r, err := resolve(t, "prod", s)
	require.NoError(t, err)
	job, err := restore.Job(r, "rhesis-20261203T030000Z.dump.gpg")
	require.NoError(t, err)
	assert.Regexp(t, `^team-a-postgres-restore-[0-9a-f]{8}$`, job.Name)
	assert.Equal(t, r.Config.Deploy.Namespace, job.Namespace)
	assert.Equal(t, "rhesis-20261203T030000Z.dump.gpg", job.Annotations["rhesis.dev/restore-object"])
	require.Len(t, job.Spec.Template.Spec.InitContainers, 1)
	assert.Contains(t, job.Spec.Template.Spec.InitContainers[0].Env, envVar("RESTORE_OBJECT", "rhesis-20261203T030000Z.dump.gpg"))
	assert.Contains(t, job.Spec.Template.Spec.InitContainers[0].Env, envVar("BACKUP_REMOTE", "offsite:rhesis-backups/prod"))
	assert.Equal(t, "team-a-postgres-backup", job.Spec.Template.Labels["app"], "the backup's network policy admits the restore")
	assert.Empty(t, r.Merged["backup"].(map[string]any)["restore"].(map[string]any)["object"], "the stack's own values are left alone")

	latest, err := restore.Job(r, "latest")
	require.NoError(t, err)
	assert.NotEqual(t, job.Name, latest.Name, "each copy's restore is a Job of its own")

	s.set("backup.remote.url", "")
	r, err = resolve(t, "prod", s)
	require.NoError(t, err)
	_, err = restore.Job(r, "latest")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "backup.enabled and backup.remote.url")
}

func envVar(name, value string) corev1.EnvVar { return corev1.EnvVar{Name: name, Value: value} }
