// Package restore runs a restore of an off-site backup into a stack's
// in-cluster database: the apps stopped, the chart's restore Job run, the
// deployed release's migrations run again, the apps started as they were.
package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/kubejob"
	"github.com/rhesis-ai/rhesis-deploy/stack"
)

// objectPath is the value that renders the chart's restore Job.
var objectPath = []string{"backup", "restore", "object"}

// Options of one restore.
type Options struct {
	// Object is the off-site copy: "latest" or an object's name.
	Object string
	// Timeout bounds each Job (the restore, the migrations).
	Timeout time.Duration
	Log     io.Writer
	// Dynamic reaches KEDA's ScaledObjects, paused during the restore; nil
	// leaves autoscalers alone.
	Dynamic dynamic.Interface
}

// Job is the stack's restore Job for object, as the chart renders it with
// the stack's values.
func Job(r *stack.Resolved, object string) (*batchv1.Job, error) {
	rendered, err := r.RenderOne(objectPath, object)
	if err != nil {
		return nil, err
	}
	for _, o := range rendered.Objects {
		if o.Kind() == "Job" && o.Label("app.kubernetes.io/name") == "postgres-restore" {
			return decodeJob(o)
		}
	}
	return nil, errors.New("the stack renders no restore Job: a restore needs the in-cluster database with off-site copies " +
		"(backup.enabled and backup.remote.url, with backup.encryption.passphrase; docs/backups.md)")
}

func decodeJob(o charts.Object) (*batchv1.Job, error) {
	raw, err := json.Marshal(o.Object)
	if err != nil {
		return nil, err
	}
	job := &batchv1.Job{}
	return job, json.Unmarshal(raw, job)
}

// Run restores the copy the Job names into the stack's database. The apps
// are scaled to zero first and back to their replicas at the end, also when
// the restore is refused (the database is then as it was).
func Run(ctx context.Context, kube kubernetes.Interface, r *stack.Resolved, opts Options) (err error) {
	job, err := Job(r, opts.Object)
	if err != nil {
		return err
	}
	ns := r.Config.Deploy.Namespace
	apps := []string{r.NamePrefix() + "backend", r.NamePrefix() + "worker"}
	paused, err := pauseAutoscalers(ctx, opts.Dynamic, ns, apps, opts)
	defer func() {
		if resumeErr := resumeAutoscalers(ctx, opts.Dynamic, ns, paused, opts); resumeErr != nil {
			err = errors.Join(err, resumeErr)
		}
	}()
	if err != nil {
		return err
	}
	replicas, err := stopApps(ctx, kube, ns, apps, opts)
	defer func() {
		if startErr := startApps(ctx, kube, ns, replicas, opts); startErr != nil {
			err = errors.Join(err, startErr)
		}
	}()
	if err != nil {
		return err
	}
	if err := runJob(ctx, kube, ns, job, opts); err != nil {
		return fmt.Errorf("the restore of %s did not complete, and the database is as it was: %w", opts.Object, err)
	}
	return rerunMigrations(ctx, kube, ns, r.NamePrefix()+"migrate", opts)
}

// stopApps scales the apps to zero (an autoscaler leaves a Deployment at
// zero alone) and waits for their pods to go; it returns their replicas.
func stopApps(ctx context.Context, kube kubernetes.Interface, ns string, apps []string, opts Options) (map[string]int32, error) {
	replicas := map[string]int32{}
	for _, app := range apps {
		scale, err := kube.AppsV1().Deployments(ns).GetScale(ctx, app, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return replicas, err
		}
		replicas[app] = scale.Spec.Replicas
		scale.Spec.Replicas = 0
		if _, err := kube.AppsV1().Deployments(ns).UpdateScale(ctx, app, scale, metav1.UpdateOptions{}); err != nil {
			return replicas, fmt.Errorf("scaling %s to 0: %w", app, err)
		}
		say(opts, "%s scaled from %d to 0", app, replicas[app])
	}
	return replicas, kubejob.WaitFor(ctx, opts.Timeout, "the apps' pods to stop", func() (bool, error) {
		for app := range replicas {
			pods, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
			if err != nil || len(pods.Items) > 0 {
				return false, err
			}
		}
		return true, nil
	})
}

func startApps(ctx context.Context, kube kubernetes.Interface, ns string, replicas map[string]int32, opts Options) error {
	var errs []error
	for app, n := range replicas {
		scale, err := kube.AppsV1().Deployments(ns).GetScale(ctx, app, metav1.GetOptions{})
		if err == nil {
			scale.Spec.Replicas = n
			_, err = kube.AppsV1().Deployments(ns).UpdateScale(ctx, app, scale, metav1.UpdateOptions{})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("scaling %s back to %d (do it with kubectl scale): %w", app, n, err))
			continue
		}
		say(opts, "%s scaled back to %d", app, n)
	}
	return errors.Join(errs...)
}

// rerunMigrations runs the deployed release's migration Job again, as a
// copy under a new name: the restored schema may be older than the release.
func rerunMigrations(ctx context.Context, kube kubernetes.Interface, ns, app string, opts Options) error {
	jobs, err := kube.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		return err
	}
	var deployed *batchv1.Job
	for i := range jobs.Items {
		j := &jobs.Items[i]
		if deployed == nil || deployed.CreationTimestamp.Before(&j.CreationTimestamp) {
			deployed = j
		}
	}
	if deployed == nil {
		_, _ = fmt.Fprintln(opts.Log, "restore: the stack has no migration Job to run again")
		return nil
	}
	day := int32(86400)
	again := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%.40s-after-restore-%d", deployed.Name, time.Now().Unix()), Namespace: ns,
			Labels: withoutControllerLabels(deployed.Labels), Annotations: map[string]string{"rhesis.dev/after-restore": opts.Object}},
		Spec: deployed.Spec,
	}
	// Not the stack's migration Job, which its own label finds; gone a day after it ends.
	again.Labels["app"] = app + "-after-restore"
	again.Spec.TTLSecondsAfterFinished = &day
	// The controller's own labels and selector are set anew for the copy.
	again.Spec.Selector = nil
	again.Spec.ManualSelector = nil
	again.Spec.Template.Labels = withoutControllerLabels(again.Spec.Template.Labels)
	if err := runJob(ctx, kube, ns, again, opts); err != nil {
		return fmt.Errorf("the database was restored, but the migrations of the deployed release failed (run `rhesis up`, or the Job again): %w", err)
	}
	return nil
}

func withoutControllerLabels(labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		if k == "controller-uid" || k == "job-name" || strings.HasPrefix(k, "batch.kubernetes.io/") {
			continue
		}
		out[k] = v
	}
	return out
}

// runJob runs one of the restore's Jobs to its end.
func runJob(ctx context.Context, kube kubernetes.Interface, ns string, job *batchv1.Job, opts Options) error {
	_, err := kubejob.Run(ctx, kube, ns, job, kubejob.Options{Timeout: opts.Timeout, Log: opts.Log, Prefix: "restore: "})
	return err
}

func say(opts Options, format string, args ...any) {
	_, _ = fmt.Fprintf(opts.Log, "restore: "+format+"\n", args...)
}
