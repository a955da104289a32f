package stack

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/rhesis-ai/rhesis-deploy/components"
	"github.com/rhesis-ai/rhesis-deploy/config"
)

// Fixed database identity of the in-cluster PostgreSQL.
const (
	dbName   = "rhesis-db"
	dbDriver = "postgresql"
)

// ConfigData is the shared ConfigMap: everything non-secret the applications read.
func ConfigData(s *config.Stack) map[string]string {
	env := s.Environment.AppEnv()
	db := Database(s)
	redisHost, redisPort := RedisEndpoint(s)
	data := map[string]string{
		"DB_HOST":                           db.Host,
		"DB_PORT":                           strconv.Itoa(db.Port),
		"DB_NAME":                           db.Database,
		"DB_DRIVER":                         dbDriver,
		"APP_DB_USER":                       appDBUser(s),
		"REDIS_HOST":                        redisHost,
		"REDIS_PORT":                        strconv.Itoa(redisPort),
		"BACKEND_ENV":                       env,
		"WORKER_ENV":                        env,
		"FRONTEND_ENV":                      env,
		"LOG_LEVEL":                         s.LogLevel,
		"FRONTEND_URL":                      s.FrontendURL,
		"NEXTAUTH_URL":                      s.FrontendURL,
		"API_BASE_URL":                      s.APIBaseURL,
		"BACKEND_URL":                       fmt.Sprintf("http://%s:%d", config.BackendName, components.BackendPort),
		"CELERY_WORKER_CONCURRENCY":         strconv.Itoa(s.Worker.Concurrency),
		"CELERY_WORKER_PREFETCH_MULTIPLIER": strconv.Itoa(s.Worker.PrefetchMultiplier),
		"NEXT_TELEMETRY_DISABLED":           "1",
	}
	if db.SSLMode != "" {
		// libpq, under the applications' driver, reads PGSSLMODE.
		data["PGSSLMODE"] = db.SSLMode
	}
	if s.Storage.URI != "" {
		data["STORAGE_SERVICE_URI"] = s.Storage.URI
	} else {
		// A file import keeps its upload between requests; on the shared
		// claim, the next request may reach another replica.
		data["IMPORT_SESSION_DIR"] = config.SharedStoragePath + "/import-sessions"
	}
	return data
}

// Database is where the applications' PostgreSQL is: the in-cluster Service
// with the fixed identity, or the external server.
func Database(s *config.Stack) config.External {
	if e := s.Postgres.External; e.Host != "" {
		return e
	}
	return config.External{Host: config.PostgresName, Port: components.PostgresPort, Database: dbName, User: config.OwnerRoleName}
}

// appDBUser is the role backend and worker connect as: their own, or the
// owner (config.Stack.AppRole).
func appDBUser(s *config.Stack) string {
	if s.AppRole() {
		return config.AppRoleName
	}
	return Database(s).User
}

// RedisEndpoint is the host and port of Redis, in-cluster or external.
func RedisEndpoint(s *config.Stack) (string, int) {
	if e := s.Redis.External; e.Host != "" {
		return e.Host, e.Port
	}
	return config.RedisName, components.RedisPort
}

// SecretData is the shared Secret: the required secrets, the optional ones and
// the broker URLs, which carry the Redis password and so are secret too.
func SecretData(s *config.Stack) map[string]string {
	data := map[string]string{}
	for k, v := range s.Secrets.Extra {
		data[k] = v
	}
	for k, v := range s.Secrets.Required {
		data[k] = v
	}
	// ADMIN_DB_PASS is the owner's: only the in-cluster database has one of
	// this program's. Without a role of its own the app connects as the owner.
	owner := data["ADMIN_DB_PASS"]
	if !s.PostgresInCluster() {
		delete(data, "ADMIN_DB_PASS")
	}
	if !s.AppRole() {
		data["APP_DB_PASS"] = owner
	}
	data["BROKER_URL"] = redisURL(s, 0)
	data["CELERY_RESULT_BACKEND"] = redisURL(s, 1)
	return data
}

// redisURL percent-encodes the password: '@', '/', ':' or '#' in it would
// otherwise break the URL. Query escaping with %20 for spaces is used because
// the chart can do exactly the same (urlquery), so both modes agree. An
// external Redis over TLS is rediss:// with the certificate verified.
func redisURL(s *config.Stack, db int) string {
	escaped := strings.ReplaceAll(url.QueryEscape(s.Secrets.Required["REDIS_PASSWORD"]), "+", "%20")
	host, port := RedisEndpoint(s)
	scheme, query := "redis", ""
	if s.Redis.External.Host != "" && s.Redis.External.TLS {
		scheme, query = "rediss", "?ssl_cert_reqs=required"
	}
	return fmt.Sprintf("%s://:%s@%s:%d/%d%s", scheme, escaped, host, port, db, query)
}

// Secret variables by consumer.
var (
	// pythonSecrets are what the backend and the worker (which imports the
	// backend app) read.
	pythonSecrets = []string{
		"SESSION_SECRET_KEY", "JWT_SECRET_KEY", "DB_ENCRYPTION_KEY", "APP_DB_PASS",
		"REDIS_PASSWORD", "BROKER_URL", "CELERY_RESULT_BACKEND", "AUDIT_HASH_KEY",
	}
	frontendSecrets = []string{"NEXTAUTH_SECRET"}
)

// PythonEnv is the backend's and worker's secret wiring, optional secrets included.
func PythonEnv(s *config.Stack) []components.Env {
	names := append([]string{}, pythonSecrets...)
	extra := make([]string, 0, len(s.Secrets.Extra))
	for k := range s.Secrets.Extra {
		extra = append(extra, k)
	}
	sort.Strings(extra)
	return fromSecret(append(names, extra...))
}

// OwnerEnv is the owner's name and password, for the migration Job and the
// init container that sets up the app's role. Never in the shared ConfigMap:
// the app's settings refuse ADMIN_DB_USER without ADMIN_DB_PASS.
func OwnerEnv(s *config.Stack) []components.Env {
	if !s.PostgresInCluster() {
		return nil
	}
	return []components.Env{
		components.Literal("ADMIN_DB_USER", config.OwnerRoleName),
		components.FromSecret("ADMIN_DB_PASS", "ADMIN_DB_PASS"),
	}
}

// prepareEnv is what the prepare-database init container adds to the app's
// wiring: whether to wait for the migration Job, and the owner, who sets the
// app's role up. A backend that does not wait migrates at start and so has
// the owner in its own wiring already, which the init container copies.
func prepareEnv(s *config.Stack, waitForMigrations bool) []components.Env {
	env := []components.Env{components.Literal("PREPARE_WAIT_FOR_MIGRATIONS", strconv.FormatBool(waitForMigrations))}
	if s.AppRole() && waitForMigrations {
		env = append(env, OwnerEnv(s)...)
	}
	return env
}

// FrontendEnv is the frontend's secret wiring.
func FrontendEnv() []components.Env { return fromSecret(frontendSecrets) }

func fromSecret(names []string) []components.Env {
	out := make([]components.Env, 0, len(names))
	for _, n := range names {
		out = append(out, components.FromSecret(n, n))
	}
	return out
}

// checksum is a stable digest of a map, put on pod templates so a change to
// the ConfigMap or Secret rolls the pods that read them.
func checksum(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + m[k] + "\n")
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}
