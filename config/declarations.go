package config

import (
	"fmt"
	"strings"
)

// Declaration is a key as Pulumi.yaml's `config:` block declares it.
type Declaration struct {
	Type        Kind   `yaml:"type"`
	Description string `yaml:"description"`
	Default     any    `yaml:"default"`
}

// Declarations are the `config:` block of Pulumi.yaml, made from the
// chart's schema (one key per top-level value) and the Pulumi-only table,
// so `pulumi config` knows every key and no default is written twice: an
// object's declared default is empty, the chart's values fill it.
func Declarations(schema *Schema) map[string]Declaration {
	out := map[string]Declaration{
		EnvironmentKey: {Type: KindString, Default: "", Description: "Deployment environment: local, staging or prod; " +
			"picks the chart's values-<env>.yaml as the base of every other key. Empty means the stack name, when it is one of those."},
	}
	var paths []string
	for _, s := range PulumiOnly {
		paths = append(paths, s.Path)
	}
	out[DeployKey] = Declaration{Type: KindObject, Default: map[string]any{}, Description: fmt.Sprintf(
		"What only Pulumi decides (the chart never sees it): %s. Set one with `%s`; docs/configuration.md gives each one's meaning and default.",
		strings.Join(paths, ", "), SetCommand("", DeployKey+".mode", "helm", false))}
	for _, top := range schema.Tops() {
		d := Declaration{Type: KindObject, Default: map[string]any{}}
		if !schema.isObject(top) {
			d = Declaration{Type: KindString, Default: ""}
		}
		desc := strings.TrimSuffix(schema.Description(top), ".")
		if desc == "" {
			desc = "The chart's " + top + " values"
		}
		example := top
		if d.Type == KindObject {
			if props := schema.Properties(top); len(props) > 0 {
				example = top + "." + props[0]
			}
		}
		d.Description = fmt.Sprintf("%s. The chart's values under %s, by the chart's own paths (`%s`); "+
			"the defaults are charts/rhesis/values.yaml and values-<env>.yaml.", desc, top, SetCommand("", example, "<value>", schema.IsSecret(example)))
		out[top] = d
	}
	return out
}

// isObject tells whether the value at path is an object.
func (s *Schema) isObject(path string) bool {
	for _, n := range s.at(path) {
		if t, _ := n["type"].(string); t == "object" {
			return true
		}
		if _, ok := n["properties"]; ok {
			return true
		}
	}
	return false
}
