package tests

import (
	"fmt"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"

	"github.com/rhesis-ai/rhesis-deploy/config"
)

// TestChartLints runs Helm's linter (strict) with each values file.
func TestChartLints(t *testing.T) {
	t.Parallel()
	for _, env := range stacks {
		t.Run(env, func(t *testing.T) {
			lint := action.NewLint()
			lint.Strict = true
			lint.Namespace = "rhesis"
			res := lint.Run([]string{chartDir(t)}, envValues(t, env))
			for _, m := range res.Messages {
				t.Log(m)
			}
			assert.Empty(t, res.Errors)
			assert.Equal(t, 1, res.TotalChartsLinted)
		})
	}
}

// TestChartRendersEveryEnvironment renders with each values file and checks
// the objects and what differs per environment.
func TestChartRendersEveryEnvironment(t *testing.T) {
	t.Parallel()
	// Autoscaled Deployments (prod's apps) have no replicas of the chart's.
	want := map[string]map[string]any{
		"local":   {"frontend": 1.0, "backend": 1.0, "worker": 1.0, "postgres": 1.0, "redis": 1.0},
		"staging": {"frontend": 2.0, "backend": 2.0, "worker": 3.0, "postgres": 1.0, "redis": 1.0},
		"prod":    {"frontend": nil, "backend": nil, "worker": nil, "postgres": 1.0, "redis": 1.0},
	}
	for _, env := range stacks {
		t.Run(env, func(t *testing.T) {
			ms, notes, err := render(t, envValues(t, env))
			require.NoError(t, err)
			var kinds []string
			for _, m := range ms {
				if m.Annotation("helm.sh/hook") != "" {
					continue
				}
				kinds = append(kinds, spelled(m.Kind()+"/"+m.Name()))
				assert.Equal(t, "rhesis", dig(m.Object, "metadata", "namespace"), m.Kind()+"/"+m.Name())
				if m.Kind() == "Deployment" {
					assert.Equal(t, want[env][m.Name()], dig(m.Object, "spec", "replicas"), m.Name())
				}
			}
			sort.Strings(kinds)
			assert.Equal(t, expectedObjects(env), kinds)
			// NOTES.txt names the real namespace and the same forwards as the stack outputs.
			assert.Contains(t, notes, "kubectl port-forward -n rhesis svc/frontend 3000:3000")
			assert.Contains(t, notes, "kubectl port-forward -n rhesis svc/backend 8080:8080")
			assert.Contains(t, notes, "kubectl port-forward -n rhesis svc/worker 8081:8080")
			assert.NotContains(t, notes, "-n  ")
			if env != "local" {
				assert.Contains(t, notes, "Open https://"+env+".rhesis.test (API: https://api."+env+".rhesis.test)")
			}
		})
	}
}

// expectedObjects are the objects (but hooks) each environment renders; the
// migration Job is one of them, not a hook.
func expectedObjects(env string) []string {
	objects := []string{"ConfigMap/rhesis-config", "Secret/rhesis-secrets",
		"NetworkPolicy/default-deny", "NetworkPolicy/allow-dns", "NetworkPolicy/helm-test", "NetworkPolicy/migrate",
		"PersistentVolumeClaim/postgres-pvc", "PersistentVolumeClaim/app-storage", "ServiceAccount/migrate",
		"Job/" + migrationJobSpelled}
	for _, c := range workloads {
		objects = append(objects, "Deployment/"+c, "Service/"+c, "ServiceAccount/"+c, "NetworkPolicy/"+c)
	}
	if env != "local" {
		objects = append(objects, "PersistentVolumeClaim/redis-pvc", "Ingress/rhesis",
			"PodDisruptionBudget/frontend", "PodDisruptionBudget/backend", "PodDisruptionBudget/worker")
	}
	if env == "prod" {
		objects = append(objects, "HorizontalPodAutoscaler/frontend", "HorizontalPodAutoscaler/backend", "HorizontalPodAutoscaler/worker",
			"CronJob/postgres-backup", "PersistentVolumeClaim/postgres-backup", "ServiceAccount/postgres-backup", "NetworkPolicy/postgres-backup")
	}
	sort.Strings(objects)
	return objects
}

