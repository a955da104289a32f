package config

import "k8s.io/apimachinery/pkg/api/resource"

// Component names: the names of their Deployments and Services, which users type.
const (
	FrontendName = "frontend"
	BackendName  = "backend"
	WorkerName   = "worker"
	PostgresName = "postgres"
	RedisName    = "redis"
	// MigrateName is the image of the one-shot database migration (`alembic upgrade head`).
	MigrateName = "migrate"
)

// Roles of the in-cluster database: the owner (the image's POSTGRES_USER, a
// superuser) migrates and backs up; the application runs as its own role.
const (
	OwnerRoleName = "rhesis-user"
	AppRoleName   = "rhesis-app"
)

// PrebuiltRegistry is where the Rhesis project publishes its images.
const PrebuiltRegistry = "ghcr.io/rhesis-ai"

// RegistrySecretName is the image pull Secret made from the registry credentials.
const RegistrySecretName = "rhesis-registry"

var (
	componentNames = []string{FrontendName, BackendName, WorkerName, PostgresName, RedisName}
	storeNames     = []string{PostgresName, RedisName}
)

// profile holds a component's per-environment defaults.
type profile struct {
	repository, tag                                  map[Environment]string
	replicas                                         map[Environment]string
	requestCPU, requestMemory, limitCPU, limitMemory map[Environment]string
	persistence, storage                             map[Environment]string
}

// profiles are the sizes of README.md's environment table: local for a
// developer's machine, prod for production, and staging with staging's
// replicas and storage (2 frontend, 2 backend, 3 workers, 10Gi database, 1Gi
// Redis) at production's per-pod sizes, so staging behaves like prod at a
// smaller scale.
var profiles = map[string]profile{
	FrontendName: {
		replicas:      perEnv("1", "2", "2"),
		requestCPU:    perEnv("1000m", "500m", "500m"),
		limitCPU:      perEnv("2000m", "1000m", "1000m"),
		requestMemory: perEnv("2Gi", "1Gi", "1Gi"),
		limitMemory:   perEnv("4Gi", "2Gi", "2Gi"),
	},
	BackendName: {
		replicas:      perEnv("1", "2", "3"),
		requestCPU:    perEnv("500m", "1000m", "1000m"),
		limitCPU:      perEnv("1000m", "2000m", "2000m"),
		requestMemory: perEnv("1Gi", "2Gi", "2Gi"),
		limitMemory:   perEnv("2Gi", "4Gi", "4Gi"),
	},
	WorkerName: {
		replicas:      perEnv("1", "3", "5"),
		requestCPU:    same("500m"),
		limitCPU:      same("1000m"),
		requestMemory: same("1Gi"),
		limitMemory:   same("2Gi"),
	},
	PostgresName: {
		// The backend's migrations run CREATE EXTENSION vector: the image must ship pgvector.
		repository:    same("pgvector/pgvector"),
		tag:           same("pg16"),
		replicas:      same("1"),
		requestCPU:    perEnv("250m", "1000m", "1000m"),
		limitCPU:      perEnv("500m", "2000m", "2000m"),
		requestMemory: perEnv("512Mi", "2Gi", "2Gi"),
		limitMemory:   perEnv("1Gi", "4Gi", "4Gi"),
		persistence:   same("true"),
		storage:       perEnv("1Gi", "10Gi", "100Gi"),
	},
	RedisName: {
		repository:    same("redis"),
		tag:           same("7-alpine"),
		replicas:      same("1"),
		requestCPU:    perEnv("100m", "500m", "500m"),
		limitCPU:      perEnv("200m", "1000m", "1000m"),
		requestMemory: perEnv("128Mi", "1Gi", "1Gi"),
		limitMemory:   perEnv("256Mi", "2Gi", "2Gi"),
		persistence:   perEnv("false", "true", "true"),
		storage:       perEnv("1Gi", "1Gi", "10Gi"),
	},
}

// MigrationResources size the migration Job on their own, not after the
// backend: its pod template (and so the Job, which cannot change in place)
// then stays the same for a release while the backend is resized.
var MigrationResources = Resources{
	Requests: Quantities{CPU: resource.MustParse("250m"), Memory: resource.MustParse("1Gi"), EphemeralStorage: resource.MustParse("256Mi")},
	Limits:   Quantities{CPU: resource.MustParse("1000m"), Memory: resource.MustParse("2Gi"), EphemeralStorage: resource.MustParse("2Gi")},
}
