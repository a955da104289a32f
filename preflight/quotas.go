package preflight

import (
	"context"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// needs are what the render asks of a namespace's quota when every
// workload runs at once (each Job and CronJob with one pod).
func needs(p Plan) (corev1.ResourceList, error) {
	ws, err := workloads(p)
	if err != nil {
		return nil, err
	}
	total := corev1.ResourceList{}
	add := func(name corev1.ResourceName, q resource.Quantity, times int64) {
		q.Mul(times)
		sum := total[name]
		sum.Add(q)
		total[name] = sum
	}
	for _, w := range ws {
		req, lim := podResources(w.spec)
		for name, q := range req {
			add("requests."+name, q, w.replicas)
			add(name, q, w.replicas) // cpu and memory: the short names of requests
		}
		for name, q := range lim {
			add("limits."+name, q, w.replicas)
		}
		add(corev1.ResourcePods, *resource.NewQuantity(1, resource.DecimalSI), w.replicas)
	}
	for _, claim := range ofKind(p, "PersistentVolumeClaim") {
		add(corev1.ResourcePersistentVolumeClaims, *resource.NewQuantity(1, resource.DecimalSI), 1)
		if q, err := resource.ParseQuantity(str(claim, "spec", "resources", "requests", "storage")); err == nil {
			add(corev1.ResourceRequestsStorage, q, 1)
		}
	}
	return total, nil
}

// podResources are what one pod requests and is limited to, as the
// scheduler and quota count them: its containers and sidecars together, or
// its largest init container when that is more.
func podResources(spec corev1.PodSpec) (requests, limits corev1.ResourceList) {
	requests, limits = corev1.ResourceList{}, corev1.ResourceList{}
	sum := func(into, from corev1.ResourceList) {
		for name, q := range from {
			s := into[name]
			s.Add(q)
			into[name] = s
		}
	}
	for _, c := range spec.Containers {
		sum(requests, c.Resources.Requests)
		sum(limits, c.Resources.Limits)
	}
	for _, c := range spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sum(requests, c.Resources.Requests)
			sum(limits, c.Resources.Limits)
		}
	}
	atLeast := func(into, from corev1.ResourceList) {
		for name, q := range from {
			if cur := into[name]; q.Cmp(cur) > 0 {
				into[name] = q
			}
		}
	}
	for _, c := range spec.InitContainers {
		if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
			atLeast(requests, c.Resources.Requests)
			atLeast(limits, c.Resources.Limits)
		}
	}
	return requests, limits
}

// quotas: the namespace's ResourceQuotas have room for what the render
// needs. More than a quota's hard limit is a blocker; more than what is
// left of it a warning (the stack's own running pods may be what uses it).
func quotas(ctx context.Context, c Cluster, p Plan) ([]Finding, error) {
	list, err := c.Kube.CoreV1().ResourceQuotas(p.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing ResourceQuotas in %s: %w", p.Namespace, err)
	}
	if len(list.Items) == 0 {
		return nil, nil
	}
	need, err := needs(p)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, q := range list.Items {
		check := "ResourceQuota " + q.Name
		fine := true
		for _, name := range sortedResourceNames(q.Spec.Hard) {
			hard := q.Spec.Hard[name]
			want, asked := need[name]
			if !asked {
				continue
			}
			used := q.Status.Used[name]
			left := hard.DeepCopy()
			left.Sub(used)
			switch {
			case want.Cmp(hard) > 0:
				fine = false
				out = append(out, blocker(check, fmt.Sprintf("allows %s %s; the stack needs %s", name, hard.String(), want.String()),
					fmt.Sprintf("raise the quota's %s to at least %s, or lower the replicas or resources of the stack's values", name, want.String())))
			case want.Cmp(left) > 0:
				fine = false
				out = append(out, warning(check, fmt.Sprintf("has %s %s left of %s; the stack needs %s", name, left.String(), hard.String(), want.String()),
					"fine when the stack's own pods use it (an update); otherwise free or raise the quota"))
			}
		}
		if fine {
			out = append(out, ok(check, "has room for the stack"))
		}
	}
	return out, nil
}

// limitRanges: each container's resources and each claim's size fall
// within the namespace's LimitRanges, which refuse the pod or claim otherwise.
func limitRanges(ctx context.Context, c Cluster, p Plan) ([]Finding, error) {
	list, err := c.Kube.CoreV1().LimitRanges(p.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing LimitRanges in %s: %w", p.Namespace, err)
	}
	if len(list.Items) == 0 {
		return nil, nil
	}
	ws, err := workloads(p)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, lr := range list.Items {
		check := "LimitRange " + lr.Name
		before := len(out)
		for _, item := range lr.Spec.Limits {
			switch item.Type {
			case corev1.LimitTypeContainer:
				for _, w := range ws {
					for _, ctr := range containers(w.spec) {
						what := fmt.Sprintf("%s container %s", w.object.Name(), ctr.Name)
						out = append(out, bounds(check, what, item, ctr.Resources.Requests, ctr.Resources.Limits)...)
					}
				}
			case corev1.LimitTypePersistentVolumeClaim:
				for _, claim := range ofKind(p, "PersistentVolumeClaim") {
					size, err := resource.ParseQuantity(str(claim, "spec", "resources", "requests", "storage"))
					if err != nil {
						continue
					}
					req := corev1.ResourceList{corev1.ResourceStorage: size}
					out = append(out, bounds(check, "claim "+claim.Name(), item, req, req)...)
				}
			}
		}
		if len(out) == before {
			out = append(out, ok(check, "admits every container and claim"))
		}
	}
	return out, nil
}

// bounds holds requests to a LimitRange item's min and limits to its max.
func bounds(check, what string, item corev1.LimitRangeItem, requests, limits corev1.ResourceList) []Finding {
	var out []Finding
	for _, name := range sortedResourceNames(item.Max) {
		max := item.Max[name]
		if l, set := limits[name]; set && l.Cmp(max) > 0 {
			out = append(out, blocker(check, fmt.Sprintf("allows at most %s %s per %s; %s asks for %s", name, max.String(), item.Type, what, l.String()),
				"lower that resource in the stack's values, or raise the LimitRange's max"))
		}
	}
	for _, name := range sortedResourceNames(item.Min) {
		min := item.Min[name]
		if r, set := requests[name]; set && r.Cmp(min) < 0 {
			out = append(out, blocker(check, fmt.Sprintf("requires at least %s %s per %s; %s asks for %s", name, min.String(), item.Type, what, r.String()),
				"raise that resource in the stack's values, or lower the LimitRange's min"))
		}
	}
	return out
}

func sortedResourceNames(l corev1.ResourceList) []corev1.ResourceName {
	return slices.Sorted(maps.Keys(l))
}
