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

var badConfigs = []badConfig{
	{"unknown mode", "local", func(s settings) { s.set("deploy.mode", "kustomize") },
		"deploy.mode", "must be raw (the chart's objects registered by the program) or helm"},
	{"unknown environment", "local", func(s settings) { s.set("environment", "dev") },
		"environment", "must be local, staging or prod"},
	{"no environment on a stack not named after one", "feature-x", func(s settings) { s.unset("environment") },
		"environment", `stack name "feature-x" is not an environment`},
	{"negative replicas", "local", func(s settings) { s.set("backend.replicas", "-1") },
		"backend.replicas", "must be at least 0"},
	{"replicas not a number", "local", func(s settings) { s.set("worker.replicas", "two") },
		"worker.replicas", "must be a whole number"},
	{"quantity that does not parse", "local", func(s settings) { s.set("backend.resources.requests.cpu", "lots") },
		"backend.resources.requests.cpu", "is not a Kubernetes quantity"},
	{"negative quantity", "local", func(s settings) { s.set("redis.resources.requests.memory", "-1Gi") },
		"redis.resources.requests.memory", "must not be negative"},
	{"memory limit below request", "local", func(s settings) { s.set("backend.resources.limits.memory", "512Mi") },
		"backend.resources.limits.memory", "is below the memory request"},
	{"cpu limit below request", "prod", func(s settings) { s.set("frontend.resources.limits.cpu", "100m") },
		"frontend.resources.limits.cpu", "is below the CPU request"},
	{"postgres persistence off in prod", "prod", func(s settings) { s.set("postgres.persistence.enabled", "false") },
		"postgres.persistence.enabled", "must be true in prod"},
	{"zero volume size", "local", func(s settings) { s.set("postgres.persistence.size", "0") },
		"postgres.persistence.size", "must be larger than zero"},
	{"URL with another scheme", "local", func(s settings) { s.set("frontendUrl", "ftp://rhesis.example.com") },
		"frontendUrl", "must be an absolute http:// or https:// URL"},
	{"URL without scheme", "prod", func(s settings) { s.set("apiBaseUrl", "api.rhesis.example.com") },
		"apiBaseUrl", "must be an absolute http:// or https:// URL"},
	{"URL missing in staging without an ingress", "staging", func(s settings) { s.set("ingress.enabled", "false") },
		"frontendUrl", "is required in this environment"},
	{"required secret missing in prod", "prod", func(s settings) { s.unset("sessionSecretKey") },
		"sessionSecretKey", "is required in prod; run: pulumi config set --secret -s prod sessionSecretKey"},
	{"required secret missing in staging", "staging", func(s settings) { s.unset("redisPassword") },
		"redisPassword", "is required in staging; run: pulumi config set --secret -s staging redisPassword"},
	{"secret stored in plain text", "prod", func(s settings) { s.set("jwtSecretKey", "plain") },
		"jwtSecretKey", "is stored in plain text"},
	{"local development secret in prod", "prod", func(s settings) {
		s.setSecret("nextauthSecret", "local-dev-nextauth-secret-not-for-production")
	}, "nextauthSecret", "is the local development value"},
	{"encryption key that is not a Fernet key", "local", func(s settings) { s.setSecret("dbEncryptionKey", "too-short") },
		"dbEncryptionKey", "is not a Fernet key"},
	{"Fernet key with the wrong length", "prod", func(s settings) {
		s.setSecret("dbEncryptionKey", "c2hvcnQ=") // valid base64, 5 bytes
	}, "dbEncryptionKey", "is not a Fernet key"},
	{"unknown pull policy", "local", func(s settings) { s.set("frontend.image.pullPolicy", "Sometimes") },
		"frontend.image.pullPolicy", "must be one of Always, IfNotPresent, Never"},
	{"invalid namespace", "local", func(s settings) { s.set("namespace", "Rhesis_NS") },
		"namespace", "is not a valid namespace name"},
	{"unknown log level", "local", func(s settings) { s.set("logLevel", "LOUD") },
		"logLevel", "must be one of DEBUG"},
	{"two postgres replicas", "local", func(s settings) { s.set("postgres.replicas", "2") },
		"postgres.replicas", "must be 0 or 1"},
	{"backend without database", "local", func(s settings) { s.set("postgres.enabled", "false") },
		"postgres.enabled", "must be true while backend.enabled is true"},
	{"boolean that is not one", "local", func(s settings) { s.set("redis.persistence.enabled", "sometimes") },
		"redis.persistence.enabled", "must be true or false"},
	{"extra env overriding managed wiring", "local", func(s settings) { s.set("backend.extraEnv", `{"DB_HOST":"elsewhere"}`) },
		"backend.extraEnv.DB_HOST", "is set by the program itself"},
	{"extra env with an invalid name", "local", func(s settings) { s.set("worker.extraEnv", `{"1BAD":"x"}`) },
		"worker.extraEnv.1BAD", "is not a valid environment variable name"},
	{"extra env that is not a map", "local", func(s settings) { s.set("frontend.extraEnv", `["A=1"]`) },
		"frontend.extraEnv", "must be a map of NAME: value"},
	{"typo of an object", "local", func(s settings) { s.set("bakend.replicas", "3") },
		"bakend", "is not a setting of this program; did you mean rhesis:backend?"},
	{"typo inside an object", "prod", func(s settings) { s.set("backend.replica", "3") },
		"backend.replica", "did you mean rhesis:backend.replicas?"},
	{"typo of a top-level value", "local", func(s settings) { s.set("logLevl", "DEBUG") },
		"logLevl", "did you mean rhesis:logLevel?"},
	{"flat key of an earlier version", "local", func(s settings) { s.tops["rhesis:backend.replicas"] = "3" },
		"backend.replicas", "move it: `pulumi config rm backend.replicas` then `pulumi config set --path backend.replicas <value>`"},
	{"extra secret overriding a required one", "prod", func(s settings) {
		s.setSecret("extraSecrets", `{"JWT_SECRET_KEY":"x"}`)
	}, "extraSecrets.JWT_SECRET_KEY", "is set by the program itself"},
}

