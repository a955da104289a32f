package stack

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/rhesis-ai/rhesis-deploy/components"
	"github.com/rhesis-ai/rhesis-deploy/config"
)

// BackendEnv is the backend's wiring: the Python secrets, and
// SKIP_MIGRATIONS while a migration Job runs them instead, else the owner.
func BackendEnv(cfg *config.Stack) []components.Env {
	env := PythonEnv(cfg)
	if cfg.Migrations {
		return append([]components.Env{components.Literal("SKIP_MIGRATIONS", "true")}, env...)
	}
	// It migrates at start, as the owner.
	return append(env, OwnerEnv(cfg)...)
}

// migrationArgs run the migrate image with the backend's wiring and sizes.
func migrationArgs(cfg *config.Stack, ns pulumi.StringInput, digests imageDigests, deps []pulumi.Resource) components.JobArgs {
	return components.JobArgs{
		Namespace: ns, Image: cfg.Images.Migrate, Resources: config.MigrationResources, Env: append(PythonEnv(cfg), OwnerEnv(cfg)...),
		ImagePullSecrets: cfg.PullSecretNames(), PodAnnotations: digests.podAnnotations(config.MigrateName, nil),
		DependsOn: deps,
	}
}

// BackupEnv is what pg_dump reads: libpq's variables from the shared wiring.
func BackupEnv() []components.Env {
	return []components.Env{
		components.FromConfigMap("PGHOST", "DB_HOST"),
		components.FromConfigMap("PGPORT", "DB_PORT"),
		components.FromConfigMap("PGDATABASE", "DB_NAME"),
		// The owner: pg_dump as a role under row-level security would fail.
		components.Literal("PGUSER", config.OwnerRoleName),
		components.FromSecret("PGPASSWORD", "ADMIN_DB_PASS"),
	}
}

// BackupResources are the backup job's; pg_dump streams, it needs little.
var BackupResources = config.Resources{
	Requests: config.Quantities{CPU: resource.MustParse("100m"), Memory: resource.MustParse("256Mi"), EphemeralStorage: resource.MustParse("256Mi")},
	Limits:   config.Quantities{CPU: resource.MustParse("500m"), Memory: resource.MustParse("512Mi"), EphemeralStorage: resource.MustParse("1Gi")},
}

func backupJobArgs(cfg *config.Stack, ns pulumi.StringInput) components.JobArgs {
	return components.JobArgs{
		Namespace: ns, Image: cfg.Postgres.Image, Resources: BackupResources, Env: BackupEnv(),
		ImagePullSecrets: cfg.PullSecretNames(),
	}
}

// sharedStorage creates the claim backend and worker share at /app/storage
// and returns its mount; nothing when uploads go to object storage.
func sharedStorage(ctx *pulumi.Context, cfg *config.Stack, parent *components.Platform, opts ...pulumi.ResourceOption) ([]components.Volume, error) {
	if cfg.Storage.URI != "" || (!cfg.Backend.Enabled && !cfg.Worker.Enabled) {
		return nil, nil
	}
	st := cfg.Storage
	_, err := components.NewClaim(ctx, parent, components.ClaimArgs{
		Name: config.SharedStorageClaim, Component: config.SharedStorageClaim, Role: "storage", Namespace: parent.Namespace,
		Size: st.Size.String(), StorageClass: st.StorageClass, AccessMode: st.AccessMode, Keep: cfg.Keep,
	})
	if err != nil {
		return nil, err
	}
	return []components.Volume{{Name: "storage", MountPath: config.SharedStoragePath, ClaimName: config.SharedStorageClaim}}, nil
}

// monitoringArgs scrape the in-cluster stores' exporters and alert on the
// enabled components.
func monitoringArgs(cfg *config.Stack, ns pulumi.StringInput) components.MonitoringArgs {
	var scraped, deployments []string
	for _, c := range cfg.Components() {
		inCluster := c.Enabled && (c.Name != config.PostgresName || cfg.PostgresInCluster()) && (c.Name != config.RedisName || cfg.RedisInCluster())
		if !inCluster {
			continue
		}
		deployments = append(deployments, c.Name)
		if c.Name == config.PostgresName || c.Name == config.RedisName {
			scraped = append(scraped, c.Name)
		}
	}
	return components.MonitoringArgs{
		Namespace: ns, Scraped: scraped, Labels: cfg.Monitoring.Labels,
		Rules: components.AlertRules(cfg.Namespace, deployments, cfg.PostgresInCluster(), cfg.RedisInCluster()),
	}
}
