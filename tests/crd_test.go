package tests

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/tests/testutil"
)

// projectCRDs are the CRDs of every custom resource the chart renders, at
// the versions the e2e applies: KEDA, the Gateway API, the Grafana
// Operator, CloudNativePG and its Barman Cloud plugin from the Go module
// proxy (hack/toolchain.sh), the External
// Secrets and Prometheus Operators' from tests/e2e/testdata.
func projectCRDs(t *testing.T) testutil.CRDs {
	t.Helper()
	var paths []string
	for _, tool := range []string{"keda-crds", "gateway-api-crds", "grafana-operator-crds", "cnpg-crds", "barman-cloud-crds"} {
		out, err := exec.Command(filepath.Join(repoRoot(t), "hack", "toolchain.sh"), "dir", tool).Output()
		require.NoError(t, err, "hack/toolchain.sh dir %s: %s", tool, testutil.Stderr(err))
		paths = append(paths, strings.TrimSpace(string(out)))
	}
	for _, file := range []string{"external-secrets-crds.yaml", "prometheus-operator-crds.yaml"} {
		paths = append(paths, filepath.Join(repoRoot(t), "tests", "e2e", "testdata", file))
	}
	crds, err := testutil.LoadCRDs(paths...)
	require.NoError(t, err)
	return crds
}

// TestCustomResourcesMatchTheirCRDs: every custom resource of every option
// that renders one (monitoring, dashboards, External Secrets, the Gateway
// API, KEDA) is what its project's CRD accepts: its schema, its CEL rules,
// and no field the server would drop. A kind without a loaded CRD fails.
func TestCustomResourcesMatchTheirCRDs(t *testing.T) {
	t.Parallel()
	crds := projectCRDs(t)
	prod := envValues(t, "prod")
	variants := map[string]map[string]any{
		"monitoring": layer(prod, map[string]any{"monitoring": map[string]any{"enabled": true,
			"dashboards": map[string]any{"grafanaOperator": map[string]any{"enabled": true}}}}),
		"externalSecret": layer(prod, externalSecretValues()),
		"gateway":        layer(prod, gatewayValues()),
		"keda":           layer(prod, map[string]any{"worker": map[string]any{"autoscaling": map[string]any{"enabled": true}, "keda": map[string]any{"enabled": true}}}),
		"cloudnativepg":  layer(prod, cloudnativepgValues()),
		"recovery":       layer(prod, cloudnativepgValues(), recoveryValues()),
	}
	seen := map[string]bool{}
	for name, values := range variants {
		rendered, err := charts.RenderChart(loadChart(t), values, charts.RenderOptions{Namespace: "rhesis", APIVersions: []string{kedaAPI}})
		require.NoError(t, err, name)
		for _, o := range rendered.Objects {
			if !strings.Contains(o.APIVersion(), ".") || strings.HasSuffix(o.APIVersion(), ".k8s.io/v1") && !strings.HasPrefix(o.APIVersion(), "gateway.") {
				continue // Kubernetes' own, checked by the schema test against its OpenAPI
			}
			known, problems := crds.Validate(o.Object)
			require.True(t, known, "%s: %s %s has no CRD loaded (have %s)", name, o.APIVersion(), o.Kind(), crds.Kinds())
			assert.Empty(t, problems, "%s: %s %s", name, o.Kind(), o.Name())
			seen[o.Kind()] = true
		}
	}
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule", "GrafanaDashboard", "ExternalSecret", "HTTPRoute", "ScaledObject", "TriggerAuthentication", "Cluster", "ObjectStore", "ScheduledBackup"} {
		assert.True(t, seen[kind], "no variant rendered a %s", kind)
	}

	// The check can fail: a misspelt field, a wrong type, a rule broken.
	so := map[string]any{"apiVersion": kedaAPI, "kind": "ScaledObject", "metadata": map[string]any{"name": "worker"},
		"spec": map[string]any{"scaleTargetRef": map[string]any{"name": "worker"}, "minReplicaCount": "one", "maxReplicas": 3,
			"triggers": []any{map[string]any{"type": "redis", "metadata": map[string]any{"listName": "celery"}}}}}
	_, problems := crds.Validate(so)
	assert.Contains(t, strings.Join(problems, "\n"), "unknown field spec.maxReplicas")
	assert.Contains(t, strings.Join(problems, "\n"), "spec.minReplicaCount in body must be of type integer")
	so["spec"] = map[string]any{"scaleTargetRef": map[string]any{"name": "worker"}, "minReplicaCount": 5, "maxReplicaCount": 2,
		"triggers": []any{map[string]any{"type": "redis", "metadata": map[string]any{"listName": "celery"}}}}
	_, problems = crds.Validate(so)
	assert.Equal(t, []string{"spec: Invalid value: \"object\": minReplicaCount must be less than or equal to maxReplicaCount"}, problems, "KEDA's CEL rule")
}
