package tests

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/config"
)

// objectsOf are the registered objects of one kind, by name.
func objectsOf(r *result, kind string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, res := range r.kubernetes() {
		if res.Kind() == kind {
			name, _ := res.Meta()
			out[name] = res.Plain()
		}
	}
	return out
}

// TestServiceAccounts: each component runs as its own ServiceAccount with
// no API token, nothing is bound to it, and configured annotations (a cloud
// workload identity) reach it.
func TestServiceAccounts(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "prod")
	s.set("worker.serviceAccount.annotations", `{"iam.gke.io/gcp-service-account":"rhesis-worker@p.iam.gserviceaccount.com"}`)
	r, err := run(t, "prod", s)
	require.NoError(t, err)
	accounts := objectsOf(r, "ServiceAccount")
	for _, name := range workloads {
		sa := accounts[name]
		require.NotNil(t, sa, name)
		assert.Equal(t, false, sa["automountServiceAccountToken"], name)
		pod := dig(r.object(t, "Deployment", name).Plain(), "spec", "template", "spec")
		assert.Equal(t, name, dig(pod, "serviceAccountName"), name)
		assert.Equal(t, false, dig(pod, "automountServiceAccountToken"), name)
	}
	assert.Equal(t, "rhesis-worker@p.iam.gserviceaccount.com", dig(accounts["worker"], "metadata", "annotations", "iam.gke.io/gcp-service-account"))
	assert.Equal(t, map[string]any{patchForce: "true"}, dig(accounts["backend"], "metadata", "annotations"), "no annotation but raw mode's own")
	for _, kind := range []string{"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"} {
		assert.Empty(t, objectsOf(r, kind), "no RBAC rights are granted")
	}

	// Rights only where configured: a Role of exactly those rules, bound to
	// the component's own account.
	s.set("worker.serviceAccount.rules", `[{"apiGroups":[""],"resources":["configmaps"],"resourceNames":["rhesis-config"],"verbs":["get","watch"]}]`)
	r, err = run(t, "prod", s)
	require.NoError(t, err)
	role := objectsOf(r, "Role")
	require.Len(t, role, 1)
	assert.Equal(t, []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"configmaps"},
		"resourceNames": []any{"rhesis-config"}, "verbs": []any{"get", "watch"}}}, dig(role["worker"], "rules"))
	binding := objectsOf(r, "RoleBinding")["worker"]
	assert.Equal(t, "worker", dig(binding, "roleRef", "name"))
	assert.Equal(t, map[string]any{"kind": "ServiceAccount", "name": "worker", "namespace": "rhesis"}, dig(binding, "subjects", 0))
	assertModesAgree(t, r, "prod with worker rights")
}

// TestAutoscaling: prod scales the apps with HorizontalPodAutoscalers from
// the environment's replicas to twice as many, and its Deployments carry no replicas
// of the program's, so `pulumi up` never resets what the autoscaler chose.
func TestAutoscaling(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "prod")
	hpas := objectsOf(r, "HorizontalPodAutoscaler")
	want := map[string][2]float64{"frontend": {2, 4}, "backend": {3, 6}, "worker": {5, 10}}
	require.Len(t, hpas, 3)
	for name, mm := range want {
		h := hpas[name]
		assert.Equal(t, name, dig(h, "spec", "scaleTargetRef", "name"))
		assert.Equal(t, "Deployment", dig(h, "spec", "scaleTargetRef", "kind"))
		assert.Equal(t, mm[0], dig(h, "spec", "minReplicas"), name)
		assert.Equal(t, mm[1], dig(h, "spec", "maxReplicas"), name)
		assert.Equal(t, 70.0, dig(h, "spec", "metrics", 0, "resource", "target", "averageUtilization"), name)
		assert.Equal(t, "memory", dig(h, "spec", "metrics", 1, "resource", "name"), name)
		assert.Equal(t, 80.0, dig(h, "spec", "metrics", 1, "resource", "target", "averageUtilization"), name)
		assert.Equal(t, 300.0, dig(h, "spec", "behavior", "scaleDown", "stabilizationWindowSeconds"), name)
		assert.Nil(t, dig(r.object(t, "Deployment", name).Plain(), "spec", "replicas"), "%s: replicas belong to the autoscaler", name)
	}
	assert.Equal(t, 1.0, dig(r.object(t, "Deployment", "postgres").Plain(), "spec", "replicas"))

	s := stackSettings(t, "staging")
	s.set("backend.autoscaling.enabled", "true")
	s.set("backend.autoscaling.minReplicas", "2")
	s.set("backend.autoscaling.maxReplicas", "8")
	s.set("backend.autoscaling.targetCPUUtilization", "60")
	r, err := run(t, "staging", s)
	require.NoError(t, err)
	h := objectsOf(r, "HorizontalPodAutoscaler")
	require.Len(t, h, 1)
	assert.Equal(t, 2.0, dig(h["backend"], "spec", "minReplicas"), "the minimum is autoscaling.minReplicas")
	assert.Equal(t, 8.0, dig(h["backend"], "spec", "maxReplicas"))
	assert.Equal(t, 60.0, dig(h["backend"], "spec", "metrics", 0, "resource", "target", "averageUtilization"))
	assert.Empty(t, objectsOf(mustRun(t, "local"), "HorizontalPodAutoscaler"))
}

