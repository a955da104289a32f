// Package kubejob runs a Kubernetes Job to its end and reports it: the one
// way the restore and the backup before a risky change run their Jobs.
package kubejob

import (
	"context"
	"fmt"
	"io"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// Options of one run.
type Options struct {
	// Timeout bounds the wait for the Job (and for an earlier one of its
	// name to go).
	Timeout time.Duration
	// Log receives the progress, prefixed with Prefix, and the pods' logs.
	Log    io.Writer
	Prefix string
	// Unschedulable fails the run when a pod of the Job has waited this
	// long for a node the scheduler cannot find; 0 is 10 minutes.
	Unschedulable time.Duration
}

func (o Options) say(format string, args ...any) {
	_, _ = fmt.Fprintf(o.Log, o.Prefix+format+"\n", args...)
}

// Run creates the Job (replacing one of its name left by an earlier run),
// waits for it to complete or fail, and writes its pods' logs. It returns
// the Job as it ended.
func Run(ctx context.Context, kube kubernetes.Interface, ns string, job *batchv1.Job, opts Options) (*batchv1.Job, error) {
	jobs := kube.BatchV1().Jobs(ns)
	background := metav1.DeletePropagationBackground
	if err := jobs.Delete(ctx, job.Name, metav1.DeleteOptions{PropagationPolicy: &background}); err == nil {
		if err := WaitFor(ctx, opts.Timeout, "the earlier "+job.Name+" to go", func() (bool, error) {
			_, err := jobs.Get(ctx, job.Name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		}); err != nil {
			return nil, err
		}
	} else if !apierrors.IsNotFound(err) {
		return nil, err
	}
	job.ResourceVersion, job.UID = "", ""
	if _, err := jobs.Create(ctx, job, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating the Job %s: %w", job.Name, err)
	}
	opts.say("Job %s started", job.Name)
	var ended *batchv1.Job
	var failed string
	err := WaitFor(ctx, opts.Timeout, "the Job "+job.Name, func() (bool, error) {
		got, err := jobs.Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if stuck := unschedulable(ctx, kube, ns, job.Name, opts.unschedulable()); stuck != "" {
			ended, failed = got, stuck
			return true, nil
		}
		if Condition(got, batchv1.JobComplete) != nil {
			ended = got
			return true, nil
		}
		if c := Condition(got, batchv1.JobFailed); c != nil {
			ended, failed = got, c.Message
			return true, nil
		}
		return false, nil
	})
	writeLogs(ctx, kube, ns, job.Name, opts.Log)
	if err != nil {
		return nil, err
	}
	if failed != "" {
		return ended, fmt.Errorf("the Job %s failed (%s); its log is above", job.Name, failed)
	}
	opts.say("Job %s completed", job.Name)
	return ended, nil
}

// Condition is the Job's condition of that type when it holds (status
// True); nil otherwise.
func Condition(job *batchv1.Job, conditionType batchv1.JobConditionType) *batchv1.JobCondition {
	for i, c := range job.Status.Conditions {
		if c.Type == conditionType && c.Status == corev1.ConditionTrue {
			return &job.Status.Conditions[i]
		}
	}
	return nil
}

func (o Options) unschedulable() time.Duration {
	if o.Unschedulable == 0 {
		return 10 * time.Minute
	}
	return o.Unschedulable
}

// unschedulable tells why a pod of the Job has waited longer than limit
// for a node; empty when none has.
func unschedulable(ctx context.Context, kube kubernetes.Interface, ns, job string, limit time.Duration) string {
	pods, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job})
	if err != nil {
		return ""
	}
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable &&
				time.Since(c.LastTransitionTime.Time) > limit {
				return fmt.Sprintf("its pod %s found no node for %s: %s", p.Name, limit, c.Message)
			}
		}
	}
	return ""
}

// writeLogs writes the logs of the Job's pods, each container in order.
func writeLogs(ctx context.Context, kube kubernetes.Interface, ns, job string, w io.Writer) {
	pods, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job})
	if err != nil {
		return
	}
	for _, p := range pods.Items {
		for _, c := range append(p.Spec.InitContainers, p.Spec.Containers...) {
			raw, err := kube.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: c.Name}).DoRaw(ctx)
			if err != nil || len(raw) == 0 {
				continue
			}
			_, _ = fmt.Fprintf(w, "--- %s/%s\n%s", p.Name, c.Name, raw)
		}
	}
}

// WaitFor polls done every second until it is true, fails, or timeout
// passes; a timeout says what was awaited.
func WaitFor(ctx context.Context, timeout time.Duration, what string, done func() (bool, error)) error {
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(context.Context) (bool, error) { return done() })
	if err != nil && ctx.Err() == nil && wait.Interrupted(err) {
		return fmt.Errorf("gave up waiting for %s after %s", what, timeout)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
