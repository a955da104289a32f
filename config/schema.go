package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Schema is the chart's values.schema.json: the one statement of what each
// value may be. The program reads from it which top-level keys exist, which
// values are secret (writeOnly), and the nearest known name of a mistyped one.
type Schema struct {
	doc      map[string]any
	compiled *jsonschema.Schema
}

// SchemaFile is the schema's file name inside a chart.
const SchemaFile = "values.schema.json"

// LoadSchema reads and compiles the schema of the chart in dir.
func LoadSchema(dir string) (*Schema, error) {
	raw, err := os.ReadFile(filepath.Join(dir, SchemaFile))
	if err != nil {
		return nil, err
	}
	return ParseSchema(raw)
}

// ParseSchema compiles a values schema.
func ParseSchema(raw []byte) (*Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", SchemaFile, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("file:///"+SchemaFile, doc); err != nil {
		return nil, err
	}
	compiled, err := c.Compile("file:///" + SchemaFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", SchemaFile, err)
	}
	var plain map[string]any
	if err := json.Unmarshal(raw, &plain); err != nil {
		return nil, err
	}
	return &Schema{doc: plain, compiled: compiled}, nil
}

// Tops are the chart's top-level value keys, sorted.
func (s *Schema) Tops() []string { return s.Properties("") }

// HasTop tells whether top is a top-level value key of the chart.
func (s *Schema) HasTop(top string) bool { return slices.Contains(s.Tops(), top) }

// Node is a JSON schema object, map form.
type node = map[string]any

// resolve follows a local $ref (#/$defs/x).
func (s *Schema) resolve(n node) node {
	for n != nil {
		ref, ok := n["$ref"].(string)
		if !ok {
			return n
		}
		target := s.doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			target, _ = target[part].(map[string]any)
		}
		if len(n) == 1 {
			n = target
			continue
		}
		// A $ref beside other keywords: both apply.
		merged := maps.Clone(n)
		delete(merged, "$ref")
		merged["allOf"] = append(asList(merged["allOf"]), target)
		return merged
	}
	return nil
}

func asList(v any) []any { l, _ := v.([]any); return l }

// parts are n and every schema it combines with allOf, resolved.
func (s *Schema) parts(n node) []node {
	n = s.resolve(n)
	if n == nil {
		return nil
	}
	out := []node{n}
	for _, sub := range asList(n["allOf"]) {
		if m, ok := sub.(map[string]any); ok {
			out = append(out, s.parts(m)...)
		}
	}
	return out
}

// at returns the schemas that apply to the value at a dotted path.
func (s *Schema) at(path string) []node {
	nodes := s.parts(s.doc)
	if path == "" {
		return nodes
	}
	for _, seg := range strings.Split(bracketIndex.ReplaceAllString(path, ".$1"), ".") {
		var next []node
		_, index := strconv.Atoi(seg)
		for _, n := range nodes {
			if items, ok := n["items"].(map[string]any); ok && index == nil {
				next = append(next, s.parts(items)...)
				continue
			}
			if props, ok := n["properties"].(map[string]any); ok {
				if p, ok := props[seg].(map[string]any); ok {
					next = append(next, s.parts(p)...)
					continue
				}
			}
			if ap, ok := n["additionalProperties"].(map[string]any); ok {
				next = append(next, s.parts(ap)...)
			}
		}
		if len(next) == 0 {
			return nil
		}
		nodes = next
	}
	return nodes
}

// bracketIndex is a list index as config paths write it (rules[0]).
var bracketIndex = regexp.MustCompile(`\[(\d+)\]`)

