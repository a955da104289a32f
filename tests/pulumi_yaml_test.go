package tests

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/rhesis-ai/rhesis-deploy/config"
)

var update = flag.Bool("update", false, "rewrite the generated files: Pulumi.yaml's config block and docs/configuration.md")

// project is the part of Pulumi.yaml this project owns.
type project struct {
	Name        string                        `yaml:"name"`
	Description string                        `yaml:"description"`
	Runtime     string                        `yaml:"runtime"`
	Config      map[string]config.Declaration `yaml:"config"`
}

const projectDescription = "The Rhesis stack (PostgreSQL with pgvector, Redis, backend, worker, frontend) on Kubernetes."

// TestPulumiYAMLDeclaresEveryKey: Pulumi.yaml is generated from the chart's
// schema and the Pulumi-only table (config.Declarations), so `pulumi config`
// knows every key. Regenerate with `go test ./tests -run TestPulumiYAML -update`.
func TestPulumiYAMLDeclaresEveryKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(repoRoot(t), "Pulumi.yaml")
	want := project{Name: "rhesis", Description: projectDescription, Runtime: "go", Config: config.Declarations(chartSchema(t))}
	if *update {
		var out bytes.Buffer
		out.WriteString("# Generated from charts/rhesis/values.schema.json and config.PulumiOnly by\n# `go test ./tests -run TestPulumiYAML -update`; edit those instead.\n")
		enc := yaml.NewEncoder(&out)
		enc.SetIndent(2)
		require.NoError(t, enc.Encode(want))
		require.NoError(t, os.WriteFile(path, out.Bytes(), 0o644))
	}
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var got project
	require.NoError(t, yaml.Unmarshal(raw, &got))
	assert.Equal(t, want.Name, got.Name)
	assert.Equal(t, want.Runtime, got.Runtime)
	require.Equal(t, len(want.Config), len(got.Config), "Pulumi.yaml declares a different number of keys; run with -update")
	for name, decl := range want.Config {
		g, ok := got.Config[name]
		if assert.True(t, ok, "Pulumi.yaml does not declare %s", name) {
			assert.Equal(t, decl.Type, g.Type, name)
			assert.Equal(t, decl.Description, g.Description, name)
			assert.EqualValues(t, normalize(decl.Default), normalize(g.Default), name)
		}
	}

	// The Pulumi CLI's own loader accepts the file (schema, types of defaults).
	proj, err := workspace.LoadProject(path)
	require.NoError(t, err)
	assert.Equal(t, "rhesis", proj.Name.String())
	assert.Len(t, proj.Config, len(want.Config))
}

// normalize makes YAML-decoded and Go-declared defaults comparable.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			return "{}"
		}
	case nil:
		return "<nil>"
	}
	return v
}
