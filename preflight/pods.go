package preflight

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// workload is a rendered object that runs pods: its pod spec, and how many
// of its pods run at once when it is settled.
type workload struct {
	object   charts.Object
	spec     corev1.PodSpec
	replicas int64
}

// workloads are the render's Deployments, StatefulSets, Jobs and CronJobs.
func workloads(p Plan) ([]workload, error) {
	var out []workload
	for _, o := range p.Objects {
		w := workload{object: o, replicas: 1}
		switch o.Kind() {
		case "Deployment":
			var d appsv1.Deployment
			if err := fromUnstructured(o.Object, &d); err != nil {
				return nil, err
			}
			w.spec = d.Spec.Template.Spec
			if d.Spec.Replicas != nil {
				w.replicas = int64(*d.Spec.Replicas)
			}
		case "StatefulSet":
			var s appsv1.StatefulSet
			if err := fromUnstructured(o.Object, &s); err != nil {
				return nil, err
			}
			w.spec = s.Spec.Template.Spec
			if s.Spec.Replicas != nil {
				w.replicas = int64(*s.Spec.Replicas)
			}
		case "Job":
			var j batchv1.Job
			if err := fromUnstructured(o.Object, &j); err != nil {
				return nil, err
			}
			w.spec = j.Spec.Template.Spec
		case "CronJob":
			var j batchv1.CronJob
			if err := fromUnstructured(o.Object, &j); err != nil {
				return nil, err
			}
			w.spec = j.Spec.JobTemplate.Spec.Template.Spec
		default:
			continue
		}
		if least := minReplicas(p, o.Kind(), o.Name()); least > w.replicas {
			w.replicas = least
		}
		out = append(out, w)
	}
	return out, nil
}

// minReplicas is the least number of replicas an autoscaler of the render
// (a HorizontalPodAutoscaler or KEDA ScaledObject) keeps of a workload; 0
// when none scales it.
func minReplicas(p Plan, kind, name string) int64 {
	var least int64
	for _, o := range p.Objects {
		var field string
		switch o.Kind() {
		case "HorizontalPodAutoscaler":
			field = "minReplicas"
		case "ScaledObject":
			field = "minReplicaCount"
		default:
			continue
		}
		target, _ := o.Field("spec", "scaleTargetRef").(map[string]any)
		if target["name"] != name || (target["kind"] != nil && target["kind"] != kind) {
			continue
		}
		switch n := o.Field("spec", field).(type) {
		case int64:
			least = max(least, n)
		case float64:
			least = max(least, int64(n))
		case int:
			least = max(least, int64(n))
		default:
			least = max(least, 1)
		}
	}
	return least
}

// containers are a pod's init containers and containers.
func containers(spec corev1.PodSpec) []corev1.Container {
	return append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
}

func fromUnstructured(obj map[string]any, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(obj, into)
}
