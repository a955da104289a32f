package stack

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/client-go/kubernetes"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/config"
	"github.com/rhesis-ai/rhesis-deploy/kubeconn"
	"github.com/rhesis-ai/rhesis-deploy/prebackup"
)

// backupHooks bind the backup before a risky change (backup.beforeChange)
// to the raw-mode objects whose change could lose the database's data: the
// database's workload and claim before they are updated, and a migration
// Job before it is created, when its release has not migrated this database
// yet. Helm mode has the chart's pre-upgrade hook instead. Deletes are left
// out: a delete hook would need every `pulumi destroy` to run the program,
// and the claim is protected anyway.
type backupHooks struct {
	beforeUpdate, beforeMigrations *pulumi.ResourceHook
	// cronJob is the backup's CronJob, registered before the objects it
	// guards so that a backup enabled in the same update is there.
	cronJob pulumi.Resource
}

// newBackupHooks registers the hooks when the stack takes backups of its
// own database before a change; nil otherwise.
func newBackupHooks(ctx *pulumi.Context, r *Resolved) (*backupHooks, error) {
	v := r.Merged
	if !config.Bool(v, "backup.enabled") || !config.Bool(v, "database.enabled") || !config.Bool(v, "backup.beforeChange") {
		return nil, nil
	}
	kubeContext := r.Config.Deploy.KubeContext
	g := &prebackup.Guard{
		Connect: func() (kubernetes.Interface, error) {
			rest, err := kubeconn.Config(kubeContext)
			if err != nil {
				return nil, err
			}
			return kubernetes.NewForConfig(rest)
		},
		Namespace: r.Config.Deploy.Namespace,
		CronJob:   r.NamePrefix() + "postgres-backup", Database: r.NamePrefix() + "postgres", Migrations: r.NamePrefix() + "migrate",
		Timeout: time.Hour, Log: engineLog{ctx},
		Skip: config.SetCommand(ctx.Stack(), "backup.beforeChange", "false", false) + ", then set it back",
	}
	update, err := ctx.RegisterResourceHook("backup-before-database-change", func(a *pulumi.ResourceHookArgs) error {
		_, err := g.Before(context.Background(), fmt.Sprintf("the update of %s %s", kindOf(a), a.Name))
		return err
	}, nil)
	if err != nil {
		return nil, err
	}
	migrations, err := ctx.RegisterResourceHook("backup-before-migrations", func(a *pulumi.ResourceHookArgs) error {
		image, _ := charts.Dig(a.NewInputs.Mappable(), "spec", "template", "spec", "containers", 0, "image").(string)
		return g.BeforeMigrations(context.Background(), a.Name, image)
	}, nil)
	if err != nil {
		return nil, err
	}
	return &backupHooks{beforeUpdate: update, beforeMigrations: migrations}, nil
}

// options are the hooks an object gets, and the wait for the CronJob that
// runs them.
func (h *backupHooks) options(o charts.Object) []pulumi.ResourceOption {
	if !h.guards(o) || h.cronJob == nil {
		return nil
	}
	binding := &pulumi.ResourceHookBinding{}
	if o.Kind() == "Job" {
		binding.BeforeCreate = []*pulumi.ResourceHook{h.beforeMigrations}
	} else {
		binding.BeforeUpdate = []*pulumi.ResourceHook{h.beforeUpdate}
	}
	return []pulumi.ResourceOption{pulumi.ResourceHooks(binding), pulumi.DependsOn([]pulumi.Resource{h.cronJob})}
}

// guards tells the objects whose change waits for a backup: the database's
// workload and claim, and the migration Job.
func (h *backupHooks) guards(o charts.Object) bool {
	if h == nil {
		return false
	}
	switch o.Label("app.kubernetes.io/name") {
	case "postgres":
		// The single pod's workload and claim, or the CloudNativePG Cluster.
		return o.Kind() == "Deployment" || o.Kind() == "StatefulSet" || o.Kind() == "PersistentVolumeClaim" || o.Kind() == "Cluster"
	case "migrate":
		return o.Kind() == "Job"
	}
	return false
}

// runs tells the CronJob whose Job takes the backup.
func (h *backupHooks) runs(o charts.Object) bool {
	return h != nil && o.Kind() == "CronJob" && o.Label("app.kubernetes.io/name") == "postgres-backup"
}

func kindOf(a *pulumi.ResourceHookArgs) string {
	t := string(a.Type)
	return t[strings.LastIndex(t, ":")+1:]
}

// engineLog writes a hook's progress to the update's output, line by line.
type engineLog struct{ ctx *pulumi.Context }

func (l engineLog) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		_ = l.ctx.Log.Info(line, nil)
	}
	return len(p), nil
}
