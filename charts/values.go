package charts

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
)

// Values are the chart's values (rhesis/values.yaml) as the program hands them
// over. A field marked omitempty and left empty keeps the chart's default:
// those are facts of the images (ports, users, exporters) that no stack sets.
// values.schema.json describes the same tree; a test holds the two together.
type Values struct {
	NamePrefix      string          `json:"namePrefix"`
	Global          Global          `json:"global"`
	Frontend        App             `json:"frontend"`
	Backend         App             `json:"backend"`
	Worker          Worker          `json:"worker"`
	Database        Database        `json:"database"`
	Redis           Redis           `json:"redis"`
	NetworkPolicies NetworkPolicies `json:"networkPolicies"`
	Ingress         Ingress         `json:"ingress"`
	Gateway         Gateway         `json:"gateway"`
	Migrations      Migrations      `json:"migrations"`
	Backup          Backup          `json:"backup"`
	Storage         Storage         `json:"storage"`
	Monitoring      Monitoring      `json:"monitoring"`
	Secrets         Secrets         `json:"secrets"`
	Tests           *Tests          `json:"tests,omitempty"`
}

// Global are the values every service reads.
type Global struct {
	Environment       string           `json:"environment"`
	ImagePullPolicy   string           `json:"imagePullPolicy"`
	ImageTag          string           `json:"imageTag"`
	ImagePullSecrets  []string         `json:"imagePullSecrets"`
	ImageCredentials  ImageCredentials `json:"imageCredentials"`
	LogLevel          string           `json:"logLevel"`
	FrontendURL       string           `json:"frontendUrl"`
	APIBaseURL        string           `json:"apiBaseUrl"`
	ChartDigest       string           `json:"chartDigest"`
	SpreadAcrossNodes bool             `json:"spreadAcrossNodes"`
	Pod
}

// Pod is where a component's pods run and what they carry besides the
// chart's own, in Kubernetes' own types. global holds the default of every
// component: a component's empty value means global's, and its maps are
// merged over global's.
type Pod struct {
	NodeSelector              map[string]string                 `json:"nodeSelector"`
	Tolerations               []corev1.Toleration               `json:"tolerations"`
	Affinity                  *corev1.Affinity                  `json:"affinity,omitempty"`
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints"`
	PriorityClassName         string                            `json:"priorityClassName"`
	PodAnnotations            map[string]string                 `json:"podAnnotations"`
	PodLabels                 map[string]string                 `json:"podLabels"`
	Service                   ServiceMetadata                   `json:"service"`
	ExtraVolumes              []corev1.Volume                   `json:"extraVolumes"`
	ExtraVolumeMounts         []corev1.VolumeMount              `json:"extraVolumeMounts"`
	ExtraEnvFrom              []corev1.EnvFromSource            `json:"extraEnvFrom"`
	InitContainers            []corev1.Container                `json:"initContainers"`
	ExtraContainers           []corev1.Container                `json:"extraContainers"`
}

// ServiceMetadata is what a component's Service carries besides the chart's own.
type ServiceMetadata struct {
	Annotations map[string]string `json:"annotations"`
}

// ImageCredentials log pulls in to a private registry.
type ImageCredentials struct {
	Registry string `json:"registry"`
	Username string `json:"username"`
}

// Image names a container image; Digest is set for a built one.
type Image struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	PullPolicy string `json:"pullPolicy"`
	Digest     string `json:"digest"`
}

// StoreImage is a store's image, which is never built.
type StoreImage struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	PullPolicy string `json:"pullPolicy"`
}

// Resources are a container's requests and limits.
type Resources struct {
	Requests Quantities `json:"requests"`
	Limits   Quantities `json:"limits"`
}

// Quantities are Kubernetes quantities.
type Quantities struct {
	CPU              string `json:"cpu"`
	Memory           string `json:"memory"`
	EphemeralStorage string `json:"ephemeralStorage"`
}

// RunAs is the user, group and filesystem group of a pod.
type RunAs struct {
	User    int `json:"user"`
	Group   int `json:"group"`
	FSGroup int `json:"fsGroup"`
}

// ServiceAccount is a component's account: annotations and Role rules.
type ServiceAccount struct {
	Annotations map[string]string `json:"annotations"`
	Rules       []Rule            `json:"rules"`
}

