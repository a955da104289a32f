// Package config reads a stack's configuration. The chart is the one place of
// every default and rule: rhesis:environment picks its values-<env>.yaml,
// every other key but rhesis:deploy is a values overlay with the chart's own
// paths (rhesis:backend is the chart's backend), and rhesis:deploy holds what
// only Pulumi decides (deploy.go). This package checks the Pulumi-only part,
// refuses keys the chart does not know, and turns the chart's own errors into
// `pulumi config set` commands (problems.go).
package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Namespace is the Pulumi config namespace of every key this program reads.
const Namespace = "rhesis"

// Environment is one of the deployment environments: local, staging, prod.
type Environment string

// The environments; the string is what `rhesis:environment` and the stack names use.
const (
	Local   Environment = "local"
	Staging Environment = "staging"
	Prod    Environment = "prod"
)

// Environments lists every environment, in the order the docs present them.
var Environments = []Environment{Local, Staging, Prod}

// EnvironmentKey picks the chart's values-<env>.yaml.
const EnvironmentKey = "environment"

// Source is where raw config comes from: the Pulumi context in a program, a
// map in tests. Keys are full top-level names ("rhesis:backend"); an object's
// value is its JSON.
type Source interface {
	Get(key string) (string, bool)
	IsSecret(key string) bool
	// Keys lists every key the stack sets, so that one the program does not
	// read is refused instead of ignored.
	Keys() []string
	// ProjectDir is the folder relative paths (deploy.images.context) start from.
	ProjectDir() string
}

// MapSource is a Source over plain maps, for tests and tools.
type MapSource struct {
	Values  map[string]string
	Secrets map[string]bool
	Dir     string
}

// ProjectDir implements Source.
func (m MapSource) ProjectDir() string { return m.Dir }

// Get implements Source.
func (m MapSource) Get(key string) (string, bool) { v, ok := m.Values[key]; return v, ok }

// IsSecret implements Source.
func (m MapSource) IsSecret(key string) bool { return m.Secrets[key] }

// Keys implements Source.
func (m MapSource) Keys() []string { return slices.Sorted(maps.Keys(m.Values)) }

// Stack is one stack's configuration: what only Pulumi decides, and the
// values overlay handed to the chart.
type Stack struct {
	StackName   string
	Environment Environment
	Deploy      Deploy
	// Overlay is the chart values the stack sets, by the chart's own paths.
	Overlay map[string]any
	// SecretTops are the top-level value keys (secrets, backend) that hold an
	// encrypted value.
	SecretTops map[string]bool
	// ChartDir is the chart deployed (the repository's, or the published
	// one pulled), Schema its values.schema.json.
	ChartDir string
	// ChartSignedBy names the key that signed the published chart, when
	// deploy.chartKeyring had it verified.
	ChartSignedBy string
	Schema        *Schema
}

// Chart is the chart a stack deploys: its folder, and who signed it when
// it was verified.
type Chart struct {
	Dir      string
	SignedBy string
}

// ChartResolver finds the chart a stack deploys.
type ChartResolver func(Deploy) (Chart, error)

// Load reads the configuration of stack stackName and finds its chart.
// Chart values are checked later, against the chart and merged with its
// defaults; here every Pulumi-only key and every unknown top-level key is
// reported at once.
func Load(src Source, stackName string, chart ChartResolver) (*Stack, error) {
	s := &Stack{StackName: stackName, Overlay: map[string]any{}, SecretTops: map[string]bool{}}
	var ps Problems
	s.Environment, ps = environment(src, stackName)
	deploy, dps := loadDeploy(src, stackName)
	s.Deploy = deploy
	ps = append(ps, dps...)
	if len(dps) > 0 {
		deploy = Deploy{} // the repository's chart, to check the rest against
	}
	found, err := chart(deploy)
	if err != nil {
		return nil, append(ps, Problem{Key: Namespace + ":" + DeployKey + ".chart", Value: deploy.Chart, Reason: err.Error()})
	}
	schema, err := LoadSchema(found.Dir)
	if err != nil {
		return nil, fmt.Errorf("reading the chart %s: %w", found.Dir, err)
	}
	s.ChartDir, s.ChartSignedBy, s.Schema = found.Dir, found.SignedBy, schema
	for _, full := range src.Keys() {
		top, ok := strings.CutPrefix(full, Namespace+":")
		if !ok || top == EnvironmentKey || top == DeployKey {
			continue
		}
		raw, _ := src.Get(full)
		if !schema.HasTop(top) {
			ps = append(ps, unknownTop(stackName, top, schema))
			continue
		}
		v, err := parseValue(raw)
		if err != nil {
			ps = append(ps, Problem{Key: full, Reason: "is not a value the CLI could have written: " + err.Error()})
			continue
		}
		if isEmptyDeclared(v) {
			continue // Pulumi.yaml's declared default: nothing set
		}
		s.Overlay[top] = schema.decodeJSON(top, v)
		if src.IsSecret(full) {
			s.SecretTops[top] = true
		}
	}
	ps = append(ps, s.plainSecrets(src, schema)...)
	ps = append(ps, s.restoreRequested()...)
	if len(ps) > 0 {
		return nil, ps
	}
	return s, nil
}

