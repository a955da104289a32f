package stack

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/components"
	"github.com/rhesis-ai/rhesis-deploy/config"
)

// component is one of raw mode's component resources.
type component struct{ pulumi.ResourceState }

// object is a Kubernetes object registered with the provider.
type object struct{ pulumi.CustomResourceState }

// deployRaw registers every object the chart renders as a Pulumi resource of
// its own, under the component of its service; the namespace is the
// program's, as in helm mode.
func deployRaw(ctx *pulumi.Context, cfg *config.Stack, r *charts.Rendered, digests imageDigests,
	withProvider pulumi.ResourceOption) (*outputs, error) {
	objects := r.Objects[:0:0]
	for _, o := range r.Objects {
		if !helmOnly(o) {
			objects = append(objects, o)
		}
	}
	r = &charts.Rendered{Objects: objects}
	groups := map[group]*component{}
	for _, g := range append([]group{platformGroup, policiesGroup}, append(serviceGroups, monitoringGroup)...) {
		if !uses(r, g) && g != platformGroup {
			continue
		}
		c := &component{}
		if err := ctx.RegisterComponentResource(componentType(g.typ), g.name, c, withProvider); err != nil {
			return nil, err
		}
		groups[g] = c
	}
	platform := groups[platformGroup]
	ns, err := components.NewNamespace(ctx, platform, cfg.Namespace, cfg.Keep)
	if err != nil {
		return nil, err
	}
	namespace := ns.Metadata.Name().Elem()
	subst := newSubstitutions(r, digests)

	// What workloads read (by kind/name), then the workloads in start order.
	registered := map[string]pulumi.Resource{}
	workloads := map[string][]pulumi.Resource{}
	register := func(o charts.Object, deps []pulumi.Resource) error {
		g := groupOf(o)
		opts := []pulumi.ResourceOption{pulumi.Parent(groups[g]), pulumi.DependsOn(deps)}
		if protected(o) {
			opts = append(opts, pulumi.Protect(true))
		}
		if fields, ok := secretFields[o.Kind()]; ok {
			opts = append(opts, pulumi.AdditionalSecretOutputs(fields))
		}
		if old, ok := previousGroup(o); ok {
			opts = append(opts, pulumi.Aliases([]pulumi.Alias{{ParentURN: pulumi.URN(componentURN(ctx, old))}}))
		}
		res := &object{}
		if err := ctx.RegisterResource(typeToken(o), o.Name(), subst.object(o, namespace), res, opts...); err != nil {
			return fmt.Errorf("%s %s: %w", o.Kind(), o.Name(), err)
		}
		registered[o.Kind()+"/"+o.Name()] = res
		if isWorkload(o) {
			workloads[g.name] = append(workloads[g.name], res)
		}
		return nil
	}
	for _, o := range r.Objects {
		if !isWorkload(o) {
			if err := register(o, nil); err != nil {
				return nil, err
			}
		}
	}
	for _, g := range serviceGroups {
		for _, o := range r.Objects {
			if !isWorkload(o) || groupOf(o) != g {
				continue
			}
			deps := references(o, registered)
			for _, before := range startAfter[g.name] {
				deps = append(deps, workloads[before]...)
			}
			if err := register(o, deps); err != nil {
				return nil, err
			}
		}
	}
	for g, c := range groups {
		outs := pulumi.Map{}
		if g == platformGroup {
			outs["namespace"] = namespace
		}
		if err := ctx.RegisterResourceOutputs(c, outs); err != nil {
			return nil, err
		}
	}
	return &outputs{cfg: cfg, namespace: namespace, services: serviceAddresses(r)}, nil
}

// uses tells whether any object belongs to g.
func uses(r *charts.Rendered, g group) bool {
	for _, o := range r.Objects {
		if groupOf(o) == g {
			return true
		}
	}
	return false
}

func componentType(typ string) string { return components.TypePrefix + typ }

// componentURN is the URN of a top-level component of this stack.
func componentURN(ctx *pulumi.Context, g group) string {
	return fmt.Sprintf("urn:pulumi:%s::%s::%s::%s", ctx.Stack(), ctx.Project(), componentType(g.typ), g.name)
}

// typeToken is the provider's type of an object: kubernetes:apps/v1:Deployment,
// kubernetes:core/v1:Service for the core group.
func typeToken(o charts.Object) string {
	apiVersion := o.APIVersion()
	if !strings.Contains(apiVersion, "/") {
		apiVersion = "core/" + apiVersion
	}
	return "kubernetes:" + apiVersion + ":" + o.Kind()
}

// references are the registered objects a workload's pods read: its
// ServiceAccount, the ConfigMaps and Secrets of its variables and pull
// secrets, and the claims it mounts.
func references(o charts.Object, registered map[string]pulumi.Resource) []pulumi.Resource {
	var deps []pulumi.Resource
	seen := map[string]bool{}
	add := func(kind, name string) {
		if r, ok := registered[kind+"/"+name]; ok && !seen[kind+"/"+name] {
			seen[kind+"/"+name] = true
			deps = append(deps, r)
		}
	}
	walk(o.Object, func(key string, value any) {
		name, _ := value.(string)
		switch key {
		case "serviceAccountName":
			add("ServiceAccount", name)
		case "claimName":
			add("PersistentVolumeClaim", name)
		case "configMapRef", "configMapKeyRef":
			add("ConfigMap", nameOf(value))
		case "secretRef", "secretKeyRef", "imagePullSecrets":
			add("Secret", nameOf(value))
			if list, ok := value.([]any); ok {
				for _, s := range list {
					add("Secret", nameOf(s))
				}
			}
		}
	})
	return deps
}

func nameOf(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["name"].(string)
	return s
}

// walk calls visit for every key of every map below v.
func walk(v any, visit func(key string, value any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			visit(k, e)
			walk(e, visit)
		}
	case []any:
		for _, e := range x {
			walk(e, visit)
		}
	}
}
