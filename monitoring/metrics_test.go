package monitoring

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// platform is the inventory of everything the rules may read: the exporters'
// real scrape and the platform's published metrics.
func platform(t *testing.T) inventory {
	t.Helper()
	inv := inventory{}
	kubeStateMetrics(t, inv)
	kubeletVolumeStats(t, inv)
	cAdvisor(t, inv)
	certManager(t, inv)
	cloudNativePG(t, inv)
	exporters(t, inv)
	return inv
}

// promql is Prometheus's parser with its default options, as promtool's.
var promql = parser.NewParser(parser.Options{})

// unknownMetrics parses a PromQL expression with Prometheus's parser and
// lists each selector's metric or label that the inventory lacks.
func unknownMetrics(inv inventory, expr string) ([]string, error) {
	parsed, err := promql.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var problems []string
	parser.Inspect(parsed, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.AggregateExpr:
			if !n.Without {
				problems = append(problems, missingLabels(inv, n.Grouping, n.Expr, "by")...)
			}
		case *parser.BinaryExpr:
			if n.VectorMatching != nil && n.VectorMatching.On {
				problems = append(problems, missingLabels(inv, n.VectorMatching.MatchingLabels, n.LHS, "on")...)
				problems = append(problems, missingLabels(inv, n.VectorMatching.MatchingLabels, n.RHS, "on")...)
			}
		}
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		m, known := inv[vs.Name]
		if !known {
			problems = append(problems, fmt.Sprintf("metric %s is in no scrape or metric list", vs.Name))
			return nil
		}
		for _, matcher := range vs.LabelMatchers {
			if matcher.Name != model.MetricNameLabel && !m.labels[matcher.Name] {
				problems = append(problems, fmt.Sprintf("%s has no label %s (%s)", vs.Name, matcher.Name, m.source))
			}
		}
		return nil
	})
	return problems, nil
}

// missingLabels lists the labels of a by or on clause that a metric selected
// beneath it lacks.
func missingLabels(inv inventory, names []string, expr parser.Expr, clause string) []string {
	var problems []string
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		if m, known := inv[vs.Name]; known {
			for _, l := range names {
				if !m.labels[l] {
					problems = append(problems, fmt.Sprintf("%s(%s): %s has no label %s (%s)", clause, l, vs.Name, l, m.source))
				}
			}
		}
		return nil
	})
	return problems
}

// TestQueriesUseRealMetrics: every metric and label that each rule of every
// variant and each dashboard panel selects exists in a real scrape of the
// exporters the chart pins, or in the published metrics of
// kube-state-metrics, the kubelet, cAdvisor and cert-manager.
func TestQueriesUseRealMetrics(t *testing.T) {
	inv := platform(t)
	used := map[string]string{}
	check := func(t *testing.T, what, expr string) {
		t.Helper()
		problems, err := unknownMetrics(inv, expr)
		require.NoError(t, err, "%s: %s", what, expr)
		assert.Empty(t, problems, "%s: %s", what, expr)
		for _, name := range selectedMetrics(t, expr) {
			used[name] = inv[name].source
		}
	}
	t.Run("rules", func(t *testing.T) {
		for _, v := range variants() {
			_, rules := ruleFile(t, render(t, v), t.TempDir())
			for _, r := range rules {
				check(t, fmt.Sprintf("%s: %s", v.name, r["alert"]), r["expr"].(string))
			}
		}
	})
	t.Run("dashboards", func(t *testing.T) {
		queries := 0
		for file, panels := range dashboardQueries(t) {
			for title, exprs := range panels {
				for _, expr := range exprs {
					check(t, file+": "+title, grafanaVariables.Replace(expr))
					queries++
				}
			}
		}
		t.Logf("%d dashboard queries", queries)
	})
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Logf("%s: %s", n, used[n])
	}
	// The queue lengths exist only because the rendered exporter reads them.
	assert.True(t, inv["redis_key_size"].labels["key"], "redis_key_size{key} from REDIS_EXPORTER_CHECK_SINGLE_KEYS")
}

