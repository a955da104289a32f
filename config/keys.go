package config

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// Kind is a key's type as Pulumi.yaml declares it.
type Kind string

// The Pulumi.yaml config types this program uses.
const (
	KindString  Kind = "string"
	KindInteger Kind = "integer"
	KindBoolean Kind = "boolean"
	KindObject  Kind = "object"
	// KindArray is a list inside an object; Pulumi.yaml declares only the object.
	KindArray Kind = "array"
)

// Key declares one config key. Pulumi.yaml carries the same declarations (a test
// keeps them equal), so `pulumi config` and the CLI's own checks know every key.
type Key struct {
	Name        string
	Kind        Kind
	Description string
	// Default is the Pulumi.yaml default. Keys whose default depends on the
	// environment declare "" there (the engine would otherwise apply one value to
	// every stack) and take ByEnv when left empty.
	Default any
	ByEnv   map[Environment]string
	Secret  bool
}

// FullName is the key as `pulumi config` shows it.
func (k Key) FullName() string { return Namespace + ":" + k.Name }

// PulumiDescription is the description written to Pulumi.yaml, with the
// per-environment defaults spelled out so `pulumi config` users see them.
func (k Key) PulumiDescription() string {
	if k.ByEnv == nil {
		return k.Description
	}
	parts := make([]string, 0, len(Environments))
	for _, e := range Environments {
		v := k.ByEnv[e]
		if k.Secret && v != "" {
			v = "a development-only value"
		}
		if v == "" {
			v = "required"
		}
		parts = append(parts, fmt.Sprintf("%s: %s", e, v))
	}
	return fmt.Sprintf("%s Empty means the environment's default (%s).", k.Description, strings.Join(parts, "; "))
}

// same is a default that is the same in every environment.
func same(v string) map[Environment]string {
	return map[Environment]string{Local: v, Staging: v, Prod: v}
}

// perEnv is a default per environment.
func perEnv(local, staging, prod string) map[Environment]string {
	return map[Environment]string{Local: local, Staging: staging, Prod: prod}
}

// Keys returns every key the program reads, sorted by name.
func Keys() []Key {
	keys := []Key{
		{Name: "environment", Kind: KindString, Default: "",
			Description: "Deployment environment: local, staging or prod. Empty means the stack name, when it is one of those."},
		{Name: "namespace", Kind: KindString, Default: "rhesis",
			Description: "Kubernetes namespace the program creates and deploys into."},
		{Name: "createNamespace", Kind: KindBoolean, Default: true,
			Description: "Create the namespace (and, with keep, protect it). false deploys into one that exists already, made by another stack that shares it or by the platform team: the program reads it, requires it to enforce Pod Security restricted, and never deletes it."},
		{Name: "namePrefix", Kind: KindString, Default: "",
			Description: "Goes before the name of every object and in-cluster address (a-backend, a-postgres) and the Helm release (a-rhesis), so two stacks share a namespace. Lowercase letters, digits and hyphens, starting with a letter and ending with a hyphen, at most 30 characters. Empty keeps the names users type. A live stack cannot change it."},
		{Name: "deploy.mode", Kind: KindString, Default: ModeRaw,
			Description: "How to deploy: raw (each object the chart charts/rhesis renders registered as a Pulumi resource of its own) or helm (the chart installed as the Helm release rhesis). Both create the same objects; a live stack cannot switch."},
		{Name: "deploy.chart", Kind: KindString, Default: "",
			Description: "The chart both modes deploy: empty means charts/rhesis of this repository; an OCI reference (oci://ghcr.io/rhesis-ai/charts/rhesis) means that published chart at deploy.chartVersion, pulled with Helm's registry login (`helm registry login`). Helm mode installs it from the registry; raw mode renders it."},
		{Name: "deploy.chartVersion", Kind: KindString, Default: "",
			Description: "The exact version (SemVer, e.g. 0.11.0) of the published chart deploy.chart names; required with it, refused without it."},
		{Name: "kubeContext", Kind: KindString, Default: "",
			Description: "kubeconfig context to deploy to. Empty means the current context."},
		{Name: "logLevel", Kind: KindString, Default: "INFO",
			Description: "LOG_LEVEL of the backend and worker: DEBUG, INFO, WARNING, ERROR or CRITICAL."},
		{Name: "frontendUrl", Kind: KindString, Default: "", ByEnv: perEnv("http://localhost:3000", "", ""),
			Description: "FRONTEND_URL: the http(s) URL a browser uses to reach the frontend. While the ingress is on, empty means http(s)://<ingress.host>."},
		{Name: "apiBaseUrl", Kind: KindString, Default: "", ByEnv: perEnv("http://localhost:8080", "", ""),
			Description: "API_BASE_URL: the http(s) URL a browser uses to reach the backend API. While the ingress is on, empty means the API's ingress host or path."},
		{Name: "worker.concurrency", Kind: KindInteger, Default: 8,
			Description: "CELERY_WORKER_CONCURRENCY: worker processes per pod; keep it in line with the worker's CPU limit."},
		{Name: "worker.keda.enabled", Kind: KindBoolean, Default: false,
			Description: "Scale the worker on the length of its Celery queues with a KEDA ScaledObject (keda.sh/v1alpha1) instead of the HorizontalPodAutoscaler, between worker.autoscaling.minReplicas and maxReplicas. Needs worker.autoscaling.enabled and KEDA in the cluster (checked before anything is created)."},
		{Name: "worker.keda.listLength", Kind: KindInteger, Default: 10,
			Description: "Waiting tasks per worker pod the KEDA scaler aims at."},
		{Name: "worker.keda.namespace", Kind: KindString, Default: "keda",
			Description: "Namespace of KEDA's operator, which the network policies let reach Redis."},
		{Name: "worker.prefetchMultiplier", Kind: KindInteger, Default: 4,
			Description: "CELERY_WORKER_PREFETCH_MULTIPLIER."},
	}
	keys = append(keys, podKeys(GlobalPod)...)
	for _, c := range componentNames {
		keys = append(keys, componentKeys(c)...)
		keys = append(keys, podKeys(c)...)
	}
	keys = append(keys, imageKeys()...)
	keys = append(keys, hardeningKeys()...)
	for _, s := range storeNames {
		keys = append(keys, persistenceKeys(s)...)
	}
	keys = append(keys, secretKeys()...)
	keys = append(keys, secretSourceKeys()...)
	sort.Slice(keys, func(i, j int) bool { return keys[i].Name < keys[j].Name })
	return keys
}