// TestBadConfigCreatesNothing runs stack.Program itself on each bad
// configuration: the error names the key and what is allowed, and not one
// resource (not even the provider) is registered.
func TestBadConfigCreatesNothing(t *testing.T) {
	for _, c := range badConfigs {
		t.Run(c.name, func(t *testing.T) {
			base := c.stack
			if base == "feature-x" {
				base = "local"
			}
			s := stackSettings(t, base)
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

// TestEveryProblemAtOnce: one run reports all problems, not the first one.
func TestEveryProblemAtOnce(t *testing.T) {
	s := stackSettings(t, "prod")
	s.set("backend.replicas", "-2")
	s.set("worker.resources.requests.memory", "big")
	s.set("frontendUrl", "frontend")
	s.unset("dbPassword")
	s.unset("jwtSecretKey")
	_, err := runProgram(t, "prod", s)
	var problems config.Problems
	require.True(t, errors.As(err, &problems))
	assert.ElementsMatch(t, []string{
		"rhesis:backend.replicas", "rhesis:worker.resources.requests.memory", "rhesis:frontendUrl",
		"rhesis:dbPassword", "rhesis:jwtSecretKey",
	}, problems.Keys())
	assert.Contains(t, err.Error(), "invalid configuration (5 problems)")
}

// TestProdWithoutSecretsSaysWhatToRun: the shipped prod stack file has no
// secrets; the error lists the command for each one.
func TestProdWithoutSecretsSaysWhatToRun(t *testing.T) {
	s := stackSettings(t, "prod")
	for _, spec := range config.RequiredSecrets {
		s.unset(spec.Key)
	}
	_, err := runProgram(t, "prod", s)
	require.Error(t, err)
	for _, spec := range config.RequiredSecrets {
		assert.Contains(t, err.Error(), "pulumi config set --secret -s prod "+spec.Key+" ")
	}
	assert.Contains(t, err.Error(), `dbEncryptionKey "$(openssl rand -base64 32 | tr '+/' '-_')"`)
}

// TestSecretValuesStayOutOfErrors: a malformed secret is reported without its value.
func TestSecretValuesStayOutOfErrors(t *testing.T) {
	s := stackSettings(t, "prod")
	s.setSecret("extraSecrets", `not-json-sk-live-abcdef`)
	s.setSecret("dbEncryptionKey", "sk-live-abcdef")
	_, err := runProgram(t, "prod", s)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "sk-live-abcdef")
	assert.Contains(t, err.Error(), "rhesis:extraSecrets")
	assert.Contains(t, err.Error(), "rhesis:dbEncryptionKey")
}

// TestLocalNeedsNoSecrets: a fresh clone deploys local with no secret typed,
// using valid development values (a real Fernet key among them).
func TestLocalNeedsNoSecrets(t *testing.T) {
	r := mustRun(t, "local")
	for _, spec := range config.RequiredSecrets {
		assert.Equal(t, spec.LocalDefault, r.Config.Secrets.Required[spec.EnvVar], spec.Key)
	}
	// A local stack may still set its own.
	s := stackSettings(t, "local")
	s.setSecret("jwtSecretKey", "my-own")
	own, err := run(t, "local", s)
	require.NoError(t, err)
	assert.Equal(t, "my-own", own.Config.Secrets.Required["JWT_SECRET_KEY"])
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
	assert.Contains(t, err.Error(), "rhesis:bakend: is not a setting of this program; did you mean rhesis:backend?")
	assert.Empty(t, m.resources)
}
