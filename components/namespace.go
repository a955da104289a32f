// Package components holds the component resources the program builds in Go
// rather than through the chart: the namespace, the Helm release of helm
// mode and the image builds.
package components

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TypePrefix starts the type of every component resource of the program.
const TypePrefix = "rhesis:components:"

// PodSecurityLevel is enforced on the namespace: every pod must pass the
// Pod Security "restricted" profile.
const PodSecurityLevel = "restricted"

// NewNamespace creates the namespace with Pod Security "restricted" enforced.
// The chart does not create it, so that `helm install --create-namespace`
// works. With keep it is protected: `pulumi destroy` removes everything else
// and leaves it, with the kept volumes in it.
func NewNamespace(ctx *pulumi.Context, parent pulumi.Resource, name string, keep bool) (*corev1.Namespace, error) {
	labels := pulumi.StringMap{
		"app": pulumi.String("rhesis"), "app.kubernetes.io/name": pulumi.String("rhesis"),
		"app.kubernetes.io/instance": pulumi.String("rhesis"), "app.kubernetes.io/component": pulumi.String("platform"),
		"app.kubernetes.io/part-of": pulumi.String("rhesis"), "app.kubernetes.io/managed-by": pulumi.String("pulumi"),
	}
	for _, mode := range []string{"enforce", "audit", "warn"} {
		labels["pod-security.kubernetes.io/"+mode] = pulumi.String(PodSecurityLevel)
	}
	return corev1.NewNamespace(ctx, name, &corev1.NamespaceArgs{
		Metadata: metav1.ObjectMetaArgs{Name: pulumi.String(name), Labels: labels,
			Annotations: pulumi.StringMap{PatchForce: pulumi.String("true")}},
	}, pulumi.Parent(parent), pulumi.Protect(keep))
}

// PatchForce makes the provider's server-side apply take back the fields
// the program sets from another field manager that changed them by hand
// (kubectl scale, kubectl edit), instead of failing on the conflict.
const PatchForce = "pulumi.com/patchForce"