// valuesPath is where a workload's settings are in the chart's values.
func valuesPath(name string) string {
	if name == "postgres" {
		return "database.postgresql"
	}
	return name
}

// minReplicas is the fewest pods a workload runs: the autoscaler's minimum
// while it is on, else its replicas.
func minReplicas(r *result, name string) float64 {
	c := config.Lookup(r.Config.Merged, valuesPath(name)).(map[string]any)
	if on, _ := dig(c, "autoscaling", "enabled").(bool); on {
		return dig(c, "autoscaling", "minReplicas").(float64)
	}
	return c["replicas"].(float64)
}

// TestDisruptionBudgetsAndSpread: every component running more than one pod
// has a PodDisruptionBudget; prod spreads replicas across nodes.
func TestDisruptionBudgetsAndSpread(t *testing.T) {
	t.Parallel()
	for _, s := range stacks {
		r := mustRun(t, s)
		pdbs := objectsOf(r, "PodDisruptionBudget")
		for _, name := range workloads {
			multi := minReplicas(r, name) > 1
			if !multi {
				assert.NotContains(t, pdbs, name, "%s %s", s, name)
				continue
			}
			require.Contains(t, pdbs, name, "%s %s", s, name)
			assert.Equal(t, 1.0, dig(pdbs[name], "spec", "maxUnavailable"))
			assert.Equal(t, name, dig(pdbs[name], "spec", "selector", "matchLabels", "app"))
		}
		spread := dig(r.object(t, "Deployment", "backend").Plain(), "spec", "template", "spec", "topologySpreadConstraints", 0)
		if s == "prod" {
			assert.Equal(t, "kubernetes.io/hostname", dig(spread, "topologyKey"))
			assert.Equal(t, "ScheduleAnyway", dig(spread, "whenUnsatisfiable"), "a soft constraint: a small cluster still schedules")
		} else {
			assert.Nil(t, spread, s)
		}
	}
}

