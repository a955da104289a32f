package config

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

var (
	logLevels    = []string{"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
	pullPolicies = []string{"Always", "IfNotPresent", "Never"}
)

// ManagedEnv are the variables the program sets itself; extraEnv and
// extraSecrets may not override them, or two sources would disagree silently.
var ManagedEnv = []string{
	"DB_HOST", "DB_PORT", "DB_NAME", "DB_DRIVER", "APP_DB_USER", "REDIS_HOST", "REDIS_PORT",
	"BACKEND_ENV", "WORKER_ENV", "FRONTEND_ENV", "LOG_LEVEL", "FRONTEND_URL", "NEXTAUTH_URL", "API_BASE_URL", "BACKEND_URL",
	"CELERY_WORKER_CONCURRENCY", "CELERY_WORKER_PREFETCH_MULTIPLIER", "NEXT_TELEMETRY_DISABLED",
	"HOSTNAME", "PORT", "HEALTH_PORT", "BROKER_URL", "CELERY_RESULT_BACKEND",
	"SKIP_MIGRATIONS", "STORAGE_SERVICE_URI", "IMPORT_SESSION_DIR", "PGSSLMODE", "ADMIN_DB_USER", "ADMIN_DB_PASS",
	"SESSION_SECRET_KEY", "JWT_SECRET_KEY", "NEXTAUTH_SECRET", "DB_ENCRYPTION_KEY", "APP_DB_PASS", "REDIS_PASSWORD", "AUDIT_HASH_KEY",
	"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "PGDATA",
}

// validate checks what parsing alone cannot: ranges, relations between keys
// and what each environment requires.
func (s *Stack) validate(secrets map[string]secretState) Problems {
	var ps Problems
	add := func(key, value, reason string) {
		ps = append(ps, Problem{Key: Namespace + ":" + key, Value: value, Reason: reason})
	}

	if s.DeployMode != ModeRaw && s.DeployMode != ModeHelm {
		add("deploy.mode", s.DeployMode, "must be raw (the chart's objects registered by the program) or helm (the chart charts/rhesis as a Helm release)")
	}
	for _, msg := range validation.IsDNS1123Label(s.Namespace) {
		add("namespace", s.Namespace, "is not a valid namespace name: "+msg)
	}
	s.validateChart(add)
	if reason := checkNamePrefix(s.NamePrefix); reason != "" {
		add("namePrefix", s.NamePrefix, reason)
	}
	if !slices.Contains(logLevels, s.LogLevel) {
		add("logLevel", s.LogLevel, "must be one of "+strings.Join(logLevels, ", "))
	}
	for _, u := range []struct{ key, value string }{{"frontendUrl", s.FrontendURL}, {"apiBaseUrl", s.APIBaseURL}} {
		if reason := checkBrowserURL(u.value); reason != "" {
			add(u.key, u.value, reason)
		}
	}

	for _, c := range s.Components() {
		ps = append(ps, checkComponent(c.Name, c.Component)...)
	}
	for _, st := range []struct {
		name string
		Store
	}{{PostgresName, s.Postgres}, {RedisName, s.Redis}} {
		if st.Replicas > 1 {
			add(st.name+".replicas", fmt.Sprint(st.Replicas), "must be 0 or 1: "+st.name+" runs a single instance on one volume")
		}
		if st.Persistence.Enabled && st.Persistence.Size.Sign() <= 0 {
			add(st.name+".persistence.size", st.Persistence.Size.String(), "must be larger than zero when persistence is enabled")
		}
	}
	if s.Environment == Prod && s.Postgres.Enabled && !s.Postgres.Persistence.Enabled {
		add("postgres.persistence.enabled", "false", "must be true in prod: without a volume the database is lost with its pod")
	}
	for _, app := range []string{BackendName, WorkerName} {
		if !s.Component(app).Enabled {
			continue
		}
		for _, dep := range []struct {
			name string
			st   Store
		}{{PostgresName, s.Postgres}, {RedisName, s.Redis}} {
			if name := dep.name; !dep.st.Enabled && dep.st.External.Host == "" {
				add(name+".enabled", "false", fmt.Sprintf("must be true while %s.enabled is true: the %s needs %s (or set %s.external.host)", app, app, name, name))
			}
		}
	}
	ps = append(ps, s.validateImages(secrets)...)
	ps = append(ps, s.validateHardening()...)
	return append(ps, s.validateSecrets(secrets)...)
}

// validateChart checks the published chart's reference and version.
func (s *Stack) validateChart(add func(key, value, reason string)) {
	switch {
	case s.Chart == "" && s.ChartVersion != "":
		add("deploy.chartVersion", s.ChartVersion, "is set without deploy.chart: the repository's own chart has its own version; "+
			"set deploy.chart to the published chart (oci://ghcr.io/rhesis-ai/charts/rhesis), or unset deploy.chartVersion")
	case s.Chart == "":
	case !strings.HasPrefix(s.Chart, charts.OCIScheme) || path.Base(s.Chart) != charts.Name || strings.Contains(s.Chart, "@"):
		add("deploy.chart", s.Chart, "must be the OCI reference of the published chart without a tag, like "+
			"oci://ghcr.io/rhesis-ai/charts/rhesis (the version goes in deploy.chartVersion), or empty for charts/rhesis of this repository")
	case s.ChartVersion == "":
		add("deploy.chartVersion", "", "is required with deploy.chart: the exact version to deploy, such as "+charts.LocalVersion+
			" (a version range or a moving tag would make the deployment unrepeatable)")
	default:
		if _, err := semver.StrictNewVersion(s.ChartVersion); err != nil {
			add("deploy.chartVersion", s.ChartVersion, "must be an exact SemVer version such as "+charts.LocalVersion+": "+err.Error())
		}
	}
}

// MaxNamePrefix keeps the longest prefixed name a valid one: a CronJob's
// name (postgres-backup) has 52 characters at most.
const MaxNamePrefix = 30

var namePrefixPattern = regexp.MustCompile(`^([a-z][-a-z0-9]*-)?$`)

// checkNamePrefix is the chart schema's rule for namePrefix, said as a fix.
func checkNamePrefix(p string) string {
	switch {
	case len(p) > MaxNamePrefix:
		return fmt.Sprintf("is %d characters long; at most %d keep every object's name valid", len(p), MaxNamePrefix)
	case !namePrefixPattern.MatchString(p):
		return "must be lowercase letters, digits and hyphens, start with a letter and end with a hyphen (a-, team-b-), or empty"
	}
	return ""
}

func checkBrowserURL(v string) string {
	if v == "" {
		return "is required in this environment: the http(s) URL browsers use"
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "must be an absolute http:// or https:// URL, for example https://rhesis.example.com"
	}
	return ""
}

func checkComponent(name string, c Component) Problems {
	var ps Problems
	add := func(key, value, reason string) {
		ps = append(ps, Problem{Key: Namespace + ":" + name + "." + key, Value: value, Reason: reason})
	}
	if !slices.Contains(pullPolicies, c.Image.PullPolicy) {
		add("image.pullPolicy", c.Image.PullPolicy, "must be one of "+strings.Join(pullPolicies, ", "))
	}
	r := c.Resources
	if r.Limits.CPU.Cmp(r.Requests.CPU) < 0 {
		add("resources.limits.cpu", r.Limits.CPU.String(), "is below the CPU request "+r.Requests.CPU.String()+"; a limit must be at least its request")
	}
	if r.Limits.Memory.Cmp(r.Requests.Memory) < 0 {
		add("resources.limits.memory", r.Limits.Memory.String(), "is below the memory request "+r.Requests.Memory.String()+"; a limit must be at least its request")
	}
	if r.Limits.EphemeralStorage.Cmp(r.Requests.EphemeralStorage) < 0 {
		add("resources.limits.ephemeralStorage", r.Limits.EphemeralStorage.String(), "is below the request "+r.Requests.EphemeralStorage.String()+"; a limit must be at least its request")
	}
	for _, k := range sortedKeys(c.ExtraEnv) {
		if reason := checkEnvName(k); reason != "" {
			add("extraEnv."+k, c.ExtraEnv[k], reason)
		}
	}
	return ps
}

func checkEnvName(name string) string {
	if msgs := validation.IsEnvVarName(name); len(msgs) > 0 {
		return "is not a valid environment variable name: " + strings.Join(msgs, "; ")
	}
	if slices.Contains(ManagedEnv, name) {
		return "is set by the program itself; change the config key that controls it instead"
	}
	return ""
}

func (s *Stack) validateSecrets(states map[string]secretState) Problems {
	var ps Problems
	add := func(key, reason string) {
		ps = append(ps, Problem{Key: Namespace + ":" + key, Reason: reason})
	}
	values := s.Secrets.Required
	if key := values["DB_ENCRYPTION_KEY"]; key != "" {
		if reason := checkFernet(key); reason != "" {
			add("dbEncryptionKey", reason)
		}
	}
	for _, k := range sortedKeys(s.Secrets.Extra) {
		if reason := checkEnvName(k); reason != "" {
			add(ExtraSecretsKey+"."+k, reason)
		}
	}
	if s.Environment == Local || s.Environment == "" {
		return ps
	}
	for _, spec := range RequiredSecrets {
		st := states[spec.Key]
		switch {
		case spec.AppRoleOnly && !s.AppRole():
		case s.Secrets.elsewhere(spec.Key):
		case !st.set:
			add(spec.Key, fmt.Sprintf("is required in %s; run: %s", s.Environment, setSecretCommand(spec, s.StackName)))
		case !st.encrypted:
			add(spec.Key, fmt.Sprintf("is stored in plain text; set it again encrypted: %s", setSecretCommand(spec, s.StackName)))
		case values[spec.EnvVar] == spec.LocalDefault:
			add(spec.Key, fmt.Sprintf("is the local development value, which is public; run: %s", setSecretCommand(spec, s.StackName)))
		}
	}
	if st := states[ExtraSecretsKey]; st.set && !st.encrypted {
		add(ExtraSecretsKey, "is stored in plain text; set its entries with `"+SetCommand(s.StackName, ExtraSecretsKey+".NAME", "<value>", true)+"`")
	}
	return ps
}

// setSecretCommand is the exact command that fixes a missing secret, with a
// generator for values nobody should have to invent.
func setSecretCommand(spec SecretSpec, stack string) string {
	generator := "$(openssl rand -hex 32)"
	if spec.Key == "dbEncryptionKey" {
		generator = "$(openssl rand -base64 32 | tr '+/' '-_')"
	}
	return SetCommand(stack, spec.Key, `"`+generator+`"`, true)
}

// checkFernet tells why v is not a Fernet key: 32 bytes in url-safe base64 (44 characters).
func checkFernet(v string) string {
	raw, err := base64.URLEncoding.DecodeString(v)
	if len(v) != 44 || err != nil || len(raw) != 32 {
		return "is not a Fernet key (32 random bytes in url-safe base64, 44 characters); " +
			"generate one with `openssl rand -base64 32 | tr '+/' '-_'`"
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
