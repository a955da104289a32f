package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// podSettingsStack is prod with every pod setting given, globally and for
// the backend, as a platform team writes them in a stack file.
func podSettingsStack(t *testing.T) settings {
	t.Helper()
	s := stackSettings(t, "prod")
	s.set("global.nodeSelector", `{"pool":"rhesis"}`)
	s.set("global.tolerations", `[{"key":"dedicated","operator":"Equal","value":"rhesis","effect":"NoSchedule"}]`)
	s.set("global.affinity", `{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"zone","operator":"In","values":["a","b"]}]}]}}}`)
	s.set("global.priorityClassName", "rhesis-high")
	s.set("global.podAnnotations", `{"team":"platform","cost-center":"42"}`)
	s.set("global.podLabels", `{"team":"platform"}`)
	s.set("global.service.annotations", `{"cloud.example.com/lb":"internal"}`)
	s.set("backend.nodeSelector", `{"pool":"backend"}`)
	s.set("backend.podAnnotations", `{"team":"backend"}`)
	s.set("backend.service.annotations", `{"backend.example.com/probe":"on"}`)
	s.set("backend.topologySpreadConstraints", `[{"maxSkew":2,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"DoNotSchedule","matchLabelKeys":["app"]}]`)
	s.set("backend.extraVolumes", `[{"name":"ca","configMap":{"name":"corporate-ca"}}]`)
	s.set("backend.extraVolumeMounts", `[{"name":"ca","mountPath":"/etc/ssl/corporate","readOnly":true}]`)
	s.set("backend.extraEnvFrom", `[{"secretRef":{"name":"model-keys","optional":true}}]`)
	s.set("backend.initContainers", `[{"name":"fetch-models","image":"busybox:1.37","command":["true"]}]`)
	s.set("backend.extraContainers", `[{"name":"log-shipper","image":"fluent/fluent-bit:4.0","args":["-q"]}]`)
	return s
}

// TestPodSettingsRender: each pod setting lands where the issue says, a
// component's own value replacing global's and maps merged over it, and
// both modes create the same objects.
func TestPodSettingsRender(t *testing.T) {
	t.Parallel()
	r, err := run(t, "prod", podSettingsStack(t))
	require.NoError(t, err)
	objects := assertModesAgree(t, r, "prod with pod settings")

	workloads := map[string]string{
		"Deployment/frontend": "global", "Deployment/worker": "global", "Deployment/postgres": "global",
		"Deployment/redis": "global", "Deployment/backend": "backend",
		"Job/" + migrationJobSpelled: "job", "CronJob/postgres-backup": "job",
	}
	for name, whose := range workloads {
		obj, ok := objects[name]
		require.True(t, ok, "%s is not rendered", name)
		pod := podSpec(obj)
		meta := dig(obj, "spec", "template", "metadata")
		if obj["kind"] == "CronJob" {
			meta = dig(obj, "spec", "jobTemplate", "spec", "template", "metadata")
		}
		wantPool := "rhesis"
		if whose == "backend" {
			wantPool = "backend"
		}
		assert.Equal(t, map[string]any{"pool": wantPool}, pod["nodeSelector"], name)
		assert.Equal(t, []any{map[string]any{"key": "dedicated", "operator": "Equal", "value": "rhesis", "effect": "NoSchedule"}},
			pod["tolerations"], name)
		assert.Equal(t, "rhesis-high", pod["priorityClassName"], name)
		assert.Equal(t, []any{"a", "b"}, dig(pod, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
			"nodeSelectorTerms", 0, "matchExpressions", 0, "values"), name)
		assert.Equal(t, "platform", dig(meta, "labels", "team"), name)
		wantTeam := "platform"
		if whose == "backend" {
			wantTeam = "backend"
		}
		assert.Equal(t, wantTeam, dig(meta, "annotations", "team"), "%s: the component's annotation wins", name)
		assert.Equal(t, "42", dig(meta, "annotations", "cost-center"), "%s: global's annotations are merged in", name)
		assert.Equal(t, dig(obj, "metadata", "labels", "app"), dig(meta, "labels", "app"), "%s: the chart's labels stay", name)
	}

	// The backup keeps running beside the database: its own pod affinity
	// stays, next to global's node affinity.
	backup := podSpec(objects["CronJob/postgres-backup"])
	assert.NotNil(t, dig(backup, "affinity", "podAffinity", "requiredDuringSchedulingIgnoredDuringExecution"))
	assert.NotNil(t, dig(backup, "affinity", "nodeAffinity"))

	// The backend's own spread replaces the chart's; the others keep it.
	assert.Equal(t, "topology.kubernetes.io/zone", dig(podSpec(objects["Deployment/backend"]), "topologySpreadConstraints", 0, "topologyKey"))
	assert.Len(t, dig(podSpec(objects["Deployment/backend"]), "topologySpreadConstraints"), 1)
	assert.Equal(t, "kubernetes.io/hostname", dig(podSpec(objects["Deployment/frontend"]), "topologySpreadConstraints", 0, "topologyKey"))

	// The backend's extras, after the chart's own.
	backend := podSpec(objects["Deployment/backend"])
	names := func(list any) []string {
		var out []string
		for _, e := range list.([]any) {
			out = append(out, e.(map[string]any)["name"].(string))
		}
		return out
	}
	assert.Equal(t, []string{"prepare-database", "fetch-models"}, names(backend["initContainers"]))
	assert.Equal(t, []string{"backend", "log-shipper"}, names(backend["containers"]))
	assert.Contains(t, names(backend["volumes"]), "ca")
	main := dig(backend, "containers", 0).(map[string]any)
	assert.Contains(t, main["volumeMounts"], map[string]any{"name": "ca", "mountPath": "/etc/ssl/corporate", "readOnly": true})
	assert.Equal(t, []any{
		map[string]any{"configMapRef": map[string]any{"name": "rhesis-config"}},
		map[string]any{"secretRef": map[string]any{"name": "model-keys", "optional": true}},
	}, main["envFrom"])
	assert.NotContains(t, names(podSpec(objects["Deployment/worker"])["containers"]), "log-shipper", "the backend's sidecar is the backend's only")

	// Services: global's annotations, and the backend's merged over them.
	assert.Equal(t, map[string]any{"cloud.example.com/lb": "internal"}, dig(objects["Service/frontend"], "metadata", "annotations"))
	assert.Equal(t, map[string]any{"cloud.example.com/lb": "internal", "backend.example.com/probe": "on"},
		dig(objects["Service/backend"], "metadata", "annotations"))
}

