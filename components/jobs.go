package components

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/config"
)

// Names of the one-shot and scheduled jobs.
const (
	MigrateName = "migrate"
	BackupName  = "postgres-backup"
	BackupMount = "/backup"
)

// MigrationJobName is the Job of one release: a new image reference is a new
// Job, so the migrations run once per release.
func MigrationJobName(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return MigrateName + "-" + hex.EncodeToString(sum[:])[:8]
}

// JobArgs describe a job's pod.
type JobArgs struct {
	Namespace        pulumi.StringInput
	Image            config.Image
	Resources        config.Resources
	Env              []Env
	ImagePullSecrets []string
	PodAnnotations   pulumi.StringMap
	DependsOn        []pulumi.Resource
}

// Migration is the Job that runs the database migrations of one release.
type Migration struct {
	pulumi.ResourceState
	Job *batchv1.Job
}

// NewMigration runs the migrate image's own command (alembic upgrade head)
// once. Pulumi waits for the Job: a failed migration fails the update before
// the backend rolls out.
func NewMigration(ctx *pulumi.Context, name string, args JobArgs, opts ...pulumi.ResourceOption) (*Migration, error) {
	c := &Migration{}
	if err := ctx.RegisterComponentResource(TypePrefix+"Migration", name, c, opts...); err != nil {
		return nil, err
	}
	labels := pulumi.ToStringMap(Labels(MigrateName, "migration"))
	sa, err := NewServiceAccount(ctx, c, MigrateName, args.Namespace, labels, nil)
	if err != nil {
		return nil, err
	}
	runAs := RunAs{User: appUID, Group: appUID, FSGroup: appUID}
	// ./migrate.sh is in the working directory of the backend image and of the
	// migrate target alike; naming it lets either image run the Job.
	pod := jobPod(jobPodSpec{Name: MigrateName, RunAs: runAs, RestartPolicy: "Never", Command: []string{"./migrate.sh"}}, args)
	jobName := MigrationJobName(args.Image.Ref())
	c.Job, err = batchv1.NewJob(ctx, jobName, &batchv1.JobArgs{
		Metadata: metav1.ObjectMetaArgs{
			Name: pulumi.String(jobName), Namespace: args.Namespace, Labels: labels,
			Annotations: pulumi.ToStringMap(KubeScoreAnnotations(KubeScoreIgnores(runAs, false, args.Image))),
		},
		Spec: batchv1.JobSpecArgs{
			// migrate.sh gives the database 60 s to answer; retries (with the
			// Job's growing back-off) cover a first start that takes longer.
			BackoffLimit:          pulumi.Int(6),
			ActiveDeadlineSeconds: pulumi.Int(1800),
			Template: corev1.PodTemplateSpecArgs{
				Metadata: metav1.ObjectMetaArgs{Labels: labels, Annotations: args.PodAnnotations},
				Spec:     pod,
			},
		},
	}, pulumi.Parent(c), pulumi.DependsOn(append(args.DependsOn, sa)))
	if err != nil {
		return nil, err
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"job": c.Job.Metadata.Name().Elem()})
}

// BackupArgs add the schedule and the volume to JobArgs.
type BackupArgs struct {
	JobArgs
	Backup config.Backup
	Keep   bool
}

// Backup is the CronJob dumping the database to its own volume.
type Backup struct {
	pulumi.ResourceState
	Claim *corev1.PersistentVolumeClaim
}

// BackupScript dumps the database in pg_dump's compressed custom format
// (restore with pg_restore) and drops dumps older than the retention.
func BackupScript(retentionDays int) string {
	return fmt.Sprintf(`set -eu
f=%[1]s/rhesis-$(date -u +%%Y%%m%%dT%%H%%M%%SZ).dump
pg_dump --format=custom --no-owner --file="$f.partial"
mv "$f.partial" "$f"
find %[1]s -name 'rhesis-*.dump' -mtime +%[2]d -delete
ls -l %[1]s`, BackupMount, retentionDays)
}

