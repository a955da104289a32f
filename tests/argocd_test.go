package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart/loader"
	"sigs.k8s.io/yaml"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// Argo CD's view of a rendered object, as its sync engine decides it
// (github.com/argoproj/gitops-engine at 5baed5604d2d; the library itself
// cannot be a dependency here: its sync packages import k8s.io/kubernetes).
//   - pkg/sync/hook/hook.go:26-61: an object is a hook when it has
//     argocd.argoproj.io/hook (unless only Skip), or helm.sh/hook other than
//     crd-install (hook/helm/hook.go:5-8); its phases are the Argo hook types,
//     else the Helm ones mapped: pre-install and pre-upgrade to PreSync,
//     post-install and post-upgrade to PostSync (hook/helm/type.go:10-36);
//     any other Helm hook (test) has no phase and is never applied by a sync.
//   - pkg/sync/syncwaves/waves.go:12-21: the wave is
//     argocd.argoproj.io/sync-wave, else helm.sh/hook-weight
//     (hook/helm/weight.go:10-19), else 0.
func argoPhases(m manifest) []string {
	a, _ := m.Metadata()["annotations"].(map[string]any)
	if v, ok := a["argocd.argoproj.io/hook"].(string); ok {
		return strings.Split(v, ",")
	}
	v, ok := a["helm.sh/hook"].(string)
	if !ok || v == "crd-install" {
		return []string{"Sync"}
	}
	var phases []string
	for _, h := range strings.Split(v, ",") {
		switch strings.TrimSpace(h) {
		case "pre-install", "pre-upgrade":
			phases = append(phases, "PreSync")
		case "post-install", "post-upgrade":
			phases = append(phases, "PostSync")
		}
	}
	return phases
}

func argoWave(m manifest) int {
	for _, key := range []string{"argocd.argoproj.io/sync-wave", "helm.sh/hook-weight"} {
		if w, err := strconv.Atoi(m.Annotation(key)); err == nil {
			return w
		}
	}
	return 0
}

// TestArgoCDSyncOrder: installed as an Argo CD Application (the chart with a
// values file, as Argo renders it), one sync brings the stack up in order.
// Nothing is a PreSync or PostSync hook (a pre-upgrade migration would run
// before the database exists on the first sync); the helm test pod is never
// applied. Waves: the database and cache before the migration Job, the Job
// before backend and worker (Argo starts a wave once the ones before are
// healthy, and a Job is healthy when complete); every claim in the wave of
// its first consumer (a WaitForFirstConsumer claim is never healthy without
// one); what a pod reads no later than the pod; the Ingress or the routes last.
func TestArgoCDSyncOrder(t *testing.T) {
	t.Parallel()
	renders := map[string]map[string]any{"prod with Gateway API routes": layer(envValues(t, "prod"), gatewayValues())}
	for _, env := range stacks {
		renders[env] = envValues(t, env)
	}
	for env, values := range renders {
		t.Run(env, func(t *testing.T) {
			objects := mustRender(t, values)
			wave := map[string]int{}
			var job string
			for _, m := range objects {
				key := m.Kind() + "/" + m.Name()
				phases := argoPhases(m)
				if m.Annotation("helm.sh/hook") == "test" {
					assert.Empty(t, phases, "%s: the helm test must not run in a sync", key)
					continue
				}
				assert.Equal(t, []string{"Sync"}, phases, "%s runs in an Argo CD hook phase", key)
				wave[key] = argoWave(m)
				if m.Kind() == "Job" {
					job = key
				}
			}
			require.NotEmpty(t, job, "no migration Job")
			for _, store := range []string{"Deployment/postgres", "Deployment/redis"} {
				assert.Less(t, wave[store], wave[job], "%s must be healthy before the migrations run", store)
			}
			for _, app := range []string{"Deployment/backend", "Deployment/worker", "Deployment/frontend"} {
				assert.Less(t, wave[job], wave[app], "%s starts once the migrations completed", app)
			}
			for _, edge := range []string{"Ingress/rhesis", "HTTPRoute/frontend", "HTTPRoute/backend"} {
				if w, ok := wave[edge]; ok {
					assert.Equal(t, slices.Max(mapValues(wave)), w, "%s is in the last wave", edge)
				}
			}

			// Per workload: its claims in its wave, what it reads no later.
			firstConsumer := map[string]int{}
			for _, m := range objects {
				pod := podSpec(m.Object)
				if pod == nil || m.Kind() == "Pod" { // the helm test pod is never synced
					continue
				}
				key := m.Kind() + "/" + m.Name()
				for _, ref := range podReferences(pod) {
					if strings.HasPrefix(ref, "PersistentVolumeClaim/") {
						if w, seen := firstConsumer[ref]; !seen || wave[key] < w {
							firstConsumer[ref] = wave[key]
						}
						continue
					}
					if w, rendered := wave[ref]; rendered {
						assert.LessOrEqual(t, w, wave[key], "%s reads %s, which a later wave creates", key, ref)
					}
				}
			}
			for key, w := range wave {
				if strings.HasPrefix(key, "PersistentVolumeClaim/") {
					consumer, used := firstConsumer[key]
					require.True(t, used, "%s has no consumer", key)
					assert.Equal(t, consumer, w, "%s must be in the wave of its first consumer", key)
				}
			}
			t.Logf("waves: %s", describeWaves(wave))
		})
	}
}

