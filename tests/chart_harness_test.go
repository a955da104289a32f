package tests

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/config"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
)

// chartDir is charts/rhesis.
func chartDir(t *testing.T) string { return filepath.Join(repoRoot(t), "charts", "rhesis") }

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir(t))
	require.NoError(t, err)
	return c
}

// valuesFile reads charts/rhesis/<name>.
func valuesFile(t *testing.T, name string) map[string]any { return valuesFileAt(t, name) }

// valuesFileAt is valuesFile for a test or a benchmark.
func valuesFileAt(tb testing.TB, name string) map[string]any {
	tb.Helper()
	v, err := chartutil.ReadValuesFile(filepath.Join(repoRoot(tb), "charts", "rhesis", name))
	require.NoError(tb, err)
	return v.AsMap()
}

// layer merges value maps like repeated -f flags: later ones win.
func layer(maps ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range maps {
		out = chartutil.CoalesceTables(deepCopy(m), out)
	}
	return out
}

func deepCopy(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// manifest is one rendered object with the template it came from.
type manifest = charts.Object

// render renders the chart as `helm install rhesis charts/rhesis -n rhesis`
// does with the given user values.
func render(t *testing.T, user map[string]any) ([]manifest, string, error) {
	t.Helper()
	r, err := charts.Render(chartDir(t), user, charts.RenderOptions{Namespace: "rhesis"})
	if err != nil {
		return nil, "", err
	}
	return r.Objects, r.Notes, nil
}

func mustRender(t *testing.T, user map[string]any) []manifest {
	t.Helper()
	m, _, err := render(t, user)
	require.NoError(t, err)
	return m
}

// envValues are the values of `-f values-<env>.yaml`, plus for staging and
// prod what an operator must add: the ingress host and certificate, the image
// tag and the secrets.
func envValues(t *testing.T, env string) map[string]any {
	t.Helper()
	v := valuesFile(t, "values-"+env+".yaml")
	if env == "local" {
		return v
	}
	secrets := map[string]any{}
	for k, s := range testSecrets {
		secrets[k] = s
	}
	return layer(v, map[string]any{
		"ingress": map[string]any{"host": env + ".rhesis.test", "tlsSecret": "rhesis-tls", "className": "nginx"},
		"storage": map[string]any{"storageClass": testSharedClass},
		"secrets": secrets,
	})
}

func sortedKeysOf(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// chartSchema is charts/rhesis/values.schema.json, compiled.
func chartSchema(t *testing.T) *config.Schema {
	t.Helper()
	s, err := config.LoadSchema(chartDir(t))
	require.NoError(t, err)
	return s
}
