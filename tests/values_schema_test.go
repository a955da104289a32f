package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// TestValuesSchemaIsTheGoType: values.schema.json (what plain helm users are
// checked against) and charts.Values (what the program hands the chart)
// describe the same tree: every key of one is a key of the other, with the
// same JSON type.
func TestValuesSchemaIsTheGoType(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(chartDir(t), "values.schema.json"))
	require.NoError(t, err)
	var schema map[string]any
	require.NoError(t, json.Unmarshal(raw, &schema))
	fromSchema := map[string]string{}
	schemaPaths(schema, schema, "", fromSchema)
	fromType := map[string]string{}
	typePaths(reflect.TypeOf(charts.Values{}), "", fromType)
	assert.Equal(t, sortedKeysOf(fromSchema), sortedKeysOf(fromType), "keys of values.schema.json vs charts.Values")
	for path, kind := range fromType {
		if s, ok := fromSchema[path]; ok {
			assert.Contains(t, strings.Split(s, ","), kind, "%s: schema type %s, Go type %s", path, s, kind)
		}
	}
}

// TestValuesSchemaCheckFindsAMissingKey: the comparison above sees a key the
// Go type lacks.
func TestValuesSchemaCheckFindsAMissingKey(t *testing.T) {
	schema := map[string]any{"type": "object", "properties": map[string]any{
		"global": map[string]any{"type": "object", "properties": map[string]any{"newKey": map[string]any{"type": "string"}}},
	}}
	fromSchema := map[string]string{}
	schemaPaths(schema, schema, "", fromSchema)
	fromType := map[string]string{}
	typePaths(reflect.TypeOf(charts.Values{}), "", fromType)
	assert.Contains(t, fromSchema, "global.newKey")
	assert.NotContains(t, fromType, "global.newKey")
}

// kubeDef starts the $defs copied from Kubernetes' OpenAPI (hack/chart-schema):
// the comparison stops at them, as it stops at Kubernetes' Go types.
const kubeDef = "#/$defs/io.k8s."

// schemaPaths records the JSON type of every property below node, resolving
// $refs and allOf; list items are one level ("[]").
func schemaPaths(root, node map[string]any, path string, out map[string]string) {
	if ref, ok := node["$ref"].(string); ok {
		if strings.HasPrefix(ref, kubeDef) {
			out[path] = "object"
			return
		}
		def := root["$defs"].(map[string]any)[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		schemaPaths(root, def, path, out)
		return
	}
	if path != "" {
		out[path] = schemaType(node)
	}
	all, _ := node["allOf"].([]any)
	for _, sub := range all {
		schemaPaths(root, sub.(map[string]any), path, out)
	}
	props, _ := node["properties"].(map[string]any)
	for k, v := range props {
		schemaPaths(root, v.(map[string]any), join(path, k), out)
	}
	if items, ok := node["items"].(map[string]any); ok {
		schemaPaths(root, items, path+"[]", out)
	}
}

func schemaType(node map[string]any) string {
	switch t := node["type"].(type) {
	case string:
		return t
	case []any:
		var s []string
		for _, e := range t {
			s = append(s, e.(string))
		}
		return strings.Join(s, ",")
	}
	if enum, ok := node["enum"].([]any); ok && len(enum) > 0 {
		if _, isString := enum[0].(string); isString {
			return "string"
		}
	}
	return "object"
}

// typePaths records the JSON type of every field below t, as encoding/json
// names them; embedded structs are flattened as encoding/json does.
func typePaths(t reflect.Type, path string, out map[string]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if strings.HasPrefix(t.PkgPath(), "k8s.io/") || t == reflect.TypeOf(charts.ParentRef{}) {
		return // Kubernetes' or the Gateway API's own type: its schema is theirs (kubeDef)
	}
	switch t.Kind() {
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Anonymous && name == "" {
				typePaths(f.Type, path, out)
				continue
			}
			if name == "" || name == "-" {
				continue
			}
			p := join(path, name)
			out[p] = jsonKind(f.Type)
			typePaths(f.Type, p, out)
		}
	case reflect.Slice:
		out[path+"[]"] = jsonKind(t.Elem())
		typePaths(t.Elem(), path+"[]", out)
	}
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Slice:
		return "array"
	}
	return "object"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
