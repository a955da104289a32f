package preflight

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

const manifest = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  template:
    spec:
      initContainers:
      - name: migrate
        resources: {requests: {cpu: 500m}}
      - name: proxy
        restartPolicy: Always
        resources: {requests: {cpu: 50m}}
      containers:
      - name: app
        resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 128Mi}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 3
  maxReplicas: 5
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: dump
            resources: {requests: {cpu: 200m}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  resources: {requests: {storage: 10Gi}}
`

func plan(t *testing.T) Plan {
	t.Helper()
	objs, err := charts.ParseManifest("test", manifest)
	require.NoError(t, err)
	return Plan{Namespace: "apps", Objects: objs}
}

// A pod counts its containers and sidecars, or its largest init container
// when that is more; an autoscaler's minimum raises the replicas; a
// CronJob counts one pod.
func TestNeedsCountPodsAsTheSchedulerDoes(t *testing.T) {
	need, err := needs(plan(t))
	require.NoError(t, err)
	for name, want := range map[corev1.ResourceName]string{
		"requests.cpu": "1700m", "cpu": "1700m", "requests.memory": "192Mi", "limits.memory": "384Mi",
		"pods": "4", "persistentvolumeclaims": "1", "requests.storage": "10Gi",
	} {
		got := need[name]
		assert.Zero(t, got.Cmp(resource.MustParse(want)), "%s: got %s, want %s", name, got.String(), want)
	}
}

func TestQuotaBelowTheNeedsBlocks(t *testing.T) {
	quota := func(cpu, used string) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{
			ObjectMeta: metav1.ObjectMeta{Name: "team", Namespace: "apps"},
			Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"requests.cpu": resource.MustParse(cpu)}},
			Status:     corev1.ResourceQuotaStatus{Used: corev1.ResourceList{"requests.cpu": resource.MustParse(used)}},
		}
	}
	for _, tc := range []struct {
		cpu, used string
		want      Severity
		detail    string
	}{
		{"1", "0", Blocker, "allows requests.cpu 1; the stack needs 1700m"},
		{"2", "500m", Warning, "has requests.cpu 1500m left of 2; the stack needs 1700m"},
		{"2", "0", OK, "has room"},
	} {
		found, err := quotas(context.Background(), Cluster{Kube: fake.NewClientset(quota(tc.cpu, tc.used))}, plan(t))
		require.NoError(t, err)
		require.Len(t, found, 1)
		assert.Equal(t, tc.want, found[0].Severity, found[0].Detail)
		assert.Contains(t, found[0].Detail, tc.detail)
	}
}

func TestLimitRangeBoundsContainersAndClaims(t *testing.T) {
	lr := &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "bounds", Namespace: "apps"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
			{Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{"memory": resource.MustParse("100Mi")}, Min: corev1.ResourceList{"cpu": resource.MustParse("60m")}},
			{Type: corev1.LimitTypePersistentVolumeClaim, Max: corev1.ResourceList{"storage": resource.MustParse("5Gi")}},
		}},
	}
	found, err := limitRanges(context.Background(), Cluster{Kube: fake.NewClientset(lr)}, plan(t))
	require.NoError(t, err)
	var details []string
	for _, f := range found {
		assert.Equal(t, Blocker, f.Severity)
		details = append(details, f.Detail)
	}
	assert.ElementsMatch(t, []string{
		"allows at most memory 100Mi per Container; web container app asks for 128Mi",
		"requires at least cpu 60m per Container; web container proxy asks for 50m",
		"allows at most storage 5Gi per PersistentVolumeClaim; claim data asks for 10Gi",
	}, details)
}
