package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiresource "k8s.io/apimachinery/pkg/api/resource"

	"github.com/rhesis-ai/rhesis-deploy/stack"
)

// skipAwait is the annotation with which raw mode tells the provider not to
// wait for an object.
const skipAwait = "pulumi.com/skipAwait"

// patchForce is the annotation with which raw mode takes back the fields it
// sets from whoever changed them by hand.
const patchForce = "pulumi.com/patchForce"

// helmBookkeeping are the labels only Helm sets; they may differ between modes.
var helmBookkeeping = []string{"helm.sh/chart", "app.kubernetes.io/managed-by"}

// normalize makes a raw-mode object and a rendered one comparable: JSON
// types, no Helm bookkeeping labels, quantities in canonical form. Object
// sets are keyed with the migration Job's digest spelled out (spelled): the
// digest is of the Job's text, where 1000m and 1 differ.
func normalizeObject(t *testing.T, obj map[string]any) map[string]any {
	t.Helper()
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(jsonOf(t, obj)), &out))
	for _, labels := range []any{dig(out, "metadata", "labels"), dig(out, "spec", "template", "metadata", "labels"),
		dig(out, "spec", "jobTemplate", "spec", "template", "metadata", "labels")} {
		if m, ok := labels.(map[string]any); ok {
			for _, k := range helmBookkeeping {
				delete(m, k)
			}
		}
	}
	if out["kind"] == "Job" {
		meta := out["metadata"].(map[string]any)
		meta["name"] = strings.TrimPrefix(spelled("Job/"+fmt.Sprint(meta["name"])), "Job/")
	}
	// Raw mode's own option (see TestRawModeOptions), no part of the object.
	if ann, ok := dig(out, "metadata", "annotations").(map[string]any); ok {
		delete(ann, skipAwait)
		delete(ann, patchForce)
		if len(ann) == 0 {
			delete(out["metadata"].(map[string]any), "annotations")
		}
	}
	canonical := func(m any) {
		q, ok := m.(map[string]any)
		if !ok {
			return
		}
		for k, v := range q {
			if s, ok := v.(string); ok {
				if parsed, err := apiresource.ParseQuantity(s); err == nil {
					q[k] = parsed.String()
				}
			}
		}
	}
	for _, field := range []string{"initContainers", "containers"} {
		containers, _ := dig(out, "spec", "template", "spec", field).([]any)
		for _, c := range containers {
			canonical(dig(c, "resources", "requests"))
			canonical(dig(c, "resources", "limits"))
		}
	}
	canonical(dig(out, "spec", "resources", "requests"))
	return out
}

func key(kind, name string) string { return kind + "/" + name }

// rawObjects are the Kubernetes objects raw mode registers, but the
// Namespace, which Helm mode creates outside the chart.
func rawObjects(t *testing.T, r *result) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, res := range r.kubernetes() {
		if res.Kind() == "Namespace" {
			continue
		}
		name, _ := res.Meta()
		obj := res.Plain()
		out[spelled(key(res.Kind(), name))] = normalizeObject(t, obj)
	}
	return out
}

func chartObjects(t *testing.T, values map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, m := range mustRender(t, values) {
		// Helm's own test pod has no raw counterpart; other hooks (the
		// migration Job) do, without Helm's hook annotations.
		if dig(m.Object, "metadata", "annotations", "helm.sh/hook") == "test" {
			continue
		}
		if ann, ok := dig(m.Object, "metadata", "annotations").(map[string]any); ok {
			for k := range ann {
				if strings.HasPrefix(k, "helm.sh/hook") {
					delete(ann, k)
				}
			}
		}
		out[spelled(key(m.Kind(), m.Name()))] = normalizeObject(t, m.Object)
	}
	return out
}

// assertModesAgree: raw mode registers exactly the objects the chart renders
// for the run's config; it returns the chart's, by kind/name.
func assertModesAgree(t *testing.T, r *result, what string) map[string]map[string]any {
	t.Helper()
	objects := chartObjects(t, r.Config.Values)
	assertSameObjects(t, rawObjects(t, r), objects, what)
	return objects
}

// assertSameObjects compares two object sets kind by kind, name by name.
func assertSameObjects(t *testing.T, want, got map[string]map[string]any, what string) bool {
	t.Helper()
	keys := func(m map[string]map[string]any) []string {
		var k []string
		for n := range m {
			k = append(k, n)
		}
		sort.Strings(k)
		return k
	}
	ok := assert.Equal(t, keys(want), keys(got), "%s: different objects", what)
	for _, k := range keys(want) {
		if g, found := got[k]; found {
			diffs := diffPaths("", want[k], g)
			ok = assert.Empty(t, diffs, "%s: %s differs (raw mode vs chart)", what, k) && ok
		}
	}
	return ok
}

