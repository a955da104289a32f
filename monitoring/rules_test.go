package monitoring

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// ruleFile writes the rendered PrometheusRule's groups as a Prometheus rule
// file, the form promtool and Prometheus read, and returns its path and rules.
func ruleFile(t *testing.T, objects []map[string]any, dir string) (string, []map[string]any) {
	t.Helper()
	var rule map[string]any
	for _, o := range objects {
		if o["kind"] == "PrometheusRule" {
			require.Nil(t, rule, "one PrometheusRule")
			rule = o
		}
	}
	require.NotNil(t, rule, "no PrometheusRule in the render")
	spec := rule["spec"].(map[string]any)
	raw, err := yaml.Marshal(spec)
	require.NoError(t, err)
	path := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(path, raw, 0o644))
	var rules []map[string]any
	for _, g := range spec["groups"].([]any) {
		for _, r := range dig(g, "rules").([]any) {
			rules = append(rules, r.(map[string]any))
		}
	}
	return path, rules
}

// TestPromtoolChecksEveryRender: `promtool check rules` accepts the rules of
// every environment and variant.
func TestPromtoolChecksEveryRender(t *testing.T) {
	promtool := tool(t, "promtool")
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			path, rules := ruleFile(t, render(t, v), t.TempDir())
			out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput()
			require.NoError(t, err, "promtool check rules:\n%s", out)
			t.Logf("%d rules: %s", len(rules), out)
		})
	}
}

// TestAlertsFireAndResolve runs the rule tests of testdata/alerts.test.yaml
// with `promtool test rules` against the render with every alert, and holds
// the tests to the rules: each alert has a case that fires it and one where
// it must stay silent.
func TestAlertsFireAndResolve(t *testing.T) {
	ruleTests(t, full(t), "testdata/alerts.test.yaml", func(map[string]any) bool { return true })
}

// readsCluster: a rule that reads a CloudNativePG Cluster's metrics or its
// instances' claims.
var readsCluster = regexp.MustCompile(`cnpg_|barman_cloud_|postgres-\[0-9\]\+`)

// TestClusterAlertsFireAndResolve: the same with a CloudNativePG Cluster, for
// each rule that reads the Cluster (testdata/alerts-cloudnativepg.test.yaml);
// the others are the single pod's render's, tested above.
func TestClusterAlertsFireAndResolve(t *testing.T) {
	covered := 0
	ruleTests(t, named(t, "prod-cloudnativepg"), "testdata/alerts-cloudnativepg.test.yaml", func(r map[string]any) bool {
		reads := readsCluster.MatchString(r["expr"].(string))
		if reads {
			covered++
		}
		return reads
	})
	assert.GreaterOrEqual(t, covered, 6, "the rules that read the Cluster")
}

// ruleTests runs the rule tests of file against v's render with promtool, and
// holds them to the rules held says: each such alert has a case that fires
// it and one where it must stay silent.
func ruleTests(t *testing.T, v variant, file string, held func(rule map[string]any) bool) {
	t.Helper()
	dir := t.TempDir()
	_, rules := ruleFile(t, render(t, v), dir)
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	var tests map[string]any
	require.NoError(t, yaml.Unmarshal(raw, &tests))

	fires, silent := map[string]int{}, map[string]int{}
	for _, tc := range tests["tests"].([]any) {
		for _, a := range dig(tc, "alert_rule_test").([]any) {
			name := dig(a, "alertname").(string)
			expected, _ := dig(a, "exp_alerts").([]any)
			if len(expected) == 0 {
				silent[name]++
			}
			for _, e := range expected {
				fires[name]++
				exp := e.(map[string]any)
				exp["exp_annotations"] = annotationsFor(t, rules, name, exp["exp_labels"].(map[string]any))
			}
		}
	}
	for _, r := range rules {
		if !held(r) {
			continue
		}
		name, _ := r["alert"].(string)
		assert.NotZero(t, fires[name], "no rule test fires %s", name)
		assert.NotZero(t, silent[name], "no rule test holds %s silent", name)
	}
	completed, err := yaml.Marshal(tests)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alerts.test.yaml"), completed, 0o644))

	cmd := exec.Command(tool(t, "promtool"), "test", "rules", "alerts.test.yaml")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool test rules:\n%s", out)
	t.Logf("promtool test rules: %s", out)
}

// labelRef is a $labels reference in an annotation's template.
var labelRef = regexp.MustCompile(`\{\{ \$labels\.([a-z_]+) \}\}`)

// annotationsFor are the annotations the alert named so, with those labels,
// carries: its rule's, with each $labels reference expanded. A reference to a
// label the alert lacks fails the test (promtool would expand it empty).
func annotationsFor(t *testing.T, rules []map[string]any, alert string, labels map[string]any) map[string]any {
	t.Helper()
	for _, r := range rules {
		if r["alert"] != alert || dig(r, "labels", "severity") != labels["severity"] {
			continue
		}
		out := map[string]any{}
		for k, v := range r["annotations"].(map[string]any) {
			out[k] = labelRef.ReplaceAllStringFunc(v.(string), func(ref string) string {
				name := labelRef.FindStringSubmatch(ref)[1]
				value, ok := labels[name]
				if !ok {
					t.Errorf("%s: annotation %s names $labels.%s, which the alert does not carry", alert, k, name)
				}
				return fmt.Sprint(value)
			})
		}
		return out
	}
	t.Fatalf("no rule %s with severity %v", alert, labels["severity"])
	return nil
}
