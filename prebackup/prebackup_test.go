package prebackup

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
)

const ns = "rhesis"

func backupCronJob() *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "postgres-backup", Namespace: ns, UID: "cron-uid"},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "postgres-backup"}}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "postgres-backup", Image: "pgvector/pgvector:pg16"}},
			}}},
		}},
	}
}

func migrationJob(name, image string, done bool) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "migrate"}},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "migrate", Image: image}},
		}}},
	}
	if done {
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
	}
	return j
}

// cluster is a fake API server whose backup Jobs end as outcome says, as
// the Job controller would end them.
type cluster struct {
	kube    *fake.Clientset
	outcome batchv1.JobConditionType
	log     bytes.Buffer
	stop    chan struct{}
	wg      sync.WaitGroup
}

// database is a pod of the database, ready or not.
func database(ready bool) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "postgres-1", Namespace: ns, Labels: map[string]string{"app": "postgres"}},
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}}}
}

func newCluster(t *testing.T, outcome batchv1.JobConditionType, objects ...*batchv1.Job) *cluster {
	c := &cluster{kube: fake.NewClientset(backupCronJob(), database(true)), outcome: outcome, stop: make(chan struct{})}
	for _, j := range objects {
		_, err := c.kube.BatchV1().Jobs(ns).Create(context.Background(), j, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	c.wg.Add(1)
	go c.controller()
	t.Cleanup(func() { close(c.stop); c.wg.Wait() })
	return c
}

func (c *cluster) controller() {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
		jobs, _ := c.kube.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{LabelSelector: Label})
		for _, j := range jobs.Items {
			if len(j.Status.Conditions) == 0 {
				j.Status.Conditions = []batchv1.JobCondition{{Type: c.outcome, Status: corev1.ConditionTrue, Message: "BackoffLimitExceeded"}}
				_, _ = c.kube.BatchV1().Jobs(ns).UpdateStatus(context.Background(), &j, metav1.UpdateOptions{})
			}
		}
	}
}

func (c *cluster) guard() *Guard {
	return &Guard{
		Connect:   func() (kubernetes.Interface, error) { return c.kube, nil },
		Namespace: ns, CronJob: "postgres-backup", Database: "postgres", Migrations: "migrate",
		Timeout: 30 * time.Second, Log: &c.log,
		Now:  func() time.Time { return time.Unix(1796000000, 0) },
		Skip: "pulumi config set -s prod --path backup.beforeChange false",
	}
}

func (c *cluster) backups(t *testing.T) []batchv1.Job {
	jobs, err := c.kube.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{LabelSelector: Label})
	require.NoError(t, err)
	return jobs.Items
}

// TestNoBackupWithoutMigrationsToRun: a new database (no migrations ran)
// and a release whose migrations ran already need no backup.
func TestNoBackupWithoutMigrationsToRun(t *testing.T) {
	t.Parallel()
	c := newCluster(t, batchv1.JobComplete, migrationJob("migrate-failed", "rhesis/backend:v0.6.7", false))
	require.NoError(t, c.guard().BeforeMigrations(context.Background(), "migrate-aaaa1111", "rhesis/backend:v0.6.8"))
	assert.Empty(t, c.backups(t))
	assert.Contains(t, c.log.String(), "no migrations ran here before")

	c = newCluster(t, batchv1.JobComplete, migrationJob("migrate-aaaa1111", "rhesis/backend:v0.6.8", true))
	require.NoError(t, c.guard().BeforeMigrations(context.Background(), "migrate-bbbb2222", "rhesis/backend:v0.6.8"))
	assert.Empty(t, c.backups(t))
	assert.Contains(t, c.log.String(), "ran in migrate-aaaa1111")
}

// TestBackupBeforeANewReleasesMigrations: a release whose migrations have
// not run gets one backup, the CronJob's own Job, before them; a second
// change in the same run reuses it.
func TestBackupBeforeANewReleasesMigrations(t *testing.T) {
	t.Parallel()
	c := newCluster(t, batchv1.JobComplete, migrationJob("migrate-aaaa1111", "rhesis/backend:v0.6.7", true))
	g := c.guard()
	require.NoError(t, g.BeforeMigrations(context.Background(), "migrate-bbbb2222", "rhesis/backend:v0.6.8"))
	backups := c.backups(t)
	require.Len(t, backups, 1)
	b := backups[0]
	assert.Equal(t, "postgres-backup-before-change-1796000000", b.Name)
	assert.Equal(t, "postgres-backup", b.Labels["app"], "the backup's network policy and pod labels apply")
	assert.Equal(t, "the migrations of rhesis/backend:v0.6.8 (migrate-bbbb2222)", b.Annotations["rhesis.dev/before"])
	require.Len(t, b.OwnerReferences, 1)
	assert.Equal(t, "CronJob", b.OwnerReferences[0].Kind)
	assert.Equal(t, backupCronJob().Spec.JobTemplate.Spec.Template.Spec.Containers, b.Spec.Template.Spec.Containers)

	again, err := g.Before(context.Background(), "an update of Deployment postgres")
	require.NoError(t, err)
	assert.Equal(t, b.Name, again.Name)
	assert.Len(t, c.backups(t), 1, "one backup per run")
	assert.Contains(t, c.log.String(), "covers it")
}

// TestFailedBackupStopsTheChange: a backup that fails is an error that says
// what was not changed and how to skip the backup.
func TestFailedBackupStopsTheChange(t *testing.T) {
	t.Parallel()
	c := newCluster(t, batchv1.JobFailed)
	_, err := c.guard().Before(context.Background(), "an update of Deployment postgres")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the backup before an update of Deployment postgres did not complete, so nothing of it was changed")
	assert.Contains(t, err.Error(), "BackoffLimitExceeded")
	assert.Contains(t, err.Error(), "skip it for this change: pulumi config set -s prod --path backup.beforeChange false")

	g := c.guard()
	g.CronJob = "team-b-postgres-backup"
	_, err = g.Before(context.Background(), "an update of Deployment postgres")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "reading the backup CronJob rhesis/team-b-postgres-backup")
	assert.Contains(t, err.Error(), "nothing of it was changed", "every refusal says what it left alone")
	assert.Contains(t, err.Error(), "backup.beforeChange false", "and how to skip the backup")
}

// TestNoBackupOfADatabaseThatIsNotRunning: with the database's pods gone
// (a destroy that kept the volumes) or none of them ready, the
// backup's pod could never run; the change, which may be what brings the
// database back, goes on and the log says no backup was taken.
func TestNoBackupOfADatabaseThatIsNotRunning(t *testing.T) {
	t.Parallel()
	for name, change := range map[string]func(c *cluster) error{
		"gone": func(c *cluster) error {
			return c.kube.CoreV1().Pods(ns).Delete(context.Background(), "postgres-1", metav1.DeleteOptions{})
		},
		"no pod": func(c *cluster) error {
			_, err := c.kube.CoreV1().Pods(ns).UpdateStatus(context.Background(), database(false), metav1.UpdateOptions{})
			return err
		},
	} {
		c := newCluster(t, batchv1.JobComplete)
		require.NoError(t, change(c), name)
		job, err := c.guard().Before(context.Background(), "the update of PersistentVolumeClaim postgres-pvc")
		require.NoError(t, err, name)
		assert.Nil(t, job, name)
		assert.Empty(t, c.backups(t), name)
		assert.Contains(t, c.log.String(), "the database is not running; no backup taken, the change goes on", name)
	}
}
