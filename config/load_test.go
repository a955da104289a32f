package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryDeclaredKeyIsRead: a key declared in Pulumi.yaml that the program
// never reads would be a setting that silently does nothing.
func TestEveryDeclaredKeyIsRead(t *testing.T) {
	b := newBinder(MapSource{})
	b.load("local")
	require.Empty(t, b.problems)
	for _, k := range Keys() {
		assert.True(t, b.asked[k.Name], "%s is declared but never read", k.FullName())
	}
}

// TestKeysAreUniqueAndDocumented checks the declarations Pulumi.yaml is made from.
func TestKeysAreUniqueAndDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Keys() {
		assert.False(t, seen[k.Name], "duplicate key %s", k.Name)
		seen[k.Name] = true
		assert.NotEmpty(t, k.Description, k.Name)
		if k.ByEnv != nil {
			assert.Equal(t, "", k.Default, "%s: a per-environment key must declare an empty default", k.Name)
		}
	}
}

// TestEnvironmentFromStackName: the stack name selects the environment unless
// rhesis:environment says otherwise.
func TestEnvironmentFromStackName(t *testing.T) {
	s, err := Load(MapSource{}, "local")
	require.NoError(t, err)
	assert.Equal(t, Local, s.Environment)

	s, err = Load(MapSource{Values: map[string]string{"rhesis:environment": "local"}}, "laptop")
	require.NoError(t, err)
	assert.Equal(t, Local, s.Environment)
	assert.Equal(t, "local", s.Environment.AppEnv())
	assert.Equal(t, "production", Prod.AppEnv())
}

// TestQuantitiesAreParsedByApimachinery: any spelling Kubernetes accepts is accepted.
func TestQuantitiesAreParsedByApimachinery(t *testing.T) {
	s, err := Load(MapSource{Values: map[string]string{
		"rhesis:backend": `{"resources": {"requests": {"cpu": "0.5", "memory": 1e9}, "limits": {"cpu": 1, "memory": "2G"}}}`,
	}}, "local")
	require.NoError(t, err)
	assert.Equal(t, int64(500), s.Backend.Resources.Requests.CPU.MilliValue())
	assert.Equal(t, int64(1e9), s.Backend.Resources.Requests.Memory.Value())
}

// TestStructuredKeys: a dotted key is read from its object, in the types
// `pulumi config set --path` writes (numbers and booleans) or as strings.
func TestStructuredKeys(t *testing.T) {
	s, err := Load(MapSource{Values: map[string]string{
		"rhesis:backend":  `{"replicas": 3, "enabled": true, "extraEnv": {"FEATURE_X": "on", "LIMIT": 5}}`,
		"rhesis:worker":   `{"replicas": "2", "concurrency": 4}`,
		"rhesis:frontend": `{}`,
		"rhesis:deploy":   `{"mode": "helm"}`,
	}}, "local")
	require.NoError(t, err)
	assert.Equal(t, 3, s.Backend.Replicas)
	assert.True(t, s.Backend.Enabled)
	assert.Equal(t, map[string]string{"FEATURE_X": "on", "LIMIT": "5"}, s.Backend.ExtraEnv)
	assert.Equal(t, 2, s.Worker.Replicas)
	assert.Equal(t, 4, s.Worker.Concurrency)
	assert.Equal(t, 1, s.Frontend.Replicas, "an empty object keeps the environment's defaults")
	assert.Equal(t, ModeHelm, s.DeployMode)
}

// TestUnknownKeysAreRefused: a typo anywhere under rhesis:, and the flat
// form of a structured key, are refused with the key to type instead.
func TestUnknownKeysAreRefused(t *testing.T) {
	cases := []struct {
		name, key, value, problemKey, reason string
	}{
		{"typo of an object", "rhesis:bakend", `{"replicas": 3}`, "rhesis:bakend", "did you mean rhesis:backend?"},
		{"typo inside an object", "rhesis:backend", `{"replica": 3}`, "rhesis:backend.replica", "did you mean rhesis:backend.replicas?"},
		{"typo deep inside", "rhesis:backend", `{"resources": {"limits": {"cpus": "1"}}}`, "rhesis:backend.resources.limits.cpus",
			"did you mean rhesis:backend.resources.limits.cpu?"},
		{"typo of a value", "rhesis:namspace", "x", "rhesis:namspace", "did you mean rhesis:namespace?"},
		{"nothing near", "rhesis:completelyUnrelatedSetting", "x", "rhesis:completelyUnrelatedSetting", "configuration reference"},
		{"flat form", "rhesis:backend.replicas", "3", "rhesis:backend.replicas",
			"`pulumi config rm backend.replicas` then `pulumi config set --path backend.replicas <value>`"},
		{"object that is not one", "rhesis:backend", `3`, "rhesis:backend", "must be an object of settings"},
		{"object inside that is not one", "rhesis:backend", `{"resources": "big"}`, "rhesis:backend.resources", "must be an object with the keys limits, requests"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(MapSource{Values: map[string]string{c.key: c.value, "kubernetes:context": "other"}}, "local")
			var ps Problems
			require.ErrorAs(t, err, &ps)
			require.Len(t, ps, 1, err.Error())
			assert.Equal(t, c.problemKey, ps[0].Key)
			assert.Contains(t, ps[0].Reason, c.reason)
		})
	}
}
