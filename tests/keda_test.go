package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/contract"
	"github.com/rhesis-ai/rhesis-deploy/stack"
)

// kedaAPI is the API version of KEDA's ScaledObject.
const kedaAPI = "keda.sh/v1alpha1"

// kedaServed stands for a cluster's discovery: whether it serves KEDA.
func kedaServed(served bool) stack.ServesAPI {
	return func(_, groupVersion string) (bool, error) { return served && groupVersion == kedaAPI, nil }
}

// renderWithAPIs renders as a cluster serving the extra API versions does.
func renderWithAPIs(t *testing.T, values map[string]any, apis ...string) map[string]map[string]any {
	t.Helper()
	r, err := charts.Render(chartDir(t), values, charts.RenderOptions{Namespace: "rhesis", APIVersions: apis})
	require.NoError(t, err)
	out := map[string]map[string]any{}
	for _, o := range r.Objects {
		if o.Annotation("helm.sh/hook") != "test" {
			out[spelled(o.Kind()+"/"+o.Name())] = normalizeObject(t, o.Object)
		}
	}
	return out
}

func kedaStack(t *testing.T, served bool) settings {
	t.Helper()
	s := stackSettings(t, "prod")
	s.set("worker.keda.enabled", "true")
	s.servesAPI = kedaServed(served)
	return s
}

// TestWorkerScalesOnItsQueues: with KEDA served, the worker's
// HorizontalPodAutoscaler gives way to a ScaledObject on every Celery queue
// the worker consumes (the app contract's list), between the autoscaling
// bounds, reading Redis with the password the pods read; KEDA's operator
// may reach Redis. Both modes agree, and the contract check sees a queue
// left out.
func TestWorkerScalesOnItsQueues(t *testing.T) {
	t.Parallel()
	r, err := run(t, "prod", kedaStack(t, true))
	require.NoError(t, err)
	objects := renderWithAPIs(t, r.Config.Values, kedaAPI)
	assertSameObjects(t, rawObjects(t, r), objects, "prod with KEDA")
	assert.NotContains(t, objects, "HorizontalPodAutoscaler/worker")
	assert.Contains(t, objects, "HorizontalPodAutoscaler/backend", "only the worker scales on work")

	so, ok := objects["ScaledObject/worker"]
	require.True(t, ok, "no ScaledObject")
	assert.Equal(t, "worker", dig(so, "spec", "scaleTargetRef", "name"))
	assert.EqualValues(t, dig(r.Config.Merged, "worker", "autoscaling", "minReplicas"), dig(so, "spec", "minReplicaCount"))
	assert.EqualValues(t, dig(r.Config.Merged, "worker", "autoscaling", "maxReplicas"), dig(so, "spec", "maxReplicaCount"))
	var queues []string
	for _, tr := range dig(so, "spec", "triggers").([]any) {
		assert.Equal(t, "redis", dig(tr, "type"))
		assert.Equal(t, "redis:6379", dig(tr, "metadata", "address"))
		assert.Equal(t, "10", dig(tr, "metadata", "listLength"))
		assert.Equal(t, "worker-redis", dig(tr, "authenticationRef", "name"))
		queues = append(queues, dig(tr, "metadata", "listName").(string))
	}
	var contractQueues []string
	for _, q := range appContract(t).Containers["worker"].Queues {
		contractQueues = append(contractQueues, q.Name)
	}
	assert.Equal(t, contractQueues, queues, "the scaler watches the queues Rhesis' worker consumes")
	assert.Equal(t, []any{map[string]any{"parameter": "password", "name": "rhesis-secrets", "key": "REDIS_PASSWORD"}},
		dig(objects["TriggerAuthentication/worker-redis"], "spec", "secretTargetRef"))
	assert.Contains(t, jsonOf(t, dig(objects["NetworkPolicy/redis"], "spec", "ingress")), `"kubernetes.io/metadata.name":"keda"`)

	c := appContract(t)
	render := chartRender(t, r.Config.Values, nil)
	assert.Empty(t, c.Check(render), "%s", violations(c.Check(render)))
	short := layer(r.Config.Values, map[string]any{"worker": map[string]any{"keda": map[string]any{"queues": []any{"celery", "execution", "telemetry"}}}})
	var objs []map[string]any
	for _, o := range renderWithAPIs(t, short, kedaAPI) {
		objs = append(objs, o)
	}
	found := false
	for _, v := range c.Check(contract.Render{Objects: objs}) {
		found = found || v.Item == "consumes the queue architect"
	}
	assert.True(t, found, "the contract check must see the architect queue left out")
}

// TestWorkerKedaFallsBackOrRefuses: the chart keeps the worker's
// HorizontalPodAutoscaler where the cluster serves no KEDA API; the program
// refuses instead, before anything is created, so both of its modes agree.
func TestWorkerKedaFallsBackOrRefuses(t *testing.T) {
	t.Parallel()
	values := layer(envValues(t, "prod"), map[string]any{"worker": map[string]any{"keda": map[string]any{"enabled": true}}})
	objects := renderWithAPIs(t, values)
	assert.Contains(t, objects, "HorizontalPodAutoscaler/worker")
	assert.NotContains(t, objects, "ScaledObject/worker")

	s := kedaStack(t, false)
	r, err := run(t, "prod", s)
	require.Error(t, err)
	assert.Empty(t, r.Resources, "nothing registered")
	assert.Contains(t, err.Error(), "rhesis:worker.keda.enabled")
	assert.Contains(t, err.Error(), "the cluster serves no keda.sh/v1alpha1")

	s = kedaStack(t, true)
	s.set("worker.autoscaling.enabled", "false")
	assertRefused(t, "prod", s, "worker.keda.enabled", "needs worker.autoscaling.enabled")
}
