package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gatewayStack is prod published through a Gateway instead of the Ingress.
func gatewayStack(t *testing.T) settings {
	t.Helper()
	s := stackSettings(t, "prod")
	for _, k := range []string{"ingress.host", "ingress.tlsSecret", "ingress.className"} {
		s.unset(k)
	}
	s.set("ingress.enabled", "false")
	s.set("gateway.enabled", "true")
	s.set("gateway.host", "rhesis.example.com")
	s.set("gateway.parentRefs", `[{"name":"public","namespace":"gateway-system","sectionName":"https"}]`)
	return s
}

// TestGatewayRoutes: with the Gateway API, one HTTPRoute per public service
// attaches to the named Gateway on the service's host; no Ingress is made;
// the network policies let the gateway's namespace in; the URLs and the
// stack outputs follow the routes' hosts. Both modes agree.
func TestGatewayRoutes(t *testing.T) {
	t.Parallel()
	r, err := run(t, "prod", gatewayStack(t))
	require.NoError(t, err)
	objects := assertModesAgree(t, r, "prod with Gateway API routes")
	assert.NotContains(t, objects, "Ingress/rhesis")

	parent := []any{map[string]any{"name": "public", "namespace": "gateway-system", "sectionName": "https"}}
	for route, want := range map[string]struct {
		host, service string
		port          float64
	}{"HTTPRoute/frontend": {"rhesis.example.com", "frontend", 3000}, "HTTPRoute/backend": {"api.rhesis.example.com", "backend", 8080}} {
		obj, ok := objects[route]
		require.True(t, ok, "no %s", route)
		assert.Equal(t, "gateway.networking.k8s.io/v1", obj["apiVersion"])
		assert.Equal(t, parent, dig(obj, "spec", "parentRefs"), route)
		assert.Equal(t, []any{want.host}, dig(obj, "spec", "hostnames"), route)
		assert.Equal(t, map[string]any{"name": want.service, "port": want.port}, dig(obj, "spec", "rules", 0, "backendRefs", 0), route)
		assert.Equal(t, "/", dig(obj, "spec", "rules", 0, "matches", 0, "path", "value"), route)
	}
	cm := objects["ConfigMap/rhesis-config"]
	assert.Equal(t, "https://rhesis.example.com", dig(cm, "data", "FRONTEND_URL"))
	assert.Equal(t, "https://api.rhesis.example.com", dig(cm, "data", "API_BASE_URL"))
	assert.Equal(t, "https://rhesis.example.com", dig(r.Outputs, "publicUrls", "frontend"), "the publicUrls output")
	assert.Equal(t, "https://api.rhesis.example.com", dig(r.Outputs, "publicUrls", "api"))

	for _, app := range []string{"frontend", "backend"} {
		from := dig(objects["NetworkPolicy/"+app], "spec", "ingress", 0, "from", 0, "namespaceSelector", "matchLabels")
		assert.Equal(t, map[string]any{"kubernetes.io/metadata.name": "gateway-system"}, from, "%s admits the gateway's namespace", app)
	}
}

// TestGatewayAPIPath: the API under a path of the frontend's host is one
// route with two rules; the longer path is the API's.
func TestGatewayAPIPath(t *testing.T) {
	t.Parallel()
	objects := chartObjects(t, layer(envValues(t, "prod"), gatewayValues(), map[string]any{"gateway": map[string]any{"apiPath": "/backend"}}))
	assert.NotContains(t, objects, "HTTPRoute/backend")
	rules := dig(objects["HTTPRoute/frontend"], "spec", "rules").([]any)
	require.Len(t, rules, 2)
	assert.Equal(t, "/backend", dig(rules[0], "matches", 0, "path", "value"))
	assert.Equal(t, "backend", dig(rules[0], "backendRefs", 0, "name"))
	assert.Equal(t, "/", dig(rules[0], "filters", 0, "urlRewrite", "path", "replacePrefixMatch"), "the API serves its routes at /")
	assert.Equal(t, "https://rhesis.example.com/backend", dig(objects["ConfigMap/rhesis-config"], "data", "API_BASE_URL"))
	// The gateway's pods' own namespace, when it differs from the Gateway's.
	from := dig(objects["NetworkPolicy/frontend"], "spec", "ingress", 0, "from", 0, "namespaceSelector", "matchLabels")
	assert.Equal(t, map[string]any{"kubernetes.io/metadata.name": "envoy-gateway-system"}, from)
}

// TestGatewayRefused: what would publish nothing, twice, or in clear is an
// error before anything is created, in the program and in the chart.
func TestGatewayRefused(t *testing.T) {
	t.Parallel()
	s := gatewayStack(t)
	s.unset("gateway.parentRefs")
	assertRefused(t, "prod", s, "gateway.parentRefs", "is required while the routes are on")
	s = gatewayStack(t)
	s.set("gateway.https", "false")
	assertRefused(t, "prod", s, "gateway.https", "must be true in prod")
	s = gatewayStack(t)
	s.set("ingress.enabled", "true")
	assertRefused(t, "prod", s, "gateway.enabled", "and ingress.enabled exclude each other")
	s = gatewayStack(t)
	s.set("gateway.parentRefs", `[{"name":"public"}]`)
	assertRefused(t, "prod", s, "gateway.namespace", "is required with network policies")
	s = gatewayStack(t)
	s.set("gateway.parentRefs", `[{"name":"public","sectionNam":"https"}]`)
	assertRefused(t, "prod", s, "gateway.parentRefs[0].sectionNam", "did you mean rhesis:gateway.parentRefs[0].sectionName?")
	s = stackSettings(t, "prod")
	s.unset("ingress.className")
	assertRefused(t, "prod", s, "ingress.className", "is required while the ingress is on")

	for _, tc := range []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"both", map[string]any{"ingress": map[string]any{"enabled": true}}, "gateway.enabled and ingress.enabled exclude each other"},
		{"no parent", map[string]any{"gateway": map[string]any{"parentRefs": []any{}}}, "gateway.parentRefs is required"},
		{"in clear", map[string]any{"gateway": map[string]any{"https": false}}, "gateway.https must be true in prod"},
		{"the frontend's path", map[string]any{"gateway": map[string]any{"apiPath": "/api"}}, "gateway.apiPath must be a path like /backend"},
		{"a misspelt parent field (schema)", map[string]any{"gateway": map[string]any{
			"parentRefs": []any{map[string]any{"name": "public", "sectionNam": "https"}}}}, "sectionNam"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := render(t, layer(envValues(t, "prod"), gatewayValues(), tc.values))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
