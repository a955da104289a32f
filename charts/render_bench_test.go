package charts

import (
	"os"
	"testing"

	"sigs.k8s.io/yaml"
)

// BenchmarkRender times one render of the chart with the local values, the
// render every test and every run of the program repeats:
// go test ./charts -run '^$' -bench Render.
func BenchmarkRender(b *testing.B) {
	c, err := Load("rhesis")
	if err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile("rhesis/values-local.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(raw, &values); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := RenderChart(c, values, RenderOptions{Namespace: "rhesis", SkipSchemaValidation: true}); err != nil {
			b.Fatal(err)
		}
	}
}
