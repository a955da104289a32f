package components

import (
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/utilities"
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
	// Keyring, when set, has the provider verify the published chart it
	// installs against these public keys, as `helm install --verify` does.
	Keyring string
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
	Release   *HelmRelease
}

// HelmRelease is the provider's kubernetes:helm.sh/v3:Release, registered by
// its type token rather than through the SDK's helm/v3 package: that package
// imports every API group's types (about 120 MB and 10 s of linking in each
// binary and test binary), for the two outputs read here.
type HelmRelease struct {
	pulumi.CustomResourceState

	Name pulumi.StringPtrOutput `pulumi:"name"`
	// Status holds the release's status and revision.
	Status pulumi.MapOutput `pulumi:"status"`
}

// helmReleaseType is the provider's type token of a Helm release.
const helmReleaseType = "kubernetes:helm.sh/v3:Release"

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

	props := pulumi.Map{
		"name":      pulumi.String(args.Release),
		"chart":     pulumi.String(args.Chart),
		"namespace": c.Namespace,
		"values":    args.Values,
		// The provider's Release, not its old client-side chart resource.
		"compat": pulumi.String("true"),
		// A failed install or upgrade is rolled back: the stack is never left
		// half-applied.
		"atomic":        pulumi.Bool(true),
		"cleanupOnFail": pulumi.Bool(true),
		"timeout":       pulumi.Int(900),
		"maxHistory":    pulumi.Int(10),
		// The provider fetches the cluster's OpenAPI anew for each install and
		// upgrade to check the manifest client-side (0.6 s of a 3 s install
		// on the sandbox). values.schema.json already holds every fragment a
		// user adds to the Kubernetes types, the chart's own objects are
		// tested against the API server, and the API server validates each
		// object as Helm creates it.
		"disableOpenapiValidation": pulumi.Bool(true),
	}
	if args.Version != "" {
		props["version"] = pulumi.String(args.Version)
	}
	if args.Keyring != "" {
		props["verify"] = pulumi.Bool(true)
		props["keyring"] = pulumi.String(args.Keyring)
	}
	c.Release = &HelmRelease{}
	err = ctx.RegisterResource(helmReleaseType, args.Release, props, c.Release, utilities.PkgResourceDefaultOpts([]pulumi.ResourceOption{pulumi.Parent(c)})...)
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
