package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/contract"
)

// envEntry is one variable of a container, by name (nil when unset), and
// its position in the list.
func envEntry(c map[string]any, name string) (map[string]any, int) {
	for i, e := range c["env"].([]any) {
		if m := e.(map[string]any); m["name"] == name {
			return m, i
		}
	}
	return nil, -1
}

// chartContainer is a container of a rendered workload, by name.
func chartContainer(t *testing.T, objects map[string]map[string]any, workload, name string) map[string]any {
	t.Helper()
	for _, c := range podContainers(podSpec(objects[workload])) {
		if m := c.(map[string]any); m["name"] == name {
			return m
		}
	}
	require.FailNow(t, "no container "+name+" in "+workload)
	return nil
}

// TestSecretKeyRefs: a secret given as a reference is read from that Secret
// and key by every pod that reads it, the chart's Secret no longer holds it,
// and with the Redis password outside the chart the pods compose the broker
// URLs from it. Raw mode and the chart agree.
func TestSecretKeyRefs(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "prod")
	s.unset("secrets.dbPassword")
	s.unset("secrets.redisPassword")
	s.set("secrets.secretKeyRefs", `{"dbPassword":{"name":"rhesis-db","key":"owner-password"},"redisPassword":{"name":"rhesis-redis","key":"password"}}`)
	r, err := run(t, "prod", s)
	require.NoError(t, err, "referenced secrets need no value in the stack")
	objects := assertModesAgree(t, r, "prod with secret references")

	data := objects["Secret/rhesis-secrets"]["stringData"].(map[string]any)
	for _, k := range []string{"ADMIN_DB_PASS", "REDIS_PASSWORD", "BROKER_URL", "CELERY_RESULT_BACKEND"} {
		assert.NotContains(t, data, k, "the chart's Secret holds %s", k)
	}
	assert.Contains(t, data, "SESSION_SECRET_KEY")

	for _, where := range [][2]string{{"Deployment/postgres", "postgres"}, {"CronJob/postgres-backup", "postgres-backup"}, {"Deployment/backend", "prepare-database"}} {
		c := chartContainer(t, objects, where[0], where[1])
		for _, name := range []string{"POSTGRES_PASSWORD", "PGPASSWORD", "ADMIN_DB_PASS"} {
			if e, _ := envEntry(c, name); e != nil {
				assert.Equal(t, map[string]any{"name": "rhesis-db", "key": "owner-password"}, dig(e, "valueFrom", "secretKeyRef"), "%s %s", where, name)
			}
		}
	}
	for _, where := range [][2]string{{"Deployment/redis", "redis"}, {"Deployment/backend", "backend"}, {"Deployment/worker", "worker"}} {
		c := chartContainer(t, objects, where[0], where[1])
		pw, at := envEntry(c, "REDIS_PASSWORD")
		require.NotNil(t, pw, "%s reads no REDIS_PASSWORD", where)
		assert.Equal(t, map[string]any{"name": "rhesis-redis", "key": "password"}, dig(pw, "valueFrom", "secretKeyRef"), "%v", where)
		if where[1] == "redis" {
			continue
		}
		for db, name := range []string{"BROKER_URL", "CELERY_RESULT_BACKEND"} {
			e, i := envEntry(c, name)
			require.NotNil(t, e, "%v %s", where, name)
			assert.Equal(t, "redis://:$(REDIS_PASSWORD)@redis:6379/"+[]string{"0", "1"}[db], e["value"], "%v %s", where, name)
			assert.Greater(t, i, at, "%v: %s must follow REDIS_PASSWORD for Kubernetes to expand it", where, name)
		}
	}

	// The application's contract holds once the referenced Secrets exist.
	render := chartRender(t, r.Config.Values, nil)
	render.Objects = append(render.Objects,
		map[string]any{"kind": "Secret", "metadata": map[string]any{"name": "rhesis-db"}, "stringData": map[string]any{"owner-password": "x"}},
		map[string]any{"kind": "Secret", "metadata": map[string]any{"name": "rhesis-redis"}, "stringData": map[string]any{"password": "y"}})
	c := appContract(t)
	assert.Empty(t, c.Check(render), "%s", violations(c.Check(render)))
	render.Objects = render.Objects[:len(render.Objects)-1]
	assert.NotEmpty(t, c.Check(render), "the checker must see a reference to a Secret nobody made")
}

