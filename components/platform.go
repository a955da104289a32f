package components

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// PodSecurityLevel is enforced on the namespace: every pod must pass the
// Pod Security "restricted" profile.
const PodSecurityLevel = "restricted"

// PlatformArgs are the shared objects' contents.
type PlatformArgs struct {
	Namespace string
	// ConfigData is the non-secret configuration every application reads.
	ConfigData map[string]string
	// SecretData is every secret value by variable name; it is stored as a
	// Pulumi secret and never leaves the Secret object.
	SecretData map[string]string
}

// Platform is the namespace and the ConfigMap and Secret the applications
// read, all created by the program so nothing has to exist beforehand.
type Platform struct {
	pulumi.ResourceState

	Namespace pulumi.StringOutput
	ConfigMap *corev1.ConfigMap
	Secret    *corev1.Secret
}

// NewPlatform registers the namespace, ConfigMap and Secret.
func NewPlatform(ctx *pulumi.Context, name string, args PlatformArgs, opts ...pulumi.ResourceOption) (*Platform, error) {
	c := &Platform{}
	if err := ctx.RegisterComponentResource(TypePrefix+"Platform", name, c, opts...); err != nil {
		return nil, err
	}
	labels := Labels(PartOf, "platform")
	ns, err := newNamespace(ctx, c, args.Namespace)
	if err != nil {
		return nil, err
	}
	c.Namespace = ns.Metadata.Name().Elem()

	c.ConfigMap, err = corev1.NewConfigMap(ctx, ConfigMapName, &corev1.ConfigMapArgs{
		Metadata: metav1.ObjectMetaArgs{Name: pulumi.String(ConfigMapName), Namespace: c.Namespace, Labels: pulumi.ToStringMap(labels)},
		Data:     pulumi.ToStringMap(args.ConfigData),
	}, pulumi.Parent(c))
	if err != nil {
		return nil, err
	}

	c.Secret, err = corev1.NewSecret(ctx, SecretName, &corev1.SecretArgs{
		Metadata:   metav1.ObjectMetaArgs{Name: pulumi.String(SecretName), Namespace: c.Namespace, Labels: pulumi.ToStringMap(labels)},
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.ToSecret(pulumi.ToStringMap(args.SecretData)).(pulumi.StringMapOutput),
	}, pulumi.Parent(c), pulumi.AdditionalSecretOutputs([]string{"data", "stringData"}))
	if err != nil {
		return nil, err
	}

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"namespace": c.Namespace}); err != nil {
		return nil, err
	}
	return c, nil
}

// newNamespace creates the namespace with Pod Security "restricted" enforced.
func newNamespace(ctx *pulumi.Context, parent pulumi.Resource, name string) (*corev1.Namespace, error) {
	labels := Labels(PartOf, "platform")
	for _, mode := range []string{"enforce", "audit", "warn"} {
		labels["pod-security.kubernetes.io/"+mode] = PodSecurityLevel
	}
	return corev1.NewNamespace(ctx, name, &corev1.NamespaceArgs{
		Metadata: metav1.ObjectMetaArgs{Name: pulumi.String(name), Labels: pulumi.ToStringMap(labels)},
	}, pulumi.Parent(parent))
}
