package tests

import (
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// everyObjectValues is prod with every optional object on: monitoring, the
// backup, KEDA (served below), the Ingress with the API on its own host.
func everyObjectValues(t *testing.T, prefix string) map[string]any {
	t.Helper()
	return layer(envValues(t, "prod"), map[string]any{
		"namePrefix": prefix,
		"monitoring": map[string]any{"enabled": true},
		"backup":     map[string]any{"enabled": true},
		"worker":     map[string]any{"keda": map[string]any{"enabled": true}},
	})
}

// renderRelease renders values as release (the program's, or `helm install
// <release>`) into the namespace shared, with KEDA served.
func renderRelease(t *testing.T, release string, values map[string]any) []charts.Object {
	t.Helper()
	r, err := charts.Render(chartDir(t), values, charts.RenderOptions{
		Namespace: "shared", Release: release, APIVersions: []string{"keda.sh/v1alpha1"},
	})
	require.NoError(t, err)
	return r.Objects
}

// reference is an object one object names: a Secret its pods read, the
// Service a route sends to, the Deployment an autoscaler scales.
type reference struct{ kind, name, where string }

// referencesOf lists every object obj names, and the Services its
// configuration addresses (DB_HOST, REDIS_HOST, BACKEND_URL, the broker URLs).
func referencesOf(obj map[string]any) []reference {
	var refs []reference
	add := func(kind string, name any, where string) {
		// A pod's own address (an exporter next to its server) is no Service.
		if s, ok := name.(string); ok && s != "" && s != "127.0.0.1" && s != "localhost" {
			refs = append(refs, reference{kind, s, where})
		}
	}
	kind, _ := obj["kind"].(string)
	if pod := podSpecOf(obj); pod != nil {
		add("ServiceAccount", pod["serviceAccountName"], "serviceAccountName")
		for _, v := range asList(pod["volumes"]) {
			add("PersistentVolumeClaim", dig(v, "persistentVolumeClaim", "claimName"), "volumes")
			add("Secret", dig(v, "secret", "secretName"), "volumes")
			add("ConfigMap", dig(v, "configMap", "name"), "volumes")
		}
		for _, s := range asList(pod["imagePullSecrets"]) {
			add("Secret", dig(s, "name"), "imagePullSecrets")
		}
		for _, c := range append(asList(pod["initContainers"]), asList(pod["containers"])...) {
			for _, e := range asList(dig(c, "env")) {
				add("Secret", dig(e, "valueFrom", "secretKeyRef", "name"), "env")
				add("ConfigMap", dig(e, "valueFrom", "configMapKeyRef", "name"), "env")
				if v, ok := dig(e, "value").(string); ok && strings.HasPrefix(v, "redis://") {
					add("Service", urlHost(v), "env "+dig(e, "name").(string))
				}
			}
			for _, e := range asList(dig(c, "envFrom")) {
				add("Secret", dig(e, "secretRef", "name"), "envFrom")
				add("ConfigMap", dig(e, "configMapRef", "name"), "envFrom")
			}
			if cmd := asList(dig(c, "command")); len(cmd) > 0 {
				if u, ok := cmd[len(cmd)-1].(string); ok && strings.HasPrefix(u, "http://") {
					add("Service", urlHost(u), "command")
				}
			}
		}
	}
	switch kind {
	case "HorizontalPodAutoscaler", "ScaledObject":
		add("Deployment", dig(obj, "spec", "scaleTargetRef", "name"), "scaleTargetRef")
		for _, tr := range asList(dig(obj, "spec", "triggers")) {
			add("TriggerAuthentication", dig(tr, "authenticationRef", "name"), "triggers")
			host, _, _ := strings.Cut(dig(tr, "metadata", "address").(string), ":")
			add("Service", host, "triggers")
		}
	case "TriggerAuthentication":
		for _, s := range asList(dig(obj, "spec", "secretTargetRef")) {
			add("Secret", dig(s, "name"), "secretTargetRef")
		}
	case "RoleBinding":
		add("Role", dig(obj, "roleRef", "name"), "roleRef")
		for _, s := range asList(dig(obj, "subjects")) {
			add("ServiceAccount", dig(s, "name"), "subjects")
		}
	case "Ingress":
		for _, r := range asList(dig(obj, "spec", "rules")) {
			for _, p := range asList(dig(r, "http", "paths")) {
				add("Service", dig(p, "backend", "service", "name"), "rules")
			}
		}
	case "HTTPRoute":
		for _, r := range asList(dig(obj, "spec", "rules")) {
			for _, b := range asList(dig(r, "backendRefs")) {
				add("Service", dig(b, "name"), "backendRefs")
			}
		}
	case "ConfigMap":
		add("Service", dig(obj, "data", "DB_HOST"), "data.DB_HOST")
		add("Service", dig(obj, "data", "REDIS_HOST"), "data.REDIS_HOST")
		if u, ok := dig(obj, "data", "BACKEND_URL").(string); ok {
			add("Service", urlHost(u), "data.BACKEND_URL")
		}
	case "Secret":
		for _, key := range []string{"BROKER_URL", "CELERY_RESULT_BACKEND"} {
			if u, ok := dig(obj, "stringData", key).(string); ok {
				add("Service", urlHost(u), "stringData."+key)
			}
		}
	}
	return refs
}

func podSpecOf(obj map[string]any) map[string]any {
	for _, path := range [][]any{{"spec", "template", "spec"}, {"spec", "jobTemplate", "spec", "template", "spec"}, {"spec"}} {
		if p, ok := dig(obj, path...).(map[string]any); ok && p["containers"] != nil {
			return p
		}
	}
	return nil
}

func urlHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Hostname()
}

