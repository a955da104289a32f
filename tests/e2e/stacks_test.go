//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/driver"
	"github.com/rhesis-ai/rhesis-deploy/summary"
)

var localReplicas = map[string]float64{"frontend": 1, "backend": 1, "worker": 1, "postgres": 1, "redis": 1}

// TestLocalRaw: the local stack in raw mode converges, a second preview is
// empty, one changed value updates exactly one object, destroy leaves nothing.
func TestLocalRaw(t *testing.T) {
	ns := "e2e-raw"
	e := newStack(t, "e2e-raw", map[string]string{"environment": "local", "deploy.namespace": ns}, nil)
	res := e.up()
	e.assertOutputsAsStored(res)
	assertConverged(t, ns, localReplicas)
	assertReferencesResolve(t, ns)
	assertRestricted(t, ns, 5+1) // five workloads and the migration Job's pod
	assertMigrated(t, ns)

	out := res.Outputs
	assert.Equal(t, ns, out["namespace"].Value)
	assert.Equal(t, "raw", out["deployMode"].Value)
	assert.Equal(t, "http://backend.e2e-raw.svc.cluster.local:8080", dig(out["urls"].Value, "backend"))
	assert.Equal(t, "kubectl port-forward -n e2e-raw svc/frontend 3000:3000", dig(out["portForward"].Value, "frontend"))
	assert.EqualValues(t, 5, dig(out["replicas"].Value, "total"))

	e.expectNoChanges()

	e.set("worker.replicas", "2")
	changed := e.up().Changes
	delete(changed, "read") // the program's read of its own last outputs
	assert.Equal(t, map[string]int{"update": 1, "create": 1, "same": changed["same"]}, changed,
		"changing worker replicas must update exactly the worker Deployment, and add its disruption budget")
	kubectl(t, "get", "poddisruptionbudget", "worker", "-n", ns)
	assert.EqualValues(t, 2, dig(kubectl(t, "get", "deployment", "worker", "-n", ns), "spec", "replicas"))
	assertConverged(t, ns, map[string]float64{"frontend": 1, "backend": 1, "worker": 2, "postgres": 1, "redis": 1})

	// Switching the live stack to helm mode is refused before anything changes.
	e.set("deploy.mode", "helm")
	_, err := e.update()
	require.Error(t, err)
	assert.Contains(t, e.log.String(), `stack "e2e-raw" is deployed in raw mode`)
	assertConverged(t, ns, map[string]float64{"frontend": 1, "backend": 1, "worker": 2, "postgres": 1, "redis": 1})
	e.set("deploy.mode", "raw")

	e.destroy()
	assertGone(t, ns)
}

// TestLocalHelm: the same stack in helm mode is a Helm release that helm
// itself reports, converges identically, and upgrades when a template changes.
func TestLocalHelm(t *testing.T) {
	ns := "e2e-helm"
	e := newStack(t, "e2e-helm", map[string]string{"environment": "local", "deploy.namespace": ns, "deploy.mode": "helm"}, nil)
	res := e.up()
	e.assertOutputsAsStored(res)
	assertConverged(t, ns, localReplicas)
	assertReferencesResolve(t, ns)
	assertRestricted(t, ns, 5+1)
	assertMigrated(t, ns) // a plain Job of the release, not a hook
	assert.Equal(t, "helm", res.Outputs["deployMode"].Value)
	assert.Equal(t, "deployed", dig(res.Outputs["release"].Value, "status"))

	status, err := exec.Command("helm", "status", "rhesis", "-n", ns).CombinedOutput()
	require.NoError(t, err, string(status))
	assert.Contains(t, string(status), "STATUS: deployed")
	e.expectNoChanges()

	// A template change alone reaches the cluster on the next up.
	tpl := filepath.Join(e.dir, "charts", "rhesis", "templates", "worker.yaml")
	raw, err := os.ReadFile(tpl)
	require.NoError(t, err)
	liveness := "livenessProbe:\n            httpGet: {path: /health/basic, port: health}\n            periodSeconds: "
	changed := strings.Replace(string(raw), liveness+"20", liveness+"25", 1)
	require.NotEqual(t, string(raw), changed, "the worker's liveness probe is no longer written this way in worker.yaml")
	require.NoError(t, os.WriteFile(tpl, []byte(changed), 0o644))
	e.up()
	period := dig(kubectl(t, "get", "deployment", "worker", "-n", ns), "spec", "template", "spec", "containers", 0, "livenessProbe", "periodSeconds")
	assert.EqualValues(t, 25, period)
	history, err := exec.Command("helm", "history", "rhesis", "-n", ns).CombinedOutput()
	require.NoError(t, err, string(history))
	assert.Contains(t, string(history), "Upgrade complete")

	e.destroy()
	assertGone(t, ns)
}