// TestChartHelmTestPod: `helm test` checks the backend's /health with a pod
// Pod Security "restricted" admits.
func TestChartHelmTestPod(t *testing.T) {
	t.Parallel()
	ms := mustRender(t, envValues(t, "local"))
	var pod map[string]any
	for _, m := range ms {
		if m.Annotation("helm.sh/hook") != "" {
			pod = m.Object
		}
	}
	require.NotNil(t, pod, "no helm test hook")
	assert.Equal(t, "test", dig(pod, "metadata", "annotations", "helm.sh/hook"))
	assert.Contains(t, dig(pod, "spec", "containers", 0, "command"), "http://backend:8080/health")
	assert.Equal(t, true, dig(pod, "spec", "securityContext", "runAsNonRoot"))
	assert.Equal(t, false, dig(pod, "spec", "containers", 0, "securityContext", "allowPrivilegeEscalation"))
}

// TestChartSchemaRejectsBadValues: values.schema.json refuses each kind of
// mistake with a message naming the key.
func TestChartSchemaRejectsBadValues(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		values map[string]any
		key    string
	}{
		{"unknown environment", map[string]any{"global": map[string]any{"environment": "dev"}}, "environment"},
		{"negative replicas", map[string]any{"backend": map[string]any{"replicas": -1}}, "replicas"},
		{"replicas not a number", map[string]any{"worker": map[string]any{"replicas": "two"}}, "replicas"},
		{"quantity that does not parse", map[string]any{"backend": map[string]any{"resources": map[string]any{"requests": map[string]any{"cpu": "lots"}}}}, "cpu"},
		{"unknown pull policy", map[string]any{"frontend": map[string]any{"image": map[string]any{"pullPolicy": "Sometimes"}}}, "pullPolicy"},
		{"misspelt key", map[string]any{"backend": map[string]any{"replica": 2}}, "replica"},
		{"URL without scheme", map[string]any{"global": map[string]any{"frontendUrl": "rhesis.example.com"}}, "frontendUrl"},
		{"two postgres replicas", map[string]any{"database": map[string]any{"postgresql": map[string]any{"replicas": 2}}}, "replicas"},
		{"not a Fernet key", map[string]any{"secrets": map[string]any{"dbEncryptionKey": "short"}}, "dbEncryptionKey"},
		{"extra env overriding the wiring", map[string]any{"backend": map[string]any{"extraEnv": map[string]any{"DB_HOST": "x"}}}, "DB_HOST"},
		{"unsupported database", map[string]any{"database": map[string]any{"type": "mysql"}}, "type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := render(t, layer(envValues(t, "local"), c.values))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "values don't meet the specifications of the schema")
			assert.Contains(t, err.Error(), c.key)
		})
	}
}