// Properties are the named keys of the object at path.
func (s *Schema) Properties(path string) []string {
	seen := map[string]bool{}
	for _, n := range s.at(path) {
		if props, ok := n["properties"].(map[string]any); ok {
			for k := range props {
				seen[k] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// Known tells whether path names a value the schema describes.
func (s *Schema) Known(path string) bool { return len(s.at(path)) > 0 }

// IsSecret tells whether the value at path is a secret: the schema marks
// it writeOnly (the chart reads it, nobody reads it back).
func (s *Schema) IsSecret(path string) bool {
	for _, n := range s.at(path) {
		if w, _ := n["writeOnly"].(bool); w {
			return true
		}
	}
	return false
}

// SecretPaths are the paths of the named values the schema marks writeOnly,
// under prefix, for the docs.
func (s *Schema) SecretPaths(prefix string) []string {
	var out []string
	for _, k := range s.Properties(prefix) {
		p := strings.TrimPrefix(prefix+"."+k, ".")
		if s.IsSecret(p) {
			out = append(out, p)
		}
	}
	return out
}

// Description is the schema's description of the value at path.
func (s *Schema) Description(path string) string {
	for _, n := range s.at(path) {
		if d, ok := n["description"].(string); ok {
			return d
		}
	}
	return ""
}

// Nearest is the name in known closest to name, when one is close enough
// to be the one meant.
func Nearest(name string, known []string) string {
	best, bestDist := "", len(name)/2+2
	for _, k := range known {
		d := levenshtein.Distance(strings.ToLower(name), strings.ToLower(k), nil)
		if d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// Validate checks merged values against the schema and returns each
// violation as the stack's key with the chart's own reason.
func (s *Schema) Validate(stack string, values map[string]any) Problems {
	// Through JSON: the validator wants JSON's types (json.Number).
	raw, err := json.Marshal(values)
	if err != nil {
		return Problems{{Key: Namespace, Reason: err.Error()}}
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return Problems{{Key: Namespace, Reason: err.Error()}}
	}
	err = s.compiled.Validate(inst)
	if err == nil {
		return nil
	}
	verr, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return Problems{{Key: Namespace, Reason: err.Error()}}
	}
	p := message.NewPrinter(language.English)
	var ps Problems
	seen := map[string]bool{}
	names := map[*jsonschema.ValidationError]bool{}
	for _, leaf := range leaves(verr, nil, names) {
		if s.evaluatedElsewhere(leaf) {
			continue
		}
		leaf.InstanceLocation = locate(values, leaf.InstanceLocation)
		prob := s.problemOf(stack, leaf, values, p, names[leaf])
		if !seen[prob.String()] {
			seen[prob.String()] = true
			ps = append(ps, prob)
		}
	}
	return ps
}

// leaves are the innermost errors: each says what is wrong with one value.
// A property name is validated as an instance of its own, located at the
// name alone: it is given the location of its object and the name (prefix).
// names collects the errors about a key's name rather than its value.
func leaves(e *jsonschema.ValidationError, prefix []string, names map[*jsonschema.ValidationError]bool) []*jsonschema.ValidationError {
	if prefix != nil {
		e.InstanceLocation = prefix
		names[e] = true
	}
	if pn, ok := e.ErrorKind.(*kind.PropertyNames); ok {
		prefix = append(slices.Clone(e.InstanceLocation), pn.Property)
	}
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		if _, ok := c.ErrorKind.(*kind.PropertyNames); ok && len(c.InstanceLocation) == 0 {
			c.InstanceLocation = e.InstanceLocation // reported at no location
		}
		out = append(out, leaves(c, prefix, names)...)
	}
	return out
}

// locate completes a location that stops short of the object holding its
// last segment (a property name is reported where the schema that checks
// it applies, maybe an ancestor): it finds the map below that holds the key.
func locate(values map[string]any, loc []string) []string {
	n := len(loc)
	if n == 0 {
		return loc
	}
	parent, key := loc[:n-1], loc[n-1]
	if m, ok := lookupPath(values, strings.Join(parent, ".")).(map[string]any); ok || n == 1 {
		if n == 1 {
			m = values
		}
		if _, has := m[key]; has {
			return loc
		}
		if found := findKey(m, key); found != nil {
			return append(append(slices.Clone(parent), found...), key)
		}
	}
	return loc
}

// findKey is the path below m of the first map holding key, or nil.
func findKey(m map[string]any, key string) []string {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		sub, ok := m[k].(map[string]any)
		if !ok {
			continue
		}
		if _, has := sub[key]; has {
			return []string{k}
		}
		if found := findKey(sub, key); found != nil {
			return append([]string{k}, found...)
		}
	}
	return nil
}

// evaluatedElsewhere tells an unevaluatedProperties refusal of a key the
// schema does have: it follows from another error in a combined schema
// (a pod setting that failed its own check), not from a mistyped key.
func (s *Schema) evaluatedElsewhere(e *jsonschema.ValidationError) bool {
	_, ok := e.ErrorKind.(*kind.FalseSchema)
	n := len(e.InstanceLocation)
	return ok && n > 0 && slices.Contains(s.Properties(joinPath(e.InstanceLocation[:n-1])), e.InstanceLocation[n-1])
}

func (s *Schema) problemOf(stack string, e *jsonschema.ValidationError, values map[string]any, p *message.Printer, badName bool) Problem {
	path := joinPath(e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		return s.unknownKey(stack, path, k.Properties[0])
	case *kind.FalseSchema:
		// unevaluatedProperties: false reports the key itself.
		if n := len(e.InstanceLocation); n > 0 {
			return s.unknownKey(stack, strings.Join(e.InstanceLocation[:n-1], "."), e.InstanceLocation[n-1])
		}
	}
	prob := Problem{Key: Namespace + ":" + path, Reason: e.ErrorKind.LocalizedString(p)}
	switch e.ErrorKind.(type) {
	case *kind.Pattern:
		// The regular expression says less than the schema's description.
		prob.Reason = "does not have the expected form"
	case *kind.Not:
		prob.Reason = "is refused here"
	}
	if v := lookupPath(values, strings.Join(e.InstanceLocation, ".")); v != nil {
		if _, isObj := v.(map[string]any); !isObj {
			if s.IsSecret(path) || s.IsSecret(path+".x") {
				// The validator quotes the value: a secret's stays out.
				prob.Reason = strings.ReplaceAll(prob.Reason, fmt.Sprint(v), "<secret>")
			} else {
				prob.Value = fmt.Sprint(v)
			}
		}
	}
	d := s.Description(strings.Join(e.InstanceLocation, "."))
	if d == "" && len(e.InstanceLocation) > 1 {
		// A map's entry: what the map is for.
		d = s.Description(strings.Join(e.InstanceLocation[:len(e.InstanceLocation)-1], "."))
	}
	if d != "" {
		prob.Reason += " (" + strings.TrimSuffix(d, ".") + ")"
	}
	if badName {
		prob.Reason += "; remove it with `pulumi config rm -s " + stack + " --path " + path + "`"
	} else {
		prob.Reason += "; set it with `" + SetCommand(stack, path, "<value>", s.IsSecret(path)) + "`"
	}
	return prob
}

// joinPath writes an instance location as a config path: list indexes in
// brackets, as `pulumi config set --path` takes them (rules[0].verbs).
func joinPath(location []string) string {
	var b strings.Builder
	for _, seg := range location {
		if _, err := strconv.Atoi(seg); err == nil && b.Len() > 0 {
			b.WriteString("[" + seg + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteString(".")
		}
		b.WriteString(seg)
	}
	return b.String()
}

// unknownKey refuses a key the schema does not have under parent.
func (s *Schema) unknownKey(stack, parent, name string) Problem {
	full := strings.TrimPrefix(parent+"."+name, ".")
	reason := "is not a setting of the chart"
	if known := s.Properties(parent); len(known) > 0 {
		if near := Nearest(name, known); near != "" {
			reason += fmt.Sprintf("; did you mean %s:%s? (`pulumi config rm -s %s --path %s`)", Namespace,
				strings.TrimPrefix(parent+"."+near, "."), stack, full)
		} else {
			reason += "; the keys here are " + strings.Join(known, ", ")
		}
	}
	return Problem{Key: Namespace + ":" + full, Reason: reason}
}

// lookupPath is the value at a dotted path of nested maps, or nil.
func lookupPath(m map[string]any, path string) any {
	var v any = m
	for _, seg := range strings.Split(path, ".") {
		switch t := v.(type) {
		case map[string]any:
			v = t[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(t) {
				return nil
			}
			v = t[i]
		default:
			return nil
		}
	}
	return v
}

// decodeJSON turns text written as JSON where the schema wants an object or
// a list into one: `pulumi config set --path global.nodeSelector
// '{"pool":"rhesis"}'` stores text.
func (s *Schema) decodeJSON(path string, v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = s.decodeJSON(path+"."+k, e)
		}
	case string:
		trimmed := strings.TrimSpace(t)
		if !strings.HasPrefix(trimmed, "{") && !strings.HasPrefix(trimmed, "[") || !s.wantsStructure(path) {
			return v
		}
		var out any
		if json.Unmarshal([]byte(trimmed), &out) == nil {
			return out
		}
	}
	return v
}

// wantsStructure tells whether the value at path is an object or a list.
func (s *Schema) wantsStructure(path string) bool {
	for _, n := range s.at(path) {
		switch t := n["type"].(type) {
		case string:
			if t == "object" || t == "array" {
				return true
			}
		case []any:
			if slices.Contains(t, any("object")) || slices.Contains(t, any("array")) {
				return true
			}
		}
		if _, ok := n["properties"]; ok {
			return true
		}
	}
	return false
}