// environment is rhesis:environment, else the stack name when it is one.
func environment(src Source, stackName string) (Environment, Problems) {
	v, _ := src.Get(Namespace + ":" + EnvironmentKey)
	if v == "" {
		if slices.Contains(Environments, Environment(stackName)) {
			return Environment(stackName), nil
		}
		return Local, Problems{{Key: Namespace + ":" + EnvironmentKey, Reason: fmt.Sprintf(
			"is not set and the stack name %q is not an environment; set it with `%s`",
			stackName, SetCommand(stackName, EnvironmentKey, "<local|staging|prod>", false))}}
	}
	if !slices.Contains(Environments, Environment(v)) {
		return Local, Problems{{Key: Namespace + ":" + EnvironmentKey, Value: v, Reason: "must be local, staging or prod"}}
	}
	return Environment(v), nil
}

// parseValue is a config value as the engine hands it over: objects and
// lists as JSON, anything else as text.
func parseValue(raw string) (any, error) {
	trimmed := strings.TrimSpace(raw)
	if !strings.HasPrefix(trimmed, "{") && !strings.HasPrefix(trimmed, "[") {
		return raw, nil
	}
	var v any
	if err := json.Unmarshal([]byte(trimmed), &v); err != nil {
		return nil, err
	}
	return v, nil
}

// isEmptyDeclared is Pulumi.yaml's default of an object key ({}), which
// sets nothing.
func isEmptyDeclared(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) == 0
}

// unknownTop refuses a top-level key the chart does not have, naming the
// nearest one and, for a key of earlier versions, the command that moves it.
func unknownTop(stack, top string, schema *Schema) Problem {
	p := Problem{Key: Namespace + ":" + top}
	if base, _, flat := strings.Cut(top, "."); flat && (schema.HasTop(base) || MovedKeys[base] != "") {
		p.Reason = fmt.Sprintf("is a flat key of an earlier version; run `rhesis --stack %s migrate-config`, "+
			"which moves every such key into its object (`%s`), keeping its value and encryption", stack, SetCommand(stack, top, "<value>", false))
		return p
	}
	if to, ok := MovedKeys[top]; ok || isMovedPrefix(top) {
		if !ok {
			to = "its new path"
		}
		p.Reason = fmt.Sprintf("is a key of an earlier version (now %s); run `rhesis --stack %s migrate-config`, which moves every such key keeping its value and encryption", to, stack)
		return p
	}
	known := append(schema.Tops(), EnvironmentKey, DeployKey)
	p.Reason = "is not a setting: the keys are the chart's values (" + strings.Join(schema.Tops(), ", ") + "), " + EnvironmentKey + " and " + DeployKey
	if near := Nearest(top, known); near != "" {
		p.Reason = fmt.Sprintf("is not a setting; did you mean %s? %s", Namespace+":"+near, strings.TrimPrefix(p.Reason, "is not a setting: "))
	}
	return p
}

// PathSecrets is a Source that knows, value by value, which are stored
// encrypted (the engine tells only whether an object holds any).
type PathSecrets interface {
	// SecretPath tells whether the value at a dotted path is encrypted;
	// known is false when the source cannot tell.
	SecretPath(path string) (secret, known bool)
}

// plainSecrets refuses a value the chart keeps secret (the schema marks it
// writeOnly) stored in plain text.
func (s *Stack) plainSecrets(src Source, schema *Schema) Problems {
	encrypted := func(path string) bool {
		if ps, ok := src.(PathSecrets); ok {
			if secret, known := ps.SecretPath(path); known {
				return secret
			}
		}
		return s.SecretTops[strings.SplitN(path, ".", 2)[0]]
	}
	var ps Problems
	for _, path := range leafPaths(s.Overlay, "") {
		if schema.IsSecret(path) && !encrypted(path) {
			ps = append(ps, Problem{Key: Namespace + ":" + path, Reason: "is stored in plain text; set it again encrypted: `" +
				SetCommand(s.StackName, path, "<value>", true) + "`"})
		}
	}
	return ps
}

// leafPaths are the dotted paths of every non-object value under m.
func leafPaths(m map[string]any, prefix string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		if sub, ok := m[k].(map[string]any); ok && len(sub) > 0 {
			out = append(out, leafPaths(sub, p)...)
			continue
		}
		if s, ok := m[k].(string); ok && s == "" {
			continue
		}
		out = append(out, p)
	}
	return out
}

// restoreRequested refuses backup.restore.object in a stack: it renders the
// restore Job, which is run on its own (docs/backups.md), never kept in a
// stack where every up would replace the database again.
func (s *Stack) restoreRequested() Problems {
	backup, _ := s.Overlay["backup"].(map[string]any)
	restore, _ := backup["restore"].(map[string]any)
	object, _ := restore["object"].(string)
	if object == "" {
		return nil
	}
	return Problems{{Key: Namespace + ":backup.restore.object", Value: object,
		Reason: "is only for a restore run on its own (docs/backups.md): kept in the stack, every up would restore the database again; remove it (pulumi config rm --path backup.restore.object)"}}
}
