package tests

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var requiredSecretVars = []string{
	"SESSION_SECRET_KEY", "JWT_SECRET_KEY", "NEXTAUTH_SECRET", "DB_ENCRYPTION_KEY", "APP_DB_PASS", "REDIS_PASSWORD",
}

// TestSecretIsPulumiSecret: the Secret holds every required secret plus the
// broker URLs, and its data is a Pulumi secret (encrypted in state, masked in
// previews).
func TestSecretIsPulumiSecret(t *testing.T) {
	t.Parallel()
	for _, s := range stacks {
		r := mustRun(t, s)
		sec := r.object(t, "Secret", "rhesis-secrets")
		require.True(t, sec.Inputs["stringData"].ContainsSecrets(), "%s: stringData must be a Pulumi secret", s)
		data := dig(sec.Plain(), "stringData").(map[string]any)
		for _, k := range append(requiredSecretVars, "BROKER_URL", "CELERY_RESULT_BACKEND") {
			assert.NotEmpty(t, data[k], "%s: secret %s", s, k)
		}
	}
}

// TestSecretsReferencedByKey: every secret variable of every pod comes from
// the Secret by key, the key exists, and no secret value appears anywhere
// outside the Secret (not in a pod spec, not in the ConfigMap).
func TestSecretsReferencedByKey(t *testing.T) {
	t.Parallel()
	for _, s := range stacks {
		r := mustRun(t, s)
		data := dig(r.object(t, "Secret", "rhesis-secrets").Plain(), "stringData").(map[string]any)
		cm := dig(r.object(t, "ConfigMap", "rhesis-config").Plain(), "data").(map[string]any)
		wantSecretVars := map[string][]string{
			"backend":  {"SESSION_SECRET_KEY", "JWT_SECRET_KEY", "DB_ENCRYPTION_KEY", "APP_DB_PASS", "REDIS_PASSWORD", "BROKER_URL", "CELERY_RESULT_BACKEND"},
			"worker":   {"SESSION_SECRET_KEY", "JWT_SECRET_KEY", "DB_ENCRYPTION_KEY", "APP_DB_PASS", "REDIS_PASSWORD", "BROKER_URL", "CELERY_RESULT_BACKEND"},
			"frontend": {"NEXTAUTH_SECRET"},
			"postgres": {"POSTGRES_PASSWORD"},
			"redis":    {"REDIS_PASSWORD"},
		}
		for _, name := range workloads {
			c := container(r.object(t, "Deployment", name))
			got := map[string]bool{}
			for _, e := range c["env"].([]any) {
				n := dig(e, "name").(string)
				if ref := dig(e, "valueFrom", "secretKeyRef"); ref != nil {
					assert.Equal(t, "rhesis-secrets", dig(ref, "name"), "%s %s", name, n)
					key := dig(ref, "key").(string)
					assert.Contains(t, data, key, "%s %s refers to a missing Secret key", name, n)
					got[n] = true
				}
				if ref := dig(e, "valueFrom", "configMapKeyRef"); ref != nil {
					assert.Equal(t, "rhesis-config", dig(ref, "name"))
					assert.Contains(t, cm, dig(ref, "key"), "%s %s refers to a missing ConfigMap key", name, n)
				}
				for _, secretName := range append(requiredSecretVars, "BROKER_URL", "CELERY_RESULT_BACKEND") {
					if n == secretName {
						assert.Nil(t, dig(e, "value"), "%s sets %s as a literal", name, n)
					}
				}
			}
			for _, v := range wantSecretVars[name] {
				assert.True(t, got[v], "%s: %s must come from the Secret", s, name+" "+v)
			}
		}
		for _, res := range r.kubernetes() {
			if res.Kind() == "Secret" {
				continue
			}
			text := jsonOf(t, res.Plain())
			for k, v := range data {
				assert.NotContains(t, text, v.(string), "%s: %s %v contains the value of %s", s, res.Kind(), res.Name, k)
			}
		}
	}
}