// podReferences are the Kind/name of what a pod spec reads: its account,
// ConfigMaps, Secrets and claims.
func podReferences(pod map[string]any) []string {
	var refs []string
	if sa, ok := pod["serviceAccountName"].(string); ok {
		refs = append(refs, "ServiceAccount/"+sa)
	}
	for _, v := range asList(pod["volumes"]) {
		if c, ok := dig(v, "persistentVolumeClaim", "claimName").(string); ok {
			refs = append(refs, "PersistentVolumeClaim/"+c)
		}
		if s, ok := dig(v, "secret", "secretName").(string); ok {
			refs = append(refs, "Secret/"+s)
		}
		if c, ok := dig(v, "configMap", "name").(string); ok {
			refs = append(refs, "ConfigMap/"+c)
		}
	}
	for _, c := range podContainers(pod) {
		for _, ef := range asList(dig(c, "envFrom")) {
			if n, ok := dig(ef, "configMapRef", "name").(string); ok {
				refs = append(refs, "ConfigMap/"+n)
			}
			if n, ok := dig(ef, "secretRef", "name").(string); ok {
				refs = append(refs, "Secret/"+n)
			}
		}
		for _, e := range asList(dig(c, "env")) {
			if n, ok := dig(e, "valueFrom", "secretKeyRef", "name").(string); ok {
				refs = append(refs, "Secret/"+n)
			}
			if n, ok := dig(e, "valueFrom", "configMapKeyRef", "name").(string); ok {
				refs = append(refs, "ConfigMap/"+n)
			}
		}
	}
	return refs
}

func asList(v any) []any { l, _ := v.([]any); return l }

func mapValues(m map[string]int) []int {
	var out []int
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func describeWaves(wave map[string]int) string {
	byWave := map[int][]string{}
	for k, w := range wave {
		byWave[w] = append(byWave[w], k)
	}
	var out []string
	for _, w := range slices.Sorted(func(yield func(int) bool) {
		for w := range byWave {
			if !yield(w) {
				return
			}
		}
	}) {
		slices.Sort(byWave[w])
		out = append(out, fmt.Sprintf("%d: %s", w, strings.Join(byWave[w], ", ")))
	}
	return strings.Join(out, "; ")
}

// TestArgoCDExampleApplication: examples/argocd/rhesis-prod.yaml installs
// this chart's version under the release name the program uses, with values
// the chart accepts, in the order TestArgoCDSyncOrder checks.
func TestArgoCDExampleApplication(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "argocd", "rhesis-prod.yaml"))
	require.NoError(t, err)
	var app struct {
		Kind string `json:"kind"`
		Spec struct {
			Source struct {
				Chart          string `json:"chart"`
				TargetRevision string `json:"targetRevision"`
				Helm           struct {
					ReleaseName  string         `json:"releaseName"`
					ValueFiles   []string       `json:"valueFiles"`
					ValuesObject map[string]any `json:"valuesObject"`
				} `json:"helm"`
			} `json:"source"`
			Destination struct {
				Namespace string `json:"namespace"`
			} `json:"destination"`
		} `json:"spec"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &app))
	c, err := loader.LoadDir(chartDir(t))
	require.NoError(t, err)
	src := app.Spec.Source
	assert.Equal(t, "Application", app.Kind)
	assert.Equal(t, c.Metadata.Name, src.Chart)
	assert.Equal(t, c.Metadata.Version, src.TargetRevision, "the example installs this chart's version")
	assert.Equal(t, charts.ReleaseName, src.Helm.ReleaseName)
	var layers []map[string]any
	for _, f := range src.Helm.ValueFiles {
		layers = append(layers, valuesFile(t, f))
	}
	values := layer(append(layers, src.Helm.ValuesObject)...)
	r, err := charts.Render(chartDir(t), values, charts.RenderOptions{Namespace: app.Spec.Destination.Namespace})
	require.NoError(t, err, "the chart refuses the example's values")
	kinds := map[string]bool{}
	for _, o := range r.Objects {
		kinds[o.Kind()] = true
	}
	for _, k := range []string{"Deployment", "Job", "Ingress", "CronJob"} {
		assert.True(t, kinds[k], "the example renders no %s", k)
	}
}
