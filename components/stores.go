package components

import (
	"strconv"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/config"
)

// Ports, identities and volume names of the data stores.
const (
	PostgresPort  = 5432
	RedisPort     = 6379
	PostgresClaim = "postgres-pvc"
	RedisClaim    = "redis-pvc"
	// The pgvector image is Debian based: user and group postgres are 999.
	postgresUID = 999
	// redis:7-alpine runs as user redis (999) in group redis (1000).
	redisUID = 999
	redisGID = 1000
	// PGDATA is a subdirectory of the mount: a fresh volume's root may hold
	// lost+found, which initdb refuses.
	postgresMount = "/var/lib/postgresql/data"
	postgresData  = postgresMount + "/pgdata"
)

func itoa(n int) string { return strconv.Itoa(n) }

// Readiness commands: exec probes get no $(VAR) expansion, so a shell reads
// the variables the container already has.
var (
	PostgresReadyCommand = []string{"sh", "-c", `pg_isready -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"`}
	RedisReadyCommand    = []string{"sh", "-c", `REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h 127.0.0.1 ping | grep -q PONG`}
)

// Postgres is PostgreSQL with pgvector.
type Postgres struct {
	Service
	// Claim is the data volume claim; nil when persistence is off.
	Claim *corev1.PersistentVolumeClaim
}