// names are kind/name of every object.
func names(objs []charts.Object) map[string]bool {
	out := map[string]bool{}
	for _, o := range objs {
		out[o.Kind()+"/"+o.Name()] = true
	}
	return out
}

// assertSelfContained: every object a render names is one of its own (a
// Secret also when its ExternalSecret makes it).
func assertSelfContained(t *testing.T, what string, objs []charts.Object) {
	t.Helper()
	own := names(objs)
	for _, o := range objs {
		if o.Kind() == "ExternalSecret" {
			own["Secret/"+dig(o.Object, "spec", "target", "name").(string)] = true
		}
	}
	for _, o := range objs {
		for _, ref := range referencesOf(o.Object) {
			assert.True(t, own[ref.kind+"/"+ref.name], "%s: %s %s names %s %s (%s), which it does not render",
				what, o.Kind(), o.Name(), ref.kind, ref.name, ref.where)
		}
	}
}

// podLabelsOf are the labels of every pod template of the render.
func podLabelsOf(objs []charts.Object) []map[string]any {
	var out []map[string]any
	for _, o := range objs {
		for _, path := range [][]any{{"spec", "template", "metadata", "labels"}, {"spec", "jobTemplate", "spec", "template", "metadata", "labels"}} {
			if l, ok := dig(o.Object, path...).(map[string]any); ok {
				out = append(out, l)
			}
		}
	}
	return out
}

// selectorsOf are the pod selectors of the render: Deployments, Services,
// budgets, network policies and their peers.
func selectorsOf(objs []charts.Object) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, o := range objs {
		id := o.Kind() + "/" + o.Name()
		for _, path := range [][]any{{"spec", "selector", "matchLabels"}, {"spec", "podSelector", "matchLabels"}} {
			if s, ok := dig(o.Object, path...).(map[string]any); ok {
				out[id] = s
			}
		}
		if s, ok := dig(o.Object, "spec", "selector").(map[string]any); ok && o.Kind() == "Service" {
			out[id] = s
		}
		for _, dir := range []string{"ingress", "egress"} {
			for i, rule := range asList(dig(o.Object, "spec", dir)) {
				for _, peer := range append(asList(dig(rule, "from")), asList(dig(rule, "to"))...) {
					if s, ok := dig(peer, "podSelector", "matchLabels").(map[string]any); ok && len(s) > 0 && dig(peer, "namespaceSelector") == nil {
						out[id+" "+dir+string(rune('0'+i))] = s
					}
				}
			}
		}
	}
	return out
}

