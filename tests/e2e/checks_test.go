//go:build e2e

package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// assertConverged checks what `up` must leave: every Deployment Available
// with all replicas, every claim Bound, every Service with ready endpoints.
func assertConverged(t *testing.T, ns string, wantReplicas map[string]float64) {
	t.Helper()
	deps := items(kubectl(t, "get", "deployments", "-n", ns))
	got := map[string]float64{}
	for _, d := range deps {
		n := name(d)
		got[n] = dig(d, "spec", "replicas").(float64)
		assert.Equal(t, dig(d, "spec", "replicas"), dig(d, "status", "availableReplicas"), "%s available replicas", n)
		available := false
		for _, c := range dig(d, "status", "conditions").([]any) {
			if dig(c, "type") == "Available" && dig(c, "status") == "True" {
				available = true
			}
		}
		assert.True(t, available, "%s is not Available", n)
	}
	assert.Equal(t, wantReplicas, got)
	// Every claim a pod uses is bound (the backup's waits for its first run:
	// the class binds on first use).
	used := map[string]bool{}
	for _, p := range items(kubectl(t, "get", "pods", "-n", ns)) {
		vols, _ := dig(p, "spec", "volumes").([]any)
		for _, v := range vols {
			if claim, ok := dig(v, "persistentVolumeClaim", "claimName").(string); ok {
				used[claim] = true
			}
		}
	}
	for _, pvc := range items(kubectl(t, "get", "pvc", "-n", ns)) {
		if used[name(pvc)] {
			assert.Equal(t, "Bound", dig(pvc, "status", "phase"), "claim %s", name(pvc))
		}
	}
	slices := items(kubectl(t, "get", "endpointslices", "-n", ns))
	for _, svc := range items(kubectl(t, "get", "services", "-n", ns)) {
		ready := 0
		for _, s := range slices {
			if dig(s, "metadata", "labels", "kubernetes.io/service-name") != name(svc) {
				continue
			}
			for _, ep := range dig(s, "endpoints").([]any) {
				if dig(ep, "conditions", "ready") == true {
					ready++
				}
			}
		}
		assert.Positive(t, ready, "service %s has no ready endpoint", name(svc))
	}
}

// assertReferencesResolve does the kubelet's job the simulated node skips:
// every secretKeyRef, configMapKeyRef, envFrom and claim of every pod exists.
func assertReferencesResolve(t *testing.T, ns string) {
	t.Helper()
	keys := func(kind, n string) map[string]bool {
		obj := kubectl(t, "get", kind, n, "-n", ns)
		out := map[string]bool{}
		for k := range obj["data"].(map[string]any) {
			out[k] = true
		}
		return out
	}
	cache := map[string]map[string]bool{}
	lookup := func(kind, n string) map[string]bool {
		if _, ok := cache[kind+"/"+n]; !ok {
			cache[kind+"/"+n] = keys(kind, n)
		}
		return cache[kind+"/"+n]
	}
	pods := items(kubectl(t, "get", "pods", "-n", ns))
	assert.NotEmpty(t, pods)
	refs := 0
	for _, p := range pods {
		for _, c := range dig(p, "spec", "containers").([]any) {
			envs, _ := dig(c, "env").([]any)
			for _, e := range envs {
				if ref := dig(e, "valueFrom", "secretKeyRef"); ref != nil {
					refs++
					assert.True(t, lookup("secret", dig(ref, "name").(string))[dig(ref, "key").(string)],
						"pod %s: %s refers to missing secret key %v", name(p), dig(e, "name"), ref)
				}
				if ref := dig(e, "valueFrom", "configMapKeyRef"); ref != nil {
					refs++
					assert.True(t, lookup("configmap", dig(ref, "name").(string))[dig(ref, "key").(string)],
						"pod %s: %s refers to missing ConfigMap key %v", name(p), dig(e, "name"), ref)
				}
			}
			from, _ := dig(c, "envFrom").([]any)
			for _, f := range from {
				if n, ok := dig(f, "configMapRef", "name").(string); ok {
					refs++
					assert.NotEmpty(t, lookup("configmap", n), "pod %s: envFrom ConfigMap %s", name(p), n)
				}
			}
		}
		vols, _ := dig(p, "spec", "volumes").([]any)
		for _, v := range vols {
			if claim, ok := dig(v, "persistentVolumeClaim", "claimName").(string); ok {
				kubectl(t, "get", "pvc", claim, "-n", ns) // fails the test if missing
			}
		}
	}
	assert.Greater(t, refs, 10, "too few references checked")
}

