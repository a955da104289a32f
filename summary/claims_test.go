package summary

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

func claim(name, class, size string, keep bool) charts.Object {
	meta := map[string]any{"name": name}
	if keep {
		meta["annotations"] = map[string]any{"helm.sh/resource-policy": "keep"}
	}
	return charts.Object{Object: map[string]any{"kind": "PersistentVolumeClaim", "metadata": meta,
		"spec": map[string]any{"storageClassName": class, "accessModes": []any{"ReadWriteOnce"},
			"resources": map[string]any{"requests": map[string]any{"storage": size}}}}}
}

// TestReleaseClaims: inside a Helm release, a dropped claim is deleted unless
// kept, and a claim whose immutable fields change must be replaced; growing
// a claim is an update.
func TestReleaseClaims(t *testing.T) {
	deployed := []charts.Object{
		claim("postgres-pvc", "standard", "100Gi", true),
		claim("redis-pvc", "standard", "10Gi", false),
		claim("postgres-backup", "standard", "100Gi", true),
		claim("app-storage", "standard", "50Gi", true),
	}
	next := []charts.Object{
		claim("postgres-pvc", "fast-ssd", "100Gi", true),
		claim("postgres-backup", "standard", "200Gi", true),
		claim("app-storage", "standard", "10Gi", true),
	}
	changes := ReleaseClaims("rhesis", deployed, next)
	got := map[string]Change{}
	for _, c := range changes {
		got[c.Name] = c
	}
	assert.Len(t, changes, 3)
	assert.Equal(t, "replace", got["postgres-pvc"].Op)
	assert.Equal(t, []string{"spec.storageClassName"}, got["postgres-pvc"].Replaces)
	assert.Equal(t, "delete", got["redis-pvc"].Op, "a claim the chart does not keep is deleted with the release's upgrade")
	assert.Equal(t, []string{"spec.resources.requests.storage (shrunk)"}, got["app-storage"].Replaces)
	assert.NotContains(t, got, "postgres-backup", "growing a claim is an update")
	for _, c := range changes {
		assert.True(t, c.DataBearing)
	}
	assert.ErrorContains(t, Gate(Summary{Changes: changes}, "prod", false), "replace postgres-pvc")

	// A kept claim the chart drops stays in the namespace with its data.
	assert.Empty(t, ReleaseClaims("rhesis", deployed[:1], nil))
}