// diffPaths lists every path where a and b differ, with both values.
func diffPaths(path string, a, b any) []string {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			break
		}
		var out []string
		seen := map[string]bool{}
		for k := range av {
			seen[k] = true
			out = append(out, diffPaths(path+"."+k, av[k], bv[k])...)
		}
		for k := range bv {
			if !seen[k] {
				out = append(out, diffPaths(path+"."+k, nil, bv[k])...)
			}
		}
		sort.Strings(out)
		return out
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			break
		}
		var out []string
		for i := range av {
			out = append(out, diffPaths(fmt.Sprintf("%s[%d]", path, i), av[i], bv[i])...)
		}
		return out
	}
	if fmt.Sprint(a) == fmt.Sprint(b) && fmt.Sprintf("%T", a) == fmt.Sprintf("%T", b) {
		return nil
	}
	return []string{fmt.Sprintf("%s: raw %v, chart %v", path, a, b)}
}

// TestRawModeRegistersTheChartsObjects: raw mode registers exactly what
// `helm install` of the chart with the program's values creates: nothing
// dropped, added or changed on the way into Pulumi inputs.
func TestRawModeRegistersTheChartsObjects(t *testing.T) {
	t.Parallel()
	for _, s := range stacks {
		t.Run(s, func(t *testing.T) {
			r := mustRun(t, s)
			raw := rawObjects(t, r)
			assert.Equal(t, map[string]int{"local": 30, "staging": 35, "prod": 42}[s], len(raw))
			assertSameObjects(t, raw, chartObjects(t, r.Config.Values), fmt.Sprintf("%s: raw vs chart(HelmValues)", s))
		})
	}
}

// TestRawModeOptions: what only Pulumi decides, per object: the kept claims
// and the namespace are protected, Services, claims and the Ingress are not
// awaited, Secrets are secret in state, workloads wait for exactly what their
// pods read (no start order between services: readiness sorts it out), policies moved into their service's component
// keep their previous URN as an alias.
func TestRawModeOptions(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "prod")
	s.set("backup.enabled", "true")
	r, err := run(t, "prod", s)
	require.NoError(t, err)
	urn := map[string]string{}
	for _, res := range r.kubernetes() {
		name, _ := res.Meta()
		parentType := strings.TrimPrefix(res.Parent, "urn:pulumi:prod::rhesis::")
		parentType = parentType[:strings.LastIndex(parentType, "::")]
		urn[key(res.Kind(), name)] = "urn:pulumi:prod::rhesis::" + parentType + "$" + res.Type + "::" + res.Name
	}
	jobName, _ := migrationJob(t, r)
	for _, res := range r.kubernetes() {
		name, _ := res.Meta()
		k := key(res.Kind(), name)
		kept := k == "Namespace/rhesis" || k == "PersistentVolumeClaim/postgres-pvc" ||
			k == "PersistentVolumeClaim/app-storage" || k == "PersistentVolumeClaim/postgres-backup"
		assert.Equal(t, kept, res.Protect, "%s protected", k)

		assert.Equal(t, "true", dig(res.Plain(), "metadata", "annotations", patchForce), "%s takes its fields back", k)
		annotation := dig(res.Plain(), "metadata", "annotations", skipAwait)
		switch res.Kind() {
		case "Service", "PersistentVolumeClaim", "Ingress":
			assert.Equal(t, "true", annotation, "%s is not awaited", k)
		default:
			assert.Nil(t, annotation, "%s is awaited", k)
		}

		if res.Kind() == "Secret" {
			assert.True(t, res.Inputs["stringData"].ContainsSecrets(), "%s stringData is a secret", k)
			assert.ElementsMatch(t, []string{"data", "stringData"}, res.SecretOutputs, k)
		} else {
			for _, secret := range testSecrets {
				assert.NotContains(t, plainInputs(res), secret, "%s shows a secret in clear", k)
			}
		}

		if res.Kind() == "NetworkPolicy" && name != "default-deny" && name != "allow-dns" && name != "helm-test" {
			assert.Equal(t, []string{"urn:pulumi:prod::rhesis::rhesis:components:NetworkPolicies::network-policies"}, res.AliasParents, k)
		} else {
			assert.Empty(t, res.AliasParents, k)
		}
		if res.Kind() != "Namespace" {
			assert.Contains(t, res.DependsOn, urn["Namespace/rhesis"], "%s waits for the namespace", k)
		}
	}
	waitsFor := map[string][]string{
		// The database and its migrations also wait for the backup's CronJob,
		// whose Job a change of them waits for (backup.beforeChange).
		"Deployment/postgres": {"ServiceAccount/postgres", "PersistentVolumeClaim/postgres-pvc", "PersistentVolumeClaim/postgres-backup",
			"ConfigMap/rhesis-config", "Secret/rhesis-secrets", "CronJob/postgres-backup"},
		"Deployment/redis":        {"ServiceAccount/redis", "PersistentVolumeClaim/redis-pvc", "Secret/rhesis-secrets"},
		"Job/" + jobName:          {"ServiceAccount/migrate", "ConfigMap/rhesis-config", "Secret/rhesis-secrets", "CronJob/postgres-backup"},
		"Deployment/backend":      {"ServiceAccount/backend", "PersistentVolumeClaim/app-storage", "ConfigMap/rhesis-config", "Secret/rhesis-secrets"},
		"Deployment/worker":       {"ServiceAccount/worker", "PersistentVolumeClaim/app-storage", "ConfigMap/rhesis-config", "Secret/rhesis-secrets"},
		"Deployment/frontend":     {"ServiceAccount/frontend", "ConfigMap/rhesis-config", "Secret/rhesis-secrets"},
		"CronJob/postgres-backup": {"ServiceAccount/postgres-backup", "PersistentVolumeClaim/postgres-backup", "ConfigMap/rhesis-config", "Secret/rhesis-secrets"},
	}
	for _, res := range r.kubernetes() {
		name, _ := res.Meta()
		k := key(res.Kind(), name)
		want, ok := waitsFor[k]
		if !ok {
			continue
		}
		wantURNs := []string{urn["Namespace/rhesis"]}
		for _, w := range want {
			require.Contains(t, urn, w)
			wantURNs = append(wantURNs, urn[w])
		}
		assert.ElementsMatch(t, wantURNs, res.DependsOn, "%s waits for", k)
		delete(waitsFor, k)
	}
	assert.Empty(t, waitsFor, "workloads not registered")
}