// newProdStack is stack ns with prod's configuration in deploy mode mode,
// plus what an operator adds: the ingress host and certificate, the release
// tag and the secrets.
func newProdStack(t *testing.T, ns, mode string) *e2eStack {
	t.Helper()
	p := prodSettings(ns, mode)
	return newStack(t, ns, p.config, p.secrets)
}

// stackSettings are a stack's plain and secret config values.
type stackSettings struct{ config, secrets map[string]string }

// prodSettings are the prod stack's settings with only what an operator
// must add: the ingress host and certificate, the release tag, a
// ReadWriteMany class and the secrets.
func prodSettings(ns, mode string) stackSettings {
	return stackSettings{
		config: map[string]string{"environment": "prod", "deploy.namespace": ns, "deploy.mode": mode,
			"ingress.host": "rhesis.e2e.test", "ingress.tlsSecret": "rhesis-tls", "ingress.className": "nginx", "global.imageTag": "0.13.0",
			// The sandbox provisions ReadWriteMany claims of its class standard.
			"storage.storageClass": "standard"},
		secrets: map[string]string{
			"secrets.sessionSecretKey": "e2e-session", "secrets.jwtSecretKey": "e2e-jwt", "secrets.nextauthSecret": "e2e-nextauth",
			"secrets.dbEncryptionKey": "ZTJlLWZlcm5ldC1rZXktMzItYnl0ZXMtbG9uZyEhISE=", "secrets.dbPassword": "e2e-db", "secrets.dbAppPassword": "e2e-app-db",
			"secrets.redisPassword": "e2e@redis/pw",
			"secrets.auditHashKey":  "e2e-audit-hash-key",
		},
	}
}

// TestProdConfig: the prod configuration (production sizes, secrets as
// Pulumi secrets, autoscaling, network policies, ingress, backups, kept
// volumes) converges on the sandbox; only the ingress host and certificate,
// the release tag and the secrets are added.
func TestProdConfig(t *testing.T) {
	ns := "e2e-prod"
	e := newProdStack(t, ns, "raw")
	res := e.up()
	e.assertOutputsAsStored(res)
	prodReplicas := map[string]float64{"frontend": 2, "backend": 3, "worker": 5, "postgres": 1, "redis": 1}
	// The autoscalers, not the program, bring the apps to their minimum.
	waitForReplicas(t, ns, prodReplicas)
	assertConverged(t, ns, prodReplicas)
	assertReferencesResolve(t, ns)
	assertRestricted(t, ns, 12+1)
	assertMigrated(t, ns)
	pg := kubectl(t, "get", "pvc", "postgres-pvc", "-n", ns)
	assert.Equal(t, "100Gi", dig(pg, "status", "capacity", "storage"))
	assert.Equal(t, "keep", dig(pg, "metadata", "annotations", "helm.sh/resource-policy"))
	rd := kubectl(t, "get", "pvc", "redis-pvc", "-n", ns)
	assert.Equal(t, "10Gi", dig(rd, "status", "capacity", "storage"))
	for _, kind := range []string{"horizontalpodautoscaler", "poddisruptionbudget"} {
		assert.Len(t, items(kubectl(t, "get", kind, "-n", ns)), 3, kind)
	}
	assert.Len(t, items(kubectl(t, "get", "networkpolicy", "-n", ns)), 10)
	ing := kubectl(t, "get", "ingress", "rhesis", "-n", ns)
	assert.Equal(t, "api.rhesis.e2e.test", dig(ing, "spec", "rules", 1, "host"))
	kubectl(t, "get", "cronjob", "postgres-backup", "-n", ns)
	assert.Equal(t, "https://rhesis.e2e.test", dig(res.Outputs["publicUrls"].Value, "frontend"))
	e.expectNoChanges()

	// The replicas an autoscaler chose survive an update of the Deployment.
	scale := exec.Command("kubectl", "scale", "deployment", "backend", "-n", ns, "--replicas=4")
	out, err := scale.CombinedOutput()
	require.NoError(t, err, string(out))
	e.set("backend.extraEnv.FEATURE_X", "on")
	e.up()
	backend := kubectl(t, "get", "deployment", "backend", "-n", ns)
	assert.EqualValues(t, 4, dig(backend, "spec", "replicas"), "pulumi up reset the autoscaler's replicas")
	assert.Contains(t, fmt.Sprint(dig(backend, "spec", "template", "spec", "containers", 0, "env")), "FEATURE_X")

	// rhesis up refuses a change that replaces the database volume before
	// changing anything.
	e.assertGatedUp("postgres-pvc", "would replace postgres-pvc, losing data")

	// A change that replaces the database volume is flagged and gated.
	e.set("database.postgresql.persistence.storageClass", "fast-ssd")
	evts, _ := driver.Preview(e.ctx, e.s, driver.PreviewOptions{Progress: e.log, Errors: e.log})
	sum := summary.FromEvents(evts)
	assert.True(t, driver.IsProd(e.ctx, e.s))
	require.Len(t, sum.DataLoss(), 1)
	assert.Equal(t, "postgres-pvc", sum.DataLoss()[0].Name)
	assert.ErrorContains(t, summary.Gate(sum, "e2e-prod", false), "would replace postgres-pvc, losing data")
	// ... and the engine itself refuses it: the claim is protected.
	_, err = e.update()
	require.Error(t, err)
	assert.Contains(t, e.log.String(), "marked for protection")
	require.NoError(t, e.s.RemoveConfigWithOptions(e.ctx, "rhesis:database.postgresql.persistence.storageClass", &auto.ConfigOptions{Path: true}))

	// The volumes survive `pulumi destroy`: it removes the rest and fails on
	// them; their namespace stays too.
	_, err = e.s.Destroy(e.ctx, optdestroy.ProgressStreams(e.log))
	require.Error(t, err)
	for _, claim := range []string{"postgres-pvc", "postgres-backup", "app-storage"} {
		kubectl(t, "get", "pvc", claim, "-n", ns)
	}
	assert.Empty(t, items(kubectl(t, "get", "deployments", "-n", ns)), "the applications are gone")
	// Deliberately letting them go: keep off, up, then destroy.
	e.destroyKept()
	assertGone(t, ns)
}