// assertRestricted: the namespace enforces Pod Security "restricted" (a
// privileged pod is rejected) and yet admitted every pod of the stack.
func assertRestricted(t *testing.T, ns string, wantPods int) {
	t.Helper()
	nsObj := kubectl(t, "get", "namespace", ns)
	assert.Equal(t, "restricted", dig(nsObj, "metadata", "labels", "pod-security.kubernetes.io/enforce"))
	assert.Len(t, items(kubectl(t, "get", "pods", "-n", ns)), wantPods, "every pod must be admitted")
	// A pod without a security context.
	unrestricted := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"psa-probe"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`
	cmd := exec.Command("kubectl", "apply", "--dry-run=server", "-n", ns, "-f", "-")
	cmd.Stdin = strings.NewReader(unrestricted)
	out, err := cmd.CombinedOutput()
	assert.Error(t, err, "a pod without a restricted security context must be rejected")
	assert.Contains(t, string(out), "violates PodSecurity \"restricted")
}

// assertGone: after destroy nothing of the stack remains.
func assertGone(t *testing.T, ns string) {
	t.Helper()
	out, err := exec.Command("kubectl", "get", "namespace", ns).CombinedOutput()
	assert.Error(t, err, "namespace %s still exists: %s", ns, out)
	assert.Contains(t, string(out), "NotFound")
	// Released volumes are deleted by the sandbox's provisioner within a second.
	var left []string
	for i := 0; i < 40; i++ {
		left = nil
		for _, pv := range items(kubectl(t, "get", "pv")) {
			if dig(pv, "spec", "claimRef", "namespace") == ns {
				left = append(left, name(pv))
			}
		}
		if len(left) == 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	assert.Empty(t, left, "volumes of %s left behind", ns)
}

// assertMigrated checks the start order in either mode: the release's
// migration Job completed; backend and worker pods waited for the migrations
// in their own init container (same image); the backend skips its own
// migrations. Both modes apply the Job with everything else. In
// helm mode the Job is part of the release, not a hook: a first install with
// --wait (or an Argo CD sync) applies it with everything else instead of
// holding it until the Deployments it lets start are ready.
func assertMigrated(t *testing.T, ns string) {
	t.Helper()
	jobs := items(kubectl(t, "get", "jobs", "-n", ns, "-l", "app=migrate"))
	require.Len(t, jobs, 1)
	job := name(jobs[0])
	assert.EqualValues(t, 1, dig(jobs[0], "status", "succeeded"), "migration job %s", job)
	backend := kubectl(t, "get", "deployment", "backend", "-n", ns)
	if strings.Contains(ns, "helm") {
		hooks, err := exec.Command("helm", "get", "hooks", "rhesis", "-n", ns).CombinedOutput()
		require.NoError(t, err, string(hooks))
		assert.NotContains(t, string(hooks), "templates/migrate.yaml", "the migration Job must not be a Helm hook")
		manifest, err := exec.Command("helm", "get", "manifest", "rhesis", "-n", ns).CombinedOutput()
		require.NoError(t, err, string(manifest))
		assert.Contains(t, string(manifest), "name: "+job, "the migration Job is part of the release")
	}
	assert.Contains(t, fmt.Sprint(dig(backend, "spec", "template", "spec", "containers", 0, "env")), "SKIP_MIGRATIONS")
	for _, app := range []string{"backend", "worker"} {
		d := kubectl(t, "get", "deployment", app, "-n", ns)
		spec := dig(d, "spec", "template", "spec")
		assert.Equal(t, "prepare-database", dig(spec, "initContainers", 0, "name"), "%s waits for the migrations", app)
		assert.Equal(t, dig(spec, "containers", 0, "image"), dig(spec, "initContainers", 0, "image"), app)
		for _, pod := range items(kubectl(t, "get", "pods", "-n", ns, "-l", "app="+app)) {
			assert.NotNil(t, dig(pod, "status", "initContainerStatuses", 0, "state", "terminated"),
				"%s: the init container has not finished: %v", name(pod), dig(pod, "status", "initContainerStatuses"))
		}
	}
}

// waitForReplicas waits up to two minutes for the Deployments' replicas
// (set by the autoscalers) to reach want.
func waitForReplicas(t *testing.T, ns string, want map[string]float64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got := map[string]float64{}
		for _, d := range items(kubectl(t, "get", "deployments", "-n", ns)) {
			if r, ok := dig(d, "status", "availableReplicas").(float64); ok && r == dig(d, "spec", "replicas") {
				got[name(d)] = r
			}
		}
		if fmt.Sprint(got) == fmt.Sprint(want) || time.Now().After(deadline) {
			return
		}
		time.Sleep(2 * time.Second)
	}
}
