package tests

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rhesis-ai/rhesis-deploy/config"
	"github.com/rhesis-ai/rhesis-deploy/stack"
)

type badConfig struct {
	name   string
	stack  string
	mutate func(s settings)
	key    string // the key the problem must name
	reason string // part of the explanation
}

// badConfigs are the mistakes an operator makes, each refused with the key
// as the stack spells it and the reason the schema or the chart's own checks
// give, or the Pulumi-only table's.
var badConfigs = []badConfig{
	{"unknown mode", "local", func(s settings) { s.set("deploy.mode", "kustomize") },
		"deploy.mode", "must be raw (the chart's objects registered by the program) or helm"},
	{"unknown environment", "local", func(s settings) { s.set("environment", "dev") },
		"environment", "must be local, staging or prod"},
	{"no environment on a stack not named after one", "feature-x", func(s settings) { s.unset("environment") },
		"environment", `stack name "feature-x" is not an environment`},
	{"negative replicas", "local", func(s settings) { s.set("backend.replicas", "-1") },
		"backend.replicas", "minimum"},
	{"replicas not a number", "local", func(s settings) { s.set("worker.replicas", "two") },
		"worker.replicas", "want integer"},
	{"quantity that does not parse", "local", func(s settings) { s.set("backend.resources.requests.cpu", "lots") },
		"backend.resources.requests.cpu", "A Kubernetes quantity"},
	{"negative quantity", "local", func(s settings) { s.set("redis.resources.requests.memory", "-1Gi") },
		"redis.resources.requests.memory", "A Kubernetes quantity"},
	{"memory limit below request", "local", func(s settings) { s.set("backend.resources.limits.memory", "512Mi") },
		"backend.resources.limits.memory", "is below its request 1Gi"},
	{"cpu limit below request", "prod", func(s settings) { s.set("frontend.resources.limits.cpu", "100m") },
		"frontend.resources.limits.cpu", "is below its request 500m"},
	{"postgres persistence off in prod", "prod", func(s settings) { s.set("database.postgresql.persistence.enabled", "false") },
		"database.postgresql.persistence.enabled", "must be true in prod"},
	{"zero volume size", "local", func(s settings) { s.set("database.postgresql.persistence.size", "0") },
		"database.postgresql.persistence.size", "must be larger than zero"},
	{"URL with another scheme", "local", func(s settings) { s.set("global.frontendUrl", "ftp://rhesis.example.com") },
		"global.frontendUrl", "An absolute http(s) URL"},
	{"URL without scheme", "prod", func(s settings) { s.set("global.apiBaseUrl", "api.rhesis.example.com") },
		"global.apiBaseUrl", "An absolute http(s) URL"},
	{"URL missing in staging without an ingress", "staging", func(s settings) { s.set("ingress.enabled", "false") },
		"global.frontendUrl", "is required in staging"},
	{"required secret missing in prod", "prod", func(s settings) { s.unset("secrets.sessionSecretKey") },
		"secrets.sessionSecretKey", "is required in prod"},
	{"required secret missing in staging", "staging", func(s settings) { s.unset("secrets.redisPassword") },
		"secrets.redisPassword", "`pulumi config set --secret -s staging --path secrets.redisPassword \"$(openssl rand -hex 32)\"`"},
	{"secret stored in plain text", "prod", func(s settings) { s.set("secrets.jwtSecretKey", "plain") },
		"secrets.jwtSecretKey", "is stored in plain text"},
	{"local development secret in prod", "prod", func(s settings) {
		s.setSecret("secrets.nextauthSecret", "local-dev-nextauth-secret-not-for-production")
	}, "secrets.nextauthSecret", "is the local development value"},
	{"encryption key that is not a Fernet key", "local", func(s settings) { s.setSecret("secrets.dbEncryptionKey", "too-short") },
		"secrets.dbEncryptionKey", "A Fernet key"},
	{"Fernet key with the wrong length", "prod", func(s settings) {
		s.setSecret("secrets.dbEncryptionKey", "c2hvcnQ=") // valid base64, 5 bytes
	}, "secrets.dbEncryptionKey", "A Fernet key"},
	{"unknown pull policy", "local", func(s settings) { s.set("frontend.image.pullPolicy", "Sometimes") },
		"frontend.image.pullPolicy", "IfNotPresent"},
	{"invalid namespace", "local", func(s settings) { s.set("deploy.namespace", "Rhesis_NS") },
		"deploy.namespace", "is not a valid namespace name"},
	{"unknown log level", "local", func(s settings) { s.set("global.logLevel", "LOUD") },
		"global.logLevel", "DEBUG"},
	{"two postgres replicas", "local", func(s settings) { s.set("database.postgresql.replicas", "2") },
		"database.postgresql.replicas", "maximum"},
	{"backend without database", "local", func(s settings) { s.set("database.enabled", "false") },
		"database.enabled", "must be true while backend.enabled is true"},
	{"boolean that is not one", "local", func(s settings) { s.set("redis.persistence.enabled", "sometimes") },
		"redis.persistence.enabled", "want boolean"},
	{"extra env overriding managed wiring", "local", func(s settings) { s.set("backend.extraEnv", `{"DB_HOST":"elsewhere"}`) },
		"backend.extraEnv.DB_HOST", "is refused here (Extra environment variables, NAME: value. Names the chart sets itself are refused. SMTP_* and FROM_EMAIL are smtp.*"},
	{"extra env with an invalid name", "local", func(s settings) { s.set("worker.extraEnv", `{"1BAD":"x"}`) },
		"worker.extraEnv.1BAD", "does not have the expected form"},
	{"extra env that is not a map", "local", func(s settings) { s.set("frontend.extraEnv", `["A=1"]`) },
		"frontend.extraEnv", "want object"},
	{"KEDA without the autoscaler", "local", func(s settings) { s.set("worker.keda.enabled", "true") },
		"worker.keda.enabled", "needs worker.autoscaling.enabled"},
	{"autoscaler maximum below its minimum", "prod", func(s settings) { s.set("backend.autoscaling.maxReplicas", "2") },
		"backend.autoscaling.maxReplicas", "is below backend.autoscaling.minReplicas"},
	{"external database in clear in prod", "prod", func(s settings) {
		s.set("database.external.host", "db.example.com")
		s.set("database.external.sslMode", "prefer")
		s.set("backup.enabled", "false")
	}, "database.external.sslMode", "must be require, verify-ca or verify-full in prod"},
	{"shared files on one node with several pods", "staging", func(s settings) { s.set("storage.accessMode", "ReadWriteOnce") },
		"storage.accessMode", "must be ReadWriteMany when backend and worker run several pods"},
	{"typo of an object", "local", func(s settings) { s.set("bakend.replicas", "3") },
		"bakend", "is not a setting; did you mean rhesis:backend?"},
	{"typo inside an object", "prod", func(s settings) { s.set("backend.replica", "3") },
		"backend.replica", "did you mean rhesis:backend.replicas?"},
	{"typo of a top-level value", "local", func(s settings) { s.set("namePrefx", "a-") },
		"namePrefx", "did you mean rhesis:namePrefix?"},
	{"typo of a Pulumi-only setting", "local", func(s settings) { s.set("deploy.mod", "helm") },
		"deploy.mod", "did you mean rhesis:deploy.mode?"},
	{"key of an earlier version", "local", func(s settings) { s.tops["rhesis:dbPassword"] = "x" },
		"dbPassword", "now secrets.dbPassword); run `rhesis --stack local migrate-config`"},
	{"flat key of an earlier version", "local", func(s settings) { s.tops["rhesis:backend.replicas"] = "3" },
		"backend.replicas", "is a flat key of an earlier version; run `rhesis --stack local migrate-config`"},
	{"extra secret overriding a required one", "prod", func(s settings) {
		s.setSecret("secrets.extra", `{"JWT_SECRET_KEY":"x"}`)
	}, "secrets.extra.JWT_SECRET_KEY", "is refused here"},
}

