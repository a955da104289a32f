package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Reference is docs/configuration.md's body: the Pulumi-only table, then
// every value of the chart with its default in each environment and what
// the schema says of it. defaults holds each environment's values.yaml
// merged with its values-<env>.yaml.
func Reference(schema *Schema, defaults map[Environment]map[string]any) string {
	var b strings.Builder
	b.WriteString("## Pulumi-only settings (`rhesis:deploy`)\n\n")
	b.WriteString("Set with `pulumi config set --path deploy.<key> <value>`; the chart never sees them.\n\n")
	b.WriteString("| key | type | default | meaning |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| `%s` | string | the stack name | %s |\n", EnvironmentKey, cell(Declarations(schema)[EnvironmentKey].Description))
	for _, s := range PulumiOnly {
		def := fmt.Sprint(s.Default)
		if def == "" {
			def = "–"
		} else {
			def = "`" + def + "`"
		}
		fmt.Fprintf(&b, "| `%s.%s` | %s | %s | %s |\n", DeployKey, s.Path, s.Kind, def, cell(s.Description))
	}
	b.WriteString("\n## The chart's values (`rhesis:<path>` = `--set <path>`)\n\n")
	b.WriteString("Defaults: `charts/rhesis/values.yaml` under `values-<env>.yaml`. **secret** values are set with " +
		"`pulumi config set --secret --path` (the schema marks them `writeOnly`).\n\n")
	b.WriteString("| path | local | staging | prod | meaning |\n|---|---|---|---|---|\n")
	for _, path := range valuePaths(defaults[Local], "") {
		cols := make([]string, len(Environments))
		for i, e := range Environments {
			cols[i] = shown(lookupPath(defaults[e], path))
			if schema.IsSecret(path) && cols[i] != "–" {
				cols[i] = "dev value"
			}
		}
		desc := schema.Description(path)
		if schema.IsSecret(path) {
			desc = "**secret**. " + desc
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", path, cols[0], cols[1], cols[2], cell(desc))
	}
	return b.String()
}

// valuePaths are the settings under m: each scalar, and each list or map
// that is set as a whole (empty in the defaults).
func valuePaths(m map[string]any, prefix string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p := strings.TrimPrefix(prefix+"."+k, ".")
		if sub, ok := m[k].(map[string]any); ok && len(sub) > 0 {
			out = append(out, valuePaths(sub, p)...)
			continue
		}
		out = append(out, p)
	}
	return out
}

// shown is a default as the table writes it.
func shown(v any) string {
	switch t := v.(type) {
	case nil:
		return "–"
	case string:
		if t == "" {
			return "–"
		}
		if len(t) > 40 {
			return "(set)"
		}
	}
	b, _ := json.Marshal(v)
	return "`" + strings.ReplaceAll(string(b), "|", "\\|") + "`"
}

func cell(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ") }