// TestProdHelm: prod's configuration in helm mode installs (helm waits for
// every claim: the backup claim binds because the database mounts it), and
// the kept claims survive `pulumi destroy` (helm uninstall leaves them, the
// namespace holding them is protected).
func TestProdHelm(t *testing.T) {
	ns := "e2e-prod-helm"
	e := newProdStack(t, ns, "helm")
	res := e.up()
	assert.Equal(t, "deployed", dig(res.Outputs["release"].Value, "status"))
	prodReplicas := map[string]float64{"frontend": 2, "backend": 3, "worker": 5, "postgres": 1, "redis": 1}
	waitForReplicas(t, ns, prodReplicas)
	assertConverged(t, ns, prodReplicas)
	assertMigrated(t, ns)
	assert.Equal(t, "Bound", dig(kubectl(t, "get", "pvc", "postgres-backup", "-n", ns), "status", "phase"))
	e.expectNoChanges()
	// The claims inside the release are checked too: Pulumi sees only the Release.
	e.assertGatedUp("postgres-pvc", "would replace postgres-pvc, losing data")

	_, err := e.s.Destroy(e.ctx, optdestroy.ProgressStreams(e.log))
	require.Error(t, err, "the protected namespace refuses deletion")
	for _, claim := range []string{"postgres-pvc", "postgres-backup", "app-storage"} {
		kubectl(t, "get", "pvc", claim, "-n", ns)
	}
	out, err := exec.Command("helm", "status", "rhesis", "-n", ns).CombinedOutput()
	assert.Error(t, err, "the release is uninstalled: %s", out)

	// Back up in the kept namespace, on the kept claims; then let them go.
	e.set("database.postgresql.persistence.keep", "false")
	e.up()
	waitForReplicas(t, ns, prodReplicas)
	assertConverged(t, ns, prodReplicas)
	e.destroy()
	assertGone(t, ns)
}

// TestBadConfigCreatesNothing: an invalid configuration fails before any
// object exists in the cluster.
func TestBadConfigCreatesNothing(t *testing.T) {
	ns := "e2e-bad"
	e := newStack(t, "e2e-bad", map[string]string{"environment": "local", "deploy.namespace": ns, "backend.replicas": "-1"}, nil)
	_, err := e.update()
	require.Error(t, err)
	assert.Contains(t, e.log.String(), `rhesis:backend.replicas = "-1": minimum: got -1, want 0`)
	out, err := exec.Command("kubectl", "get", "namespace", ns).CombinedOutput()
	assert.Error(t, err)
	assert.Contains(t, string(out), "NotFound")
	dep, err := e.s.Export(context.Background())
	require.NoError(t, err)
	assert.NotContains(t, string(dep.Deployment), "kubernetes:", "the state must hold no Kubernetes resource")
}