// policyPeers lists a policy's rules as "direction peer:port" strings.
func policyRules(p map[string]any) []string {
	var out []string
	for _, dir := range []string{"ingress", "egress"} {
		side := map[string]string{"ingress": "from", "egress": "to"}[dir]
		rules, _ := dig(p, "spec", dir).([]any)
		for _, rule := range rules {
			var ports []string
			for _, port := range dig(rule, "ports").([]any) {
				ports = append(ports, fmt.Sprintf("%v/%v", dig(port, "port"), dig(port, "protocol")))
			}
			for _, peer := range dig(rule, side).([]any) {
				var who string
				switch {
				case dig(peer, "podSelector", "matchLabels", "app") != nil:
					who = "app=" + dig(peer, "podSelector", "matchLabels", "app").(string)
				case dig(peer, "podSelector", "matchLabels", "k8s-app") != nil:
					who = "dns"
				case dig(peer, "namespaceSelector") != nil:
					who = "ns=" + fmt.Sprint(dig(peer, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"))
				default:
					who = "cidr=" + dig(peer, "ipBlock", "cidr").(string)
				}
				out = append(out, dir+" "+who+" "+strings.Join(ports, ","))
			}
		}
	}
	return out
}

// TestNetworkPolicies: everything is denied, then exactly who talks to whom.
func TestNetworkPolicies(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "prod")
	np := objectsOf(r, "NetworkPolicy")
	deny := np["default-deny"]
	assert.Equal(t, map[string]any{}, dig(deny, "spec", "podSelector"), "default deny selects every pod")
	assert.Equal(t, []any{"Ingress", "Egress"}, dig(deny, "spec", "policyTypes"))
	assert.Empty(t, policyRules(deny))
	assert.Equal(t, []string{"egress dns 53/UDP,53/TCP"}, policyRules(np["allow-dns"]))
	assert.Equal(t, []string{"ingress ns=ingress-nginx 3000/TCP", "egress app=backend 8080/TCP"}, policyRules(np["frontend"]))
	assert.Equal(t, []string{
		"ingress ns=ingress-nginx 8080/TCP", "ingress app=frontend 8080/TCP", "ingress app=backend-health-test 8080/TCP",
		"egress app=postgres 5432/TCP", "egress app=redis 6379/TCP", "egress cidr=0.0.0.0/0 80/TCP,443/TCP,465/TCP,587/TCP",
	}, policyRules(np["backend"]))
	assert.Equal(t, []any{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}, dig(np["backend"], "spec", "egress", 2, "to", 0, "ipBlock", "except"),
		"internet egress excludes private ranges")
	assert.Equal(t, []string{
		"egress app=postgres 5432/TCP", "egress app=redis 6379/TCP", "egress cidr=0.0.0.0/0 80/TCP,443/TCP,465/TCP,587/TCP",
	}, policyRules(np["worker"]))
	assert.Equal(t, []string{
		"ingress app=backend 5432/TCP", "ingress app=worker 5432/TCP", "ingress app=migrate 5432/TCP", "ingress app=postgres-backup 5432/TCP",
	}, policyRules(np["postgres"]))
	assert.Equal(t, []string{"ingress app=backend 6379/TCP", "ingress app=worker 6379/TCP"}, policyRules(np["redis"]))
	assert.Equal(t, []string{"egress app=postgres 5432/TCP"}, policyRules(np["migrate"]))
	assert.Equal(t, []string{"egress app=postgres 5432/TCP"}, policyRules(np["postgres-backup"]))

	// Without an ingress nobody outside reaches the apps; without internet
	// egress the Python services reach only the stores.
	s := stackSettings(t, "staging")
	s.set("ingress.enabled", "false")
	s.set("global.frontendUrl", "https://staging.rhesis.test")
	s.set("global.apiBaseUrl", "https://api.staging.rhesis.test")
	s.set("networkPolicies.internetEgress", "false")
	r, err := run(t, "staging", s)
	require.NoError(t, err)
	np = objectsOf(r, "NetworkPolicy")
	assert.Equal(t, []string{"egress app=backend 8080/TCP"}, policyRules(np["frontend"]))
	assert.Equal(t, []string{"egress app=postgres 5432/TCP", "egress app=redis 6379/TCP"}, policyRules(np["worker"]))

	s = stackSettings(t, "local")
	s.set("networkPolicies.enabled", "false")
	r, err = run(t, "local", s)
	require.NoError(t, err)
	assert.Empty(t, objectsOf(r, "NetworkPolicy"))
}

// TestIngress: the frontend at / of its host, the API on its own host, TLS;
// the browser URLs follow from the hosts.
func TestIngress(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "staging")
	ing := r.object(t, "Ingress", "rhesis").Plain()
	assert.Equal(t, "nginx", dig(ing, "spec", "ingressClassName"))
	assert.Equal(t, "staging.rhesis.test", dig(ing, "spec", "rules", 0, "host"))
	assert.Equal(t, "frontend", dig(ing, "spec", "rules", 0, "http", "paths", 0, "backend", "service", "name"))
	assert.Equal(t, 3000.0, dig(ing, "spec", "rules", 0, "http", "paths", 0, "backend", "service", "port", "number"))
	assert.Equal(t, "api.staging.rhesis.test", dig(ing, "spec", "rules", 1, "host"))
	assert.Equal(t, "backend", dig(ing, "spec", "rules", 1, "http", "paths", 0, "backend", "service", "name"))
	assert.Equal(t, []any{"staging.rhesis.test", "api.staging.rhesis.test"}, dig(ing, "spec", "tls", 0, "hosts"))
	assert.Equal(t, "rhesis-tls", dig(ing, "spec", "tls", 0, "secretName"))
	cm := r.object(t, "ConfigMap", "rhesis-config").Plain()
	assert.Equal(t, "https://staging.rhesis.test", dig(cm, "data", "FRONTEND_URL"))
	assert.Equal(t, "https://api.staging.rhesis.test", dig(cm, "data", "API_BASE_URL"))
	assert.Equal(t, "https://staging.rhesis.test", dig(r.Outputs, "publicUrls", "frontend"))
	assert.Equal(t, "https://api.staging.rhesis.test", dig(r.Outputs, "publicUrls", "api"))
	assert.False(t, mustRun(t, "local").hasObject("Ingress", "rhesis"), "local uses port-forward")

	// The API under a path of the frontend's host, a certificate from cert-manager.
	s := stackSettings(t, "prod")
	s.unset("ingress.tlsSecret")
	s.set("ingress.clusterIssuer", "letsencrypt")
	s.set("ingress.apiPath", "/backend")
	s.set("ingress.annotations", `{"nginx.ingress.kubernetes.io/proxy-body-size":"50m"}`)
	r, err := run(t, "prod", s)
	require.NoError(t, err)
	ing = r.object(t, "Ingress", "rhesis").Plain()
	assert.Len(t, dig(ing, "spec", "rules"), 1)
	assert.Len(t, dig(ing, "spec", "rules", 0, "http", "paths"), 1)
	assert.Equal(t, "/", dig(ing, "spec", "rules", 0, "http", "paths", 0, "path"))
	assert.Equal(t, "letsencrypt", dig(ing, "metadata", "annotations", "cert-manager.io/cluster-issuer"))
	// The API's own Ingress strips the prefix: the API serves its routes at /.
	api := r.object(t, "Ingress", "rhesis-api").Plain()
	assert.Equal(t, "/backend(/|$)(.*)", dig(api, "spec", "rules", 0, "http", "paths", 0, "path"))
	assert.Equal(t, "backend", dig(api, "spec", "rules", 0, "http", "paths", 0, "backend", "service", "name"))
	assert.Equal(t, "/$2", dig(api, "metadata", "annotations", "nginx.ingress.kubernetes.io/rewrite-target"))
	assert.Equal(t, "50m", dig(api, "metadata", "annotations", "nginx.ingress.kubernetes.io/proxy-body-size"))
	assert.Nil(t, dig(api, "metadata", "annotations", "cert-manager.io/cluster-issuer"), "one certificate, on the main Ingress")
	assert.Nil(t, dig(api, "spec", "tls"))
	assert.Equal(t, "50m", dig(ing, "metadata", "annotations", "nginx.ingress.kubernetes.io/proxy-body-size"))
	assert.Equal(t, "rhesis-tls", dig(ing, "spec", "tls", 0, "secretName"), "cert-manager fills the default Secret")
	assert.Equal(t, "https://prod.rhesis.test/backend", dig(r.Outputs, "publicUrls", "api"))
}