// plainInputs is an object's inputs as JSON, secrets shown only as a marker.
func plainInputs(res registered) string {
	b, _ := json.Marshal(res.Inputs.MapRepl(nil, func(v resource.PropertyValue) (any, bool) {
		if v.IsSecret() {
			return "[secret]", true
		}
		return nil, false
	}))
	return string(b)
}

// TestParityCoversOverrides: raw mode registers what helm mode installs off the defaults too: optional
// secrets, extra variables, another namespace-free setting, persistence off,
// a disabled component, a storage class.
func TestParityCoversOverrides(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "prod")
	s.set("frontend.enabled", "false")
	s.set("worker.extraEnv", `{"MODEL_PROXY_URL":"http://proxy.example.com","FEATURE_X":"true"}`)
	s.setSecret("secrets.extra", `{"OPENAI_API_KEY":"sk-test"}`)
	s.set("redis.persistence.enabled", "false")
	s.set("database.postgresql.persistence.storageClass", "fast-ssd")
	s.set("backend.image.pullPolicy", "Always")
	s.set("global.logLevel", "DEBUG")
	s.setSecret("secrets.redisPassword", "p@ss w:rd/#")
	r, err := run(t, "prod", s)
	require.NoError(t, err)
	assertModesAgree(t, r, "prod with overrides")

	// The hardening settings off their defaults.
	h := stackSettings(t, "staging")
	h.unset("ingress.tlsSecret")
	h.set("ingress.clusterIssuer", "letsencrypt")
	h.set("ingress.className", "traefik")
	h.set("ingress.annotations", `{"traefik.ingress.kubernetes.io/router.middlewares":"rhesis-strip@kubernetescrd"}`)
	h.set("networkPolicies.internetEgress", "false")
	h.set("networkPolicies.ingressControllerNamespace", "traefik")
	h.set("backend.serviceAccount.annotations", `{"eks.amazonaws.com/role-arn":"arn:aws:iam::1:role/rhesis"}`)
	h.set("worker.autoscaling.enabled", "true")
	h.set("worker.autoscaling.scaleDownStabilizationSeconds", "60")
	h.set("backup.enabled", "true")
	h.set("backup.retentionDays", "3")
	h.set("storage.uri", "gs://rhesis-files")
	h.setSecret("secrets.storageServiceAccountKey", "eyJ0eXBlIjoic2VydmljZV9hY2NvdW50In0=")
	h.set("global.spreadAcrossNodes", "true")
	h.set("database.postgresql.persistence.keep", "true")
	h.set("migrations.enabled", "false")
	r, err = run(t, "staging", h)
	require.NoError(t, err)
	assert.True(t, r.hasObject("HorizontalPodAutoscaler", "worker"))
	assert.True(t, r.hasObject("CronJob", "postgres-backup"))
	assertModesAgree(t, r, "staging with hardening overrides")
}

// TestRawModeRefusesAnObjectNoComponentOwns: a workload the table in
// stack/objects.go does not place is an error before anything is created,
// not an object silently left out.
func TestRawModeRefusesAnObjectNoComponentOwns(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(chartDir(t))))
	extra := "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: stray\n  namespace: {{ .Release.Namespace }}\n" +
		"  labels: {app.kubernetes.io/name: stray}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n" +
		"      containers: [{name: stray, image: busybox}]\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "templates", "stray.yaml"), []byte(extra), 0o644))
	t.Setenv(stack.ChartDirEnv, dir)
	resources, err := runProgram(t, "local", stackSettings(t, "local"))
	require.ErrorContains(t, err, "Job stray of rhesis/templates/stray.yaml: no service component owns it")
	for _, r := range resources {
		assert.NotContains(t, r.Type, "kubernetes:", "%s %s was registered before the refusal", r.Type, r.Name)
	}
}
