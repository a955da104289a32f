package tests

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var workloads = []string{"frontend", "backend", "worker", "postgres", "redis"}

type probeWant struct {
	path string // "" = TCP, unless exec
	port string
	exec string // part of the command of an exec probe
}

// TestProbes checks each component's health checks as the app contract gives
// them: readiness asks whether the service can serve (its health endpoint,
// pg_isready, redis PING), liveness only whether it still listens; they
// differ, so a slow dependency never restarts a working pod.
func TestProbes(t *testing.T) {
	t.Parallel()
	ready := map[string]probeWant{
		"backend":  {path: "/health", port: "http"},
		"worker":   {path: "/health", port: "health"},
		"frontend": {path: "/api/auth/session", port: "http"},
		"postgres": {exec: "pg_isready"},
		"redis":    {exec: "redis-cli -h 127.0.0.1 ping"},
	}
	alive := map[string]probeWant{
		"backend":  {port: "http"},
		"worker":   {path: "/health/basic", port: "health"},
		"frontend": {port: "http"},
		"postgres": {port: "postgres"},
		"redis":    {port: "redis"},
	}
	r := mustRun(t, "local")
	for name := range ready {
		c := container(r.object(t, "Deployment", name))
		assertProbe(t, ready[name], c["readinessProbe"], name+" readinessProbe")
		assertProbe(t, alive[name], c["livenessProbe"], name+" livenessProbe")
		assert.NotEqual(t, c["readinessProbe"], c["livenessProbe"], name)
	}
	// The backend's first start may run every migration: liveness only starts
	// after the startup probe, which allows at least 5 minutes.
	startup := container(r.object(t, "Deployment", "backend"))["startupProbe"]
	assertProbe(t, ready["backend"], startup, "backend startupProbe")
	budget := dig(startup, "periodSeconds").(float64) * dig(startup, "failureThreshold").(float64)
	assert.GreaterOrEqual(t, budget, 300.0, "backend startup budget in seconds")
}

func assertProbe(t *testing.T, w probeWant, p any, msg string) {
	t.Helper()
	require.NotNil(t, p, msg)
	assert.GreaterOrEqual(t, dig(p, "timeoutSeconds"), 5.0, msg+" timeout")
	switch {
	case w.exec != "":
		assert.Contains(t, fmt.Sprint(dig(p, "exec", "command")), w.exec, msg)
	case w.path != "":
		assert.Equal(t, w.path, dig(p, "httpGet", "path"), msg)
		assert.Equal(t, w.port, dig(p, "httpGet", "port"), msg)
		assert.Nil(t, dig(p, "tcpSocket"), msg)
	default:
		assert.Equal(t, w.port, dig(p, "tcpSocket", "port"), msg)
		assert.Nil(t, dig(p, "httpGet"), msg)
	}
}

// TestPorts checks container ports and that each Service targets them.
func TestPorts(t *testing.T) {
	t.Parallel()
	want := map[string]float64{"frontend": 3000, "backend": 8080, "worker": 8080, "postgres": 5432, "redis": 6379}
	r := mustRun(t, "local")
	for name, port := range want {
		c := container(r.object(t, "Deployment", name))
		assert.Equal(t, port, dig(c, "ports", 0, "containerPort"), name)
		svc := r.object(t, "Service", name).Plain()
		assert.Equal(t, port, dig(svc, "spec", "ports", 0, "port"), name)
		assert.Equal(t, dig(c, "ports", 0, "name"), dig(svc, "spec", "ports", 0, "targetPort"), name)
		assert.Equal(t, "ClusterIP", dig(svc, "spec", "type"), name)
	}
}

// TestSecurityContexts checks that every pod, postgres and redis included,
// passes Pod Security "restricted" with the user its image really uses.
func TestSecurityContexts(t *testing.T) {
	t.Parallel()
	uid := map[string]float64{"frontend": 1000, "backend": 1000, "worker": 1000, "postgres": 999, "redis": 999}
	for _, s := range stacks {
		r := mustRun(t, s)
		for _, name := range workloads {
			pod := dig(r.object(t, "Deployment", name).Plain(), "spec", "template", "spec")
			assert.Equal(t, true, dig(pod, "securityContext", "runAsNonRoot"), name)
			assert.Equal(t, uid[name], dig(pod, "securityContext", "runAsUser"), name)
			assert.Equal(t, "RuntimeDefault", dig(pod, "securityContext", "seccompProfile", "type"), name)
			assert.Equal(t, false, dig(pod, "automountServiceAccountToken"), name)
			c := dig(pod, "containers", 0)
			assert.Equal(t, false, dig(c, "securityContext", "allowPrivilegeEscalation"), name)
			assert.Equal(t, []any{"ALL"}, dig(c, "securityContext", "capabilities", "drop"), name)
			assert.Equal(t, true, dig(c, "securityContext", "runAsNonRoot"), name)
			assert.Equal(t, "RuntimeDefault", dig(c, "securityContext", "seccompProfile", "type"), name)
		}
		// Every container of every pod, init containers and the Jobs' included,
		// on a read-only root (the contract test checks where they may write).
		for _, res := range r.kubernetes() {
			objName, _ := res.Meta()
			for _, c := range podContainers(podSpec(res.Plain())) {
				assert.Equal(t, true, dig(c, "securityContext", "readOnlyRootFilesystem"), "%s %s %s %v", s, res.Kind(), objName, dig(c, "name"))
			}
		}
		ns := r.object(t, "Namespace", "rhesis").Plain()
		assert.Equal(t, "restricted", dig(ns, "metadata", "labels", "pod-security.kubernetes.io/enforce"))
	}
}