// TestMigrations: one Job from the backend image runs the migrations, a new
// one for a new release or a changed pod (a Job's pod cannot change in place); backend and worker are applied with it and wait for its result
// in their init container (not in Pulumi, so no tier waits for another); the
// backend then skips its own migrations.
func TestMigrations(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "prod")
	// No migrate image is published: the backend image carries ./migrate.sh.
	jobName, job := migrationJob(t, r)
	c := dig(job.Plain(), "spec", "template", "spec", "containers", 0)
	assert.Equal(t, "ghcr.io/rhesis-ai/backend:"+release, dig(c, "image"))
	assert.Equal(t, []any{"./migrate.sh"}, dig(c, "command"), "the backend image's own command would start the server")
	assert.Equal(t, "Never", dig(job.Plain(), "spec", "template", "spec", "restartPolicy"))
	assert.Equal(t, 6.0, dig(job.Plain(), "spec", "backoffLimit"))
	assert.Equal(t, "1Gi", dig(c, "resources", "requests", "memory"), "sized on its own, not after the backend")
	assert.Contains(t, jsonOf(t, c), `"DB_ENCRYPTION_KEY"`, "the migrations read the backend's secrets")
	for _, name := range []string{"backend", "worker"} {
		d := r.object(t, "Deployment", name)
		assert.False(t, dependsOn(d, "kubernetes:batch/v1:Job", jobName), "%s is applied with the Job, not after it: %v", name, d.DependsOn)
		wait := dig(d.Plain(), "spec", "template", "spec", "initContainers", 0)
		require.NotNil(t, wait, "%s has no init container", name)
		assert.Equal(t, "prepare-database", dig(wait, "name"))
		assert.Equal(t, container(d)["image"], dig(wait, "image"), "%s waits with its own image", name)
		assert.Equal(t, []any{"sh", "-c", charts.PrepareDatabase}, dig(wait, "command"))
		assert.Contains(t, envNames(wait.(map[string]any)), "APP_DB_PASS")
	}
	assert.Contains(t, envNames(container(r.object(t, "Deployment", "backend"))), "SKIP_MIGRATIONS")
	assert.NotContains(t, envNames(container(r.object(t, "Deployment", "worker"))), "SKIP_MIGRATIONS")

	// A new release, or a change to the Job's pod, is a new Job; a change
	// elsewhere keeps it.
	for _, c := range []struct {
		key, value string
		newJob     bool
	}{
		{"global.imageTag", "0.14.0", true},
		{"global.imagePullSecrets", `["mirror-creds"]`, true},
		{"frontend.replicas", "4", false},
		{"backend.extraEnv.FEATURE_X", "on", false},
	} {
		s := stackSettings(t, "prod")
		s.set(c.key, c.value)
		next, err := run(t, "prod", s)
		require.NoError(t, err, c.key)
		nextName, nextJob := migrationJob(t, next)
		assert.Equal(t, c.newJob, nextName != jobName, "%s=%s: a new Job %v", c.key, c.value, c.newJob)
		if c.key == "global.imageTag" {
			assert.Equal(t, "ghcr.io/rhesis-ai/backend:0.14.0", dig(nextJob.Plain(), "spec", "template", "spec", "containers", 0, "image"))
		}
	}

	// In the chart the Job is an ordinary object, not a hook: --wait would
	// hold a post-install hook until the Deployments that wait for it are ready.
	for _, m := range mustRender(t, r.Config.Values) {
		if m.Kind() == "Job" {
			assert.False(t, (m.Annotation("helm.sh/hook") != ""), "the migration Job must not be a Helm hook")
		}
	}

	s := stackSettings(t, "prod")
	s.set("migrations.enabled", "false")
	off, err := run(t, "prod", s)
	require.NoError(t, err)
	assert.Empty(t, objectsOf(off, "Job"))
	assert.NotContains(t, envNames(container(off.object(t, "Deployment", "backend"))), "SKIP_MIGRATIONS",
		"without the job the backend migrates at start")
	// The backend migrates at start then, as the owner; its init container
	// still sets the app's role up, and waits for nothing.
	prep := dig(off.object(t, "Deployment", "backend").Plain(), "spec", "template", "spec", "initContainers", 0).(map[string]any)
	assert.Contains(t, jsonOf(t, prep["env"]), `{"name":"PREPARE_WAIT_FOR_MIGRATIONS","value":"false"}`)
	assert.Contains(t, envNames(container(off.object(t, "Deployment", "backend"))), "ADMIN_DB_PASS")
}

