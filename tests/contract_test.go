package tests

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/contract"
)

// appContract is the contract of the release the chart pins.
func appContract(t *testing.T) *contract.Contract {
	t.Helper()
	c, err := contract.Load(repoRoot(t), charts.RhesisRelease)
	require.NoError(t, err)
	return c
}

// contractVariants are the stacks and settings every render is checked in.
func contractVariants(t *testing.T) map[string]settings {
	v := map[string]settings{}
	for _, s := range stacks {
		v[s] = stackSettings(t, s)
	}
	for _, variant := range []struct {
		name, env string
		set       map[string]string
		secrets   map[string]string
	}{
		{"prod with monitoring", "prod", map[string]string{"monitoring.enabled": "true"}, nil},
		{"prod with external stores", "prod", map[string]string{
			"database.external.host": "db.example.com", "redis.external.host": "cache.example.com", "backup.enabled": "false",
			"database.external.maxConnections": "2830"}, nil},
		{"staging with Google Cloud Storage", "staging", map[string]string{"storage.uri": "gs://rhesis-files"},
			map[string]string{"secrets.storageServiceAccountKey": "eyJ0eXBlIjoic2VydmljZV9hY2NvdW50In0="}},
		{"prod with SSO, mail and other models", "prod", map[string]string{
			"sso.enabled": "true", "smtp.host": "smtp.example.com", "smtp.user": "rhesis", "smtp.from": "Rhesis <rhesis@example.com>",
			"models.generation": "openai/gpt-4o", "models.embedding": "openai/text-embedding-3-small"},
			map[string]string{"secrets.ssoEncryptionKey": "c3NvLWtleS1mb3ItdGVzdHMtMzItYnl0ZXMtbG9uZyE=", "secrets.smtpPassword": "relay-password",
				"secrets.license": "test-license", "secrets.extra.OPENAI_API_KEY": "sk-test"}},
		{"staging with ingress.apiPath", "staging", map[string]string{"ingress.apiPath": "/backend", "ingress.apiHost": ""}, nil},
		{"local without the migration Job", "local", map[string]string{"migrations.enabled": "false"}, nil},
	} {
		s := stackSettings(t, variant.env)
		for k, value := range variant.set {
			s.set(k, value)
		}
		for k, value := range variant.secrets {
			s.setSecret(k, value)
		}
		v[variant.name] = s
	}
	v["local with built images"] = buildSettings(t, "local", rhesisCheckout(t))
	v["prod with built images"] = buildSettings(t, "prod", rhesisCheckout(t))
	return v
}

func builtRefs(r *result) map[string]bool {
	out := map[string]bool{}
	for _, b := range r.Config.Config.ImageBuilds(r.Config.Rendered.Objects) {
		out[b.Ref] = true
	}
	return out
}

func plainObjects(t *testing.T, objs []map[string]any) []map[string]any {
	t.Helper()
	// One JSON round trip: numbers and lists as encoding/json gives them.
	raw, err := json.Marshal(objs)
	require.NoError(t, err)
	var out []map[string]any
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

func rawRender(t *testing.T, r *result) contract.Render {
	var objs []map[string]any
	for _, res := range r.kubernetes() {
		obj := res.Plain()
		obj["kind"] = res.Kind()
		objs = append(objs, obj)
	}
	return contract.Render{Objects: plainObjects(t, objs), Built: builtRefs(r)}
}

func chartRender(t *testing.T, values map[string]any, built map[string]bool) contract.Render {
	var objs []map[string]any
	for _, m := range mustRender(t, values) {
		if dig(m.Object, "metadata", "annotations", "helm.sh/hook") == "test" {
			continue
		}
		objs = append(objs, m.Object)
	}
	return contract.Render{Objects: plainObjects(t, objs), Built: built}
}

// assertEnvOnce: no container sets a variable twice (Kubernetes takes the
// last, silently).
func assertEnvOnce(t *testing.T, r contract.Render) {
	t.Helper()
	for _, o := range r.Objects {
		for _, c := range podContainers(podSpec(o)) {
			seen := map[string]bool{}
			env, _ := dig(c, "env").([]any)
			for _, e := range env {
				name := fmt.Sprint(dig(e, "name"))
				assert.False(t, seen[name], "%v/%v container %v sets %s twice", o["kind"], dig(o, "metadata", "name"), dig(c, "name"), name)
				seen[name] = true
			}
		}
	}
}

func violations(vs []contract.Violation) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintln(&b, "  -", v)
	}
	return b.String()
}

