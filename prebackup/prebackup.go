// Package prebackup takes a backup of the in-cluster database, and waits for
// it, before a change that could lose its data: a new Rhesis release's
// migrations, or a change to the database's workload or claim. The backup is
// the chart's own: a Job made from the backup CronJob's template, as
// `kubectl create job --from=cronjob/...` makes it.
package prebackup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/rhesis-ai/rhesis-deploy/kubejob"
)

// Label marks the Jobs taken before a change; its value is "before-change".
const Label = "rhesis.dev/backup"

// Guard takes at most one backup per run of the program, however many
// changes ask for one.
type Guard struct {
	// Connect reaches the cluster when a backup is first asked for (a
	// preview never does).
	Connect   func() (kubernetes.Interface, error)
	Namespace string
	// CronJob is the backup's CronJob, Database the app label of the
	// database's pods, Migrations the app label of the migration Jobs.
	CronJob, Database, Migrations string
	// Timeout bounds the backup; the CronJob's own deadline applies too.
	Timeout time.Duration
	Log     io.Writer
	// Now names the Job; nil is time.Now.
	Now func() time.Time
	// Skip says how to skip the backup (the command that sets
	// backup.beforeChange false), in every refusal.
	Skip string

	mu    sync.Mutex
	taken *batchv1.Job
}

// Before takes the backup before what is named changes, unless one was
// taken earlier in this run, and returns the Job that took it. A failed
// backup is an error: the change must not go ahead. A database that is not
// running is no error: it returns no Job and says so.
func (g *Guard) Before(ctx context.Context, what string) (*batchv1.Job, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.taken != nil {
		g.say("%s: the backup %s taken in this run covers it", what, g.taken.Name)
		return g.taken, nil
	}
	ended, err := g.take(ctx, what)
	if errors.Is(err, errNotRunning) {
		g.say("%s: %v; no backup taken, the change goes on", what, err)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the backup before %s did not complete, so nothing of it was changed: %w. "+
			"Fix the backup, or skip it for this change: %s", what, err, g.Skip)
	}
	g.taken = ended
	return ended, nil
}

// errNotRunning is a database with no pod to back up.
var errNotRunning = errors.New("the database is not running")

// take runs the CronJob's Job and waits for it.
func (g *Guard) take(ctx context.Context, what string) (*batchv1.Job, error) {
	kube, err := g.Connect()
	if err != nil {
		return nil, fmt.Errorf("reaching the cluster: %w", err)
	}
	// A database that is not running has nothing a dump could read (its
	// volume is kept either way), and bringing it back may be this very
	// change: the backup's pod would wait for it forever. Its pods carry the
	// chart's app label, the single pod's and a CloudNativePG Cluster's alike.
	pods, err := kube.CoreV1().Pods(g.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=" + g.Database})
	if err != nil {
		return nil, fmt.Errorf("listing the database's pods (app=%s) in %s: %w", g.Database, g.Namespace, err)
	}
	if !slices.ContainsFunc(pods.Items, ready) {
		return nil, fmt.Errorf("no pod of the database (app=%s) is ready: %w", g.Database, errNotRunning)
	}
	cron, err := kube.BatchV1().CronJobs(g.Namespace).Get(ctx, g.CronJob, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading the backup CronJob %s/%s: %w", g.Namespace, g.CronJob, err)
	}
	g.say("backing up the database before %s", what)
	return kubejob.Run(ctx, kube, g.Namespace, g.jobFrom(cron, what), kubejob.Options{Timeout: g.Timeout, Log: g.Log, Prefix: "backup before change: "})
}

// BeforeMigrations takes the backup before a migration Job whose image has
// not migrated this database yet: a completed migration Job of the same
// image means its migrations ran; none completed means a new database,
// with nothing to lose.
func (g *Guard) BeforeMigrations(ctx context.Context, job, image string) error {
	kube, err := g.Connect()
	if err != nil {
		return fmt.Errorf("reaching the cluster before the migrations %s, to tell whether they need a backup first: %w; to skip it: %s", job, err, g.Skip)
	}
	jobs, err := kube.BatchV1().Jobs(g.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=" + g.Migrations})
	if err != nil {
		return fmt.Errorf("listing the migrations that ran before %s, to tell whether they need a backup first: %w; to skip it: %s", job, err, g.Skip)
	}
	var ran []string
	for _, j := range jobs.Items {
		if kubejob.Condition(&j, batchv1.JobComplete) == nil {
			continue
		}
		for _, c := range j.Spec.Template.Spec.Containers {
			if c.Image == image {
				g.say("%s: the migrations of %s ran in %s; no backup needed", job, image, j.Name)
				return nil
			}
		}
		ran = append(ran, j.Name)
	}
	if len(ran) == 0 {
		g.say("%s: no migrations ran here before (a new database); no backup needed", job)
		return nil
	}
	_, err = g.Before(ctx, fmt.Sprintf("the migrations of %s (%s)", image, job))
	return err
}

// jobFrom is the CronJob's Job, named after the time, owned by the CronJob
// (whose history limits remove it in time).
func (g *Guard) jobFrom(cron *batchv1.CronJob, what string) *batchv1.Job {
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	t := cron.Spec.JobTemplate
	// The pods' labels too, so that the Job is found as the backup's (app=…).
	labels := map[string]string{}
	maps.Copy(labels, t.Spec.Template.Labels)
	maps.Copy(labels, t.Labels)
	labels[Label] = "before-change"
	annotations := map[string]string{"cronjob.kubernetes.io/instantiate": "manual", "rhesis.dev/before": what}
	maps.Copy(annotations, t.Annotations)
	controller := true
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%.40s-before-change-%d", cron.Name, now().Unix()),
			Namespace: g.Namespace, Labels: labels, Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cron.Name, UID: cron.UID, Controller: &controller}},
		},
		Spec: *t.Spec.DeepCopy(),
	}
}

func (g *Guard) say(format string, args ...any) {
	_, _ = fmt.Fprintf(g.Log, "backup before change: "+format+"\n", args...)
}

// ready tells a pod that serves: its Ready condition is true.
func ready(p corev1.Pod) bool {
	return slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
		return c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue
	})
}