// dependsOn tells whether res waits for a resource named name of type typ.
func dependsOn(res registered, typ, name string) bool {
	for _, urn := range res.DependsOn {
		if strings.HasSuffix(urn, typ+"::"+name) {
			return true
		}
	}
	return false
}

// TestExternalStores: with external PostgreSQL and Redis nothing of them is
// deployed, the applications point at them with TLS, and the policies let
// the Python services reach them.
func TestExternalStores(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "prod")
	s.set("database.external.host", "db.example.com")
	s.set("database.external.port", "6432")
	s.set("database.external.database", "rhesis")
	s.set("database.external.user", "app")
	s.set("redis.external.host", "cache.example.com")
	s.set("redis.external.port", "6380")
	s.set("backup.enabled", "false") // the provider backs a managed database up
	// PostgreSQL's default 100 is far below what prod's maxima can open.
	_, err := run(t, "prod", s)
	require.ErrorContains(t, err, "database.external.maxConnections: is 100, but backend and worker can open 2830 connections")
	s.set("database.external.maxConnections", "2830")
	r, err := run(t, "prod", s)
	require.NoError(t, err)
	for _, store := range []string{"postgres", "redis"} {
		for _, kind := range []string{"Deployment", "Service", "ServiceAccount", "NetworkPolicy"} {
			assert.False(t, r.hasObject(kind, store), "%s/%s must not exist", kind, store)
		}
	}
	assert.False(t, r.hasObject("PersistentVolumeClaim", "postgres-pvc"))
	cm := dig(r.object(t, "ConfigMap", "rhesis-config").Plain(), "data")
	assert.Equal(t, "db.example.com", dig(cm, "DB_HOST"))
	assert.Equal(t, "6432", dig(cm, "DB_PORT"))
	assert.Equal(t, "rhesis", dig(cm, "DB_NAME"))
	assert.Equal(t, "app", dig(cm, "APP_DB_USER"))
	assert.Equal(t, "require", dig(cm, "PGSSLMODE"))
	assert.Equal(t, "cache.example.com", dig(cm, "REDIS_HOST"))
	secret := dig(r.object(t, "Secret", "rhesis-secrets").Plain(), "stringData")
	assert.Equal(t, "rediss://:p%40ss%2Fw%3Ard%231@cache.example.com:6380/0?ssl_cert_reqs=required", dig(secret, "BROKER_URL"))
	np := objectsOf(r, "NetworkPolicy")
	assert.Equal(t, []string{"egress cidr=0.0.0.0/0 6432/TCP", "egress cidr=0.0.0.0/0 6380/TCP",
		"egress cidr=0.0.0.0/0 80/TCP,443/TCP,465/TCP,587/TCP"}, policyRules(np["worker"]))
	assertModesAgree(t, r, "prod with external stores")
}