// TestBadConfigCreatesNothing runs stack.Program itself on each bad
// configuration: the error names the key and what is allowed, and not one
// resource (not even the provider) is registered.
func TestBadConfigCreatesNothing(t *testing.T) {
	t.Parallel()
	assertEachRefused(t, badConfigs, func(t *testing.T, stack string) settings {
		if stack == "feature-x" {
			stack = "local"
		}
		return stackSettings(t, stack)
	})
}

// assertEachRefused runs each bad configuration, one subtest each, from the
// settings base gives its stack, and expects its refusal (assertRefused).
func assertEachRefused(t *testing.T, cases []badConfig, base func(t *testing.T, stack string) settings) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := base(t, c.stack)
			c.mutate(s)
			assertRefused(t, c.stack, s, c.key, c.reason)
		})
	}
}

// assertRefused runs stack.Program itself: the error must name key with an
// explanation containing reason, and not one resource (not even the
// provider) may be registered.
func assertRefused(t *testing.T, stackName string, s settings, key, reason string) {
	t.Helper()
	registered, err := runProgram(t, stackName, s)
	require.Error(t, err)
	var problems config.Problems
	require.True(t, errors.As(err, &problems), "want config.Problems, got %T: %v", err, err)
	found := false
	for _, p := range problems {
		if p.Key == config.Namespace+":"+key && strings.Contains(p.Reason, reason) {
			found = true
		}
	}
	assert.True(t, found, "no problem for %s containing %q in:\n%v", key, reason, err)
	assert.Contains(t, err.Error(), "nothing was created")
	assert.Empty(t, registered, "a bad configuration registered resources")
}