// TestEveryRenderKeepsTheAppContract: raw mode and the chart (with the
// values the program computes), in every environment and variant, and the
// chart with each values file as plain helm users install it, run what the
// pinned release's code needs.
func TestEveryRenderKeepsTheAppContract(t *testing.T) {
	t.Parallel()
	c := appContract(t)
	for name, s := range contractVariants(t) {
		t.Run(name, func(t *testing.T) {
			stackName := strings.Fields(name)[0]
			r, err := run(t, stackName, s)
			require.NoError(t, err)
			raw := rawRender(t, r)
			require.NotEmpty(t, raw.Objects)
			assert.Empty(t, c.Check(raw), "raw mode:\n%s", violations(c.Check(raw)))
			chart := chartRender(t, r.Config.Values, raw.Built)
			assert.Empty(t, c.Check(chart), "chart:\n%s", violations(c.Check(chart)))
			assertEnvOnce(t, raw)
			assertEnvOnce(t, chart)
		})
	}
	for _, env := range stacks {
		t.Run("values-"+env+".yaml", func(t *testing.T) {
			chart := chartRender(t, envValues(t, env), nil)
			assert.Empty(t, c.Check(chart), "%s", violations(c.Check(chart)))
		})
	}
}

// TestContractFindsTheDefects: the checks fail on the defects the contract
// was written to catch, each named with its contract item and source line.
func TestContractFindsTheDefects(t *testing.T) {
	t.Parallel()
	c := appContract(t)
	base := func() contract.Render { return rawRender(t, mustRun(t, "prod")) }
	find := func(r contract.Render, object string) map[string]any {
		for _, o := range r.Objects {
			if fmt.Sprint(o["kind"])+"/"+fmt.Sprint(dig(o, "metadata", "name")) == object {
				return o
			}
		}
		t.Fatalf("no %s in the render", object)
		return nil
	}
	container := func(o map[string]any, field string) map[string]any {
		return dig(o, "spec", "template", "spec", field, 0).(map[string]any)
	}
	migration := func(r contract.Render) map[string]any {
		for _, o := range r.Objects {
			if o["kind"] == "Job" {
				return o
			}
		}
		t.Fatal("no migration Job")
		return nil
	}
	cases := []struct {
		name   string
		break_ func(r contract.Render)
		want   []string
	}{
		{"prod backend without AUDIT_HASH_KEY", func(r contract.Render) {
			b := container(find(r, "Deployment/backend"), "containers")
			var env []any
			for _, e := range b["env"].([]any) {
				if dig(e, "name") != "AUDIT_HASH_KEY" {
					env = append(env, e)
				}
			}
			b["env"] = env
		}, []string{"Deployment/backend container backend: requires AUDIT_HASH_KEY: not set (contract: ee/backend/src/rhesis/backend/ee/__init__.py:121-126)"}},
		{"a migrate image nobody publishes", func(r contract.Render) {
			container(migration(r), "containers")["image"] = "ghcr.io/rhesis-ai/migrate:" + release
		}, []string{"container migrate: image backend: runs ghcr.io/rhesis-ai/migrate:" + release + ", which is neither the published ghcr.io/rhesis-ai/backend:" + release}},
		{"the backend image without ./migrate.sh as command", func(r contract.Render) {
			delete(container(migration(r), "containers"), "command")
		}, []string{`container migrate: command ./migrate.sh: runs "./start.sh" (contract: apps/backend/Dockerfile:221)`}},
		{"the migration Job as a post-install hook", func(r contract.Render) {
			migration(r)["metadata"].(map[string]any)["annotations"] = map[string]any{"helm.sh/hook": "post-install,pre-upgrade"}
		}, []string{"container migrate: start order: is the Helm hook post-install,pre-upgrade"}},
		{"backend starting without waiting for the migrations", func(r contract.Render) {
			delete(find(r, "Deployment/backend")["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any), "initContainers")
		}, []string{"Deployment/backend container backend: start order: starts without waiting for the migrations"}},
		{"ReadWriteMany on the default class", func(r contract.Render) {
			delete(find(r, "PersistentVolumeClaim/app-storage")["spec"].(map[string]any), "storageClassName")
		}, []string{"PersistentVolumeClaim/app-storage: shared storage: ReadWriteMany on the default StorageClass"}},
		{"a frontend probe on a path that is no health route", func(r contract.Render) {
			container(find(r, "Deployment/frontend"), "containers")["readinessProbe"] = map[string]any{"httpGet": map[string]any{"path": "/api/status", "port": "http"}}
		}, []string{"Deployment/frontend container frontend: health paths: readinessProbe asks /api/status"}},
		{"a secret key the Secret does not have", func(r contract.Render) {
			for _, o := range r.Objects {
				if o["kind"] == "Secret" {
					delete(o["stringData"].(map[string]any), "SESSION_SECRET_KEY")
				}
			}
		}, []string{"Deployment/worker container worker: requires SESSION_SECRET_KEY: from Secret rhesis-secrets key SESSION_SECRET_KEY, which the render does not have"}},
		{"the worker's health server open to other pods", func(r contract.Render) {
			for _, o := range r.Objects {
				if o["kind"] == "NetworkPolicy" && dig(o, "spec", "podSelector", "matchLabels", "app") == "worker" {
					o["spec"].(map[string]any)["ingress"] = []any{map[string]any{}}
				}
			}
		}, []string{"Deployment/worker container worker: exposes /debug/env: no NetworkPolicy keeps other pods away from it"}},
		{"ingress-nginx's default limits", func(r contract.Render) {
			find(r, "Ingress/rhesis")["metadata"].(map[string]any)["annotations"] = map[string]any{}
		}, []string{
			"Ingress/rhesis: uploads of 20971520 bytes: proxy-body-size lets 1048576 bytes through (contract: apps/backend/src/rhesis/backend/app/routers/file.py:52-54)",
			"Ingress/rhesis: waits of 300 s: proxy-read-timeout is 60 s",
		}},
		{"the app as the database's owner", func(r contract.Render) {
			for _, o := range r.Objects {
				if o["kind"] == "ConfigMap" {
					o["data"].(map[string]any)["APP_DB_USER"] = "rhesis-user"
				}
			}
		}, []string{"Deployment/backend container backend: row-level security: connects as rhesis-user, the database's owner and a superuser"}},
		{"the owner's name without its password", func(r contract.Render) {
			for _, o := range r.Objects {
				if o["kind"] == "ConfigMap" {
					o["data"].(map[string]any)["ADMIN_DB_USER"] = "rhesis-user"
				}
			}
		}, []string{"Deployment/worker container worker: ADMIN_DB_USER with ADMIN_DB_PASS: ADMIN_DB_USER set without ADMIN_DB_PASS (contract: apps/backend/src/rhesis/backend/app/config/settings.py:34-35)"}},
		{"a wrong user", func(r contract.Render) {
			container(find(r, "Deployment/frontend"), "containers")["securityContext"].(map[string]any)["runAsUser"] = float64(1001)
		}, []string{"Deployment/frontend container frontend: user 1000 (node): runs as 1001 (contract: apps/frontend/Dockerfile:134)"}},
		{"a writable root filesystem", func(r contract.Render) {
			container(find(r, "Deployment/frontend"), "containers")["securityContext"].(map[string]any)["readOnlyRootFilesystem"] = false
		}, []string{"Deployment/frontend container frontend: read-only root: the root filesystem is writable; the app writes only to /app/apps/frontend/.next/cache (contract: apps/frontend/next.config.mjs:163-172)"}},
		{"the backend's home not writable", func(r contract.Render) {
			b := container(find(r, "Deployment/backend"), "containers")
			var mounts []any
			for _, m := range b["volumeMounts"].([]any) {
				if dig(m, "name") != "home" {
					mounts = append(mounts, m)
				}
			}
			b["volumeMounts"] = mounts
		}, []string{"Deployment/backend container backend: writable /home/rhesis-user: the root filesystem is read-only and nothing is mounted there (contract: apps/backend/Dockerfile:127)"}},
		{"HOME away from the writable home", func(r contract.Render) {
			w := container(find(r, "Deployment/worker"), "containers")
			w["env"] = append(w["env"].([]any), map[string]any{"name": "HOME", "value": "/app"})
		}, []string{`Deployment/worker container worker: writable /home/rhesis-user: HOME is "/app", the app would write there`}},
		{"a scratch volume where the app does not write", func(r contract.Render) {
			m := container(migration(r), "containers")
			m["volumeMounts"] = append(m["volumeMounts"].([]any), map[string]any{"name": "tmp", "mountPath": "/app/apps/backend"})
		}, []string{"container migrate: writable /app/apps/backend: an emptyDir where the app does not write (it writes to /tmp)"}},
		{"files on s3://, which the images cannot serve", func(r contract.Render) {
			dig(find(r, "ConfigMap/rhesis-config"), "data").(map[string]any)["STORAGE_SERVICE_URI"] = "s3://rhesis/files"
		}, []string{"Deployment/worker container worker: storage scheme s3: the images cannot serve s3://rhesis/files, so files would go to each pod's /tmp/rhesis-files and be lost (contract: apps/backend/src/rhesis/backend/app/config/settings.py:292)"}},
		{"gs:// without its key", func(r contract.Render) {
			dig(find(r, "ConfigMap/rhesis-config"), "data").(map[string]any)["STORAGE_SERVICE_URI"] = "gs://rhesis"
		}, []string{"Deployment/backend container backend: storage scheme gs: STORAGE_SERVICE_ACCOUNT_KEY is not set"}},
		{"file imports in each pod's /tmp", func(r contract.Render) {
			delete(dig(find(r, "ConfigMap/rhesis-config"), "data").(map[string]any), "IMPORT_SESSION_DIR")
		}, []string{"Deployment/backend container backend: import sessions in /tmp/rhesis-import-sessions: not on a claim"}},
		{"PostgreSQL's default max_connections", func(r contract.Render) {
			delete(container(find(r, "Deployment/postgres"), "containers"), "args")
		}, []string{"Deployment/postgres container postgres: connections of 2820 processes' pools: max_connections 100 admits 97 to the app, but backend (6+1+6 pods x 4 x 30) + worker (10+1+10 pods x 2 x 30) can open 2820 (contract: apps/backend/src/rhesis/backend/app/database.py:234-238)"}},
		{"a database sized without the pods that are still stopping", func(r contract.Render) {
			container(find(r, "Deployment/postgres"), "containers")["args"] = []any{"postgres", "-c", "max_connections=1600"}
		}, []string{"max_connections 1600 admits 1597 to the app, but backend (6+1+6 pods x 4 x 30) + worker (10+1+10 pods x 2 x 30) can open 2820"}},
		{"the worker's default grace period", func(r contract.Render) {
			delete(dig(find(r, "Deployment/worker"), "spec", "template", "spec").(map[string]any), "terminationGracePeriodSeconds")
		}, []string{"Deployment/worker container worker: tasks of up to 3900 s: terminationGracePeriodSeconds 30 kills running tasks at every rollout and scale-down (contract: apps/backend/src/rhesis/backend/celery/config.py:55,73-76)"}},
		{"the API under a path, prefix kept", func(r contract.Render) {
			ing := find(r, "Ingress/rhesis")
			paths := dig(ing, "spec", "rules", 0, "http", "paths").([]any)
			dig(ing, "spec", "rules", 0, "http").(map[string]any)["paths"] = append([]any{map[string]any{
				"path": "/backend", "pathType": "Prefix", "backend": map[string]any{"service": map[string]any{"name": "backend"}}}}, paths...)
		}, []string{"Ingress/rhesis: the API at /: requests under /backend reach the backend with the prefix, which it serves no route under (contract: apps/backend/src/rhesis/backend/app/main.py:579-584)"}},
	}
	require.Empty(t, c.Check(base()), "the unbroken render must pass")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := base()
			tc.break_(r)
			got := violations(c.Check(r))
			for _, w := range tc.want {
				assert.Contains(t, got, w)
			}
		})
	}
}