// TestBrokerURLsEscapePassword: a Redis password with @ / : # must not break
// the broker URLs.
func TestBrokerURLsEscapePassword(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "prod") // testSecrets' Redis password is "p@ss/w:rd#1"
	data := dig(r.object(t, "Secret", "rhesis-secrets").Plain(), "stringData").(map[string]any)
	for key, db := range map[string]string{"BROKER_URL": "/0", "CELERY_RESULT_BACKEND": "/1"} {
		raw := data[key].(string)
		u, err := url.Parse(raw)
		require.NoError(t, err, raw)
		pw, _ := u.User.Password()
		assert.Equal(t, "p@ss/w:rd#1", pw, key)
		assert.Equal(t, "redis:6379", u.Host, key)
		assert.Equal(t, db, u.Path, key)
		assert.Equal(t, "redis", u.Scheme, key)
	}
	assert.Equal(t, "redis://:p%40ss%2Fw%3Ard%231@redis:6379/0", data["BROKER_URL"])

	// Every other printable character survives a parse too.
	s := stackSettings(t, "prod")
	odd := "a b+c!$&'()*,;=%?[]~"
	s.setSecret("secrets.redisPassword", odd)
	r, err := run(t, "prod", s)
	require.NoError(t, err)
	u, err := url.Parse(dig(r.object(t, "Secret", "rhesis-secrets").Plain(), "stringData", "BROKER_URL").(string))
	require.NoError(t, err)
	pw, _ := u.User.Password()
	assert.Equal(t, odd, pw)
}

// TestConfigMap checks the non-secret wiring per environment.
func TestConfigMap(t *testing.T) {
	t.Parallel()
	appEnv := map[string]string{"local": "local", "staging": "staging", "prod": "production"}
	for _, s := range stacks {
		r := mustRun(t, s)
		cm := dig(r.object(t, "ConfigMap", "rhesis-config").Plain(), "data").(map[string]any)
		assert.Equal(t, "postgres", cm["DB_HOST"])
		assert.Equal(t, "5432", cm["DB_PORT"])
		assert.Equal(t, "rhesis-db", cm["DB_NAME"])
		assert.Equal(t, "postgresql", cm["DB_DRIVER"])
		assert.Equal(t, "rhesis-app", cm["APP_DB_USER"], "the app runs as its own role, not the database owner")
		assert.NotContains(t, cm, "ADMIN_DB_USER", "the app refuses ADMIN_DB_USER without ADMIN_DB_PASS")
		assert.Equal(t, "redis", cm["REDIS_HOST"])
		assert.Equal(t, "6379", cm["REDIS_PORT"])
		assert.Equal(t, "http://backend:8080", cm["BACKEND_URL"])
		for _, k := range []string{"BACKEND_ENV", "WORKER_ENV", "FRONTEND_ENV"} {
			assert.Equal(t, appEnv[s], cm[k], "%s %s", s, k)
		}
		assert.Equal(t, "8", cm["CELERY_WORKER_CONCURRENCY"])
		assert.Equal(t, "4", cm["CELERY_WORKER_PREFETCH_MULTIPLIER"])
		assert.Equal(t, "1", cm["NEXT_TELEMETRY_DISABLED"])
		for k, v := range cm {
			assert.False(t, strings.Contains(k, "PASS") || strings.Contains(k, "SECRET"), "%s in the ConfigMap: %v", k, v)
		}
		if s == "local" {
			assert.Equal(t, "http://localhost:3000", cm["FRONTEND_URL"])
			assert.Equal(t, "http://localhost:8080", cm["API_BASE_URL"])
		} else {
			assert.Equal(t, "https://"+s+".rhesis.test", cm["FRONTEND_URL"])
			assert.Equal(t, "https://api."+s+".rhesis.test", cm["API_BASE_URL"])
		}
		for _, app := range []string{"backend", "worker", "frontend"} {
			c := container(r.object(t, "Deployment", app))
			assert.Equal(t, "rhesis-config", dig(c, "envFrom", 0, "configMapRef", "name"), app)
		}
		fe := container(r.object(t, "Deployment", "frontend"))
		assert.Equal(t, "0.0.0.0", literal(fe, "HOSTNAME"))
		assert.Equal(t, "3000", literal(fe, "PORT"))
	}
}

