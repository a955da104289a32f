package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// podTemplates renders the chart (at the given chart version, installed by
// the given service) and maps each Deployment to its pod template.
func podTemplates(t *testing.T, version, service string, values map[string]any) map[string]any {
	t.Helper()
	c, err := charts.Load(chartDir(t))
	require.NoError(t, err)
	c.Metadata.Version = version
	r, err := charts.RenderChart(c, values, charts.RenderOptions{Namespace: "rhesis", Service: service})
	require.NoError(t, err)
	out := map[string]any{}
	for _, m := range r.Objects {
		if m.Kind() == "Deployment" {
			out[dig(m.Object, "metadata", "name").(string)] = dig(m.Object, "spec", "template")
		}
	}
	return out
}

// TestUpgradeRollsOnlyWhatChanged: an upgrade to a new chart version and
// Rhesis release, with settings and secrets only the apps read, leaves the
// stores' pod templates as they were, so their single-replica Deployments
// (Recreate) keep their pods; the apps roll. A secret a store reads rolls
// that store and no other. In both modes: Helm's labels are where they differ.
func TestUpgradeRollsOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	for _, service := range []string{"Helm", ""} {
		for _, env := range []string{"local", "prod"} {
			before := envValues(t, env)
			before["global"].(map[string]any)["imageTag"] = "0.13.0"
			old := podTemplates(t, "0.14.0", service, before)
			require.Contains(t, old, "postgres")
			require.Contains(t, old, "redis")

			appsOnly := layer(before, map[string]any{
				"global":  map[string]any{"imageTag": "0.14.0"},
				"models":  map[string]any{"generation": "openai/gpt-4o"},
				"smtp":    map[string]any{"from": "Rhesis <rhesis@example.com>"},
				"secrets": map[string]any{"sessionSecretKey": "rotated-session", "jwtSecretKey": "rotated-jwt", "extra": map[string]any{"OPENAI_API_KEY": "sk-test"}},
			})
			upgraded := podTemplates(t, "0.15.0", service, appsOnly)
			for _, store := range []string{"postgres", "redis"} {
				assert.Equal(t, old[store], upgraded[store], "%s/%s: the upgrade changed %s's pod template, which restarts it", service, env, store)
			}
			for _, app := range []string{"backend", "worker", "frontend"} {
				assert.NotEqual(t, old[app], upgraded[app], "%s/%s: %s must roll onto the new release", service, env, app)
			}

			dbPassword := podTemplates(t, "0.14.0", service, layer(before, map[string]any{"secrets": map[string]any{"dbPassword": "rotated-db"}}))
			assert.NotEqual(t, old["postgres"], dbPassword["postgres"], "%s/%s: postgres reads ADMIN_DB_PASS", service, env)
			assert.Equal(t, old["redis"], dbPassword["redis"], "%s/%s: redis does not read ADMIN_DB_PASS", service, env)

			redisPassword := podTemplates(t, "0.14.0", service, layer(before, map[string]any{"secrets": map[string]any{"redisPassword": "rotated-redis"}}))
			assert.NotEqual(t, old["redis"], redisPassword["redis"], "%s/%s: redis reads REDIS_PASSWORD", service, env)
			assert.Equal(t, old["postgres"], redisPassword["postgres"], "%s/%s: postgres does not read REDIS_PASSWORD", service, env)
		}
	}
}

// TestEveryMountedClaimIsRendered: each claim a pod of the render mounts is
// in the render, with backups kept in the cluster, off-site, or both (a pod
// that mounts a missing claim stays Pending).
func TestEveryMountedClaimIsRendered(t *testing.T) {
	t.Parallel()
	for name, keep := range map[string]bool{"both": true, "off-site only": false} {
		values := layer(envValues(t, "prod"), offsiteValues(), map[string]any{"backup": map[string]any{"keepInCluster": keep}})
		objs := mustRender(t, values)
		claims := map[string]bool{}
		for _, o := range objs {
			if o.Kind() == "PersistentVolumeClaim" {
				claims[o.Name()] = true
			}
		}
		mounted := 0
		for _, o := range objs {
			spec := podSpec(o.Object)
			if spec == nil {
				continue
			}
			vols, _ := spec["volumes"].([]any)
			for _, v := range vols {
				if claim, ok := dig(v, "persistentVolumeClaim", "claimName").(string); ok {
					mounted++
					assert.True(t, claims[claim], "%s: %s %s mounts the claim %s, which the render does not have", name, o.Kind(), o.Name(), claim)
				}
			}
		}
		assert.Equal(t, keep, claims["postgres-backup"], "%s: the claim postgres-backup", name)
		assert.NotZero(t, mounted)
	}
}
