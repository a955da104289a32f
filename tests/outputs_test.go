package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestOutputs checks what operators read after `pulumi up`.
func TestOutputs(t *testing.T) {
	t.Parallel()
	wantReplicas := map[string]map[string]float64{
		"local":   {"frontend": 1, "backend": 1, "worker": 1, "postgres": 1, "redis": 1, "total": 5},
		"staging": {"frontend": 2, "backend": 2, "worker": 3, "postgres": 1, "redis": 1, "total": 9},
		"prod":    {"frontend": 2, "backend": 3, "worker": 5, "postgres": 1, "redis": 1, "total": 12},
	}
	for _, s := range stacks {
		t.Run(s, func(t *testing.T) {
			out := mustRun(t, s).Outputs
			assert.Equal(t, "rhesis", out["namespace"])
			assert.Equal(t, s, out["environment"])
			assert.Equal(t, "raw", out["deployMode"])
			assert.Equal(t, map[string]any{
				"frontend": "http://frontend.rhesis.svc.cluster.local:3000",
				"backend":  "http://backend.rhesis.svc.cluster.local:8080",
				"worker":   "http://worker.rhesis.svc.cluster.local:8080/health/basic",
			}, out["urls"])
			assert.Equal(t, map[string]any{
				"frontend": "kubectl port-forward -n rhesis svc/frontend 3000:3000",
				"backend":  "kubectl port-forward -n rhesis svc/backend 8080:8080",
				"worker":   "kubectl port-forward -n rhesis svc/worker 8081:8080",
			}, out["portForward"])
			got := map[string]float64{}
			for k, v := range out["replicas"].(map[string]any) {
				got[k] = v.(float64)
			}
			assert.Equal(t, wantReplicas[s], got)
		})
	}
}

// TestOutputsFollowNamespaceAndDisabledComponents: another namespace shows in
// every URL and command; a disabled component has no object and no output.
func TestOutputsFollowNamespaceAndDisabledComponents(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "local")
	s.set("deploy.namespace", "rhesis-dev")
	s.set("frontend.enabled", "false")
	r, err := run(t, "local", s)
	assert.NoError(t, err)
	assert.Equal(t, "rhesis-dev", r.Outputs["namespace"])
	assert.Equal(t, map[string]any{
		"backend": "http://backend.rhesis-dev.svc.cluster.local:8080",
		"worker":  "http://worker.rhesis-dev.svc.cluster.local:8080/health/basic",
	}, r.Outputs["urls"])
	assert.Equal(t, "kubectl port-forward -n rhesis-dev svc/backend 8080:8080", dig(r.Outputs, "portForward", "backend"))
	assert.False(t, r.hasObject("Deployment", "frontend"))
	assert.False(t, r.hasObject("Service", "frontend"))
	assert.Nil(t, dig(r.Outputs, "replicas", "frontend"))
	for _, res := range r.kubernetes() {
		if _, ns := res.Meta(); res.Kind() != "Namespace" {
			assert.Equal(t, "rhesis-dev", ns, "%s %s", res.Kind(), res.Name)
		}
	}
}