// envKey declares a key whose default may differ per environment; when every
// environment agrees the value becomes the plain Pulumi.yaml default.
func envKey(name string, kind Kind, byEnv map[Environment]string, description string) Key {
	for _, e := range Environments {
		if byEnv[e] != byEnv[Local] {
			return Key{Name: name, Kind: kind, Default: "", ByEnv: byEnv, Description: description}
		}
	}
	return Key{Name: name, Kind: kind, Default: byEnv[Local], Description: description}
}

func componentKeys(c string) []Key {
	p := profiles[c]
	return []Key{
		{Name: c + ".enabled", Kind: KindBoolean, Default: true,
			Description: fmt.Sprintf("Deploy %s.", c)},
		repositoryKey(c+".image.repository", p.repository, c),
		tagKey(c+".image.tag", p.tag, c),
		{Name: c + ".image.pullPolicy", Kind: KindString, Default: "",
			Description: "Image pull policy: Always, IfNotPresent or Never. Empty means IfNotPresent, " +
				"or Always for an image the program builds and pushes (its tag may be pushed again with new content)."},
		envKey(c+".replicas", KindInteger, p.replicas,
			fmt.Sprintf("Replicas of %s, an integer >= 0.", c)),
		envKey(c+".resources.requests.cpu", KindString, p.requestCPU,
			fmt.Sprintf("CPU request of each %s container (a Kubernetes quantity).", c)),
		envKey(c+".resources.requests.memory", KindString, p.requestMemory,
			fmt.Sprintf("Memory request of each %s container (a Kubernetes quantity).", c)),
		envKey(c+".resources.limits.cpu", KindString, p.limitCPU,
			fmt.Sprintf("CPU limit of each %s container, at least the request.", c)),
		envKey(c+".resources.limits.memory", KindString, p.limitMemory,
			fmt.Sprintf("Memory limit of each %s container, at least the request.", c)),
		envKey(c+".resources.requests.ephemeralStorage", KindString, same("256Mi"),
			fmt.Sprintf("Ephemeral (node-local scratch) storage request of each %s container.", c)),
		envKey(c+".resources.limits.ephemeralStorage", KindString, same("2Gi"),
			fmt.Sprintf("Ephemeral storage limit of each %s container; the pod is evicted above it.", c)),
		{Name: c + ".extraEnv", Kind: KindObject, Default: map[string]any{},
			Description: fmt.Sprintf("Extra non-secret environment variables of %s, as a map of NAME: value.", c)},
	}
}

