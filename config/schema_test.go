package config

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func chartSchema(t *testing.T) *Schema {
	t.Helper()
	s, err := LoadSchema("../charts/rhesis")
	require.NoError(t, err)
	return s
}

// TestSchemaTellsSecretsAndKeys: the schema, not Go, says which values are
// secret (writeOnly) and which keys exist.
func TestSchemaTellsSecretsAndKeys(t *testing.T) {
	s := chartSchema(t)
	for path, secret := range map[string]bool{
		"secrets.dbPassword": true, "secrets.registryPassword": true, "secrets.extra.OPENAI_API_KEY": true,
		"secrets.existingSecret": false, "secrets.secretKeyRefs.dbPassword.name": false, "ingress.tlsSecret": false,
	} {
		assert.Equal(t, secret, s.IsSecret(path), path)
	}
	assert.Contains(t, s.Tops(), "backend")
	assert.Contains(t, s.Tops(), "namePrefix")
	assert.NotContains(t, s.Tops(), DeployKey, "the chart must not grow a value the Pulumi-only part owns")
	assert.NotContains(t, s.Tops(), EnvironmentKey)
	assert.Contains(t, s.Properties("database.postgresql.persistence"), "keep")
	assert.Equal(t, "database", Nearest("databse", s.Tops()))
	assert.Equal(t, "", Nearest("zzzzzz", s.Tops()))
}

// TestJSONTextBecomesStructure: `pulumi config set --path` stores text; where
// the chart wants an object or a list, JSON text is decoded.
func TestJSONTextBecomesStructure(t *testing.T) {
	s := chartSchema(t)
	got := s.decodeJSON("global", map[string]any{
		"nodeSelector": `{"pool":"rhesis"}`, "tolerations": `[{"key":"a"}]`, "logLevel": "{not json",
	})
	assert.Equal(t, map[string]any{
		"nodeSelector": map[string]any{"pool": "rhesis"}, "tolerations": []any{map[string]any{"key": "a"}}, "logLevel": "{not json",
	}, got)
	assert.Equal(t, `{"a":1}`, s.decodeJSON("ingress.host", `{"a":1}`), "a string setting keeps its text")
}

// TestChartErrorsBecomeConfigCommands: the chart's own problems are the
// stack's, each `--set` turned into the `pulumi config set` that does the same.
func TestChartErrorsBecomeConfigCommands(t *testing.T) {
	err := errors.New("execution error at (rhesis/templates/platform.yaml:1:4): \ninvalid values (3):\n" +
		"  - ingress.host is required in prod while the ingress is on: the frontend's host (--set ingress.host=rhesis.example.com), from which the URLs follow\n" +
		"  - secrets.dbEncryptionKey is required in prod: --set secrets.dbEncryptionKey=\"$(openssl rand -base64 32 | tr '+/' '-_')\"\n" +
		"  - gateway.parentRefs is required while the routes are on (--set 'gateway.parentRefs[0].name=public,gateway.parentRefs[0].namespace=gw')")
	var ps Problems
	require.True(t, errors.As(FromChart(err, "prod", chartSchema(t)), &ps))
	require.Len(t, ps, 3)
	assert.Equal(t, "rhesis:ingress.host", ps[0].Key)
	assert.Contains(t, ps[0].Reason, "(`pulumi config set -s prod --path ingress.host rhesis.example.com`)")
	assert.Equal(t, "rhesis:secrets.dbEncryptionKey", ps[1].Key)
	assert.Contains(t, ps[1].Reason, "`pulumi config set --secret -s prod --path secrets.dbEncryptionKey \"$(openssl rand -base64 32 | tr '+/' '-_')\"`")
	assert.Equal(t, "rhesis:gateway.parentRefs", ps[2].Key)
	assert.Contains(t, ps[2].Reason, "`pulumi config set -s prod --path 'gateway.parentRefs[0].name' public && "+
		"pulumi config set -s prod --path 'gateway.parentRefs[0].namespace' gw`")

	other := errors.New("template: rhesis/templates/x.yaml:3: function \"nope\" not defined")
	assert.Equal(t, other, FromChart(other, "prod", chartSchema(t)), "any other error is the chart's own")
}

// TestSetCommandFlags: --path inside an object, --secret for a secret,
// --plaintext where the CLI would take the name for a secret's.
func TestSetCommandFlags(t *testing.T) {
	assert.Equal(t, "pulumi config set -s prod environment prod", SetCommand("prod", "environment", "prod", false))
	assert.Equal(t, "pulumi config set --plaintext -s prod --path ingress.tlsSecret tls", SetCommand("prod", "ingress.tlsSecret", "tls", false))
	assert.Equal(t, "pulumi config set --secret --path secrets.dbPassword x", SetCommand("", "secrets.dbPassword", "x", true))
	assert.Equal(t, "pulumi config rm -s prod --path worker.extraEnv.SSL_CERT_FILE", SetCommand("prod", "worker.extraEnv.SSL_CERT_FILE", "null", false), "Helm's =null deletes the key")
}
