package preflight

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// references: every Secret and ConfigMap a pod refers to (image pull
// Secrets, environment, volumes) that the render does not make itself
// exists in the namespace; a missing one keeps the pods from starting.
func references(ctx context.Context, c Cluster, p Plan) ([]Finding, error) {
	ws, err := workloads(p)
	if err != nil {
		return nil, err
	}
	provided := map[string]bool{}
	for _, es := range ofKind(p, "ExternalSecret") {
		name := str(es, "spec", "target", "name")
		if name == "" {
			name = es.Name()
		}
		provided["Secret/"+name] = true
	}
	users := map[string][]string{} // "Secret/name" -> the workloads that need it
	keys := map[string][]string{}  // "Secret/name" -> the keys they read from it
	for _, w := range ws {
		for _, r := range requiredRefs(w.spec) {
			id := r.kind + "/" + r.name
			if rendered(p, r.kind, r.name) || provided[id] {
				continue
			}
			if !slices.Contains(users[id], w.object.Name()) {
				users[id] = append(users[id], w.object.Name())
			}
			if r.key != "" && !slices.Contains(keys[id], r.key) {
				keys[id] = append(keys[id], r.key)
			}
		}
	}
	var out []Finding
	for _, id := range slices.Sorted(maps.Keys(users)) {
		kind, name, _ := strings.Cut(id, "/")
		check := kind + " " + name
		have, err := keysOf(ctx, c, p.Namespace, kind, name)
		switch {
		case apierrors.IsNotFound(err):
			out = append(out, blocker(check, fmt.Sprintf("does not exist in namespace %s, and %s need it", p.Namespace, joinSorted(users[id])),
				fmt.Sprintf("create it in %s first (`kubectl create %s -n %s %s`), or set the value that names it to one that exists",
					p.Namespace, createVerb(kind, name), p.Namespace, literals(keys[id]))))
			continue
		case apierrors.IsForbidden(err):
			out = append(out, warning(check, "could not be read (forbidden), so whether it exists is not known", "run the preflight as a user who may read it"))
			continue
		case err != nil:
			return nil, fmt.Errorf("reading %s %s: %w", kind, name, err)
		}
		if missing := slices.DeleteFunc(slices.Clone(keys[id]), func(k string) bool { return slices.Contains(have, k) }); len(missing) > 0 {
			out = append(out, blocker(check, "lacks the keys "+joinSorted(missing)+", which "+joinSorted(users[id])+" read",
				"add them to "+kind+" "+name+" in "+p.Namespace))
			continue
		}
		out = append(out, ok(check, "exists with every key "+joinSorted(users[id])+" read"))
	}
	return out, nil
}

// keysOf are the keys of a Secret or ConfigMap.
func keysOf(ctx context.Context, c Cluster, ns, kind, name string) ([]string, error) {
	if kind == "Secret" {
		s, err := c.Kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return append(slices.Collect(maps.Keys(s.Data)), slices.Collect(maps.Keys(s.StringData))...), nil
	}
	cm, err := c.Kube.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return append(slices.Collect(maps.Keys(cm.Data)), slices.Collect(maps.Keys(cm.BinaryData))...), nil
}

// literals are --from-literal flags for keys, to fill in.
func literals(keys []string) string {
	if len(keys) == 0 {
		return "…"
	}
	slices.Sort(keys)
	var flags []string
	for _, k := range keys {
		flags = append(flags, "--from-literal="+k+"=…")
	}
	return strings.Join(flags, " ")
}

// ref is a pod's reference to a Secret or ConfigMap, and the key it reads
// ("" for the whole object).
type ref struct{ kind, name, key string }

// requiredRefs are the Secrets and ConfigMaps a pod cannot start without;
// optional references are left out.
func requiredRefs(spec corev1.PodSpec) []ref {
	var out []ref
	add := func(kind, name, key string, optional *bool) {
		if name != "" && (optional == nil || !*optional) {
			out = append(out, ref{kind, name, key})
		}
	}
	for _, s := range spec.ImagePullSecrets {
		add("Secret", s.Name, "", nil)
	}
	for _, c := range containers(spec) {
		for _, e := range c.Env {
			if f := e.ValueFrom; f != nil && f.SecretKeyRef != nil {
				add("Secret", f.SecretKeyRef.Name, f.SecretKeyRef.Key, f.SecretKeyRef.Optional)
			}
			if f := e.ValueFrom; f != nil && f.ConfigMapKeyRef != nil {
				add("ConfigMap", f.ConfigMapKeyRef.Name, f.ConfigMapKeyRef.Key, f.ConfigMapKeyRef.Optional)
			}
		}
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				add("Secret", e.SecretRef.Name, "", e.SecretRef.Optional)
			}
			if e.ConfigMapRef != nil {
				add("ConfigMap", e.ConfigMapRef.Name, "", e.ConfigMapRef.Optional)
			}
		}
	}
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			add("Secret", v.Secret.SecretName, "", v.Secret.Optional)
			for _, item := range v.Secret.Items {
				add("Secret", v.Secret.SecretName, item.Key, v.Secret.Optional)
			}
		}
		if v.ConfigMap != nil {
			add("ConfigMap", v.ConfigMap.Name, "", v.ConfigMap.Optional)
			for _, item := range v.ConfigMap.Items {
				add("ConfigMap", v.ConfigMap.Name, item.Key, v.ConfigMap.Optional)
			}
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					add("Secret", s.Secret.Name, "", s.Secret.Optional)
				}
				if s.ConfigMap != nil {
					add("ConfigMap", s.ConfigMap.Name, "", s.ConfigMap.Optional)
				}
			}
		}
	}
	return out
}

func createVerb(kind, name string) string {
	if kind == "Secret" {
		return "secret generic " + name
	}
	return "configmap " + name
}