func selects(selector, labels map[string]any) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// TestTwoReleasesShareANamespace: two releases with prefixes a- and b- in
// one namespace have no object name in common, each names only its own
// objects and addresses only its own Services, and no selector of one picks
// a pod of the other: neither when each is its own release (the program's
// a-rhesis and b-rhesis), nor when both are one release's (a parent chart
// holding this one twice).
func TestTwoReleasesShareANamespace(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ what, releaseA, releaseB string }{
		{"releases of their own", charts.ReleaseFor("a-"), charts.ReleaseFor("b-")},
		{"one parent release", "platform", "platform"},
	} {
		a := renderRelease(t, c.releaseA, everyObjectValues(t, "a-"))
		b := renderRelease(t, c.releaseB, everyObjectValues(t, "b-"))
		plain := renderRelease(t, charts.ReleaseName, everyObjectValues(t, ""))
		require.Len(t, a, len(plain), "%s: a prefix adds or drops no object", c.what)
		require.Greater(t, len(a), 40)

		namesA, namesB := names(a), names(b)
		var common []string
		for n := range namesA {
			if namesB[n] {
				common = append(common, n)
			}
		}
		sort.Strings(common)
		assert.Empty(t, common, "%s: both releases have these objects", c.what)
		for _, o := range a {
			assert.True(t, strings.HasPrefix(o.Name(), "a-"), "%s: %s %s has no prefix", c.what, o.Kind(), o.Name())
		}
		for n := range names(plain) {
			kind, name, _ := strings.Cut(n, "/")
			if !strings.HasPrefix(name, "migrate-") { // named after its spec, which names its Secret
				assert.True(t, namesA[kind+"/a-"+name], "%s: %s is a-%s with the prefix", c.what, n, name)
			}
		}

		assertSelfContained(t, c.what+", release a", a)
		assertSelfContained(t, c.what+", release b", b)
		assertSelfContained(t, c.what+", no prefix", plain)

		podsB := podLabelsOf(b)
		require.NotEmpty(t, podsB)
		for id, sel := range selectorsOf(a) {
			for _, pod := range podsB {
				assert.False(t, selects(sel, pod), "%s: %s of release a selects a pod of release b (%v)", c.what, id, pod)
			}
		}
	}
}

// TestNamePrefixAddresses: with a prefix the applications reach the
// prefixed stores and backend, the outputs name the prefixed Services, and
// helm mode's release is a-rhesis.
func TestNamePrefixAddresses(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "prod")
	s.set("namePrefix", "a-")
	r, err := run(t, "prod", s)
	require.NoError(t, err)
	cm := dig(r.object(t, "ConfigMap", "a-rhesis-config").Plain(), "data").(map[string]any)
	assert.Equal(t, "a-postgres", cm["DB_HOST"])
	assert.Equal(t, "a-redis", cm["REDIS_HOST"])
	assert.Equal(t, "http://a-backend:8080", cm["BACKEND_URL"])
	broker := dig(r.object(t, "Secret", "a-rhesis-secrets").Plain(), "stringData", "BROKER_URL").(string)
	assert.Equal(t, "a-redis", urlHost(broker))
	assert.False(t, r.hasObject("Deployment", "backend"))
	assert.Equal(t, "a-rhesis", dig(r.object(t, "Deployment", "a-backend").Plain(), "metadata", "labels", "app.kubernetes.io/instance"))

	urls := r.Outputs["urls"].(map[string]any)
	assert.Equal(t, "http://a-backend.rhesis.svc.cluster.local:8080", urls["backend"])
	assert.Equal(t, "http://a-frontend.rhesis.svc.cluster.local:3000", urls["frontend"])
	assert.Equal(t, "kubectl port-forward -n rhesis svc/a-worker 8081:8080", r.Outputs["portForward"].(map[string]any)["worker"])
	assert.Equal(t, "a-", r.Outputs["namePrefix"])

	s.set("deploy.mode", "helm")
	r, err = run(t, "prod", s)
	require.NoError(t, err)
	release := r.release(t)
	assert.Equal(t, "a-rhesis", release.Name)
	assert.Equal(t, "a-rhesis", dig(release.Plain(), "name"))
	assert.Equal(t, "a-", dig(release.Plain(), "values", "namePrefix"))
}

