package kubejob

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestUnschedulablePodFailsTheRun: a Job whose pod finds no node fails the
// run with the scheduler's reason instead of waiting out its timeout.
func TestUnschedulablePodFailsTheRun(t *testing.T) {
	t.Parallel()
	kube := fake.NewClientset(&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "backup-abcde", Namespace: "rhesis", Labels: map[string]string{"job-name": "backup"}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
			Message: "0/1 nodes are available: 1 node(s) didn't match pod affinity rules.", LastTransitionTime: metav1.NewTime(time.Now().Add(-time.Hour)),
		}}},
	})
	var log bytes.Buffer
	_, err := Run(context.Background(), kube, "rhesis", &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "backup", Namespace: "rhesis"}},
		Options{Timeout: time.Minute, Log: &log, Unschedulable: time.Minute})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the Job backup failed (its pod backup-abcde found no node for 1m0s: 0/1 nodes are available: 1 node(s) didn't match pod affinity rules.)")
}
