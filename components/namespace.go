// Package components holds the component resources the program builds in Go
// rather than through the chart: the namespace, the Helm release of helm
// mode and the image builds.
package components

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/utilities"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TypePrefix starts the type of every component resource of the program.
const TypePrefix = "rhesis:components:"

// PodSecurityLevel is enforced on the namespace: every pod must pass the
// Pod Security "restricted" profile.
const PodSecurityLevel = "restricted"

// NewNamespace creates the namespace with Pod Security "restricted" enforced
// and returns its name. The chart does not create it, so that `helm install
// --create-namespace` works. With keep it is protected: `pulumi destroy`
// removes everything else and leaves it, with the kept volumes in it.
// Without create the namespace exists already (another stack's that shares
// it, or the platform team's): it is only read, so no stack deletes it
// under the other, and it must enforce restricted as a created one does.
func NewNamespace(ctx *pulumi.Context, parent pulumi.Resource, name string, create, keep bool) (pulumi.StringOutput, error) {
	if !create {
		ns := &namespace{}
		err := ctx.ReadResource(namespaceType, name, pulumi.ID(name), nil, ns,
			utilities.PkgResourceDefaultOpts([]pulumi.ResourceOption{pulumi.Parent(parent)})...)
		if err != nil {
			return pulumi.StringOutput{}, err
		}
		return ns.Metadata.ApplyT(func(meta map[string]any) (string, error) {
			labels, _ := meta["labels"].(map[string]any)
			if got, _ := labels[EnforceLabel].(string); got != PodSecurityLevel {
				return "", fmt.Errorf("namespace %s enforces Pod Security %q, not %q: label it with "+
					"`kubectl label namespace %s %s=%s`, or let the stack create its own (rhesis:createNamespace true)",
					name, got, PodSecurityLevel, name, EnforceLabel, PodSecurityLevel)
			}
			return name, nil
		}).(pulumi.StringOutput), nil
	}
	labels := pulumi.StringMap{
		"app": pulumi.String("rhesis"), "app.kubernetes.io/name": pulumi.String("rhesis"),
		"app.kubernetes.io/instance": pulumi.String("rhesis"), "app.kubernetes.io/component": pulumi.String("platform"),
		"app.kubernetes.io/part-of": pulumi.String("rhesis"), "app.kubernetes.io/managed-by": pulumi.String("pulumi"),
	}
	for _, mode := range []string{"enforce", "audit", "warn"} {
		labels["pod-security.kubernetes.io/"+mode] = pulumi.String(PodSecurityLevel)
	}
	ns := &namespace{}
	err := ctx.RegisterResource(namespaceType, name, pulumi.Map{
		"apiVersion": pulumi.String("v1"), "kind": pulumi.String("Namespace"),
		"metadata": pulumi.Map{"name": pulumi.String(name), "labels": labels,
			"annotations": pulumi.StringMap{PatchForce: pulumi.String("true")}},
	}, ns, utilities.PkgResourceDefaultOpts([]pulumi.ResourceOption{pulumi.Parent(parent), pulumi.Protect(keep)})...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	return ns.Metadata.ApplyT(func(meta map[string]any) string {
		name, _ := meta["name"].(string)
		return name
	}).(pulumi.StringOutput), nil
}

// namespace is the provider's kubernetes:core/v1:Namespace, registered by its
// type token: the SDK's core/v1 package costs each binary 25 MB and 6 s of
// linking, for one object.
type namespace struct {
	pulumi.CustomResourceState

	Metadata pulumi.MapOutput `pulumi:"metadata"`
}

// namespaceType is the provider's type token of a Namespace.
const namespaceType = "kubernetes:core/v1:Namespace"

// EnforceLabel is the label Pod Security admission enforces a namespace's level by.
const EnforceLabel = "pod-security.kubernetes.io/enforce"

// PatchForce makes the provider's server-side apply take back the fields
// the program sets from another field manager that changed them by hand
// (kubectl scale, kubectl edit), instead of failing on the conflict.
const PatchForce = "pulumi.com/patchForce"
