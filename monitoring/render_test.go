package monitoring

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// chartDir is the chart, from this module's folder.
const chartDir = "../charts/rhesis"

// namespace is where every variant is rendered.
const namespace = "rhesis"

// variant is one way to install the chart with monitoring on: an environment's
// values file and what the operator adds.
type variant struct {
	name, env string
	values    map[string]any
}

// operatorValues are what staging and prod need from an operator: the
// ingress, a ReadWriteMany class and the secrets.
func operatorValues(env string) map[string]any {
	if env == "local" {
		return map[string]any{}
	}
	return map[string]any{
		"ingress": map[string]any{"host": env + ".rhesis.test", "tlsSecret": "rhesis-tls", "className": "nginx"},
		"storage": map[string]any{"storageClass": "shared-rwx"},
		"secrets": map[string]any{
			"sessionSecretKey": "test-session-secret", "jwtSecretKey": "test-jwt-secret",
			"nextauthSecret": "test-nextauth-secret", "dbEncryptionKey": "dGVzdC1mZXJuZXQta2V5LTMyLWJ5dGVzLWxvbmchISE=",
			"dbPassword": "test-db-password", "dbAppPassword": "test-app-db-password",
			"redisPassword": "p@ss/w:rd#1", "auditHashKey": "test-audit-hash-key",
		},
	}
}

// variants are the renders whose rules are checked: each environment, and
// the options that change which rules exist or what they select.
func variants() []variant {
	on := map[string]any{"monitoring": map[string]any{"enabled": true}}
	return []variant{
		{"local", "local", on},
		{"staging", "staging", on},
		{"prod", "prod", on},
		{"prod-backup-cert-manager", "prod", merge(on, map[string]any{
			"backup":  map[string]any{"enabled": true},
			"ingress": map[string]any{"tlsSecret": "", "clusterIssuer": "letsencrypt"},
		})},
		{"prod-external-stores", "prod", merge(on, map[string]any{
			"backup":   map[string]any{"enabled": false},
			"database": map[string]any{"external": map[string]any{"host": "db.example.com", "maxConnections": 3000, "sslMode": "verify-full"}},
			"redis":    map[string]any{"external": map[string]any{"host": "cache.example.com", "tls": true}},
		})},
		{"prod-prefix", "prod", merge(on, map[string]any{"namePrefix": "team-a-", "backup": map[string]any{"enabled": true}})},
		{"prod-cloudnativepg", "prod", merge(on, cloudNativePGValues)},
		{"prod-cloudnativepg-prefix", "prod", merge(on, merge(cloudNativePGValues, map[string]any{"namePrefix": "team-a-"}))},
	}
}

// cloudNativePGValues run the database as a CloudNativePG Cluster of three
// instances archiving to an S3-compatible store.
var cloudNativePGValues = map[string]any{
	"database": map[string]any{"postgresql": map[string]any{"cloudnativepg": map[string]any{"enabled": true}}},
	"backup": map[string]any{"enabled": true,
		"remote":     map[string]any{"url": "s3://rhesis-backups/prod/", "endpoint": "http://seaweedfs.storage:8333", "credentialsSecret": "offsite-credentials"},
		"encryption": map[string]any{"passphrase": map[string]any{"name": "rhesis-backup-key", "key": "passphrase"}}},
}

// named is the variant of that name.
func named(t *testing.T, name string) variant {
	t.Helper()
	for _, v := range variants() {
		if v.name == name {
			return v
		}
	}
	t.Fatalf("no variant %s", name)
	return variant{}
}

// full is the variant with every alert of the single-pod database: the one
// testdata/alerts.test.yaml runs against.
func full(t *testing.T) variant {
	return named(t, "prod-backup-cert-manager")
}

// render is `helm template` of the chart for v, with Helm's own binary.
func render(t *testing.T, v variant) []map[string]any {
	t.Helper()
	overlay, err := json.Marshal(merge(operatorValues(v.env), v.values))
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "values.json")
	require.NoError(t, os.WriteFile(file, overlay, 0o644))
	cmd := exec.Command(tool(t, "helm"), "template", "rhesis", chartDir, "--namespace", namespace,
		"-f", filepath.Join(chartDir, "values-"+v.env+".yaml"), "-f", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "helm template (%s): %s", v.name, stderr.String())
	var objects []map[string]any
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var o map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &o))
		if o != nil {
			objects = append(objects, o)
		}
	}
	return objects
}

// object is the rendered object of that kind and name.
func object(t *testing.T, objects []map[string]any, kind, name string) map[string]any {
	t.Helper()
	for _, o := range objects {
		if o["kind"] == kind && dig(o, "metadata", "name") == name {
			return o
		}
	}
	t.Fatalf("no %s %s in the render", kind, name)
	return nil
}

// tool is one of the project's binaries, as hack/toolchain.sh caches it.
func tool(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(toolDir(t, name), name)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is not built: run hack/monitoring-tests.sh (or hack/toolchain.sh monitoring): %v", name, err)
	}
	return path
}

// toolDir is a folder hack/toolchain.sh names: a tool's, or a module's files.
func toolDir(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("../hack/toolchain.sh", "dir", name).Output()
	require.NoError(t, err, "hack/toolchain.sh dir %s", name)
	return strings.TrimSpace(string(out))
}

// merge lays b over a, recursively, into a new map.
func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		am, aok := out[k].(map[string]any)
		bm, bok := v.(map[string]any)
		if aok && bok {
			out[k] = merge(am, bm)
		} else {
			out[k] = v
		}
	}
	return out
}

// dig walks maps and lists by key and index.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}