// Rule is a Role rule: rights on resources of the namespace.
type Rule struct {
	APIGroups     []string `json:"apiGroups,omitempty"`
	Resources     []string `json:"resources,omitempty"`
	ResourceNames []string `json:"resourceNames,omitempty"`
	Verbs         []string `json:"verbs"`
}

// Autoscaling is a component's HorizontalPodAutoscaler.
type Autoscaling struct {
	Enabled                       bool `json:"enabled"`
	MinReplicas                   int  `json:"minReplicas"`
	MaxReplicas                   int  `json:"maxReplicas"`
	TargetCPUUtilization          int  `json:"targetCPUUtilization"`
	TargetMemoryUtilization       int  `json:"targetMemoryUtilization"`
	ScaleDownStabilizationSeconds int  `json:"scaleDownStabilizationSeconds"`
}

// Component is what every service has (whether the database is on is
// database.enabled).
type Component struct {
	Replicas       int               `json:"replicas"`
	Resources      Resources         `json:"resources"`
	ExtraEnv       map[string]string `json:"extraEnv"`
	ServiceAccount ServiceAccount    `json:"serviceAccount"`
	RunAs          *RunAs            `json:"runAs,omitempty"`
	Pod
}

// App is the frontend or the backend.
type App struct {
	Enabled bool `json:"enabled"`
	Component
	Image       Image       `json:"image"`
	Autoscaling Autoscaling `json:"autoscaling"`
	Port        int         `json:"port,omitempty"`
}

// Worker is the Celery worker.
type Worker struct {
	Enabled bool `json:"enabled"`
	Component
	Image              Image       `json:"image"`
	Autoscaling        Autoscaling `json:"autoscaling"`
	HealthPort         int         `json:"healthPort,omitempty"`
	Concurrency        int         `json:"concurrency"`
	PrefetchMultiplier int         `json:"prefetchMultiplier"`
	Keda               Keda        `json:"keda"`
}

// Keda scales the worker on the length of its Celery queues.
type Keda struct {
	Enabled    bool `json:"enabled"`
	ListLength int  `json:"listLength"`
	// Queues are the app's; empty keeps the chart's list.
	Queues    []string `json:"queues,omitempty"`
	Namespace string   `json:"namespace"`
}

// Persistence is a store's volume.
type Persistence struct {
	Enabled      bool   `json:"enabled"`
	Size         string `json:"size"`
	StorageClass string `json:"storageClass"`
}

// Database is PostgreSQL: in the cluster, or external.
type Database struct {
	Enabled    bool             `json:"enabled"`
	Type       string           `json:"type"`
	PostgreSQL PostgreSQL       `json:"postgresql"`
	External   ExternalDatabase `json:"external"`
}

// PostgreSQL is the in-cluster database.
type PostgreSQL struct {
	Component
	Image       StoreImage      `json:"image"`
	Persistence KeptPersistence `json:"persistence"`
	Port        int             `json:"port,omitempty"`
}

// KeptPersistence is a volume that may outlive the release.
type KeptPersistence struct {
	Persistence
	Keep bool `json:"keep"`
}

// ExternalDatabase is a PostgreSQL outside the cluster.
type ExternalDatabase struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Database string `json:"database"`
	User     string `json:"user"`
	SSLMode  string `json:"sslMode"`
}

// Redis is the in-cluster Redis, or an external one.
type Redis struct {
	Enabled bool `json:"enabled"`
	Component
	Image       StoreImage    `json:"image"`
	Persistence Persistence   `json:"persistence"`
	External    ExternalRedis `json:"external"`
	Port        int           `json:"port,omitempty"`
}

// ExternalRedis is a Redis outside the cluster.
type ExternalRedis struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	TLS  bool   `json:"tls"`
}

// NetworkPolicies are the namespace's traffic rules.
type NetworkPolicies struct {
	Enabled                    bool   `json:"enabled"`
	IngressControllerNamespace string `json:"ingressControllerNamespace"`
	InternetEgress             bool   `json:"internetEgress"`
	EgressPorts                []int  `json:"egressPorts"`
}

// Ingress routes browsers to the frontend and the API.
type Ingress struct {
	Enabled       bool              `json:"enabled"`
	ClassName     string            `json:"className"`
	Host          string            `json:"host"`
	APIHost       string            `json:"apiHost"`
	APIPath       string            `json:"apiPath"`
	TLSSecret     string            `json:"tlsSecret"`
	ClusterIssuer string            `json:"clusterIssuer"`
	Annotations   map[string]string `json:"annotations"`
}

