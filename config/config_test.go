package config

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoChart resolves every stack to the repository's chart.
func repoChart(Deploy) (Chart, error) { return Chart{Dir: "../charts/rhesis"}, nil }

// TestEnvironmentFromStackName: the stack name picks the environment unless
// rhesis:environment says otherwise; the Pulumi-only table's defaults apply.
func TestEnvironmentFromStackName(t *testing.T) {
	s, err := Load(MapSource{}, "staging", repoChart)
	require.NoError(t, err)
	assert.Equal(t, Staging, s.Environment)
	assert.Equal(t, Deploy{Mode: ModeRaw, Namespace: "rhesis", CreateNamespace: true, Images: Builds{Platform: "linux/amd64"}}, s.Deploy)

	s, err = Load(MapSource{Values: map[string]string{"rhesis:environment": "prod"}}, "team-a", repoChart)
	require.NoError(t, err)
	assert.Equal(t, Prod, s.Environment)
}

// TestOverlayIsTheChartsValues: every key but environment and deploy is a
// value of the chart, by its own path; Pulumi.yaml's empty objects set nothing.
func TestOverlayIsTheChartsValues(t *testing.T) {
	s, err := Load(MapSource{Values: map[string]string{
		"rhesis:backend":    `{"replicas": 3, "extraEnv": {"A": "b"}}`,
		"rhesis:namePrefix": "a-",
		"rhesis:ingress":    "{}",
		"rhesis:deploy":     `{"mode": "helm", "images": {"registry": "ghcr.io/acme"}}`,
	}, Secrets: map[string]bool{}}, "local", repoChart)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"backend":    map[string]any{"replicas": 3.0, "extraEnv": map[string]any{"A": "b"}},
		"namePrefix": "a-",
	}, s.Overlay)
	assert.Equal(t, ModeHelm, s.Deploy.Mode)
	assert.True(t, s.Deploy.Images.Push, "a registry means push unless deploy.images.push says otherwise")
}

// TestPulumiOnlyProblemsAtOnce: the table's problems and unknown keys come
// together, before the chart is asked.
func TestPulumiOnlyProblemsAtOnce(t *testing.T) {
	_, err := Load(MapSource{Values: map[string]string{
		"rhesis:deploy":  `{"mode": "kustomize", "namespace": "Bad_NS", "chartVersion": "1.0.0"}`,
		"rhesis:bakend":  `{"replicas": 3}`,
		"rhesis:secrets": `{"dbPassword": "plain"}`,
	}}, "local", repoChart)
	var ps Problems
	require.True(t, errors.As(err, &ps), "%v", err)
	assert.ElementsMatch(t, []string{"rhesis:deploy.mode", "rhesis:deploy.namespace", "rhesis:deploy.chartVersion",
		"rhesis:bakend", "rhesis:secrets.dbPassword"}, ps.Keys())
}

// TestRestoreIsNotAStackSetting: backup.restore.object renders the restore
// Job, which a stack must not keep (every up would restore again).
func TestRestoreIsNotAStackSetting(t *testing.T) {
	_, err := Load(MapSource{Values: map[string]string{
		"rhesis:backup": `{"enabled": true, "restore": {"object": "latest"}}`,
	}}, "prod", repoChart)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `rhesis:backup.restore.object = "latest": is only for a restore run on its own`)
	assert.Contains(t, err.Error(), "pulumi config rm --path backup.restore.object")

	s, err := Load(MapSource{Values: map[string]string{"rhesis:backup": `{"enabled": true, "restore": {"object": ""}}`}}, "prod", repoChart)
	require.NoError(t, err)
	assert.Equal(t, true, s.Overlay["backup"].(map[string]any)["enabled"])
}
