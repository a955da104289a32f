package components

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/config"
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
	// PullSecretData, when set, is the content of the image pull Secret
	// config.RegistrySecretName (a .dockerconfigjson).
	PullSecretData map[string]string
	// Keep protects the namespace: deleting it would delete the kept claims.
	Keep bool
}

// Platform is the namespace and the ConfigMap and Secret the applications
// read, all created by the program so nothing has to exist beforehand.
type Platform struct {
	pulumi.ResourceState

	Namespace  pulumi.StringOutput
	ConfigMap  *corev1.ConfigMap
	Secret     *corev1.Secret
	PullSecret *corev1.Secret
}

// NewPlatform registers the namespace, ConfigMap and Secret.
func NewPlatform(ctx *pulumi.Context, name string, args PlatformArgs, opts ...pulumi.ResourceOption) (*Platform, error) {
	c := &Platform{}
	if err := ctx.RegisterComponentResource(TypePrefix+"Platform", name, c, opts...); err != nil {
		return nil, err
	}
	labels := Labels(PartOf, "platform")
	ns, err := newNamespace(ctx, c, args.Namespace, args.Keep)
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

	c.Secret, err = newSecret(ctx, c, SecretName, "Opaque", labels, args.SecretData)
	if err != nil {
		return nil, err
	}
	if args.PullSecretData != nil {
		c.PullSecret, err = newSecret(ctx, c, config.RegistrySecretName, "kubernetes.io/dockerconfigjson", labels, args.PullSecretData)
		if err != nil {
			return nil, err
		}
	}

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"namespace": c.Namespace}); err != nil {
		return nil, err
	}
	return c, nil
}

// newSecret creates a Secret whose data is a Pulumi secret, in state and in every diff.
func newSecret(ctx *pulumi.Context, parent *Platform, name, typ string, labels map[string]string, data map[string]string) (*corev1.Secret, error) {
	return corev1.NewSecret(ctx, name, &corev1.SecretArgs{
		Metadata:   metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: parent.Namespace, Labels: pulumi.ToStringMap(labels)},
		Type:       pulumi.String(typ),
		StringData: pulumi.ToSecret(pulumi.ToStringMap(data)).(pulumi.StringMapOutput),
	}, pulumi.Parent(parent), pulumi.AdditionalSecretOutputs([]string{"data", "stringData"}))
}

// newNamespace creates the namespace with Pod Security "restricted" enforced.
// With keep it is protected: `pulumi destroy` removes everything else and
// leaves it, with the kept volumes in it.
func newNamespace(ctx *pulumi.Context, parent pulumi.Resource, name string, keep bool) (*corev1.Namespace, error) {
	labels := Labels(PartOf, "platform")
	for _, mode := range []string{"enforce", "audit", "warn"} {
		labels["pod-security.kubernetes.io/"+mode] = PodSecurityLevel
	}
	return corev1.NewNamespace(ctx, name, &corev1.NamespaceArgs{
		Metadata: metav1.ObjectMetaArgs{Name: pulumi.String(name), Labels: pulumi.ToStringMap(labels)},
	}, pulumi.Parent(parent), pulumi.Protect(keep))
}