// TestLocalStackNeedsNoPassphrase: the shipped local stack opens with the
// driver's public passphrase and the committed salt.
func TestLocalStackNeedsNoPassphrase(t *testing.T) {
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "")
	ctx := context.Background()
	dir := project(t)
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "Pulumi.local.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Pulumi.local.yaml"), raw, 0o644))
	s, err := driver.Open(ctx, driver.Options{Stack: "local", ProjectDir: dir, Backend: "file://" + t.TempDir()})
	require.NoError(t, err)
	path := &auto.ConfigOptions{Path: true}
	require.NoError(t, s.SetConfigWithOptions(ctx, "rhesis:secrets.jwtSecretKey", auto.ConfigValue{Value: "x", Secret: true}, path))
	v, err := s.GetConfigWithOptions(ctx, "rhesis:secrets.jwtSecretKey", path)
	require.NoError(t, err)
	assert.Equal(t, "x", v.Value)
	assert.True(t, v.Secret)
}

// TestMonitoringAndExternalStores: with the Prometheus Operator's kinds
// installed, monitoring creates the exporters, ServiceMonitors and rules; with
// external stores no postgres or redis object is created and the
// applications converge pointing at them.
func TestMonitoringAndExternalStores(t *testing.T) {
	applyCRDs(t, filepath.Join(repoRoot(t), "tests", "e2e", "testdata", "prometheus-operator-crds.yaml"))

	grafanaCRDs := os.Getenv("GRAFANA_OPERATOR_CRDS")
	require.NotEmpty(t, grafanaCRDs, "GRAFANA_OPERATOR_CRDS is unset: run through hack/e2e.sh")
	applyCRDs(t, filepath.Join(grafanaCRDs, "grafana.integreatly.org_grafanadashboards.yaml"))

	ns := "e2e-monitoring"
	e := newStack(t, "e2e-monitoring", map[string]string{"environment": "local", "deploy.namespace": ns,
		"monitoring.enabled": "true", "monitoring.labels": `{"release":"prometheus"}`,
		"monitoring.dashboards.grafanaOperator.enabled": "true"}, nil)
	e.up()
	assertConverged(t, ns, localReplicas)
	for _, store := range []string{"postgres", "redis"} {
		sm := kubectl(t, "get", "servicemonitor", store, "-n", ns)
		assert.Equal(t, "prometheus", dig(sm, "metadata", "labels", "release"))
		containers := dig(kubectl(t, "get", "deployment", store, "-n", ns), "spec", "template", "spec", "containers").([]any)
		assert.Len(t, containers, 2, "%s has its exporter", store)
	}
	var alerts []string
	for _, r := range dig(kubectl(t, "get", "prometheusrule", "rhesis", "-n", ns), "spec", "groups", 0, "rules").([]any) {
		alerts = append(alerts, dig(r, "alert").(string))
	}
	assert.Equal(t, []string{"RhesisComponentDown", "RhesisPodRestarting", "RhesisPostgresDown", "RhesisPostgresConnectionsHigh",
		"RhesisRedisDown", "RhesisRedisMemoryHigh", "RhesisQueueBacklog", "RhesisQueueStuck", "RhesisVolumeFilling",
		"RhesisVolumeFilling", "RhesisMigrationFailed"}, alerts, "local has no backup")
	// The API server takes each GrafanaDashboard under the operator's own CRD, and the ConfigMap it reads.
	for _, d := range []string{"overview", "postgresql", "queues", "backups"} {
		gd := kubectl(t, "get", "grafanadashboard", "dashboard-"+d, "-n", ns)
		assert.Equal(t, "dashboard-"+d, dig(gd, "spec", "configMapRef", "name"))
		cm := kubectl(t, "get", "configmap", "dashboard-"+d, "-n", ns)
		assert.NotEmpty(t, dig(cm, "data", "rhesis-"+d+".json"))
	}
	assertRestricted(t, ns, 5+1)
	e.destroy()
	assertGone(t, ns)

	ns = "e2e-external"
	e = newStack(t, "e2e-external", map[string]string{"environment": "local", "deploy.namespace": ns,
		"database.external.host": "db.example.com", "redis.external.host": "cache.example.com",
		"database.external.maxConnections": "280"}, nil)
	e.up()
	assertConverged(t, ns, map[string]float64{"frontend": 1, "backend": 1, "worker": 1})
	for _, pvc := range items(kubectl(t, "get", "pvc", "-n", ns)) {
		assert.NotEqual(t, "postgres-pvc", name(pvc), "no in-cluster database volume")
	}
	cm := kubectl(t, "get", "configmap", "rhesis-config", "-n", ns)
	assert.Equal(t, "db.example.com", dig(cm, "data", "DB_HOST"))
	assert.Equal(t, "require", dig(cm, "data", "PGSSLMODE"))
	assertReferencesResolve(t, ns)
	e.destroy()
	assertGone(t, ns)
}
