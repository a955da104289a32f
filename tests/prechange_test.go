package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// TestRawModeBacksUpBeforeRiskyChanges: in raw mode the database's
// Deployment and claim take a backup before an update, the migration Job
// before it is created, each after the backup's CronJob; nothing else does,
// nothing does with backup.beforeChange off, without backups, or in helm
// mode (where the chart's pre-upgrade hook takes it).
func TestRawModeBacksUpBeforeRiskyChanges(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "prod")
	jobName, job := migrationJob(t, r)
	guarded := map[string]registered{
		"Deployment/postgres":                r.object(t, "Deployment", "postgres"),
		"PersistentVolumeClaim/postgres-pvc": r.object(t, "PersistentVolumeClaim", "postgres-pvc"),
		"Job/" + jobName:                     job,
	}
	for name, res := range guarded {
		require.NotNil(t, res.Hooks, "%s has no backup hook", name)
		assert.True(t, dependsOn(res, "kubernetes:batch/v1:CronJob", "postgres-backup"), "%s waits for the backup's CronJob: %v", name, res.DependsOn)
		assert.Empty(t, res.Hooks.BeforeDelete, "%s: a delete hook would make every destroy run the program", name)
	}
	assert.Equal(t, []string{"backup-before-database-change"}, guarded["Deployment/postgres"].Hooks.BeforeUpdate)
	assert.Equal(t, []string{"backup-before-database-change"}, guarded["PersistentVolumeClaim/postgres-pvc"].Hooks.BeforeUpdate)
	assert.Equal(t, []string{"backup-before-migrations"}, job.Hooks.BeforeCreate)
	for _, res := range r.kubernetes() {
		if _, ok := guarded[res.Kind()+"/"+res.Name]; !ok {
			assert.Nil(t, res.Hooks, "%s %s changes no data and waits for no backup", res.Kind(), res.Name)
		}
	}

	for name, change := range map[string]func(s settings){
		"backup.beforeChange=false": func(s settings) { s.set("backup.beforeChange", "false") },
		"backup.enabled=false":      func(s settings) { s.set("backup.enabled", "false") },
		"deploy.mode=helm":          func(s settings) { s.set("deploy.mode", "helm") },
	} {
		s := stackSettings(t, "prod")
		change(s)
		off, err := run(t, "prod", s)
		require.NoError(t, err, name)
		for _, res := range off.kubernetes() {
			assert.Nil(t, res.Hooks, "%s: %s %s has a backup hook", name, res.Kind(), res.Name)
		}
	}
	for _, res := range mustRun(t, "local").kubernetes() {
		assert.Nil(t, res.Hooks, "local takes no backups: %s %s", res.Kind(), res.Name)
	}

	// A CloudNativePG Cluster is guarded as the single pod is.
	s := stackSettings(t, "prod")
	s.set("database.postgresql.cloudnativepg.enabled", "true")
	s.set("database.postgresql.cloudnativepg.backups.enabled", "false")
	cnpg, err := run(t, "prod", s)
	require.NoError(t, err)
	require.False(t, cnpg.hasObject("Deployment", "postgres"))
	cluster := cnpg.object(t, "Cluster", "postgres")
	require.NotNil(t, cluster.Hooks, "the Cluster has no backup hook")
	assert.Equal(t, []string{"backup-before-database-change"}, cluster.Hooks.BeforeUpdate)
	assert.True(t, dependsOn(cluster, "kubernetes:batch/v1:CronJob", "postgres-backup"), "the Cluster waits for the backup's CronJob: %v", cluster.DependsOn)
}

// TestHelmUpgradeBacksUpFirst: `helm upgrade` runs the backup CronJob's Job
// as a pre-upgrade hook when the CronJob is in the cluster; an install, a
// cluster without the CronJob (a backup enabled by this upgrade has no
// ServiceAccount or claim yet), `helm template` and backup.beforeChange
// off render none.
func TestHelmUpgradeBacksUpFirst(t *testing.T) {
	t.Parallel()
	c := loadChart(t)
	values := envValues(t, "prod")
	withCronJob := cluster(t, "postgres-backup")
	upgrade := func(values map[string]any, cluster *fakeCluster) []charts.Object {
		opts := charts.RenderOptions{Namespace: "rhesis", Service: "Helm", Upgrade: true}
		if cluster != nil {
			opts.Cluster = cluster
		}
		r, err := charts.RenderChart(c, values, opts)
		require.NoError(t, err)
		return r.Objects
	}
	objects := upgrade(values, withCronJob)
	hook := renderedObject(objects, "Job", "postgres-backup-before-upgrade")
	require.NotNil(t, hook, "the upgrade renders no backup before it")
	assert.Equal(t, "pre-upgrade", hook.Annotation("helm.sh/hook"))
	assert.Equal(t, "before-hook-creation,hook-succeeded", hook.Annotation("helm.sh/hook-delete-policy"),
		"a failed one stays to be read; a finished pod left behind would hold the claim at uninstall")
	cron := renderedObject(objects, "CronJob", "postgres-backup")
	require.NotNil(t, cron)
	assert.Equal(t, cron.Field("spec", "jobTemplate", "spec"), hook.Field("spec"), "the hook is the CronJob's own backup")
	assert.Equal(t, "postgres-backup", hook.Label("app"), "the backup's network policy admits it")

	assert.Nil(t, renderedObject(upgrade(values, cluster(t, "other")), "Job", "postgres-backup-before-upgrade"), "no CronJob in the cluster yet")
	assert.Nil(t, renderedObject(upgrade(values, nil), "Job", "postgres-backup-before-upgrade"), "helm template cannot look")
	off := layer(values, map[string]any{"backup": map[string]any{"beforeChange": false}})
	assert.Nil(t, renderedObject(upgrade(off, withCronJob), "Job", "postgres-backup-before-upgrade"), "backup.beforeChange=false")
	install, err := charts.RenderChart(c, values, charts.RenderOptions{Namespace: "rhesis", Service: "Helm", Cluster: withCronJob})
	require.NoError(t, err)
	assert.Nil(t, renderedObject(install.Objects, "Job", "postgres-backup-before-upgrade"), "an install has nothing to back up")
}

func renderedObject(objects []charts.Object, kind, name string) *charts.Object {
	for i, o := range objects {
		if o.Kind() == kind && o.Name() == name {
			return &objects[i]
		}
	}
	return nil
}

// fakeCluster answers the chart's lookups from a fake API server.
type fakeCluster struct {
	client *dynamicfake.FakeDynamicClient
}

func cluster(t *testing.T, cronJobs ...string) *fakeCluster {
	t.Helper()
	var objects []runtime.Object
	for _, name := range cronJobs {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("batch/v1")
		u.SetKind("CronJob")
		u.SetName(name)
		u.SetNamespace("rhesis")
		objects = append(objects, u)
	}
	gvr := schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}
	client := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{gvr: "CronJobList"}, objects...)
	return &fakeCluster{client: client}
}

// GetClientFor implements Helm's engine.ClientProvider.
func (f *fakeCluster) GetClientFor(apiVersion, kind string) (dynamic.NamespaceableResourceInterface, bool, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, false, err
	}
	return f.client.Resource(gv.WithResource("cronjobs")), true, nil
}
