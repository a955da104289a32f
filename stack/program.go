// Package stack is the Pulumi program: it loads the typed config, creates the
// Kubernetes provider, deploys in raw or helm mode and returns the outputs.
// main.go and the Automation API driver both run Program.
package stack

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/config"
)

// ContextSource reads raw config from the Pulumi context.
type ContextSource struct{ Ctx *pulumi.Context }

// Get implements config.Source.
func (c ContextSource) Get(key string) (string, bool) { return c.Ctx.GetConfig(key) }

// IsSecret implements config.Source.
func (c ContextSource) IsSecret(key string) bool { return c.Ctx.IsConfigSecret(key) }

// ProjectDir implements config.Source: the folder of Pulumi.yaml, or the
// working directory of an inline program.
func (c ContextSource) ProjectDir() string {
	if root := c.Ctx.RootDirectory(); root != "" {
		return root
	}
	wd, _ := os.Getwd()
	return wd
}

// Program is the whole Pulumi program, finding the chart next to Pulumi.yaml.
func Program(ctx *pulumi.Context) error { return NewProgram("")(ctx) }

// NewProgram is the program with the chart folder given (empty: found as
// ChartDir does). An inline program runs in its caller's process, where
// neither Pulumi.yaml's folder nor the CLI's environment applies.
// An invalid configuration returns every problem before a single resource is
// registered; a change of deploy mode on a live stack is refused before
// anything changes.
func NewProgram(chartDir string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		return run(ctx, chartDir)
	}
}

func run(ctx *pulumi.Context, chartDir string) error {
	cfg, err := config.Load(ContextSource{ctx}, ctx.Stack())
	if err != nil {
		return err
	}
	if err := guardModeSwitch(ctx, cfg); err != nil {
		return err
	}
	outputs, err := deploy(ctx, cfg, chartDir)
	if err != nil {
		return err
	}
	for name, value := range outputs {
		ctx.Export(name, value)
	}
	return nil
}

// Deploy registers the stack described by a valid configuration, in its
// deploy mode, and returns its outputs.
// The chart is found as ChartDir does.
func Deploy(ctx *pulumi.Context, cfg *config.Stack) (pulumi.Map, error) { return deploy(ctx, cfg, "") }

func deploy(ctx *pulumi.Context, cfg *config.Stack, chartDir string) (pulumi.Map, error) {
	if chartDir == "" {
		var err error
		if chartDir, err = ChartDir(ctx); err != nil {
			return nil, err
		}
	}
	// Both modes render the chart first: raw mode registers its objects, and
	// values the chart refuses stop the update before anything is created.
	values := HelmValues(cfg)
	placeholders := map[string]string{}
	for _, b := range cfg.ImageBuilds() {
		placeholders[b.Name] = digestPlaceholder(b.Name)
	}
	SetImageDigests(&values, placeholders)
	rendered, err := charts.Render(chartDir, values.Map(), charts.RenderOptions{Namespace: cfg.Namespace, Service: objectManager(cfg)})
	if err != nil {
		return nil, fmt.Errorf("rendering the chart %s: %w", chartDir, err)
	}

	provider, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{
		Context: optional(cfg.KubeContext),
		// Update the fixed-name ConfigMap and Secret in place instead of
		// replacing them; the checksum annotations roll the pods.
		EnableConfigMapMutable: pulumi.Bool(true),
		EnableSecretMutable:    pulumi.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	digests, err := buildImages(ctx, cfg)
	if err != nil {
		return nil, err
	}
	var out *outputs
	if cfg.DeployMode == config.ModeHelm {
		out, err = deployHelm(ctx, cfg, chartDir, values, rendered, digests, pulumi.Providers(provider))
	} else {
		out, err = deployRaw(ctx, cfg, rendered, digests, pulumi.Providers(provider))
	}
	if err != nil {
		return nil, err
	}
	out.images = imageOutputs(cfg, digests)
	return out.values(), nil
}

// objectManager is the app.kubernetes.io/managed-by of the objects: Helm
// in helm mode, the program in raw mode.
func objectManager(cfg *config.Stack) string {
	if cfg.DeployMode == config.ModeHelm {
		return ""
	}
	return managedBy
}

// managedBy is raw mode's app.kubernetes.io/managed-by.
const managedBy = "pulumi"

// guardModeSwitch refuses to change deploy.mode on a stack that was deployed
// in the other mode: both modes own the same object names, so Helm would
// refuse to adopt raw objects (or Pulumi would delete the chart's), leaving a
// half-switched stack. The last deployed mode is the stack's own output.
func guardModeSwitch(ctx *pulumi.Context, cfg *config.Stack) error {
	name := ctx.Project() + "/" + ctx.Stack()
	if org := ctx.Organization(); org != "" {
		name = org + "/" + name
	}
	self, err := pulumi.NewStackReference(ctx, "previous-deployment", &pulumi.StackReferenceArgs{Name: pulumi.String(name)})
	if err != nil {
		return err
	}
	details, err := self.GetOutputDetails("deployMode")
	if err != nil {
		return fmt.Errorf("reading this stack's last deploy mode: %w", err)
	}
	previous, _ := details.Value.(string)
	if previous == "" || previous == cfg.DeployMode {
		return nil
	}
	return config.Problems{{
		Key:   config.Namespace + ":deploy.mode",
		Value: cfg.DeployMode,
		Reason: fmt.Sprintf("stack %q is deployed in %s mode; switching a live stack is refused because both modes own the same "+
			"objects and a half-done switch would take the application down. Either set it back "+
			"(`pulumi config set -s %s deploy.mode %s`), or switch deliberately: `pulumi destroy -s %s` "+
			"(volumes and their data are deleted), then `pulumi up -s %s`",
			ctx.Stack(), previous, ctx.Stack(), previous, ctx.Stack(), ctx.Stack()),
	}}
}

func optional(s string) pulumi.StringPtrInput {
	if s == "" {
		return nil
	}
	return pulumi.String(s)
}
