package testutil

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	apiextensions "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// CRDs check custom resources as the API server does when they are
// created: the version's OpenAPI schema, its CEL rules, and no field the
// schema does not know (which the server would drop).
type CRDs map[schema.GroupVersionKind]*crdVersion

type crdVersion struct {
	schema     validation.SchemaValidator
	structural *structuralschema.Structural
	rules      *cel.Validator
}

// LoadCRDs reads the CRDs in files (a folder: its *.yaml), every served
// version of each.
func LoadCRDs(paths ...string) (CRDs, error) {
	crds := CRDs{}
	for _, path := range paths {
		files := []string{path}
		if info, err := os.Stat(path); err != nil {
			return nil, err
		} else if info.IsDir() {
			if files, err = filepath.Glob(filepath.Join(path, "*.yaml")); err != nil {
				return nil, err
			}
		}
		for _, file := range files {
			if err := crds.load(file); err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
		}
	}
	return crds, nil
}

func (c CRDs) load(file string) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	docs := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	for {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(doc, &crd); err != nil {
			return err
		}
		if crd.Kind != "CustomResourceDefinition" {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			var internal apiextensions.JSONSchemaProps
			if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
				return err
			}
			validator, _, err := validation.NewSchemaValidator(&internal)
			if err != nil {
				return err
			}
			structural, err := structuralschema.NewStructural(&internal)
			if err != nil {
				return err
			}
			gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}
			c[gvk] = &crdVersion{schema: validator, structural: structural, rules: cel.NewValidator(structural, true, celconfig.PerCallLimit)}
		}
	}
}

// Validate checks obj against its CRD; known is false when none was loaded.
func (c CRDs) Validate(obj map[string]any) (known bool, problems []string) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return false, []string{err.Error()}
	}
	v, ok := c[gv.WithKind(kind)]
	if !ok {
		return false, nil
	}
	// As the server decodes a request: integers as int64; then its defaults.
	raw, err := json.Marshal(obj)
	if err != nil {
		return true, []string{err.Error()}
	}
	var copied map[string]any
	if err := utiljson.Unmarshal(raw, &copied); err != nil {
		return true, []string{err.Error()}
	}
	structuraldefaulting.Default(copied, v.structural)
	unknown := structuralpruning.PruneWithOptions(copied, v.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, path := range unknown {
		problems = append(problems, "unknown field "+path)
	}
	for _, e := range validation.ValidateCustomResource(nil, copied, v.schema) {
		problems = append(problems, e.Error())
	}
	errs, _ := v.rules.Validate(context.Background(), nil, v.structural, copied, nil, celconfig.RuntimeCELCostBudget)
	for _, e := range errs {
		problems = append(problems, e.Error())
	}
	return true, problems
}

// Kinds lists the kinds loaded, for messages.
func (c CRDs) Kinds() string {
	var kinds []string
	for gvk := range c {
		kinds = append(kinds, gvk.Kind+"."+gvk.Group+"/"+gvk.Version)
	}
	return strings.Join(kinds, ", ")
}
