package tests

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/contract"
)

// caFile is where the chart mounts the CA bundle.
const caFile = "/etc/rhesis/ca/ca.crt"

// TestCABundle: with global.caBundle every container of the app that calls
// out over TLS trusts the bundle through the variables its runtime reads (the
// contract's trust facts), on the mounted volume; libpq gets it where it
// verifies the server; and the contract check finds a container left out.
func TestCABundle(t *testing.T) {
	t.Parallel()
	c := appContract(t)
	withBundle := func(env string, extra map[string]any) map[string]any {
		return layer(layer(layer(valuesFile(t, "values.yaml"), envValues(t, env)),
			map[string]any{"global": map[string]any{"caBundle": map[string]any{"configMap": "corp-ca", "key": "bundle.pem"}}}), extra)
	}
	for _, env := range stacks {
		values := withBundle(env, map[string]any{})
		render := chartRender(t, values, nil)
		assert.Empty(t, c.Check(render), "%s: %s", env, violations(c.Check(render)))
		checked := 0
		for _, o := range render.Objects {
			spec := podSpecOf(o)
			if spec == nil {
				continue
			}
			for _, field := range []string{"initContainers", "containers"} {
				for _, ctr := range asList(spec[field]) {
					name := fmt.Sprintf("%s/%s %s", o["kind"], dig(o, "metadata", "name"), dig(ctr, "name"))
					vars := map[string]string{}
					for _, e := range asList(dig(ctr, "env")) {
						if v, ok := dig(e, "value").(string); ok {
							vars[dig(e, "name").(string)] = v
						}
					}
					var want []string
					switch dig(ctr, "name") {
					case "backend", "worker", "migrate", "prepare-database":
						want = []string{"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"}
					case "frontend":
						want = []string{"NODE_EXTRA_CA_CERTS"}
					default:
						continue
					}
					for _, v := range want {
						assert.Equal(t, caFile, vars[v], "%s (%s): %s", name, env, v)
					}
					assert.NotContains(t, vars, "PGSSLROOTCERT", "%s (%s): the in-cluster database has no TLS", name, env)
					assert.Contains(t, asList(dig(ctr, "volumeMounts")),
						map[string]any{"name": "ca-bundle", "mountPath": "/etc/rhesis/ca", "readOnly": true}, name)
					assert.Contains(t, asList(spec["volumes"]), map[string]any{"name": "ca-bundle", "configMap": map[string]any{
						"name": "corp-ca", "items": []any{map[string]any{"key": "bundle.pem", "path": "ca.crt"}}}}, name)
					checked++
				}
			}
		}
		assert.GreaterOrEqual(t, checked, 6, env)
	}

	// libpq reads the bundle where it verifies an external server.
	external := func(mode string) map[string]any {
		return withBundle("prod", map[string]any{"backup": map[string]any{"enabled": false},
			"database": map[string]any{"external": map[string]any{"host": "db.example.com", "maxConnections": 3000, "sslMode": mode}}})
	}
	for mode, want := range map[string]bool{"verify-full": true, "verify-ca": true, "require": false} {
		backend := containerNamed(t, chartRender(t, external(mode), nil), "Deployment", "backend", "backend")
		assert.Equal(t, want, hasEnv(backend, "PGSSLROOTCERT", caFile), "sslMode %s", mode)
	}

	// A Secret instead of a ConfigMap; both at once are refused.
	render := chartRender(t, layer(withBundle("local", map[string]any{}), map[string]any{"global": map[string]any{"caBundle": map[string]any{"configMap": "", "secret": "corp-ca"}}}), nil)
	volumes := dig(findObject(t, render, "Deployment", "worker"), "spec", "template", "spec", "volumes")
	assert.Contains(t, asList(volumes), map[string]any{"name": "ca-bundle", "secret": map[string]any{
		"secretName": "corp-ca", "items": []any{map[string]any{"key": "bundle.pem", "path": "ca.crt"}}}})
	_, err := renderErr(t, layer(withBundle("local", map[string]any{}), map[string]any{"global": map[string]any{"caBundle": map[string]any{"secret": "other"}}}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "global.caBundle names both a ConfigMap and a Secret")
	_, err = renderErr(t, layer(withBundle("local", map[string]any{}), map[string]any{"worker": map[string]any{"extraEnv": map[string]any{"SSL_CERT_FILE": "/x"}}}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "worker.extraEnv.SSL_CERT_FILE cannot go with global.caBundle")

	// The contract finds a container left out of the trust, and a bundle on no volume.
	broken := chartRender(t, withBundle("local", map[string]any{}), nil)
	frontend := containerNamed(t, broken, "Deployment", "frontend", "frontend")
	frontend["env"] = withoutNamed(frontend["env"], "NODE_EXTRA_CA_CERTS")
	worker := containerNamed(t, broken, "Deployment", "worker", "worker")
	worker["volumeMounts"] = withoutNamed(worker["volumeMounts"], "ca-bundle")
	got := violations(c.Check(broken))
	assert.Contains(t, got, "Deployment/frontend container frontend: trusts the CA bundle through NODE_EXTRA_CA_CERTS (node): not set, while other containers trust "+caFile)
	assert.Contains(t, got, "Deployment/worker container worker: trusts the CA bundle through SSL_CERT_FILE (python): "+caFile+" is on no volume of the container")
}

func findObject(t *testing.T, r contract.Render, kind, name string) map[string]any {
	t.Helper()
	for _, o := range r.Objects {
		if o["kind"] == kind && dig(o, "metadata", "name") == name {
			return o
		}
	}
	t.Fatalf("no %s/%s in the render", kind, name)
	return nil
}

func containerNamed(t *testing.T, r contract.Render, kind, name, container string) map[string]any {
	t.Helper()
	for _, ctr := range asList(dig(findObject(t, r, kind, name), "spec", "template", "spec", "containers")) {
		if dig(ctr, "name") == container {
			return ctr.(map[string]any)
		}
	}
	t.Fatalf("no container %s in %s/%s", container, kind, name)
	return nil
}

func hasEnv(ctr map[string]any, name, value string) bool {
	for _, e := range asList(ctr["env"]) {
		if dig(e, "name") == name && dig(e, "value") == value {
			return true
		}
	}
	return false
}

// withoutNamed is a list of named entries (variables, mounts) less one.
func withoutNamed(entries any, name string) []any {
	var out []any
	for _, e := range asList(entries) {
		if dig(e, "name") != name {
			out = append(out, e)
		}
	}
	return out
}