// TestPodSettingsLeaveTheDefaultRenderAlone: without pod settings no pod
// gets a field it did not have.
func TestPodSettingsLeaveTheDefaultRenderAlone(t *testing.T) {
	t.Parallel()
	for _, m := range mustRender(t, envValues(t, "prod")) {
		pod := podSpec(m.Object)
		if pod == nil {
			continue
		}
		for _, field := range []string{"nodeSelector", "tolerations", "priorityClassName"} {
			assert.NotContains(t, pod, field, "%s %s", m.Kind(), m.Name())
		}
	}
}

// TestPodSettingsRefused: what the API server or the chart's selectors would
// refuse is an error before anything is created, naming the key.
func TestPodSettingsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		key, value, reason string
		at                 string // the key the problem names, when deeper than key
	}{
		{"backend.tolerations", `[{"key":"dedicated","efect":"NoSchedule"}]`, "is not a setting of the chart; did you mean rhesis:backend.tolerations[0].effect?", "backend.tolerations[0].efect"},
		{"global.affinity", `{"nodeAffinity":{"required":{}}}`, "is not a setting of the chart", "global.affinity.nodeAffinity.required"},
		{"worker.extraContainers", `[{"name":"sidecar"}]`, "needs an image", "worker.extraContainers[0]"},
		{"global.priorityClassName", "High_Priority", "does not have the expected form", ""},
		{"frontend.podLabels", `{"bad key!":"x"}`, "does not have the expected form (Labels of the pods", "frontend.podLabels.bad key!"},
		{"redis.extraVolumes", `[{"configMap":{"name":"x"}}]`, "missing property 'name'", "redis.extraVolumes[0]"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			s := stackSettings(t, "prod")
			s.set(tc.key, tc.value)
			at := tc.key
			if tc.at != "" {
				at = tc.at
			}
			assertRefused(t, "prod", s, at, tc.reason)
		})
	}
}

// TestChartRefusesPodSettings: plain helm users get the same refusals from
// the chart, each naming the value.
func TestChartRefusesPodSettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"a volume named like the chart's", map[string]any{"backend": map[string]any{
			"extraVolumes": []any{map[string]any{"name": "tmp", "emptyDir": map[string]any{}}}}},
			`backend.extraVolumes: the name "tmp" is already in the pod`},
		{"a container named like the chart's", map[string]any{"worker": map[string]any{
			"extraContainers": []any{map[string]any{"name": "worker", "image": "busybox"}}}},
			`worker.initContainers or worker.extraContainers: the name "worker" is already in the pod`},
		{"a mount of no volume", map[string]any{"frontend": map[string]any{
			"extraVolumeMounts": []any{map[string]any{"name": "missing", "mountPath": "/x"}}}},
			`frontend.extraVolumeMounts: "missing" mounts no volume of the pod`},
		{"a mount over the chart's", map[string]any{"backend": map[string]any{
			"extraVolumes":      []any{map[string]any{"name": "other", "emptyDir": map[string]any{}}},
			"extraVolumeMounts": []any{map[string]any{"name": "other", "mountPath": "/tmp"}}}},
			`backend.extraVolumeMounts: the mountPath "/tmp" is already in the pod`},
		{"a selector label", map[string]any{"global": map[string]any{"podLabels": map[string]any{"app.kubernetes.io/name": "x"}}},
			"global.podLabels.app.kubernetes.io/name is a label the chart sets"},
		{"a chart annotation", map[string]any{"redis": map[string]any{"podAnnotations": map[string]any{"checksum/config": "x"}}},
			"redis.podAnnotations.checksum/config is an annotation the chart sets"},
		{"a misspelt toleration field (schema)", map[string]any{"global": map[string]any{
			"tolerations": []any{map[string]any{"key": "a", "efect": "NoSchedule"}}}},
			"efect"},
		{"a container without a name (schema)", map[string]any{"backend": map[string]any{
			"extraContainers": []any{map[string]any{"image": "busybox"}}}},
			"name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := render(t, layer(envValues(t, "local"), tc.values))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