// grafanaVariables are Grafana's own variables outside a label value, which
// Grafana replaces before Prometheus parses a query; the dashboards' own
// ($namespace, ${prefix}) stand inside label values, which parse as they are.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m")

// TestUnknownMetricsAreFound: the check fails a wrong metric name or label.
func TestUnknownMetricsAreFound(t *testing.T) {
	inv := inventory{}
	inv.add("pg_up", "a scrape", "job", "namespace")
	for expr, want := range map[string]string{
		`pg_upp{namespace="x"} == 0`:            "metric pg_upp is in no scrape or metric list",
		`pg_up{namespace="x",datname="y"} == 0`: "pg_up has no label datname (a scrape)",
	} {
		problems, err := unknownMetrics(inv, expr)
		require.NoError(t, err)
		assert.Equal(t, []string{want}, problems, expr)
	}
	for expr, want := range map[string]string{
		`sum by (state) (pg_up{job="postgres"})`:                    "by(state): pg_up has no label state (a scrape)",
		`pg_up{job="postgres"} and on(state) pg_up{job="postgres"}`: "on(state): pg_up has no label state (a scrape)",
	} {
		problems, err := unknownMetrics(inv, expr)
		require.NoError(t, err)
		assert.Contains(t, problems, want, expr)
	}
	problems, err := unknownMetrics(inv, `max(pg_up{job="postgres"}) by (job) == 0`)
	require.NoError(t, err)
	assert.Empty(t, problems)
	_, err = unknownMetrics(inv, `pg_up{`)
	assert.Error(t, err, "a rule that does not parse")
}

// selectedMetrics are the metric names an expression selects.
func selectedMetrics(t *testing.T, expr string) []string {
	t.Helper()
	parsed, err := promql.ParseExpr(expr)
	require.NoError(t, err)
	var names []string
	parser.Inspect(parsed, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

// TestRulesSeeOnlyTheirRelease: with a name prefix, no selector matches the
// objects of a release without one in the same namespace, and each matches
// its own.
func TestRulesSeeOnlyTheirRelease(t *testing.T) {
	others := map[string][]string{
		"deployment":            {"backend", "worker", "frontend", "postgres", "redis"},
		"job":                   {"postgres", "redis", "postgres-metrics"},
		"job_name":              {"postgres-backup-29400000", "migrate-1a2b3c4d5e"},
		"cronjob":               {"postgres-backup"},
		"persistentvolumeclaim": {"postgres-pvc", "redis-pvc", "app-storage", "postgres-backup", "postgres-1"},
		"pod":                   {"backend-7d9f8c6b5-x2x4z", "worker-7d9f8c6b5-x2x4z", "redis-6c8f9d7b4-abcde", "postgres-1"},
	}
	var rules []map[string]any
	for _, name := range []string{"prod-prefix", "prod-cloudnativepg-prefix"} {
		_, r := ruleFile(t, render(t, named(t, name)), t.TempDir())
		require.NotEmpty(t, r)
		rules = append(rules, r...)
	}
	for _, r := range rules {
		parsed, err := promql.ParseExpr(r["expr"].(string))
		require.NoError(t, err)
		parser.Inspect(parsed, func(node parser.Node, _ []parser.Node) error {
			vs, ok := node.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			named := false
			for _, m := range vs.LabelMatchers {
				if m.Name == "namespace" {
					assert.Equal(t, namespace, m.Value, "%s: %s", r["alert"], vs)
				}
				samples, isName := others[m.Name]
				if !isName {
					continue
				}
				named = true
				matchesOwn := false
				for _, s := range samples {
					assert.False(t, m.Matches(s), "%s: %s matches %q of another release", r["alert"], vs, s)
					matchesOwn = matchesOwn || m.Matches("team-a-"+s)
				}
				assert.True(t, matchesOwn, "%s: %s matches none of its own release's objects", r["alert"], vs)
			}
			assert.True(t, named || hasLabel(vs, "namespace"), "%s: %s selects by neither name nor namespace", r["alert"], vs)
			return nil
		})
	}
}

func hasLabel(vs *parser.VectorSelector, name string) bool {
	for _, m := range vs.LabelMatchers {
		if m.Name == name {
			return true
		}
	}
	return false
}
