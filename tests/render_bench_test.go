package tests

import (
	"path/filepath"
	"testing"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// BenchmarkRender times one render of the chart with the local values, the
// render every test and every run of the program repeats (schema checked
// apart, as the program does): go test ./tests -run '^$' -bench Render.
func BenchmarkRender(b *testing.B) {
	c, err := charts.Load(filepath.Join(repoRoot(b), "charts", "rhesis"))
	if err != nil {
		b.Fatal(err)
	}
	values := layer(valuesFileAt(b, "values.yaml"), valuesFileAt(b, "values-local.yaml"))
	for b.Loop() {
		if _, err := charts.RenderChart(c, values, charts.RenderOptions{Namespace: "rhesis", SkipSchemaValidation: true}); err != nil {
			b.Fatal(err)
		}
	}
}