// TestEveryProblemAtOnce: one run reports all problems, the schema's and
// the chart's own checks together, not the first one.
func TestEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "prod")
	s.set("backend.replicas", "-2")
	s.set("worker.resources.requests.memory", "big")
	s.set("global.frontendUrl", "frontend")
	s.unset("secrets.dbPassword")
	s.unset("secrets.jwtSecretKey")
	_, err := runProgram(t, "prod", s)
	var problems config.Problems
	require.True(t, errors.As(err, &problems))
	assert.ElementsMatch(t, []string{
		"rhesis:backend.replicas", "rhesis:worker.resources.requests.memory", "rhesis:global.frontendUrl",
		"rhesis:secrets.dbPassword", "rhesis:secrets.jwtSecretKey",
	}, problems.Keys())
	assert.Contains(t, err.Error(), "invalid configuration (5 problems)")
	// Each names the command that fixes it.
	assert.Contains(t, err.Error(), "set it with `pulumi config set -s prod --path backend.replicas <value>`")
	assert.Contains(t, err.Error(), "`pulumi config set --secret -s prod --path secrets.dbPassword \"$(openssl rand -hex 32)\"`")

	s = stackSettings(t, "local")
	s.set("backend.extraEnv", `{"DB_HOST":"elsewhere"}`)
	_, err = runProgram(t, "local", s)
	assert.ErrorContains(t, err, "remove it with `pulumi config rm -s local --path backend.extraEnv.DB_HOST`")
}

// requiredSecrets are the chart's secret values outside local.
var requiredSecrets = []string{"sessionSecretKey", "jwtSecretKey", "nextauthSecret", "dbEncryptionKey",
	"dbPassword", "dbAppPassword", "redisPassword", "auditHashKey"}

// TestProdWithoutSecretsSaysWhatToRun: the shipped prod stack file has no
// secrets; the error lists the command for each one, made from the chart's
// own `--set`.
func TestProdWithoutSecretsSaysWhatToRun(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "prod")
	s.unset("secrets")
	_, err := runProgram(t, "prod", s)
	require.Error(t, err)
	for _, k := range requiredSecrets {
		assert.Contains(t, err.Error(), "`pulumi config set --secret -s prod --path secrets."+k+" ")
	}
	assert.Contains(t, err.Error(), `secrets.dbEncryptionKey "$(openssl rand -base64 32 | tr '+/' '-_')"`)
}

// TestSecretValuesStayOutOfErrors: a malformed secret is reported without its value.
func TestSecretValuesStayOutOfErrors(t *testing.T) {
	t.Parallel()
	s := stackSettings(t, "prod")
	s.setSecret("secrets.extra", `not-json-sk-live-abcdef`)
	s.setSecret("secrets.dbEncryptionKey", "sk-live-abcdef")
	_, err := runProgram(t, "prod", s)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "sk-live-abcdef")
	assert.Contains(t, err.Error(), "rhesis:secrets.extra")
	assert.Contains(t, err.Error(), "rhesis:secrets.dbEncryptionKey")
}

// TestLocalNeedsNoSecrets: a fresh clone deploys local with no secret typed,
// using the development values of values-local.yaml (a real Fernet key among them).
func TestLocalNeedsNoSecrets(t *testing.T) {
	t.Parallel()
	r := mustRun(t, "local")
	dev := valuesFile(t, "values-local.yaml")["secrets"].(map[string]any)
	for _, k := range requiredSecrets {
		assert.Equal(t, dev[k], dig(r.Config.Merged, "secrets", k), k)
	}
	// A local stack may still set its own.
	s := stackSettings(t, "local")
	s.setSecret("secrets.jwtSecretKey", "my-own")
	own, err := run(t, "local", s)
	require.NoError(t, err)
	assert.Equal(t, "my-own", dig(own.Config.Merged, "secrets", "jwtSecretKey"))
}

// TestProgramListsKeysFromTheEngine: main.go's program, run by `pulumi up`,
// learns which keys are set from PULUMI_CONFIG, and refuses a typo there.
func TestProgramListsKeysFromTheEngine(t *testing.T) {
	s := stackSettings(t, "local")
	s.set("bakend.replicas", "3")
	raw, err := json.Marshal(s.values())
	require.NoError(t, err)
	t.Setenv(pulumi.EnvConfig, string(raw))
	m := &mocks{}
	err = pulumi.RunErr(stack.Program, pulumi.WithMocks("rhesis", "local", m), withConfig(s))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rhesis:bakend: is not a setting; did you mean rhesis:backend?")
	assert.Empty(t, m.resources)
}