// Gateway publishes the frontend and the API through Gateway API HTTPRoutes.
type Gateway struct {
	Enabled     bool              `json:"enabled"`
	ParentRefs  []ParentRef       `json:"parentRefs"`
	Host        string            `json:"host"`
	APIHost     string            `json:"apiHost"`
	APIPath     string            `json:"apiPath"`
	HTTPS       bool              `json:"https"`
	Namespace   string            `json:"namespace"`
	Annotations map[string]string `json:"annotations"`
}

// ParentRef is a route's parent (the Gateway API's ParentReference).
type ParentRef struct {
	Group       *string `json:"group,omitempty"`
	Kind        *string `json:"kind,omitempty"`
	Namespace   string  `json:"namespace,omitempty"`
	Name        string  `json:"name"`
	SectionName string  `json:"sectionName,omitempty"`
	Port        int     `json:"port,omitempty"`
}

// Migrations is the Job that migrates the database once per release.
type Migrations struct {
	Enabled   bool      `json:"enabled"`
	Image     Image     `json:"image"`
	Resources Resources `json:"resources"`
}

// Backup is the scheduled dump of the database.
type Backup struct {
	Enabled       bool       `json:"enabled"`
	Schedule      string     `json:"schedule"`
	RetentionDays int        `json:"retentionDays"`
	Size          string     `json:"size"`
	StorageClass  string     `json:"storageClass"`
	Resources     *Resources `json:"resources,omitempty"`
}

// Storage is /app/storage of backend and worker.
type Storage struct {
	URI          string `json:"uri"`
	Size         string `json:"size"`
	AccessMode   string `json:"accessMode"`
	StorageClass string `json:"storageClass"`
}

// Monitoring is the exporters, ServiceMonitors and alerts.
type Monitoring struct {
	Enabled   bool              `json:"enabled"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels"`
	Exporters *Exporters        `json:"exporters,omitempty"`
}

// Exporters are the stores' metrics sidecars.
type Exporters struct {
	Postgres  Exporter  `json:"postgres"`
	Redis     Exporter  `json:"redis"`
	Resources Resources `json:"resources"`
}

// Exporter is one metrics sidecar.
type Exporter struct {
	Image string `json:"image"`
	Port  int    `json:"port"`
}

// Secrets are the secret values; helm mode hands them over as a Pulumi secret.
type Secrets struct {
	ExistingSecret   string            `json:"existingSecret"`
	SessionSecretKey string            `json:"sessionSecretKey"`
	JWTSecretKey     string            `json:"jwtSecretKey"`
	NextauthSecret   string            `json:"nextauthSecret"`
	DBEncryptionKey  string            `json:"dbEncryptionKey"`
	DBPassword       string            `json:"dbPassword"`
	DBAppPassword    string            `json:"dbAppPassword"`
	RedisPassword    string            `json:"redisPassword"`
	AuditHashKey     string            `json:"auditHashKey"`
	RegistryPassword string            `json:"registryPassword"`
	Extra            map[string]string `json:"extra"`
	// SecretKeyRefs read values (by their name here: dbPassword, ...) from
	// Secrets of the user's instead of the chart's.
	SecretKeyRefs  map[string]SecretKeyRef `json:"secretKeyRefs"`
	ExternalSecret ExternalSecret          `json:"externalSecret"`
}

// SecretKeyRef is a key of an existing Secret.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// ExternalSecret is the External Secrets Operator's ExternalSecret that fills
// the chart's Secret from a store.
type ExternalSecret struct {
	Enabled         bool                 `json:"enabled"`
	SecretStoreRef  SecretStoreRef       `json:"secretStoreRef"`
	RefreshInterval string               `json:"refreshInterval"`
	Data            map[string]RemoteRef `json:"data"`
}

// SecretStoreRef names a SecretStore or ClusterSecretStore.
type SecretStoreRef struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// RemoteRef is where a store holds one value.
type RemoteRef struct {
	Key      string `json:"key"`
	Property string `json:"property,omitempty"`
	Version  string `json:"version,omitempty"`
}

// Tests is the `helm test` pod.
type Tests struct {
	Image string `json:"image"`
}

// Map is the values as Helm takes them.
func (v Values) Map() map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // strings, numbers, bools and maps of them always marshal
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}
