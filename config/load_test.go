package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordingSource remembers which keys were asked for.
type recordingSource struct {
	MapSource
	asked map[string]bool
}

func (r *recordingSource) Get(key string) (string, bool) {
	r.asked[key] = true
	return r.MapSource.Get(key)
}

// TestEveryDeclaredKeyIsRead: a key declared in Pulumi.yaml that the program
// never reads would be a setting that silently does nothing.
func TestEveryDeclaredKeyIsRead(t *testing.T) {
	src := &recordingSource{asked: map[string]bool{}}
	_, err := Load(src, "local")
	require.NoError(t, err)
	for _, k := range Keys() {
		assert.True(t, src.asked[k.FullName()], "%s is declared but never read", k.FullName())
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
			assert.Equal(t, KindString, k.Kind, k.Name)
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
		"rhesis:backend.resources.requests.cpu":    "0.5",
		"rhesis:backend.resources.limits.cpu":      "1",
		"rhesis:backend.resources.requests.memory": "1e9",
		"rhesis:backend.resources.limits.memory":   "2G",
	}}, "local")
	require.NoError(t, err)
	assert.Equal(t, int64(500), s.Backend.Resources.Requests.CPU.MilliValue())
	assert.Equal(t, int64(1e9), s.Backend.Resources.Requests.Memory.Value())
}
