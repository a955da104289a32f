package config

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// GlobalPod is the object whose pod settings every component defaults to,
// as the chart's global values are.
const GlobalPod = "global"

// podKeys declares the pod settings of a component, or of every component
// (owner GlobalPod): Kubernetes' own types, written as in a pod spec.
func podKeys(owner string) []Key {
	pods := owner + "'s pods"
	fallback := func(field string) string { return fmt.Sprintf(" Empty means %s.%s.", GlobalPod, field) }
	if owner == GlobalPod {
		pods = "every component's pods (a component's own value replaces it; maps are merged with it)"
		fallback = func(string) string { return "" }
	}
	// what is the description with %s standing for the pods.
	list := func(field, what string) Key {
		return Key{Name: owner + "." + field, Kind: KindArray, Default: "", Description: fmt.Sprintf(what, pods) +
			", a list as in a pod spec (YAML in the stack file, or JSON)." + fallback(field)}
	}
	object := func(field, what string) Key {
		return Key{Name: owner + "." + field, Kind: KindObject, Default: map[string]any{},
			Description: fmt.Sprintf(what, pods) + "." + fallback(field)}
	}
	return []Key{
		object("nodeSelector", "Node labels %s require"),
		list("tolerations", "Tolerations of %s"),
		object("affinity", "Affinity of %s (nodeAffinity, podAffinity, podAntiAffinity)"),
		list("topologySpreadConstraints", "Topology spread of %s, replacing the one scheduling.spreadAcrossNodes adds"),
		{Name: owner + ".priorityClassName", Kind: KindString, Default: "",
			Description: fmt.Sprintf("PriorityClass of %s.", pods) + fallback("priorityClassName")},
		object("podAnnotations", "Annotations of %s (not checksum/* or rhesis.dev/*, which the chart sets)"),
		object("podLabels", "Labels of %s (not app, app.kubernetes.io/* or helm.sh/chart, which the chart sets)"),
		object("service.annotations", "Annotations of the Services of %s"),
		list("extraVolumes", "Volumes added to %s"),
		list("extraVolumeMounts", "Volume mounts added to the main container of %s"),
		list("extraEnvFrom", "envFrom sources (ConfigMaps, Secrets) added to the main container of %s"),
		list("initContainers", "Init containers of %s, run after the chart's own"),
		list("extraContainers", "Containers added to %s"),
	}
}

// pod reads the pod settings of a component, or GlobalPod's.
func (b *binder) pod(owner string) charts.Pod {
	p := charts.Pod{
		NodeSelector:      b.labels(owner + ".nodeSelector"),
		PriorityClassName: b.str(owner + ".priorityClassName"),
		PodAnnotations:    b.annotations(owner + ".podAnnotations"),
		PodLabels:         b.labels(owner + ".podLabels"),
		Service:           charts.ServiceMetadata{Annotations: b.annotations(owner + ".service.annotations")},
	}
	if n := p.PriorityClassName; n != "" {
		for _, msg := range validation.IsDNS1123Subdomain(n) {
			b.problem(owner+".priorityClassName", n, "is not a PriorityClass name: "+msg)
		}
	}
	decodeKube(b, owner+".tolerations", &p.Tolerations)
	decodeKube(b, owner+".topologySpreadConstraints", &p.TopologySpreadConstraints)
	decodeKube(b, owner+".extraVolumes", &p.ExtraVolumes)
	decodeKube(b, owner+".extraVolumeMounts", &p.ExtraVolumeMounts)
	decodeKube(b, owner+".extraEnvFrom", &p.ExtraEnvFrom)
	decodeKube(b, owner+".initContainers", &p.InitContainers)
	decodeKube(b, owner+".extraContainers", &p.ExtraContainers)
	var affinity corev1.Affinity
	if decodeKube(b, owner+".affinity", &affinity) && affinity != (corev1.Affinity{}) {
		p.Affinity = &affinity
	}
	for field, containers := range map[string][]corev1.Container{"initContainers": p.InitContainers, "extraContainers": p.ExtraContainers} {
		for i, c := range containers {
			if c.Name == "" || c.Image == "" {
				b.problem(fmt.Sprintf("%s.%s[%d]", owner, field, i), c.Name, "needs a name and an image")
			}
		}
	}
	for i, v := range p.ExtraVolumes {
		if v.Name == "" {
			b.problem(fmt.Sprintf("%s.extraVolumes[%d]", owner, i), "", "needs a name")
		}
	}
	return p
}

// decodeKube reads a value written as the Kubernetes type v, refusing a
// field the type does not have; it tells whether a value was set.
func decodeKube[T any](b *binder, name string, v *T) bool {
	raw := b.raw(name)
	if raw == "" || raw == "{}" || raw == "[]" {
		return false
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		b.problem(name, raw, fmt.Sprintf("is not a Kubernetes %T as a pod spec writes it: %v", *v, err))
		return false
	}
	return true
}

// labels reads a map of label keys and values. The chart refuses the keys
// it sets itself (_validate.tpl).
func (b *binder) labels(name string) map[string]string {
	m := b.stringMap(name)
	for _, k := range sortedKeys(m) {
		for _, msg := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(m[k])...) {
			b.problem(name+"."+k, m[k], msg)
		}
	}
	return m
}

// annotations reads a map of annotations. The chart refuses the ones it sets.
func (b *binder) annotations(name string) map[string]string {
	m := b.stringMap(name)
	for _, k := range sortedKeys(m) {
		for _, msg := range validation.IsQualifiedName(k) {
			b.problem(name+"."+k, m[k], msg)
		}
	}
	return m
}
