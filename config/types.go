// Package config is the one typed view of a stack's configuration: it declares
// every key, fills in per-environment defaults (README.md, "Environments") and
// validates the result before anything is registered with the engine.
package config

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// Namespace is the Pulumi config namespace of every key this program reads.
const Namespace = "rhesis"

// Environment is one of the deployment environments: local, staging, prod.
type Environment string

// The environments; the string is what `rhesis:environment` and the stack names use.
const (
	Local   Environment = "local"
	Staging Environment = "staging"
	Prod    Environment = "prod"
)

// Environments lists every environment, in the order the docs present them.
var Environments = []Environment{Local, Staging, Prod}

// ReleaseName is the stack's Helm release, and the instance label of its objects.
func (s *Stack) ReleaseName() string { return charts.ReleaseFor(s.NamePrefix) }

// AppEnv is the value the applications expect in BACKEND_ENV, WORKER_ENV and FRONTEND_ENV.
func (e Environment) AppEnv() string {
	if e == Prod {
		return "production"
	}
	return string(e)
}

// Deploy modes.
const (
	ModeRaw  = "raw"
	ModeHelm = "helm"
)

// Stack is the whole configuration of one stack, typed and defaulted.
type Stack struct {
	StackName   string
	Environment Environment
	Namespace   string
	// CreateNamespace is false when the namespace exists already (another
	// stack's, or the platform team's): it is read, never created or deleted.
	CreateNamespace bool
	// NamePrefix goes before every object's name and in-cluster address.
	NamePrefix string
	DeployMode string
	// Chart is an OCI reference of the published chart to deploy at
	// ChartVersion; empty means the repository's own chart.
	Chart        string
	ChartVersion string
	KubeContext  string
	LogLevel     string
	// FrontendURL and APIBaseURL are the URLs a browser uses.
	FrontendURL string
	APIBaseURL  string

	Frontend App
	Backend  App
	Worker   Worker
	Postgres Store
	Redis    Store

	Images Images

	// Production hardening (see hardening.go).
	SpreadAcrossNodes bool
	// Pod is every component's default pod settings (GlobalPod).
	Pod             charts.Pod
	Ingress         Ingress
	Gateway         Gateway
	NetworkPolicies NetworkPolicies
	Migrations      bool
	// Keep protects the data volumes from deletion and replacement.
	Keep       bool
	Backup     Backup
	Storage    SharedStorage
	Monitoring Monitoring

	Secrets Secrets
}

// Images is how the application images are obtained: built from a Rhesis
// checkout (and pushed), or named when prebuilt.
type Images struct {
	Build bool
	// Context is the checkout as configured; ContextDir is it made absolute.
	Context    string
	ContextDir string
	Registry   string
	Tag        string
	Push       bool
	Platform   string
	// Username and Password log pushes in and make the pull Secret RegistrySecretName.
	Username string
	Password string
	// PullSecrets are further pull Secrets created outside the program.
	PullSecrets []string
	// Migrate is the migration image (target migrate of the backend's Dockerfile).
	Migrate Image
}

// HasCredentials tells whether registry credentials are configured.
func (i Images) HasCredentials() bool { return i.Username != "" }

// RegistryServer is the host of Registry ("ghcr.io" of "ghcr.io/acme"),
// where pushes and pulls log in.
func (i Images) RegistryServer() string {
	host, _, _ := strings.Cut(i.Registry, "/")
	return host
}

// PullSecretNames are the image pull Secrets every pod references.
func (s *Stack) PullSecretNames() []string {
	var names []string
	if s.Images.HasCredentials() {
		names = append(names, RegistrySecretName)
	}
	return append(names, s.Images.PullSecrets...)
}

// Component is what every workload has.
type Component struct {
	Enabled   bool
	Image     Image
	Replicas  int
	Resources Resources
	ExtraEnv  map[string]string
	// ServiceAccountAnnotations annotate the component's ServiceAccount.
	ServiceAccountAnnotations map[string]string
	// Rules are the API rights of the ServiceAccount (a Role); none by default.
	Rules       []rbacv1.PolicyRule
	Autoscaling Autoscaling
	// Pod is where its pods run and what they carry besides the chart's own.
	Pod charts.Pod
}

// App is a stateless application component (frontend, backend).
type App struct {
	Component
}

// Worker is the Celery worker with its concurrency settings.
type Worker struct {
	Component
	Concurrency        int
	PrefetchMultiplier int
	// Keda scales it on its queues' length instead of CPU and memory.
	Keda charts.Keda
}

// Store is a stateful component (postgres, redis) with a volume.
type Store struct {
	Component
	Persistence Persistence
	// External, when its Host is set, replaces the in-cluster store.
	External External
}

// Image names a container image.
type Image struct {
	Repository string
	Tag        string
	PullPolicy string
	// Built is true when the program builds this image from the checkout.
	Built bool
	// tagKey is the config key the tag came from, for error messages.
	tagKey string
}

// Ref is the image reference a pod spec uses.
func (i Image) Ref() string { return i.Repository + ":" + i.Tag }

// Resources are a container's requests and limits.
type Resources struct {
	Requests Quantities
	Limits   Quantities
}

// Quantities are CPU, memory and ephemeral storage.
type Quantities struct {
	CPU              resource.Quantity
	Memory           resource.Quantity
	EphemeralStorage resource.Quantity
}

// Persistence is a component's volume.
type Persistence struct {
	Enabled      bool
	Size         resource.Quantity
	StorageClass string
}

// Secrets holds the secret values the applications need. The values are plain
// here; the program wraps them as Pulumi secrets before they reach any resource.
type Secrets struct {
	// Required maps each RequiredSecrets variable name (SESSION_SECRET_KEY, ...) to its value.
	Required map[string]string
	// Extra holds optional secrets for the backend and worker by variable name
	// (OPENAI_API_KEY, SMTP_PASSWORD, ...).
	Extra map[string]string
	// Refs read required secrets (by key: dbPassword, ...) from Secrets of the cluster.
	Refs map[string]charts.SecretKeyRef
	// External fills the Secret from an External Secrets Operator store.
	External charts.ExternalSecret
}

// NamedComponent is a component with its name, for code that treats all five alike.
type NamedComponent struct {
	Name string
	Component
}

// Components lists the five components in start order (stores first).
func (s *Stack) Components() []NamedComponent {
	return []NamedComponent{
		{PostgresName, s.Postgres.Component},
		{RedisName, s.Redis.Component},
		{BackendName, s.Backend.Component},
		{WorkerName, s.Worker.Component},
		{FrontendName, s.Frontend.Component},
	}
}

// Component returns the named component's common settings.
func (s *Stack) Component(name string) Component {
	for _, c := range s.Components() {
		if c.Name == name {
			return c.Component
		}
	}
	panic("config: unknown component " + name)
}