// TestPrefixedRenderKeepsTheAppContract: the contract holds with a prefix.
func TestPrefixedRenderKeepsTheAppContract(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "prod")
	s.set("namePrefix", "team-b-")
	r, err := run(t, "prod", s)
	require.NoError(t, err)
	raw := rawRender(t, r)
	vs := appContract(t).Check(raw)
	assert.Empty(t, vs, "%s", violations(vs))
}

// TestBadNamePrefixIsRefused: the program and the chart's schema refuse a
// prefix that would make an invalid name, before anything is created.
func TestBadNamePrefixIsRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ prefix, reason string }{
		{"A-", "does not have the expected form (Goes before every object name"},
		{"a", "ending with a hyphen"},
		{"1a-", "starting with a letter"},
		{strings.Repeat("a", 30) + "-", "maxLength: got 31, want 30"},
	} {
		s := stackSettings(t, "local")
		s.set("namePrefix", c.prefix)
		assertRefused(t, "local", s, "namePrefix", c.reason)
		_, _, err := render(t, layer(envValues(t, "local"), map[string]any{"namePrefix": c.prefix}))
		require.Error(t, err, "the chart takes namePrefix %q", c.prefix)
		assert.Contains(t, err.Error(), "namePrefix", "the chart's error names the key")
	}
}

// TestNamePrefixOfALiveStackIsKept: a deployed stack's prefix cannot change
// (every object would be replaced, the claims with their data); one deployed
// before the key existed has none.
func TestNamePrefixOfALiveStackIsKept(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "local")
	s.set("namePrefix", "a-")
	_, err := runProgramAfter(t, "local", s, map[string]any{"deployMode": "raw"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rhesis:namePrefix")
	assert.Contains(t, err.Error(), `deployed with namePrefix ""`)
	assert.Contains(t, err.Error(), "pulumi config set")

	_, err = runProgramAfter(t, "local", s, map[string]any{"deployMode": "raw", "namePrefix": "a-"})
	require.NoError(t, err)
	_, err = runProgramAfter(t, "local", stackSettings(t, "local"), map[string]any{"deployMode": "raw"})
	require.NoError(t, err, "a stack deployed before namePrefix keeps working")
}

// TestExistingNamespaceIsReadNotCreated: with createNamespace false the
// namespace is read, neither created nor protected, and the objects go into
// it; one that does not enforce Pod Security restricted is refused.
func TestExistingNamespaceIsReadNotCreated(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"raw", "helm"} {
		s := stackSettings(t, "prod")
		s.set("deploy.mode", mode)
		s.set("deploy.createNamespace", "false")
		s.set("namePrefix", "b-")
		s.namespaceLabels = map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}
		r, err := run(t, "prod", s)
		require.NoError(t, err, mode)
		var namespaces []registered
		for _, res := range r.Resources {
			if res.Type == "kubernetes:core/v1:Namespace" {
				namespaces = append(namespaces, res)
			}
		}
		require.Len(t, namespaces, 1, mode)
		assert.True(t, namespaces[0].Read, "%s: the namespace is read, not managed", mode)
		assert.False(t, namespaces[0].Protect, mode)
		assert.Equal(t, "rhesis", r.Outputs["namespace"], mode)

		s.namespaceLabels = map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}
		_, err = run(t, "prod", s)
		require.Error(t, err, mode)
		assert.Contains(t, err.Error(), `namespace rhesis enforces Pod Security "baseline", not "restricted"`, mode)
		assert.Contains(t, err.Error(), "kubectl label namespace rhesis pod-security.kubernetes.io/enforce=restricted", mode)
	}
}
