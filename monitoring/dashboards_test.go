package monitoring

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/monitoring/dashboards"
)

// dashboardDir is where the chart keeps its dashboards.
const dashboardDir = "../charts/rhesis/dashboards"

// TestDashboardsAreGenerated: the chart's dashboards are exactly what the
// package dashboards builds, and each reads back into Grafana's types.
func TestDashboardsAreGenerated(t *testing.T) {
	all, err := dashboards.All()
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join(dashboardDir, "*.json"))
	require.NoError(t, err)
	require.Len(t, files, len(all), "the chart's dashboards: run `cd monitoring && go run ./cmd/dashboards`")
	plugins.RegisterDefaultPlugins()
	for name, want := range all {
		have, err := os.ReadFile(filepath.Join(dashboardDir, name))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(have), "%s: run `cd monitoring && go run ./cmd/dashboards`", name)
		var d dashboard.Dashboard
		require.NoError(t, json.Unmarshal(have, &d), name)
		assert.NotEmpty(t, d.Panels, name)
	}
}

// dashboardQueries are the PromQL queries of the chart's dashboards, by file
// and panel title.
func dashboardQueries(t *testing.T) map[string]map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dashboardDir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	out := map[string]map[string][]string{}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		var d struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		require.NoError(t, json.Unmarshal(raw, &d))
		panels := map[string][]string{}
		for _, p := range d.Panels {
			require.NotEmpty(t, p.Targets, "%s: %s has no query", file, p.Title)
			for _, q := range p.Targets {
				panels[p.Title] = append(panels[p.Title], q.Expr)
			}
		}
		out[filepath.Base(file)] = panels
	}
	return out
}