// TestChartRefusesIncompleteEnvironments: what the schema cannot express is
// checked by the templates, every problem at once.
func TestChartRefusesIncompleteEnvironments(t *testing.T) {
	t.Parallel()
	_, _, err := render(t, valuesFile(t, "values-prod.yaml"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ingress.className is required while the ingress is on")
	for _, k := range []string{"ingress.host", "secrets.sessionSecretKey", "secrets.jwtSecretKey", "secrets.nextauthSecret",
		"secrets.dbEncryptionKey", "secrets.dbPassword", "secrets.redisPassword", "secrets.auditHashKey"} {
		assert.Contains(t, err.Error(), k+" is required in prod")
	}
	// The release defaults to the chart's appVersion; ReadWriteMany needs a class.
	assert.NotContains(t, err.Error(), "global.imageTag")
	assert.Contains(t, err.Error(), "storage.storageClass is required with storage.accessMode=ReadWriteMany")
	_, _, err = render(t, layer(envValues(t, "prod"), map[string]any{
		"database": map[string]any{"postgresql": map[string]any{"persistence": map[string]any{"enabled": false}}}}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "database.postgresql.persistence.enabled must be true in prod")

	// An existing Secret replaces the secret values; pods read it by name.
	ms := mustRender(t, layer(valuesFile(t, "values-prod.yaml"), map[string]any{
		"global":  map[string]any{"imageTag": "0.12.0"},
		"ingress": map[string]any{"host": "r.test", "clusterIssuer": "letsencrypt", "className": "nginx"},
		"storage": map[string]any{"storageClass": "nfs"},
		"secrets": map[string]any{"existingSecret": "my-secrets"},
	}))
	for _, m := range ms {
		assert.NotEqual(t, "Secret", m.Kind(), "the chart must not create a Secret")
		if m.Kind() == "Deployment" {
			assert.NotContains(t, jsonOf(t, m.Object), `"rhesis-secrets"`, m.Name())
		}
	}
	assert.Contains(t, jsonOf(t, ms), `"my-secrets"`)
}

// envVarName is the form of the variables the chart sets.
var envVarName = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

// TestSchemaKnowsTheProgramsWiring: the schema refuses in extraEnv every
// variable the chart itself gives the applications (their env and the
// ConfigMap and Secret they read), so two sources never disagree silently.
func TestSchemaKnowsTheProgramsWiring(t *testing.T) {
	t.Parallel()
	c, err := loader.Load(chartDir(t))
	require.NoError(t, err)
	managed := map[string]bool{}
	for _, m := range mustRender(t, envValues(t, "prod")) {
		switch m.Kind() {
		case "ConfigMap", "Secret":
			for _, field := range []string{"data", "stringData"} {
				if data, ok := m.Field(field).(map[string]any); ok {
					for k := range data {
						managed[k] = true
					}
				}
			}
		case "Deployment":
			for _, ctr := range podContainers(podSpec(m.Object)) {
				for _, e := range asList(dig(ctr, "env")) {
					managed[dig(e, "name").(string)] = true
				}
			}
		}
	}
	require.Contains(t, managed, "DB_HOST")
	for name := range managed {
		if !envVarName.MatchString(name) {
			continue // a file the ConfigMap carries, not a variable
		}
		err := chartutil.ValidateAgainstSchema(c, layer(c.Values, map[string]any{
			"worker": map[string]any{"extraEnv": map[string]any{name: "x"}}}))
		assert.Error(t, err, "schema accepts %s in extraEnv", name)
	}
	assert.NoError(t, chartutil.ValidateAgainstSchema(c, layer(c.Values, map[string]any{
		"worker": map[string]any{"extraEnv": map[string]any{"MODEL_PROXY_URL": "x"}}})))
}

// TestEveryValuesKeyIsRead changes each leaf of every values file, one at a
// time, and renders: a key whose change alters nothing is read by no template.
func TestEveryValuesKeyIsRead(t *testing.T) {
	t.Parallel()
	// Start from every key with a value (values.yaml under each environment's
	// file), so each mutation changes a value the templates would see; a key
	// read only in some environment (a volume size with persistence off) is
	// read if its change shows in any of them.
	bases := map[string]map[string]any{}
	for _, env := range stacks {
		bases[env] = layer(valuesFile(t, "values.yaml"), envValues(t, env))
	}
	// Keys read only while a feature is on: external stores, monitoring.
	bases["external"] = layer(bases["prod"], map[string]any{
		"backup":   map[string]any{"enabled": false},
		"database": map[string]any{"external": map[string]any{"host": "db.example.com", "maxConnections": 2830}},
		"redis":    map[string]any{"external": map[string]any{"host": "cache.example.com"}},
	})
	bases["monitoring"] = layer(bases["prod"], map[string]any{"monitoring": map[string]any{"enabled": true,
		"dashboards": map[string]any{"annotations": map[string]any{"grafana_folder": "Rhesis"}, "grafanaOperator": map[string]any{"enabled": true}}},
		"backup": map[string]any{"enabled": true}, "ingress": map[string]any{"clusterIssuer": "letsencrypt"}})
	bases["externalSecret"] = layer(bases["prod"], externalSecretValues())
	bases["gateway"] = layer(bases["prod"], gatewayValues())
	bases["keda"] = layer(bases["prod"], map[string]any{"worker": map[string]any{"keda": map[string]any{"enabled": true}}})
	bases["options"] = layer(bases["local"], optionValues())
	bases["offsite"] = layer(bases["prod"], offsiteValues())
	bases["cloudnativepg"] = layer(bases["prod"], cloudnativepgValues(), recoveryValues())
	// The bases in a fixed order, the most common first: most keys show in local.
	order := []string{"local", "staging", "prod", "external", "monitoring", "externalSecret", "gateway", "keda", "options", "offsite", "cloudnativepg"}
	require.Len(t, order, len(bases))
	baselines := map[string]string{}
	for name, base := range bases {
		baselines[name] = renderText(t, base)
	}
	checked := map[string]bool{}
	var paths []string
	files := map[string]string{}
	for _, file := range []string{"values.yaml", "values-local.yaml", "values-staging.yaml", "values-prod.yaml"} {
		for _, path := range leafPaths(valuesFile(t, file), "") {
			if !checked[path] {
				checked[path] = true
				paths = append(paths, path)
				files[path] = file
			}
		}
	}
	// Each path renders on its own, so the paths run on every core.
	read := make([]bool, len(paths))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				for _, name := range order {
					text, err := renderErr(t, mutate(bases[name], paths[i]))
					// A failed render also shows the key was read.
					if err != nil || text != baselines[name] {
						read[i] = true
						break
					}
				}
			}
		})
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, path := range paths {
		assert.True(t, read[i], "values key %s (in %s) is read by no template", path, files[path])
	}
	assert.Greater(t, len(checked), 60)
}