// TestRolloutOnConfigChange: pod templates carry digests of the ConfigMap and
// Secret, so a changed value restarts the pods that read it.
func TestRolloutOnConfigChange(t *testing.T) {
	t.Parallel()
	base := mustRun(t, "prod")
	s := stackSettings(t, "prod")
	s.setSecret("secrets.jwtSecretKey", "another-jwt-secret")
	changed, err := run(t, "prod", s)
	require.NoError(t, err)
	annotations := func(r *result) map[string]any {
		return dig(r.object(t, "Deployment", "backend").Plain(), "spec", "template", "metadata", "annotations").(map[string]any)
	}
	assert.Equal(t, annotations(base)["checksum/config"], annotations(changed)["checksum/config"])
	assert.NotEqual(t, annotations(base)["checksum/secret"], annotations(changed)["checksum/secret"])
}

// TestExtraEnvAndSecrets: per-component extra variables are literals on that
// component only; optional secrets reach backend and worker by key.
func TestExtraEnvAndSecrets(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "prod")
	s.set("worker.extraEnv", `{"MODEL_PROXY_URL":"http://proxy.example.com"}`)
	s.setSecret("secrets.extra", `{"OPENAI_API_KEY":"sk-test-123"}`)
	r, err := run(t, "prod", s)
	require.NoError(t, err)
	assert.Equal(t, "http://proxy.example.com", literal(container(r.object(t, "Deployment", "worker")), "MODEL_PROXY_URL"))
	assert.Empty(t, literal(container(r.object(t, "Deployment", "backend")), "MODEL_PROXY_URL"))
	data := dig(r.object(t, "Secret", "rhesis-secrets").Plain(), "stringData").(map[string]any)
	assert.Equal(t, "sk-test-123", data["OPENAI_API_KEY"])
	for _, app := range []string{"backend", "worker"} {
		assert.Equal(t, "OPENAI_API_KEY", secretRef(container(r.object(t, "Deployment", app)), "OPENAI_API_KEY"), app)
	}
	assert.Empty(t, secretRef(container(r.object(t, "Deployment", "frontend")), "OPENAI_API_KEY"))
}

func literal(c map[string]any, name string) any {
	for _, e := range c["env"].([]any) {
		if dig(e, "name") == name {
			return dig(e, "value")
		}
	}
	return nil
}

func secretRef(c map[string]any, name string) any {
	for _, e := range c["env"].([]any) {
		if dig(e, "name") == name {
			return dig(e, "valueFrom", "secretKeyRef", "key")
		}
	}
	return nil
}

// TestDatabaseRoles: with the in-cluster database the app connects as its
// own role (row-level security applies to it, not to the owner, a
// superuser); only the database itself, the migrations, the backup, the
// exporter and the init container that sets the role up get the owner. An
// external database is one role, its operator's.
func TestDatabaseRoles(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "prod")
	s.set("monitoring.enabled", "true")
	r, err := run(t, "prod", s)
	require.NoError(t, err)
	secret := dig(r.object(t, "Secret", "rhesis-secrets").Plain(), "stringData").(map[string]any)
	assert.Equal(t, testSecrets["dbAppPassword"], secret["APP_DB_PASS"])
	assert.Equal(t, testSecrets["dbPassword"], secret["ADMIN_DB_PASS"])

	ownerRef := map[string]any{"name": "ADMIN_DB_PASS", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "rhesis-secrets", "key": "ADMIN_DB_PASS"}}}
	envOf := func(c any) []any { e, _ := dig(c, "env").([]any); return e }
	pg := r.object(t, "Deployment", "postgres").Plain()
	assert.Contains(t, envOf(dig(pg, "spec", "template", "spec", "containers", 0)), map[string]any{"name": "POSTGRES_USER", "value": "rhesis-user"})
	assert.Contains(t, jsonOf(t, dig(pg, "spec", "template", "spec", "containers", 0)), `"key":"ADMIN_DB_PASS"`)
	assert.Contains(t, jsonOf(t, dig(pg, "spec", "template", "spec", "containers", 1)), `"key":"ADMIN_DB_PASS"`, "the exporter")
	backup := r.object(t, "CronJob", "postgres-backup").Plain()
	assert.Contains(t, jsonOf(t, backup), `{"name":"PGUSER","value":"rhesis-user"}`)
	for _, app := range []string{"backend", "worker"} {
		d := r.object(t, "Deployment", app)
		assert.NotContains(t, envNames(container(d)), "ADMIN_DB_PASS", "%s itself never holds the owner's password", app)
		prep := dig(d.Plain(), "spec", "template", "spec", "initContainers", 0)
		assert.Contains(t, envOf(prep), ownerRef, "%s's init container sets the role up as the owner", app)
		assert.Contains(t, envOf(prep), map[string]any{"name": "ADMIN_DB_USER", "value": "rhesis-user"})
	}
	jobs := objectsOf(r, "Job")
	require.Len(t, jobs, 1)
	for _, job := range jobs {
		assert.Contains(t, envOf(dig(job, "spec", "template", "spec", "containers", 0)), ownerRef, "migrations run as the owner")
	}

	ext := stackSettings(t, "prod")
	ext.set("database.external.host", "db.example.com")
	ext.set("database.external.user", "app")
	ext.set("database.external.maxConnections", "2830")
	ext.set("backup.enabled", "false")
	ext.unset("secrets.dbAppPassword")
	r, err = run(t, "prod", ext)
	require.NoError(t, err, "an external database needs no dbAppPassword")
	secret = dig(r.object(t, "Secret", "rhesis-secrets").Plain(), "stringData").(map[string]any)
	assert.Equal(t, testSecrets["dbPassword"], secret["APP_DB_PASS"])
	assert.NotContains(t, secret, "ADMIN_DB_PASS")
	assert.Equal(t, "app", dig(r.object(t, "ConfigMap", "rhesis-config").Plain(), "data", "APP_DB_USER"))
	backend := r.object(t, "Deployment", "backend")
	assert.NotContains(t, envNames(container(backend)), "ADMIN_DB_PASS")
	assert.NotContains(t, jsonOf(t, dig(backend.Plain(), "spec", "template", "spec", "initContainers", 0, "env")), "ADMIN_DB")
}

