package components

import (
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ChartReleaseArgs describe helm mode: the chart and its values.
type ChartReleaseArgs struct {
	Namespace string
	// CreateNamespace is false for a namespace that exists already.
	CreateNamespace bool
	// Release is the Helm release's name (charts.ReleaseFor the name prefix).
	Release string
	// Chart is the chart's folder, or a published chart's OCI reference at Version.
	Chart   string
	Version string
	// Values are the chart values, values.secrets a Pulumi secret.
	Values pulumi.Map
	// Keep protects the namespace, where `helm uninstall` leaves the kept claims.
	Keep bool
}

// ChartRelease is the namespace plus the project's chart installed as a Helm
// release: visible to `helm status`, `helm history` and `helm rollback`.
type ChartRelease struct {
	pulumi.ResourceState

	Namespace pulumi.StringOutput
	Release   *helmv3.Release
}

// NewChartRelease creates the namespace (the chart does not create one, so
// the standalone `helm install --create-namespace` works) and the release.
func NewChartRelease(ctx *pulumi.Context, name string, args ChartReleaseArgs, opts ...pulumi.ResourceOption) (*ChartRelease, error) {
	c := &ChartRelease{}
	if err := ctx.RegisterComponentResource(TypePrefix+"ChartRelease", name, c, opts...); err != nil {
		return nil, err
	}
	ns, err := NewNamespace(ctx, c, args.Namespace, args.CreateNamespace, args.Keep)
	if err != nil {
		return nil, err
	}
	c.Namespace = ns

	c.Release, err = helmv3.NewRelease(ctx, args.Release, &helmv3.ReleaseArgs{
		Name:      pulumi.String(args.Release),
		Chart:     pulumi.String(args.Chart),
		Version:   OptionalString(args.Version),
		Namespace: c.Namespace,
		Values:    args.Values,
		// A failed install or upgrade is rolled back: the stack is never left
		// half-applied.
		Atomic:        pulumi.Bool(true),
		CleanupOnFail: pulumi.Bool(true),
		Timeout:       pulumi.Int(900),
		MaxHistory:    pulumi.Int(10),
		// The provider fetches the cluster's OpenAPI anew for each install and
		// upgrade to check the manifest client-side (0.6 s of a 3 s install
		// on the sandbox). values.schema.json already holds every fragment a
		// user adds to the Kubernetes types, the chart's own objects are
		// tested against the API server, and the API server validates each
		// object as Helm creates it.
		DisableOpenapiValidation: pulumi.Bool(true),
	}, pulumi.Parent(c))
	if err != nil {
		return nil, err
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"namespace": c.Namespace}); err != nil {
		return nil, err
	}
	return c, nil
}

// OptionalString is s as an optional input: nil when empty, so the
// provider's default applies.
func OptionalString(s string) pulumi.StringPtrInput {
	if s == "" {
		return nil
	}
	return pulumi.String(s)
}