// TestDataSafety: prod keeps its data volumes (Pulumi refuses to delete or
// replace them; Helm leaves them on uninstall), backs the database up every
// night, and shares /app/storage between backend and worker.
func TestDataSafety(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "prod")
	for _, claim := range []string{"postgres-pvc", "postgres-backup", "app-storage"} {
		pvc := r.object(t, "PersistentVolumeClaim", claim)
		assert.True(t, pvc.Protect, "%s must be protected", claim)
		assert.Equal(t, "keep", dig(pvc.Plain(), "metadata", "annotations", "helm.sh/resource-policy"), claim)
	}
	assert.False(t, r.object(t, "PersistentVolumeClaim", "redis-pvc").Protect, "redis holds a cache and a queue, not the data")
	assert.True(t, r.object(t, "Namespace", "rhesis").Protect, "deleting the namespace would delete the kept claims")
	helm, err := run(t, "prod", helmSettings(t, "prod"))
	require.NoError(t, err)
	assert.True(t, helm.object(t, "Namespace", "rhesis").Protect, "helm uninstall keeps the claims in the namespace")
	assert.Equal(t, []any{"ReadWriteMany"}, dig(r.object(t, "PersistentVolumeClaim", "app-storage").Plain(), "spec", "accessModes"))
	for _, name := range []string{"backend", "worker"} {
		assert.Contains(t, dig(container(r.object(t, "Deployment", name)), "volumeMounts"),
			map[string]any{"name": "storage", "mountPath": "/app/storage"}, name)
	}

	cron := r.object(t, "CronJob", "postgres-backup").Plain()
	assert.Equal(t, "0 3 * * *", dig(cron, "spec", "schedule"))
	assert.Equal(t, "Forbid", dig(cron, "spec", "concurrencyPolicy"))
	pod := dig(cron, "spec", "jobTemplate", "spec", "template", "spec")
	script := dig(pod, "containers", 0, "command", 2).(string)
	assert.Contains(t, script, "pg_dump --format=custom")
	assert.Contains(t, script, `-mtime "+${BACKUP_RETENTION_DAYS}" -delete`)
	assert.Contains(t, dig(pod, "containers", 0, "env"), map[string]any{"name": "BACKUP_RETENTION_DAYS", "value": "7"})
	assert.Equal(t, "pgvector/pgvector:pg16", dig(pod, "containers", 0, "image"), "pg_dump of the server's own version")
	assert.Equal(t, "postgres-backup", dig(pod, "volumes", 0, "persistentVolumeClaim", "claimName"))
	assert.Equal(t, "100Gi", dig(r.object(t, "PersistentVolumeClaim", "postgres-backup").Plain(), "spec", "resources", "requests", "storage"))
	// The claim is ReadWriteOnce: the job runs next to the database, which
	// mounts the dumps read-only (and so binds the claim at install).
	assert.Equal(t, "postgres", dig(pod, "affinity", "podAffinity", "requiredDuringSchedulingIgnoredDuringExecution", 0, "labelSelector", "matchLabels", "app"))
	assert.Contains(t, dig(container(r.object(t, "Deployment", "postgres")), "volumeMounts"),
		map[string]any{"name": "backup", "mountPath": "/backup", "readOnly": true})

	local := mustRun(t, "local")
	assert.False(t, local.object(t, "PersistentVolumeClaim", "postgres-pvc").Protect)
	assert.False(t, local.hasObject("CronJob", "postgres-backup"))
	assert.Equal(t, []any{"ReadWriteOnce"}, dig(local.object(t, "PersistentVolumeClaim", "app-storage").Plain(), "spec", "accessModes"))

	// The explicit override: keep off unprotects (the next up) before a change.
	s := stackSettings(t, "prod")
	s.set("database.postgresql.persistence.keep", "false")
	s.set("storage.uri", "gs://rhesis-prod")
	s.setSecret("secrets.storageServiceAccountKey", "eyJ0eXBlIjoic2VydmljZV9hY2NvdW50In0=")
	r, err = run(t, "prod", s)
	require.NoError(t, err)
	assert.False(t, r.object(t, "PersistentVolumeClaim", "postgres-pvc").Protect)
	assert.False(t, r.object(t, "Namespace", "rhesis").Protect)
	assert.Equal(t, "gs://rhesis-prod", dig(r.object(t, "ConfigMap", "rhesis-config").Plain(), "data", "STORAGE_SERVICE_URI"))
	// The backend keeps its file imports on the claim; the worker, with the files in the bucket, mounts none.
	assert.True(t, r.hasObject("PersistentVolumeClaim", "app-storage"))
	assert.Contains(t, jsonOf(t, container(r.object(t, "Deployment", "backend"))["volumeMounts"]), `"/app/storage"`)
	assert.NotContains(t, jsonOf(t, container(r.object(t, "Deployment", "worker"))["volumeMounts"]), `"/app/storage"`)
	// The bucket is reached on 443 of public addresses: one rule, the internet ports', private ranges excepted.
	var to443 []any
	for _, rule := range dig(r.object(t, "NetworkPolicy", "backend").Plain(), "spec", "egress").([]any) {
		if strings.Contains(jsonOf(t, dig(rule, "ports")), `"port":443`) {
			to443 = append(to443, rule)
		}
	}
	require.Len(t, to443, 1)
	assert.NotNil(t, dig(to443[0], "to", 0, "ipBlock", "except"))
}

