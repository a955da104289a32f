// Command chart-schema writes the Kubernetes types the chart's values use
// (tolerations, affinity, volumes, containers, ...) into the $defs of
// charts/rhesis/values.schema.json, taken from the OpenAPI v3 document of the
// Kubernetes release the sandbox runs, and the Gateway API's ParentReference
// from its HTTPRoute CRD, and writes the file in one canonical form (sorted
// keys, two-space indent). Run it through hack/chart-schema.sh.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// roots are the core/v1 types values refer to; their closure is copied.
var roots = []string{
	"Affinity", "Container", "EnvFromSource", "Toleration", "TopologySpreadConstraint", "Volume", "VolumeMount",
}

const (
	openapiPrefix = "#/components/schemas/"
	defsPrefix    = "#/$defs/"
	// kubePrefix starts every Kubernetes definition name, and no other.
	kubePrefix = "io.k8s."
	// parentRefDef is the Gateway API's name of a route's parent reference.
	parentRefDef = "io.k8s.sigs.gateway-api.apis.v1.ParentReference"
)

func main() {
	openapi := flag.String("openapi", "", "folder of Kubernetes' api/openapi-spec/v3")
	gatewayAPI := flag.String("gateway-api", "", "folder of the Gateway API's standard CRDs (config/crd/standard)")
	schemaPath := flag.String("schema", "charts/rhesis/values.schema.json", "the chart's values schema")
	check := flag.Bool("check", false, "fail when the schema differs from what would be written")
	flag.Parse()
	if *openapi == "" || *gatewayAPI == "" {
		fmt.Fprintln(os.Stderr, "chart-schema: -openapi and -gateway-api are required (hack/chart-schema.sh finds them)")
		os.Exit(2)
	}
	httpRoutes := filepath.Join(*gatewayAPI, "gateway.networking.k8s.io_httproutes.yaml")
	if err := run(filepath.Join(*openapi, "api__v1_openapi.json"), httpRoutes, *schemaPath, *check); err != nil {
		fmt.Fprintln(os.Stderr, "chart-schema:", err)
		os.Exit(1)
	}
}

func run(openapiFile, httpRouteCRD, schemaPath string, check bool) error {
	var doc struct {
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := readJSON(openapiFile, &doc); err != nil {
		return err
	}
	var schema map[string]any
	if err := readJSON(schemaPath, &schema); err != nil {
		return err
	}
	defs, _ := schema["$defs"].(map[string]any)
	if defs == nil {
		return fmt.Errorf("%s has no $defs", schemaPath)
	}
	for name := range defs {
		if strings.HasPrefix(name, kubePrefix) {
			delete(defs, name)
		}
	}
	kube, err := closure(doc.Components.Schemas)
	if err != nil {
		return err
	}
	for name, def := range kube {
		defs[name] = def
	}
	parentRef, err := routeParentRef(httpRouteCRD)
	if err != nil {
		return err
	}
	defs[parentRefDef] = parentRef
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(schema); err != nil {
		return err
	}
	current, err := os.ReadFile(schemaPath)
	if err != nil {
		return err
	}
	if check {
		if !bytes.Equal(current, buf.Bytes()) {
			return fmt.Errorf("%s is not what hack/chart-schema.sh writes (Kubernetes types, or the canonical form): run hack/chart-schema.sh", schemaPath)
		}
		fmt.Printf("%s holds the Kubernetes types of the pinned release (%d definitions)\n", schemaPath, len(kube))
		return nil
	}
	return os.WriteFile(schemaPath, buf.Bytes(), 0o644)
}

// closure is every definition the roots reach, in JSON Schema form.
func closure(all map[string]any) (map[string]any, error) {
	out := map[string]any{}
	var visit func(name string) error
	visit = func(name string) error {
		if _, done := out[name]; done {
			return nil
		}
		def, ok := all[name]
		if !ok {
			return fmt.Errorf("the OpenAPI document has no %s", name)
		}
		out[name] = nil // mark before descending: definitions refer to each other
		converted, refs := convert(def)
		out[name] = converted
		sort.Strings(refs)
		for _, r := range refs {
			if err := visit(r); err != nil {
				return err
			}
		}
		return nil
	}
	for _, r := range roots {
		if err := visit("io.k8s.api.core.v1." + r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// convert turns an OpenAPI schema into a JSON Schema one: references point
// into $defs, a lone allOf around a reference becomes the reference, the
// prose and Kubernetes' own extensions go, and an object with properties
// refuses unknown ones (a misspelt field is an error, not ignored).
func convert(v any) (any, []string) {
	var refs []string
	var walk func(v any) any
	walk = func(v any) any {
		switch t := v.(type) {
		case map[string]any:
			if all, ok := t["allOf"].([]any); ok && len(all) == 1 {
				if inner, ok := all[0].(map[string]any); ok && len(inner) == 1 && inner["$ref"] != nil {
					t = mergeRef(t, inner)
				}
			}
			m := map[string]any{}
			for k, e := range t {
				switch {
				case k == "description", k == "default", k == "format", strings.HasPrefix(k, "x-kubernetes-"):
				case k == "$ref":
					name := strings.TrimPrefix(e.(string), openapiPrefix)
					refs = append(refs, name)
					m[k] = defsPrefix + name
				case k == "properties":
					props := map[string]any{}
					for p, s := range e.(map[string]any) {
						props[p] = walk(s)
					}
					m[k] = props
				default:
					m[k] = walk(e)
				}
			}
			if _, ok := m["properties"]; ok && m["additionalProperties"] == nil {
				m["additionalProperties"] = false
			}
			return m
		case []any:
			out := make([]any, len(t))
			for i, e := range t {
				out[i] = walk(e)
			}
			return out
		}
		return v
	}
	return walk(v), refs
}

// mergeRef replaces allOf: [{$ref}] in s by the $ref itself.
func mergeRef(s, inner map[string]any) map[string]any {
	out := map[string]any{"$ref": inner["$ref"]}
	for k, v := range s {
		if k != "allOf" {
			out[k] = v
		}
	}
	return out
}

// routeParentRef is an HTTPRoute's parentRefs item, from the CRD's served
// storage version.
func routeParentRef(crdFile string) (any, error) {
	raw, err := os.ReadFile(crdFile)
	if err != nil {
		return nil, err
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(raw, &crd); err != nil {
		return nil, fmt.Errorf("%s: %w", crdFile, err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name != "v1" || !v.Served || v.Schema == nil {
			continue
		}
		items := v.Schema.OpenAPIV3Schema.Properties["spec"].Properties["parentRefs"].Items
		if items == nil || items.Schema == nil {
			break
		}
		b, err := json.Marshal(items.Schema)
		if err != nil {
			return nil, err
		}
		var generic any
		if err := json.Unmarshal(b, &generic); err != nil {
			return nil, err
		}
		converted, _ := convert(generic)
		return converted, nil
	}
	return nil, fmt.Errorf("%s serves no v1 with spec.parentRefs", crdFile)
}

func readJSON(path string, v any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