// offsiteValues turn on off-site backups and render the restore Job.
func offsiteValues() map[string]any {
	return map[string]any{"backup": map[string]any{
		"remote": map[string]any{"url": "s3://rhesis-backups/prod", "endpoint": "https://s3.example.com", "region": "eu-central-1",
			"credentialsSecret": "offsite-credentials"},
		"encryption": map[string]any{"passphrase": map[string]any{"name": "rhesis-backup-key", "key": "passphrase"}},
		"restore":    map[string]any{"object": "latest"},
	}}
}

// optionValues turn on the options that read keys of their own: Google
// Cloud Storage, SSO, mail.
func optionValues() map[string]any {
	return map[string]any{
		"storage": map[string]any{"uri": "gs://rhesis-files"},
		"sso":     map[string]any{"enabled": true},
		"smtp":    map[string]any{"host": "smtp.example.com", "user": "rhesis", "from": "rhesis@example.com", "assetBaseUrl": "https://assets.example.com"},
		"secrets": map[string]any{"storageServiceAccountKey": "e30=", "ssoEncryptionKey": "c3NvLWtleS1mb3ItdGVzdHMtMzItYnl0ZXMtbG9uZyE=", "smtpPassword": "relay"},
		"global":  map[string]any{"caBundle": map[string]any{"configMap": "corp-ca"}},
	}
}

func renderText(t *testing.T, v map[string]any) string {
	t.Helper()
	s, err := renderErr(t, v)
	require.NoError(t, err)
	return s
}

// schemaless is the chart without its schema, loaded once: renderErr runs
// hundreds of times, from several goroutines (a render only reads it).
var (
	schemalessOnce  sync.Once
	schemaless      *chart.Chart
	schemalessError error
)

func schemalessChart(t *testing.T) *chart.Chart {
	schemalessOnce.Do(func() {
		schemaless, schemalessError = loader.Load(chartDir(t))
		if schemalessError == nil {
			schemaless.Schema = nil
		}
	})
	if schemalessError != nil {
		panic(schemalessError) // from a worker goroutine, where t.FailNow may not run
	}
	return schemaless
}

// renderErr renders without schema validation, so a mutated value reaches the templates.
func renderErr(t *testing.T, v map[string]any) (string, error) {
	t.Helper()
	c := schemalessChart(t)
	// A cluster serving KEDA's API too, and an upgrade of a release whose
	// backup CronJob is there, so keys read only then count.
	caps := chartutil.DefaultCapabilities.Copy()
	caps.APIVersions = append(caps.APIVersions, kedaAPI)
	vals, err := chartutil.ToRenderValues(c, v, chartutil.ReleaseOptions{Name: "rhesis", Namespace: "rhesis", IsUpgrade: true, Revision: 2}, caps)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	files, err := engine.RenderWithClientProvider(c, vals, cluster(t, "postgres-backup"))
	for _, k := range sortedKeysOf(files) {
		b.WriteString(k + "\n" + files[k])
	}
	return b.String(), err
}