// TestMonitoring: exporters next to postgres and redis, ServiceMonitors for
// them and alert rules on metrics that exist; the same from the chart.
func TestMonitoring(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "prod")
	s.set("monitoring.enabled", "true")
	s.set("monitoring.labels", `{"release":"prometheus"}`)
	r, err := run(t, "prod", s)
	require.NoError(t, err)
	for store, port := range map[string]float64{"postgres": 9187, "redis": 9121} {
		containers := dig(r.object(t, "Deployment", store).Plain(), "spec", "template", "spec", "containers").([]any)
		require.Len(t, containers, 2, store)
		assert.Equal(t, "exporter", dig(containers[1], "name"))
		assert.Equal(t, port, dig(containers[1], "ports", 0, "containerPort"))
		assert.Equal(t, true, dig(containers[1], "securityContext", "readOnlyRootFilesystem"))
		assert.Equal(t, "metrics", dig(r.object(t, "Service", store).Plain(), "spec", "ports", 1, "name"))
		sm := objectsOf(r, "ServiceMonitor")[store]
		require.NotNil(t, sm, store)
		assert.Equal(t, "prometheus", dig(sm, "metadata", "labels", "release"))
		assert.Equal(t, "metrics", dig(sm, "spec", "endpoints", 0, "port"))
		assert.Equal(t, store, dig(sm, "spec", "selector", "matchLabels", "app"))
	}
	rule := objectsOf(r, "PrometheusRule")["rhesis"]
	var alerts []string
	for _, a := range dig(rule, "spec", "groups", 0, "rules").([]any) {
		alerts = append(alerts, dig(a, "alert").(string))
		assert.Contains(t, dig(a, "expr"), `namespace="rhesis"`)
	}
	assert.Equal(t, []string{"RhesisComponentDown", "RhesisPodRestarting", "RhesisPostgresDown", "RhesisPostgresConnectionsHigh",
		"RhesisRedisDown", "RhesisRedisMemoryHigh", "RhesisQueueBacklog", "RhesisQueueStuck", "RhesisVolumeFilling", "RhesisVolumeFilling",
		"RhesisBackupFailed", "RhesisBackupTooOld", "RhesisMigrationFailed"}, alerts)
	exporter := dig(r.object(t, "Deployment", "redis").Plain(), "spec", "template", "spec", "containers", 1).(map[string]any)
	assert.Contains(t, dig(exporter, "env"), map[string]any{"name": "REDIS_EXPORTER_CHECK_SINGLE_KEYS",
		"value": "db0=celery,db0=execution,db0=telemetry,db0=architect"}, "the queue lengths the alerts read")
	configMaps := objectsOf(r, "ConfigMap")
	for _, d := range []string{"overview", "postgresql", "queues", "backups"} {
		cm := configMaps["dashboard-"+d]
		require.NotNil(t, cm, "the %s dashboard", d)
		assert.Equal(t, "1", dig(cm, "metadata", "labels", "grafana_dashboard"), "the Grafana sidecar's label")
		var dashboard map[string]any
		require.NoError(t, json.Unmarshal([]byte(dig(cm, "data", "rhesis-"+d+".json").(string)), &dashboard))
		assert.Equal(t, "rhesis-"+d, dashboard["uid"])
	}
	assert.Empty(t, objectsOf(r, "GrafanaDashboard"), "the Grafana Operator's objects only when asked")
	assert.Equal(t, []string{"ingress ns=ingress-nginx 3000/TCP", "egress app=backend 8080/TCP"}, policyRules(objectsOf(r, "NetworkPolicy")["frontend"]))
	assert.Contains(t, policyRules(objectsOf(r, "NetworkPolicy")["postgres"]), "ingress ns=monitoring 9187/TCP")
	assertModesAgree(t, r, "prod with monitoring")

	assert.Empty(t, objectsOf(mustRun(t, "prod"), "PrometheusRule"), "monitoring is off by default")
}

