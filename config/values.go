package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/chartutil"
	"sigs.k8s.io/yaml"
)

// EnvValuesFile is the chart's file of an environment's defaults.
func EnvValuesFile(e Environment) string { return "values-" + string(e) + ".yaml" }

// Values are the values the stack hands the chart in dir, lowest first:
// the chart's values-<env>.yaml, what image builds imply, then the stack's
// overlay (values.yaml, under them all, is applied by Helm). A null in a
// higher layer removes the value beneath, as with helm -f.
func (s *Stack) Values(dir string) (map[string]any, error) {
	raw, err := os.ReadFile(filepath.Join(dir, EnvValuesFile(s.Environment)))
	if err != nil {
		return nil, fmt.Errorf("the chart %s has no defaults for the environment %s: %w", dir, s.Environment, err)
	}
	env := map[string]any{}
	if err := yaml.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("%s: %w", EnvValuesFile(s.Environment), err)
	}
	out := deepCopy(s.Overlay)
	out = chartutil.MergeTables(out, deepCopy(s.buildLayer()))
	return chartutil.MergeTables(out, env), nil
}

// deepCopy copies a tree of maps and lists through JSON, so that merging
// never writes into the stack's overlay.
func deepCopy(m map[string]any) map[string]any {
	out := map[string]any{}
	if m == nil {
		return out
	}
	b, err := json.Marshal(m)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	if err != nil {
		panic(fmt.Sprintf("config: copying values: %v", err))
	}
	return out
}

// Lookup is the value at a dotted path of merged values, or nil.
func Lookup(values map[string]any, path string) any { return lookupPath(values, path) }

// Bool is the boolean at a dotted path of merged values.
func Bool(values map[string]any, path string) bool { b, _ := lookupPath(values, path).(bool); return b }

// String is the text at a dotted path of merged values.
func String(values map[string]any, path string) string {
	s, _ := lookupPath(values, path).(string)
	return s
}

// SetPath sets a dotted path of nested maps, making the maps on the way.
func SetPath(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}