// repositoryKey declares an image repository: a fixed default for the
// stores, derived from the images.* keys for the images the program can build.
func repositoryKey(name string, byEnv map[Environment]string, image string) Key {
	if byEnv != nil {
		return envKey(name, KindString, byEnv, fmt.Sprintf("Image repository of %s.", image))
	}
	return Key{Name: name, Kind: KindString, Default: "", Description: fmt.Sprintf(
		"Image repository of %[1]s. Empty means <images.registry>/%[1]s when images.registry is set, "+
			"else rhesis-%[1]s for a built image, else %[2]s/%[1]s.", image, PrebuiltRegistry)}
}

// tagKey declares an image tag: fixed for the stores, images.tag for the rest.
func tagKey(name string, byEnv map[Environment]string, image string) Key {
	if byEnv != nil {
		return envKey(name, KindString, byEnv, fmt.Sprintf("Image tag of %s.", image))
	}
	return Key{Name: name, Kind: KindString, Default: "",
		Description: fmt.Sprintf("Image tag of %s. Empty means images.tag.", image)}
}

// imageKeys declare how the application images are obtained: built from a
// Rhesis checkout, or prebuilt.
func imageKeys() []Key {
	return []Key{
		{Name: "images.build", Kind: KindBoolean, Default: false,
			Description: "Build the frontend, backend, worker and migrate images from images.context with Docker. " +
				"false uses prebuilt images and needs neither Docker nor a checkout."},
		{Name: "images.context", Kind: KindString, Default: "",
			Description: "Path of a Rhesis monorepo checkout (git clone https://github.com/rhesis-ai/rhesis), " +
				"absolute or relative to the project folder; the build context of every image. Required when images.build is true."},
		{Name: "images.registry", Kind: KindString, Default: "",
			Description: "Registry and namespace of the application images, for example ghcr.io/acme; " +
				"images are named <registry>/<image>. Required to push."},
		{Name: "images.tag", Kind: KindString, Default: charts.RhesisRelease,
			Description: "Tag of the application images: the Rhesis release (published without a leading v) or a commit. " +
				"Defaults to the release this project pins (the chart's appVersion). latest is refused in staging and prod: " +
				"a moving tag makes a deployment unrepeatable."},
		envKey("images.push", KindBoolean, perEnv("false", "true", "true"),
			"Push built images to images.registry (true or false). A local cluster uses the images where they were built."),
		{Name: "images.platform", Kind: KindString, Default: "linux/amd64",
			Description: "Platform the images are built for, os/arch[/variant]."},
		{Name: "images.registryUsername", Kind: KindString, Default: "",
			Description: "User for images.registry: pushes log in with it, and the pods pull with a Secret " +
				RegistrySecretName + " made from it and images.registryPassword."},
		{Name: "images.registryPassword", Kind: KindString, Default: "", Secret: true,
			Description: "Password or token for images.registryUsername. Set it with `pulumi config set --secret`."},
		{Name: "images.pullSecrets", Kind: KindString, Default: "",
			Description: "Comma-separated names of further image pull Secrets every pod references, created outside this program."},
		{Name: MigrateName + ".image.repository", Kind: KindString, Default: "",
			Description: "Image repository of the migration Job. Empty means the backend's image (it carries ./migrate.sh; " +
				"the Rhesis project publishes no migrate image), or for built images the migrate target " +
				"(<images.registry>/migrate, else rhesis-migrate)."},
		{Name: MigrateName + ".image.tag", Kind: KindString, Default: "",
			Description: "Image tag of the migration Job. Empty means the backend's tag, or images.tag for a built image."},
	}
}

func persistenceKeys(s string) []Key {
	p := profiles[s]
	return []Key{
		envKey(s+".persistence.enabled", KindBoolean, p.persistence,
			fmt.Sprintf("Keep %s data on a PersistentVolumeClaim (true) or in an emptyDir lost with the pod (false).", s)),
		envKey(s+".persistence.size", KindString, p.storage,
			fmt.Sprintf("Size of the %s volume claim (a Kubernetes quantity).", s)),
		{Name: s + ".persistence.storageClass", Kind: KindString, Default: "",
			Description: fmt.Sprintf("StorageClass of the %s volume claim. Empty means the cluster's default class.", s)},
	}
}

// SecretSpec ties a secret config key to the environment variable it becomes.
type SecretSpec struct {
	Key    string
	EnvVar string
	// LocalDefault is the development-only value a local stack uses when the
	// key is not set; staging and prod refuse it.
	LocalDefault string
	Description  string
	// AppRoleOnly secrets are required only where the application has a
	// role of its own (Stack.AppRole).
	AppRoleOnly bool
}