// NewPostgres deploys PostgreSQL on the claim postgres-pvc, or on an emptyDir
// when persistence is off. It uses the Recreate strategy: two pods must never
// share one data directory.
func NewPostgres(ctx *pulumi.Context, name string, args StoreArgs, opts ...pulumi.ResourceOption) (*Postgres, error) {
	c := &Postgres{}
	err := registerService(ctx, "Postgres", name, &c.Service, args.ServiceArgs, opts, func() (WorkloadArgs, error) {
		claim, err := newClaim(ctx, &c.Service, PostgresClaim, name, "database", args)
		c.Claim = claim
		wa := WorkloadArgs{
			Role: "database", PortName: "postgres", Port: PostgresPort, Recreate: true,
			Env: []Env{
				FromConfigMap("POSTGRES_DB", "DB_NAME"),
				Literal("POSTGRES_USER", config.OwnerRoleName),
				FromSecret("POSTGRES_PASSWORD", "ADMIN_DB_PASS"),
				Literal("PGDATA", postgresData),
			},
			RunAs:   RunAs{User: postgresUID, Group: postgresUID, FSGroup: postgresUID},
			Startup: &Probe{PeriodSeconds: 5, FailureThreshold: 60},
			// Ready when the server accepts queries, alive while it listens.
			Readiness:    Probe{Exec: PostgresReadyCommand, PeriodSeconds: 10, FailureThreshold: 3},
			Liveness:     Probe{PeriodSeconds: 20, FailureThreshold: 3},
			ReadOnlyRoot: true,
			// The server's socket and lock files.
			Volumes: []Volume{{Name: "run", MountPath: "/var/run/postgresql"}},
		}
		if args.Exporter {
			wa.Sidecars = append(wa.Sidecars, PostgresExporter)
		}
		dataVolume(&wa, claim, PostgresClaim, postgresMount)
		if args.Backups != nil {
			// Read-only: the dumps are at hand for pg_restore, and the server
			// is the claim's first consumer, so it binds at install (under
			// WaitForFirstConsumer it would wait for the first backup, and
			// `helm --wait` with it).
			wa.Volumes = append(wa.Volumes, Volume{Name: "backup", MountPath: BackupMount, ClaimName: BackupName, ReadOnly: true})
			wa.DependsOn = append(wa.DependsOn, args.Backups)
		}
		return wa, err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Redis is the cache and Celery broker, with password authentication.
type Redis struct {
	Service
	Claim *corev1.PersistentVolumeClaim
}

// NewRedis deploys Redis. The password comes from the Secret through the
// environment; Kubernetes expands $(REDIS_PASSWORD) in the arguments.
// With persistence on, Redis keeps an append-only file on redis-pvc.
func NewRedis(ctx *pulumi.Context, name string, args StoreArgs, opts ...pulumi.ResourceOption) (*Redis, error) {
	c := &Redis{}
	err := registerService(ctx, "Redis", name, &c.Service, args.ServiceArgs, opts, func() (WorkloadArgs, error) {
		claim, err := newClaim(ctx, &c.Service, RedisClaim, name, "cache", args)
		c.Claim = claim
		appendOnly := "no"
		if args.Persistence.Enabled {
			appendOnly = "yes"
		}
		wa := WorkloadArgs{
			Role: "cache", PortName: "redis", Port: RedisPort, Recreate: true,
			Command:      []string{"redis-server"},
			Args:         []string{"--requirepass", "$(REDIS_PASSWORD)", "--dir", "/data", "--appendonly", appendOnly},
			Env:          []Env{FromSecret("REDIS_PASSWORD", "REDIS_PASSWORD")},
			RunAs:        RunAs{User: redisUID, Group: redisGID, FSGroup: redisGID},
			Readiness:    Probe{Exec: RedisReadyCommand, PeriodSeconds: 10, FailureThreshold: 3},
			Liveness:     Probe{PeriodSeconds: 20, FailureThreshold: 3},
			ReadOnlyRoot: true,
		}
		if args.Exporter {
			wa.Sidecars = append(wa.Sidecars, RedisExporter)
		}
		dataVolume(&wa, claim, RedisClaim, "/data")
		return wa, err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// newClaim creates the store's claim when persistence is on; otherwise nothing.
func newClaim(ctx *pulumi.Context, parent pulumi.Resource, claim, component, role string, args StoreArgs) (*corev1.PersistentVolumeClaim, error) {
	p := args.Persistence
	if !p.Enabled {
		return nil, nil
	}
	spec := corev1.PersistentVolumeClaimSpecArgs{
		AccessModes: pulumi.ToStringArray([]string{"ReadWriteOnce"}),
		Resources:   corev1.VolumeResourceRequirementsArgs{Requests: pulumi.StringMap{"storage": pulumi.String(p.Size.String())}},
	}
	if p.StorageClass != "" {
		spec.StorageClassName = pulumi.String(p.StorageClass)
	}
	return NewClaim(ctx, parent, ClaimArgs{
		Name: claim, Component: component, Role: role, Namespace: args.Namespace,
		Size: p.Size.String(), StorageClass: p.StorageClass, AccessMode: "ReadWriteOnce", Keep: args.Keep,
	})
}

// ClaimArgs describe a PersistentVolumeClaim.
type ClaimArgs struct {
	Name, Component, Role string
	Namespace             pulumi.StringInput
	Size, StorageClass    string
	AccessMode            string
	// Keep protects the claim in Pulumi (delete and replace are refused) and
	// tells Helm to leave it on uninstall: the data outlives the stack.
	Keep bool
}

// KeepAnnotation makes `helm uninstall` leave an object in place.
const KeepAnnotation = "helm.sh/resource-policy"

// NewClaim creates a claim; every data volume of the stack is made here.
func NewClaim(ctx *pulumi.Context, parent pulumi.Resource, a ClaimArgs) (*corev1.PersistentVolumeClaim, error) {
	spec := corev1.PersistentVolumeClaimSpecArgs{
		AccessModes: pulumi.ToStringArray([]string{a.AccessMode}),
		Resources:   corev1.VolumeResourceRequirementsArgs{Requests: pulumi.StringMap{"storage": pulumi.String(a.Size)}},
	}
	if a.StorageClass != "" {
		spec.StorageClassName = pulumi.String(a.StorageClass)
	}
	// No Pulumi await of its own: for a WaitForFirstConsumer class the
	// provider waits for a claim to be Pending, so any later update of a
	// bound claim would time out; the Deployment that mounts it awaits it.
	annotations := pulumi.StringMap{ServiceSkipAwait: pulumi.String("true")}
	if a.Keep {
		annotations[KeepAnnotation] = pulumi.String("keep")
	}
	meta := metav1.ObjectMetaArgs{
		Name:        pulumi.String(a.Name),
		Namespace:   a.Namespace,
		Labels:      pulumi.ToStringMap(Labels(a.Component, a.Role)),
		Annotations: annotations,
	}
	return corev1.NewPersistentVolumeClaim(ctx, a.Name, &corev1.PersistentVolumeClaimArgs{Metadata: meta, Spec: spec},
		pulumi.Parent(parent), pulumi.Protect(a.Keep))
}

// dataVolume mounts claim at mountPath, or an emptyDir when there is no claim,
// and makes the workload wait for the claim it uses.
func dataVolume(wa *WorkloadArgs, claim *corev1.PersistentVolumeClaim, claimName, mountPath string) {
	v := Volume{Name: "data", MountPath: mountPath}
	if claim != nil {
		v.ClaimName = claimName
		wa.DependsOn = append(wa.DependsOn, claim)
	}
	wa.Volumes = append(wa.Volumes, v)
}