// TestLabels checks the app=<name> label users select by and the standard set on every
// object, and that Services select exactly their own pods.
func TestLabels(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "prod")
	for _, res := range r.kubernetes() {
		name, _ := res.Meta()
		labels, _ := dig(res.Plain(), "metadata", "labels").(map[string]any)
		for _, k := range []string{"app", "app.kubernetes.io/name", "app.kubernetes.io/instance",
			"app.kubernetes.io/component", "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"} {
			assert.NotEmpty(t, labels[k], "%s %s label %s", res.Kind(), name, k)
		}
		assert.Equal(t, "rhesis", labels["app.kubernetes.io/part-of"])
		assert.Equal(t, "pulumi", labels["app.kubernetes.io/managed-by"])
	}
	for _, name := range workloads {
		d := r.object(t, "Deployment", name).Plain()
		podLabels := dig(d, "spec", "template", "metadata", "labels").(map[string]any)
		assert.Equal(t, name, podLabels["app"])
		assert.Equal(t, name, podLabels["app.kubernetes.io/name"])
		selector := dig(r.object(t, "Service", name).Plain(), "spec", "selector").(map[string]any)
		assert.Equal(t, dig(d, "spec", "selector", "matchLabels"), selector, name)
		for k, v := range selector {
			assert.Equal(t, v, podLabels[k], "%s pod label %s", name, k)
		}
	}
}

// TestStrategiesAndImages: the stores stop before they restart (one writer
// per volume); images are pulled IfNotPresent, never Never, by default.
func TestStrategiesAndImages(t *testing.T) {
	t.Parallel()
	wantImage := map[string]map[string]string{
		"local": {
			"frontend": "ghcr.io/rhesis-ai/frontend:" + release, "backend": "ghcr.io/rhesis-ai/backend:" + release, "worker": "ghcr.io/rhesis-ai/worker:" + release,
			"postgres": "pgvector/pgvector:pg16", "redis": "redis:7-alpine",
		},
		"prod": {
			"frontend": "ghcr.io/rhesis-ai/frontend:" + release, "backend": "ghcr.io/rhesis-ai/backend:" + release,
			"worker": "ghcr.io/rhesis-ai/worker:" + release, "postgres": "pgvector/pgvector:pg16", "redis": "redis:7-alpine",
		},
	}
	for s, images := range wantImage {
		r := mustRun(t, s)
		for _, name := range workloads {
			d := r.object(t, "Deployment", name).Plain()
			strategy := "RollingUpdate"
			if name == "postgres" || name == "redis" {
				strategy = "Recreate"
			}
			assert.Equal(t, strategy, dig(d, "spec", "strategy", "type"), name)
			c := container(r.object(t, "Deployment", name))
			assert.Equal(t, images[name], c["image"], name)
			assert.Equal(t, "IfNotPresent", c["imagePullPolicy"], name)
		}
	}
}

// TestVolumes: persistence on mounts the claim; off mounts an emptyDir and
// references no claim at all (a pod hangs Pending on a missing claim).
func TestVolumes(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "local")
	assert.Equal(t, "postgres-pvc", dig(volume(t, r, "postgres"), "persistentVolumeClaim", "claimName"))
	pg := container(r.object(t, "Deployment", "postgres"))
	assert.Contains(t, dig(pg, "volumeMounts"), map[string]any{"name": "data", "mountPath": "/var/lib/postgresql/data"})
	assert.Contains(t, envNames(pg), "PGDATA")
	assert.NotNil(t, dig(volume(t, r, "redis"), "emptyDir"), "local redis has no persistence")
	assert.Nil(t, dig(volume(t, r, "redis"), "persistentVolumeClaim"))

	prod := mustRun(t, "prod")
	assert.Equal(t, "redis-pvc", dig(volume(t, prod, "redis"), "persistentVolumeClaim", "claimName"))
	assert.Contains(t, dig(container(prod.object(t, "Deployment", "redis")), "args"), "yes", "appendonly on with a volume")

	s := stackSettings(t, "local")
	s.set("database.postgresql.persistence.enabled", "false")
	off, err := run(t, "local", s)
	require.NoError(t, err)
	assert.False(t, off.hasObject("PersistentVolumeClaim", "postgres-pvc"))
	assert.NotNil(t, dig(volume(t, off, "postgres"), "emptyDir"))
	for _, res := range off.kubernetes() {
		assert.NotContains(t, jsonOf(t, res.Plain()), `"postgres-pvc"`, "%s references the claim", res.Kind())
	}
}

// volume is the data volume of a store's pod.
func volume(t *testing.T, r *result, name string) any {
	t.Helper()
	for _, v := range dig(r.object(t, "Deployment", name).Plain(), "spec", "template", "spec", "volumes").([]any) {
		if dig(v, "name") == "data" {
			return v
		}
	}
	require.FailNow(t, "no data volume", name)
	return nil
}

func envNames(c map[string]any) []string {
	var out []string
	for _, e := range c["env"].([]any) {
		out = append(out, dig(e, "name").(string))
	}
	return out
}