func leafPaths(m map[string]any, prefix string) []string {
	var out []string
	for k, v := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			out = append(out, leafPaths(sub, p)...)
		} else {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// mutate returns a copy of v with the leaf at path changed to another value
// of its type. It runs on worker goroutines, where t.FailNow may not: an
// unexpected type panics.
func mutate(v map[string]any, path string) map[string]any {
	out := deepCopy(v)
	var changed any
	switch old := config.Lookup(out, path).(type) {
	case bool:
		changed = !old
	case float64:
		changed = old + 1
	case string:
		changed = old + "x"
	case map[string]any:
		changed = map[string]any{"ZZ_PROBE": "1"}
	case []any:
		changed = append(append([]any{}, old...), "zz-probe")
	case nil:
		changed = "x" // present in another values file only
	default:
		panic(fmt.Sprintf("unexpected value type %T at %s", old, path))
	}
	config.SetPath(out, path, changed)
	return out
}

// TestChartRefusesUnsafeHardening: plain `helm install` users get the same
// refusals as `pulumi up` for the production settings.
func TestChartRefusesUnsafeHardening(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"prod ingress without TLS", map[string]any{"ingress": map[string]any{"tlsSecret": ""}},
			"ingress.tlsSecret or ingress.clusterIssuer is required in prod"},
		{"API on a host and a path", map[string]any{"ingress": map[string]any{"apiHost": "api.x.test", "apiPath": "/backend"}},
			"ingress.apiHost and ingress.apiPath exclude each other"},
		{"backup of an external database", map[string]any{"database": map[string]any{"external": map[string]any{"host": "db.example.com"}}},
			"an external one is backed up by its provider"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := render(t, layer(envValues(t, "prod"), c.values))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	// The schema refuses an API path that would shadow the frontend's /api
	// (NextAuth) and an unknown access mode.
	for _, bad := range []map[string]any{
		{"ingress": map[string]any{"apiPath": "/api"}},
		{"storage": map[string]any{"accessMode": "ReadWriteSometimes"}},
		{"backend": map[string]any{"autoscaling": map[string]any{"targetCPUUtilization": 150}}},
	} {
		_, _, err := render(t, layer(envValues(t, "staging"), bad))
		assert.Error(t, err, "%v", bad)
	}
}

// externalSecretValues take every secret from an External Secrets Operator
// store: what a platform team with Vault behind a ClusterSecretStore sets.
func externalSecretValues() map[string]any {
	data := map[string]any{}
	for _, k := range requiredSecrets {
		data[k] = map[string]any{"key": "rhesis/prod", "property": k}
	}
	return map[string]any{"secrets": map[string]any{
		"sessionSecretKey": "", "jwtSecretKey": "", "nextauthSecret": "", "dbEncryptionKey": "", "dbPassword": "",
		"dbAppPassword": "", "redisPassword": "", "auditHashKey": "",
		"externalSecret": map[string]any{
			"enabled": true, "secretStoreRef": map[string]any{"name": "vault", "kind": "ClusterSecretStore"}, "data": data,
		},
	}}
}

// gatewayValues publish prod through Gateway API routes instead of the Ingress.
func gatewayValues() map[string]any {
	return map[string]any{
		"ingress": map[string]any{"enabled": false},
		"gateway": map[string]any{"enabled": true, "host": "rhesis.example.com", "namespace": "envoy-gateway-system",
			"parentRefs":  []any{map[string]any{"name": "public", "namespace": "gateway-system", "sectionName": "https"}},
			"annotations": map[string]any{"team": "platform"}},
	}
}

// TestTelemetrySwitch: global.telemetry is OTEL_RHESIS_TELEMETRY_ENABLED of
// the applications, off unless set (the app's own default since 0.13.0).
func TestTelemetrySwitch(t *testing.T) {
	t.Parallel()
	for on, want := range map[bool]string{false: "false", true: "true"} {
		objects := chartObjects(t, layer(envValues(t, "prod"), map[string]any{"global": map[string]any{"telemetry": on}}))
		assert.Equal(t, want, dig(objects["ConfigMap/rhesis-config"], "data", "OTEL_RHESIS_TELEMETRY_ENABLED"))
	}
	s := stackSettings(t, "prod")
	s.set("global.telemetry", "true")
	r, err := run(t, "prod", s)
	require.NoError(t, err)
	assert.Equal(t, "true", dig(r.object(t, "ConfigMap", "rhesis-config").Plain(), "data", "OTEL_RHESIS_TELEMETRY_ENABLED"))
}

// TestBrowserURLsFollowTheHost: unset, the browser URLs follow the public
// host in every environment, local included; with no host, local uses the
// ports forwarded to localhost; set, they win.
func TestBrowserURLsFollowTheHost(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "local")
	s.set("ingress.enabled", "true")
	s.set("ingress.className", "nginx")
	s.set("ingress.host", "rhesis.local.test")
	r, err := run(t, "local", s)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"frontend": "http://rhesis.local.test", "api": "http://api.rhesis.local.test"}, r.Outputs["publicUrls"])

	r = mustRun(t, "local")
	assert.Equal(t, map[string]any{"frontend": "http://localhost:3000", "api": "http://localhost:8080"}, r.Outputs["publicUrls"])

	s.set("global.frontendUrl", "https://rhesis.example.com")
	r, err = run(t, "local", s)
	require.NoError(t, err)
	assert.Equal(t, "https://rhesis.example.com", dig(r.Outputs, "publicUrls", "frontend"))
}