// TestBadHardeningConfigCreatesNothing: each mistake is named with its fix.
func TestBadHardeningConfigCreatesNothing(t *testing.T) {
	t.Parallel()
	cases := []badConfig{
		{"ingress without a host", "staging", func(s settings) { s.unset("ingress.host") },
			"ingress.host", "is required in staging while the ingress is on"},
		{"prod ingress without TLS", "prod", func(s settings) { s.unset("ingress.tlsSecret") },
			"ingress.tlsSecret", "ingress.tlsSecret or ingress.clusterIssuer is required in prod"},
		{"a bucket without its key", "local", func(s settings) { s.set("storage.uri", "gs://rhesis-files") },
			"secrets.storageServiceAccountKey", "is required with storage.uri=gs://... (or secrets.secretKeyRefs.storageServiceAccountKey naming a Secret and key)"},
		{"SSO without its key", "local", func(s settings) { s.set("sso.enabled", "true") },
			"secrets.ssoEncryptionKey", "is required with sso.enabled"},
		{"a relay without its password", "local", func(s settings) { s.set("smtp.host", "smtp.example.com"); s.set("smtp.user", "rhesis") },
			"secrets.smtpPassword", "is required with smtp.host"},
		{"a relay without its user", "local", func(s settings) {
			s.set("smtp.host", "smtp.example.com")
			s.setSecret("secrets.smtpPassword", "relay")
		}, "smtp.user", "is required with smtp.host"},
		{"an API path behind another ingress class", "staging", func(s settings) { s.set("ingress.apiPath", "/backend"); s.set("ingress.className", "traefik") },
			"ingress.apiPath", "needs ingress.className=nginx"},
		{"API path that belongs to the frontend", "staging", func(s settings) { s.set("ingress.apiPath", "/api") },
			"ingress.apiPath", "belong to the frontend"},
		{"host that is no host", "staging", func(s settings) { s.set("ingress.host", "Rhesis_Test") },
			"ingress.host", "A DNS host name"},
		{"autoscaler maximum below its minimum", "prod", func(s settings) { s.set("backend.autoscaling.maxReplicas", "2") },
			"backend.autoscaling.maxReplicas", "is below backend.autoscaling.minReplicas (3)"},
		{"utilization above 100", "prod", func(s settings) { s.set("worker.autoscaling.targetCPUUtilization", "150") },
			"worker.autoscaling.targetCPUUtilization", "1 to 100"},
		{"external database in clear in prod", "prod", func(s settings) {
			s.set("database.external.host", "db.example.com")
			s.set("database.external.sslMode", "disable")
			s.set("backup.enabled", "false")
		}, "database.external.sslMode", "must be require, verify-ca or verify-full in prod"},
		{"unknown ssl mode", "staging", func(s settings) {
			s.set("database.external.host", "db.example.com")
			s.set("database.external.sslMode", "sometimes")
		}, "database.external.sslMode", "'disable', 'allow', 'prefer'"},
		{"external redis without TLS in prod", "prod", func(s settings) {
			s.set("redis.external.host", "cache.example.com")
			s.set("redis.external.tls", "false")
		}, "redis.external.tls", "must be true in prod"},
		{"external host that is no host", "local", func(s settings) { s.set("redis.external.host", "cache example") },
			"redis.external.host", "A DNS host name"},
		{"egress port that is no port", "local", func(s settings) { s.set("networkPolicies.egressPorts", "[443, 70000]") },
			"networkPolicies.egressPorts[1]", "want 65,535"},
		{"backup schedule that is no schedule", "prod", func(s settings) { s.set("backup.schedule", "nightly") },
			"backup.schedule", "A cron schedule of five fields"},
		{"shared storage one node only with several pods", "staging", func(s settings) { s.set("storage.accessMode", "ReadWriteOnce") },
			"storage.accessMode", "must be ReadWriteMany"},
		{"storage URI without scheme", "local", func(s settings) { s.set("storage.uri", "rhesis-bucket") },
			"storage.uri", "gs://<bucket>"},
		{"rights that are no Role rules", "local", func(s settings) { s.set("backend.serviceAccount.rules", `[{"verb":"get"}]`) },
			"backend.serviceAccount.rules[0]", "missing properties 'resources', 'verbs'"},
		{"a rule without verbs", "local", func(s settings) { s.set("backend.serviceAccount.rules", `[{"resources":["pods"]}]`) },
			"backend.serviceAccount.rules[0]", "missing property 'verbs'"},
		{"a backup of an external database", "prod", func(s settings) { s.set("database.external.host", "db.example.com") },
			"backup.enabled", "an external one is backed up by its provider"},
		{"no database at all", "local", func(s settings) { s.set("database.enabled", "false") },
			"database.enabled", "or set database.external.host"},
	}
	assertEachRefused(t, cases, stackSettings)
}
