package stack

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/components"
)

// component is one of raw mode's component resources.
type component struct{ pulumi.ResourceState }

// object is a Kubernetes object registered with the provider.
type object struct{ pulumi.CustomResourceState }

// deployRaw registers every object the chart renders as a Pulumi resource of
// its own, under the component of its service; the namespace is the
// program's, as in helm mode.
func deployRaw(ctx *pulumi.Context, res *Resolved, digests imageDigests,
	withProvider pulumi.ResourceOption) (*outputs, error) {
	var objects []charts.Object
	for _, o := range res.Rendered.Objects {
		if helmOnly(o) {
			continue
		}
		// A workload belongs to a service (its metrics, policies, budget).
		if _, ok := serviceGroup(groupOf(o).name); isWorkload(o) && !ok {
			return nil, fmt.Errorf("%s %s of %s: no service component owns it (stack/objects.go)", o.Kind(), o.Name(), o.Source)
		}
		objects = append(objects, o)
	}
	r := &charts.Rendered{Objects: objects}
	d := &rawDeployment{ctx: ctx, groups: map[group]*component{}, registered: map[string]pulumi.Resource{},
		subst: newSubstitutions(digests).withSecretsOf(r)}
	for _, g := range append([]group{platformGroup, policiesGroup}, append(serviceGroups, monitoringGroup)...) {
		if !uses(r, g) && g != platformGroup {
			continue
		}
		c := &component{}
		if err := ctx.RegisterComponentResource(componentType(g.typ), g.name, c, withProvider); err != nil {
			return nil, err
		}
		d.groups[g] = c
	}
	var err error
	d.namespace, err = components.NewNamespace(ctx, d.groups[platformGroup], res.Config.Deploy.Namespace, res.Config.Deploy.CreateNamespace, res.Keep())
	if err != nil {
		return nil, err
	}

	if d.hooks, err = newBackupHooks(ctx, res); err != nil {
		return nil, err
	}
	// What workloads read, then the workloads, each after what its pods
	// read; the backup's CronJob before the objects whose change waits for
	// a backup.
	for _, pass := range []func(charts.Object) bool{
		func(o charts.Object) bool { return !isWorkload(o) && !d.hooks.guards(o) },
		func(o charts.Object) bool { return d.hooks.runs(o) },
		func(o charts.Object) bool { return !isWorkload(o) && d.hooks.guards(o) },
		func(o charts.Object) bool { return isWorkload(o) && !d.hooks.runs(o) },
	} {
		for _, o := range objects {
			if !pass(o) {
				continue
			}
			var deps []pulumi.Resource
			if isWorkload(o) {
				deps = references(o, d.registered)
			}
			if err := d.register(o, deps); err != nil {
				return nil, err
			}
		}
	}
	for g, c := range d.groups {
		outs := pulumi.Map{}
		if g == platformGroup {
			outs["namespace"] = d.namespace
		}
		if err := ctx.RegisterResourceOutputs(c, outs); err != nil {
			return nil, err
		}
	}
	return &outputs{r: res, namespace: d.namespace, services: serviceAddresses(r)}, nil
}

// rawDeployment is raw mode's registration in progress.
type rawDeployment struct {
	ctx       *pulumi.Context
	groups    map[group]*component
	namespace pulumi.StringOutput
	subst     substitutions
	// registered are the objects so far, by kind/name.
	registered map[string]pulumi.Resource
	hooks      *backupHooks
}

// register registers one object, after deps, with the options objects.go
// gives it.
func (d *rawDeployment) register(o charts.Object, deps []pulumi.Resource) error {
	g := groupOf(o)
	opts := []pulumi.ResourceOption{pulumi.Parent(d.groups[g]), pulumi.DependsOn(deps)}
	if protected(o) {
		opts = append(opts, pulumi.Protect(true))
	}
	if fields, ok := secretFields[o.Kind()]; ok {
		opts = append(opts, pulumi.AdditionalSecretOutputs(fields))
	}
	if old, ok := previousGroup(o); ok {
		opts = append(opts, pulumi.Aliases([]pulumi.Alias{{ParentURN: pulumi.URN(componentURN(d.ctx, old))}}))
	}
	opts = append(opts, d.hooks.options(o)...)
	res := &object{}
	if err := d.ctx.RegisterResource(typeToken(o), o.Name(), d.subst.object(o, d.namespace), res, opts...); err != nil {
		return fmt.Errorf("%s %s: %w", o.Kind(), o.Name(), err)
	}
	d.registered[o.Kind()+"/"+o.Name()] = res
	if d.hooks.runs(o) {
		d.hooks.cronJob = res
	}
	return nil
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