// NewBackup registers the backup claim and CronJob. The pg_dump client is
// the postgres image's; the connection comes from the shared ConfigMap and Secret.
func NewBackup(ctx *pulumi.Context, name string, args BackupArgs, opts ...pulumi.ResourceOption) (*Backup, error) {
	c := &Backup{}
	if err := ctx.RegisterComponentResource(TypePrefix+"Backup", name, c, opts...); err != nil {
		return nil, err
	}
	b := args.Backup
	claim, err := NewClaim(ctx, c, ClaimArgs{
		Name: BackupName, Component: BackupName, Role: "backup", Namespace: args.Namespace,
		Size: b.Size.String(), StorageClass: b.StorageClass, AccessMode: "ReadWriteOnce", Keep: args.Keep,
	})
	if err != nil {
		return nil, err
	}
	c.Claim = claim
	labels := pulumi.ToStringMap(Labels(BackupName, "backup"))
	sa, err := NewServiceAccount(ctx, c, BackupName, args.Namespace, labels, nil)
	if err != nil {
		return nil, err
	}
	runAs := RunAs{User: postgresUID, Group: postgresUID, FSGroup: postgresUID}
	pod := jobPod(jobPodSpec{
		Name: BackupName, RunAs: runAs, ReadOnlyRoot: true, RestartPolicy: "OnFailure",
		Command: []string{"sh", "-c", BackupScript(b.RetentionDays)},
		Volumes: []Volume{{Name: "backup", MountPath: BackupMount, ClaimName: BackupName}},
		// The claim is ReadWriteOnce and mounted by the database's pod.
		NextTo: "postgres",
	}, args.JobArgs)
	_, err = batchv1.NewCronJob(ctx, BackupName, &batchv1.CronJobArgs{
		Metadata: metav1.ObjectMetaArgs{
			Name: pulumi.String(BackupName), Namespace: args.Namespace, Labels: labels,
			Annotations: pulumi.ToStringMap(KubeScoreAnnotations(KubeScoreIgnores(runAs, true, args.Image))),
		},
		Spec: batchv1.CronJobSpecArgs{
			Schedule:                   pulumi.String(b.Schedule),
			ConcurrencyPolicy:          pulumi.String("Forbid"),
			StartingDeadlineSeconds:    pulumi.Int(3600),
			SuccessfulJobsHistoryLimit: pulumi.Int(3),
			FailedJobsHistoryLimit:     pulumi.Int(3),
			JobTemplate: batchv1.JobTemplateSpecArgs{
				Spec: batchv1.JobSpecArgs{
					BackoffLimit:          pulumi.Int(2),
					ActiveDeadlineSeconds: pulumi.Int(3600),
					Template: corev1.PodTemplateSpecArgs{
						Metadata: metav1.ObjectMetaArgs{Labels: labels},
						Spec:     pod,
					},
				},
			},
		},
	}, pulumi.Parent(c), pulumi.DependsOn(append(args.DependsOn, sa, claim)))
	if err != nil {
		return nil, err
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{})
}

// jobPodSpec is what differs between the stack's job pods.
type jobPodSpec struct {
	Name          string // of the container and its ServiceAccount
	RunAs         RunAs
	ReadOnlyRoot  bool // with an emptyDir at /tmp
	Command       []string
	Volumes       []Volume
	RestartPolicy string
	NextTo        string // see PodArgs.NextTo
}

// jobPod is the pod of a job: one container reading the shared ConfigMap,
// restricted like every other pod.
func jobPod(spec jobPodSpec, args JobArgs) corev1.PodSpecArgs {
	volumes := spec.Volumes
	if spec.ReadOnlyRoot {
		volumes = append(append([]Volume{}, volumes...), Volume{Name: "tmp", MountPath: "/tmp"})
	}
	container := ContainerSpec{
		Name: spec.Name, Image: args.Image.Ref(), PullPolicy: args.Image.PullPolicy, Command: spec.Command,
		EnvFrom: true, Env: args.Env, Resources: args.Resources, Mounts: volumes, ReadOnlyRoot: spec.ReadOnlyRoot, RunAs: spec.RunAs,
	}.args()
	return PodArgs{
		ServiceAccount: spec.Name, RunAs: spec.RunAs, PullSecrets: args.ImagePullSecrets,
		Containers: corev1.ContainerArray{container}, Volumes: volumes, RestartPolicy: spec.RestartPolicy, NextTo: spec.NextTo,
	}.args()
}