// TestDatabaseAdmitsEveryConnection: the in-cluster PostgreSQL's
// max_connections is the sum of what backend and worker can open, a smaller
// setting is refused with the sum, and so is a worker whose threads exceed
// its process's pool.
func TestDatabaseAdmitsEveryConnection(t *testing.T) {
	t.Parallel()
	// serverArgs runs env with the settings (key, value, ...) and returns the server's args.
	serverArgs := func(env string, set ...string) ([]any, error) {
		s := stackSettings(t, env)
		for i := 0; i+1 < len(set); i += 2 {
			s.set(set[i], set[i+1])
		}
		r, err := run(t, env, s)
		if err != nil {
			return nil, err
		}
		return dig(container(r.object(t, "Deployment", "postgres")), "args").([]any), nil
	}
	want := func(n string) []any { return []any{"postgres", "-c", "max_connections=" + n} }
	for _, tc := range []struct {
		env  string
		set  []string
		want []any
	}{
		// The sum up to a multiple of 500; prod: backend (2 x 6 + 1) pods x 4 processes x 30 + worker (2 x 10 + 1) pods x 2 x 30 + 10.
		{"prod", nil, want("3000")},
		// local: backend (2 x 1 + 1) x 1 uvicorn process x 30 + worker (2 x 1 + 1) x 2 x 30 + 10.
		{"local", nil, want("500")},
		// A second worker (400) stays within the step: the database is not restarted.
		{"local", []string{"worker.replicas", "2"}, want("500")},
		// Lower maxima: 13 x 1 x 30 + 13 x 2 x 30 + 10, admitted as set.
		{"prod", []string{"backend.workers", "1", "worker.autoscaling.maxReplicas", "6", "database.postgresql.maxConnections", "1180"}, want("1180")},
	} {
		got, err := serverArgs(tc.env, tc.set...)
		require.NoError(t, err, "%s %v", tc.env, tc.set)
		assert.Equal(t, tc.want, got, "%s %v", tc.env, tc.set)
	}
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"database.postgresql.maxConnections", "500"}, "database.postgresql.maxConnections: is 500, but backend and worker can open 2830 connections (backend (2 x 6 + 1) pods x 4 processes x 30 + worker (2 x 10 + 1) pods x 2 processes x 30 + 10 for jobs and tools"},
		{[]string{"database.postgresql.maxConnections", "500", "backend.workers", "1", "worker.autoscaling.maxReplicas", "6"}, "can open 1180 connections"},
		{[]string{"worker.concurrency", "31"}, "worker.concurrency"},
	} {
		_, err := serverArgs("prod", tc.set...)
		require.ErrorContains(t, err, tc.want, "%v", tc.set)
	}
}
