package tests

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/config"
	"github.com/rhesis-ai/rhesis-deploy/stack"
)

func helmSettings(t *testing.T, stackName string) settings {
	s := stackSettings(t, stackName)
	s.set("deploy.mode", "helm")
	return s
}

// TestHelmModeInstallsTheChart: helm mode registers the namespace and one
// Helm release of the local chart, with the values the program computes, and
// no raw workload.
func TestHelmModeInstallsTheChart(t *testing.T) {
	t.Parallel()
	for _, s := range stacks {
		t.Run(s, func(t *testing.T) {
			r, err := run(t, s, helmSettings(t, s))
			require.NoError(t, err)
			assert.Equal(t, []string{"Namespace /rhesis", "Release rhesis/rhesis"}, inventory(r))
			rel := r.object(t, "Release", "rhesis")
			assert.True(t, rel.Inputs["values"].ObjectValue()["secrets"].ContainsSecrets(), "the secret values must be a Pulumi secret")
			for k := range rel.Inputs["values"].ObjectValue() {
				assert.False(t, rel.Inputs["values"].ObjectValue()[k].ContainsSecrets() && k != "secrets", "only secrets is secret, %s is not", k)
			}
			plain := rel.Plain()
			assert.Equal(t, filepath.Join(repoRoot(t), "charts", "rhesis"), plain["chart"])
			assert.Equal(t, "rhesis", plain["namespace"])
			assert.Equal(t, true, plain["atomic"], "a failed upgrade must roll back")
			assert.Nil(t, plain["skipAwait"], "the release waits for its workloads")
			assert.Equal(t, true, plain["disableOpenapiValidation"], "the values schema and the API server validate (components/release.go)")

			want := normalizeValues(t, r.Config.Values)
			got := normalizeValues(t, plain["values"].(map[string]any))
			digest := dig(got, "global", "chartDigest")
			assert.Len(t, digest, 16)
			delete(got["global"].(map[string]any), "chartDigest")
			delete(want["global"].(map[string]any), "chartDigest")
			assert.Equal(t, want, got)
			assert.Equal(t, "helm", r.Outputs["deployMode"])
			assert.Equal(t, "rhesis", dig(r.Outputs, "release", "name"))
			assert.Equal(t, "rhesis", dig(r.Outputs, "release", "namespace"))
			assert.Equal(t, digest, dig(r.Outputs, "release", "digest"))
		})
	}
}

func normalizeValues(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	return normalizeObject(t, v)
}

// TestHelmModeOutputsMatchRaw: operators read the same outputs in both modes.
func TestHelmModeOutputsMatchRaw(t *testing.T) {
	t.Parallel()
	for _, s := range stacks {
		raw := mustRun(t, s).Outputs
		h, err := run(t, s, helmSettings(t, s))
		require.NoError(t, err)
		for _, k := range []string{"namespace", "urls", "portForward", "replicas", "resources", "publicUrls", "environment"} {
			assert.Equal(t, raw[k], h.Outputs[k], "%s output %s", s, k)
		}
	}
}

// TestChartDigestFollowsTemplates: a changed template changes the digest the
// release gets as a value, so the next `pulumi up` upgrades the release.
func TestChartDigestFollowsTemplates(t *testing.T) {
	copyDir := t.TempDir()
	require.NoError(t, os.CopyFS(copyDir, os.DirFS(chartDir(t))))
	before, err := charts.Digest(copyDir)
	require.NoError(t, err)
	same, err := charts.Digest(chartDir(t))
	require.NoError(t, err)
	assert.Equal(t, same, before, "the digest depends only on content")

	tpl := filepath.Join(copyDir, "templates", "backend.yaml")
	raw, err := os.ReadFile(tpl)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(tpl, append(raw, []byte("\n# changed\n")...), 0o644))
	after, err := charts.Digest(copyDir)
	require.NoError(t, err)
	assert.NotEqual(t, before, after)

	t.Setenv(stack.ChartDirEnv, copyDir)
	r, err := run(t, "local", helmSettings(t, "local"))
	require.NoError(t, err)
	assert.Equal(t, after, dig(r.object(t, "Release", "rhesis").Plain(), "values", "global", "chartDigest"))
}

// TestModeSwitchIsRefused: a stack last deployed in raw mode refuses helm
// mode (and the reverse) before registering anything, and says what to do.
func TestModeSwitchIsRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ previous, next string }{{"raw", "helm"}, {"helm", "raw"}} {
		s := stackSettings(t, "local")
		s.set("deploy.mode", c.next)
		registered, err := runProgramAfter(t, "local", s, map[string]any{"deployMode": c.previous})
		require.Error(t, err)
		var problems config.Problems
		require.True(t, errors.As(err, &problems))
		assert.Equal(t, []string{"rhesis:deploy.mode"}, problems.Keys())
		assert.Contains(t, err.Error(), "is deployed in "+c.previous+" mode")
		assert.Contains(t, err.Error(), "pulumi config set -s local --path deploy.mode "+c.previous)
		assert.Contains(t, err.Error(), "pulumi destroy -s local")
		assert.Empty(t, registered, "nothing may be registered when the switch is refused")
	}
	// Same mode, or a stack never deployed: goes ahead.
	registered, err := runProgramAfter(t, "local", stackSettings(t, "local"), map[string]any{"deployMode": "raw"})
	require.NoError(t, err)
	assert.NotEmpty(t, registered)
	registered, err = runProgramAfter(t, "local", helmSettings(t, "local"), nil)
	require.NoError(t, err)
	assert.NotEmpty(t, registered)
}