// RequiredSecrets are the secrets the applications refuse to start without.
var RequiredSecrets = []SecretSpec{
	{"sessionSecretKey", "SESSION_SECRET_KEY", "local-dev-session-secret-key-not-for-production",
		"SESSION_SECRET_KEY of the backend and worker.", false},
	{"jwtSecretKey", "JWT_SECRET_KEY", "local-dev-jwt-secret-key-not-for-production",
		"JWT_SECRET_KEY of the backend and worker.", false},
	{"nextauthSecret", "NEXTAUTH_SECRET", "local-dev-nextauth-secret-not-for-production",
		"NEXTAUTH_SECRET of the frontend.", false},
	{"dbEncryptionKey", "DB_ENCRYPTION_KEY", "cmhlc2lzLWxvY2FsLWRldmVsb3BtZW50LW9ubHkhISE=",
		"DB_ENCRYPTION_KEY: a Fernet key (32 random bytes, url-safe base64, 44 characters).", false},
	{"dbPassword", "ADMIN_DB_PASS", "local-dev-db-password",
		"Password of the in-cluster database's owner (rhesis-user: migrations, backups, exporter), or of postgres.external.user.", false},
	// The application's own role, under which PostgreSQL's row-level
	// security applies (the owner, a superuser, bypasses it).
	{"dbAppPassword", "APP_DB_PASS", "local-dev-app-db-password",
		"APP_DB_PASS: password of the application's own PostgreSQL role (" + AppRoleName + ") under which row-level security applies; needed with the in-cluster database.", true},
	{"redisPassword", "REDIS_PASSWORD", "local-dev-redis-password",
		"REDIS_PASSWORD: password Redis requires; the broker URLs carry it percent-encoded.", false},
	// BACKEND_ENV=production (prod) refuses to start without it; staging
	// needs it too, so that it rehearses prod's secret set.
	{"auditHashKey", "AUDIT_HASH_KEY", "local-dev-audit-hash-key-not-for-production",
		"AUDIT_HASH_KEY: HMAC key of the audit log's hashed e-mail addresses; the backend refuses to start without it under BACKEND_ENV=production.", false},
}

// ExtraSecretsKey is the object key holding optional secrets by variable name.
const ExtraSecretsKey = "extraSecrets"

func secretKeys() []Key {
	keys := make([]Key, 0, len(RequiredSecrets)+1)
	for _, s := range RequiredSecrets {
		keys = append(keys, Key{Name: s.Key, Kind: KindString, Default: "", Secret: true,
			ByEnv: perEnv(s.LocalDefault, "", ""), Description: s.Description + " Set it with `pulumi config set --secret`."})
	}
	return append(keys, Key{Name: ExtraSecretsKey, Kind: KindObject, Default: map[string]any{}, Secret: true,
		Description: "Optional secrets for the backend and worker, as a map of ENV_NAME: value " +
			"(OPENAI_API_KEY, GOOGLE_CLIENT_SECRET, SMTP_PASSWORD, ...). " +
			"Set one with `pulumi config set --secret --path 'extraSecrets.OPENAI_API_KEY' <value>`."})
}

// Declaration is a key as Pulumi.yaml's `config:` block declares it.
type Declaration struct {
	Type        Kind   `yaml:"type"`
	Description string `yaml:"description"`
	Default     any    `yaml:"default"`
}

// Declarations are the `config:` block of Pulumi.yaml, keyed by short name:
// each top-level value, and each object (rhesis:backend) the dotted keys
// live in. The engine checks the types; the program checks what is inside
// an object and applies its per-environment defaults.
func Declarations() map[string]Declaration {
	out := map[string]Declaration{}
	inside := map[string][]string{}
	for _, k := range Keys() {
		top, path := splitKey(k.Name)
		if path == "" {
			out[k.Name] = Declaration{Type: k.Kind, Description: k.PulumiDescription(), Default: k.Default}
			continue
		}
		inside[top] = append(inside[top], path)
	}
	for top, paths := range inside {
		example := slices.MinFunc(paths, func(a, b string) int { return cmp.Compare(len(a), len(b)) })
		out[top] = Declaration{Type: KindObject, Default: map[string]any{}, Description: fmt.Sprintf(
			"Settings of %s: %s. Set one with `%s`; the README's configuration reference gives each one's type and defaults.",
			top, strings.Join(paths, ", "), SetCommand("", top+"."+example, "<value>", false))}
	}
	return out
}