// TestExternalSecret: with the External Secrets Operator the chart renders
// an ExternalSecret, not a Secret: one entry per key the pods read, from the
// named store. The contract holds against the keys the ExternalSecret writes.
func TestExternalSecret(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "prod")
	for k := range testSecrets {
		s.unset(k)
	}
	s.set("secrets.externalSecret.enabled", "true")
	s.set("secrets.externalSecret.secretStoreRef.name", "vault")
	data := map[string]any{}
	for _, k := range []string{"sessionSecretKey", "jwtSecretKey", "nextauthSecret", "dbEncryptionKey", "dbPassword", "dbAppPassword", "redisPassword", "auditHashKey"} {
		data[k] = map[string]any{"key": "rhesis/prod", "property": k}
	}
	s.put("secrets.externalSecret.data", data)
	r, err := run(t, "prod", s)
	require.NoError(t, err)
	values := r.Config.Values
	objects := chartObjects(t, values)
	assertSameObjects(t, rawObjects(t, r), objects, "prod with an ExternalSecret")
	assert.NotContains(t, objects, "Secret/rhesis-secrets", "the operator owns rhesis-secrets")

	es, ok := objects["ExternalSecret/rhesis-secrets"]
	require.True(t, ok, "no ExternalSecret rendered")
	assert.Equal(t, "external-secrets.io/v1", es["apiVersion"])
	assert.Equal(t, map[string]any{"name": "vault", "kind": "ClusterSecretStore"}, dig(es, "spec", "secretStoreRef"))
	assert.Equal(t, map[string]any{"name": "rhesis-secrets", "creationPolicy": "Owner"}, dig(es, "spec", "target"))
	keys := map[string]any{}
	for _, d := range dig(es, "spec", "data").([]any) {
		keys[dig(d, "secretKey").(string)] = dig(d, "remoteRef", "property")
	}
	assert.Equal(t, map[string]any{
		"SESSION_SECRET_KEY": "sessionSecretKey", "JWT_SECRET_KEY": "jwtSecretKey", "NEXTAUTH_SECRET": "nextauthSecret",
		"DB_ENCRYPTION_KEY": "dbEncryptionKey", "ADMIN_DB_PASS": "dbPassword", "APP_DB_PASS": "dbAppPassword",
		"REDIS_PASSWORD": "redisPassword", "AUDIT_HASH_KEY": "auditHashKey",
	}, keys, "the store holds only primitives: no broker URL")
	assert.Nil(t, dig(objects["Deployment/backend"], "spec", "template", "metadata", "annotations", "checksum/secret"))

	c := appContract(t)
	render := chartRender(t, values, nil)
	assert.Empty(t, c.Check(render), "%s", violations(c.Check(render)))
	// Without the entry for the session key, the backend reads a key the
	// ExternalSecret does not write.
	var cut []map[string]any
	for _, o := range render.Objects {
		if o["kind"] == "ExternalSecret" {
			o = deepCopy(o)
			var kept []any
			for _, d := range dig(o, "spec", "data").([]any) {
				if dig(d, "secretKey") != "SESSION_SECRET_KEY" {
					kept = append(kept, d)
				}
			}
			o["spec"].(map[string]any)["data"] = kept
		}
		cut = append(cut, o)
	}
	assert.NotEmpty(t, c.Check(contract.Render{Objects: cut}))
}

// TestSecretSourcesRefused: a missing store, a key that names no secret, or
// a secret neither set nor sourced is an error before anything is created.
func TestSecretSourcesRefused(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "prod")
	s.set("secrets.externalSecret.enabled", "true")
	assertRefused(t, "prod", s, "secrets.externalSecret.secretStoreRef.name", "is required: the SecretStore or ClusterSecretStore to read from")

	s = stackSettings(t, "prod")
	s.set("secrets.secretKeyRefs", `{"dbPasword":{"name":"rhesis-db","key":"password"}}`)
	assertRefused(t, "prod", s, "secrets.secretKeyRefs.dbPasword", "is not a secret of the chart; the keys are sessionSecretKey")

	s = stackSettings(t, "prod")
	s.set("secrets.secretKeyRefs", `{"dbPassword":{"name":"Rhesis_DB","key":"password"}}`)
	assertRefused(t, "prod", s, "secrets.secretKeyRefs.dbPassword.name", "does not have the expected form")

	s = stackSettings(t, "prod")
	s.unset("secrets.jwtSecretKey")
	s.set("secrets.secretKeyRefs", `{"dbPassword":{"name":"rhesis-db","key":"password"}}`)
	assertRefused(t, "prod", s, "secrets.jwtSecretKey", "is required in prod")
}

// TestChartRefusesSecretSources: plain helm users get the same refusals.
func TestChartRefusesSecretSources(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"a secret neither set nor sourced", externalSecretWithout("auditHashKey"), "secrets.externalSecret.data.auditHashKey is required in prod"},
		{"a key that names no secret", layer(externalSecretValues(), map[string]any{"secrets": map[string]any{
			"secretKeyRefs": map[string]any{"dbPasword": map[string]any{"name": "x", "key": "y"}}}}), "dbPasword"},
		{"extra secrets with the operator", layer(externalSecretValues(), map[string]any{"secrets": map[string]any{
			"extra": map[string]any{"OPENAI_API_KEY": "sk"}}}), "secrets.extra (OPENAI_API_KEY) cannot go with secrets.externalSecret"},
		{"no store", layer(externalSecretValues(), map[string]any{"secrets": map[string]any{
			"externalSecret": map[string]any{"secretStoreRef": map[string]any{"name": ""}}}}), "secrets.externalSecret.secretStoreRef.name is required"},
		{"with an existing Secret", layer(externalSecretValues(), map[string]any{"secrets": map[string]any{"existingSecret": "mine"}}),
			"exclude each other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := render(t, layer(envValues(t, "prod"), tc.values))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, _, err := render(t, layer(envValues(t, "prod"), externalSecretValues()))
	assert.NoError(t, err)
}

func externalSecretWithout(key string) map[string]any {
	v := externalSecretValues()
	delete(v["secrets"].(map[string]any)["externalSecret"].(map[string]any)["data"].(map[string]any), key)
	return v
}
