package tests

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"
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
func valuesFile(t *testing.T, name string) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValuesFile(filepath.Join(chartDir(t), name))
	require.NoError(t, err)
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
type manifest struct {
	Source string
	Object map[string]any
}

func (m manifest) kind() string { s, _ := m.Object["kind"].(string); return s }
func (m manifest) name() string { s, _ := dig(m.Object, "metadata", "name").(string); return s }
func (m manifest) hook() bool   { return dig(m.Object, "metadata", "annotations", "helm.sh/hook") != nil }

// render renders the chart as `helm install rhesis charts/rhesis -n rhesis`
// does with the given user values: coalesced with values.yaml, validated
// against values.schema.json, rendered by Helm's engine.
func render(t *testing.T, user map[string]any) ([]manifest, string, error) {
	t.Helper()
	c := loadChart(t)
	vals, err := chartutil.ToRenderValues(c, user, chartutil.ReleaseOptions{
		Name: "rhesis", Namespace: "rhesis", IsInstall: true, Revision: 1,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, "", err
	}
	files, err := engine.Render(c, vals)
	if err != nil {
		return nil, "", err
	}
	var out []manifest
	var notes string
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		body := files[name]
		if strings.HasSuffix(name, "NOTES.txt") {
			notes = body
			continue
		}
		docs := releaseutil.SplitManifests(body)
		keys := make([]string, 0, len(docs))
		for k := range docs {
			keys = append(keys, k)
		}
		sort.Sort(releaseutil.BySplitManifestsOrder(keys))
		for _, k := range keys {
			if strings.TrimSpace(docs[k]) == "" {
				continue
			}
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(docs[k]), &obj); err != nil {
				return nil, "", fmt.Errorf("%s: %w\n%s", name, err, docs[k])
			}
			if obj != nil {
				out = append(out, manifest{Source: name, Object: obj})
			}
		}
	}
	return out, notes, nil
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
		"ingress": map[string]any{"host": env + ".rhesis.test", "tlsSecret": "rhesis-tls"},
		"storage": map[string]any{"storageClass": testSharedClass},
		"secrets": secrets,
	})
}

func renderFiles(c *chart.Chart, vals chartutil.Values) (map[string]string, error) {
	return engine.Render(c, vals)
}

func sortedKeysOf(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
