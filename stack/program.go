// Package stack is the Pulumi program: it loads the typed config, creates the
// Kubernetes provider, deploys in raw or helm mode and returns the outputs.
// main.go and the Automation API driver both run Program.
package stack

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/components"
	"github.com/rhesis-ai/rhesis-deploy/config"
)

// ContextSource reads raw config from the Pulumi context.
type ContextSource struct {
	Ctx *pulumi.Context
	// SetKeys are the keys the stack sets: the engine hands a program values
	// by key and has no list of them.
	SetKeys []string
}

// Keys implements config.Source.
func (c ContextSource) Keys() []string { return c.SetKeys }

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

// Program is the whole Pulumi program as `pulumi up` runs main.go: the
// chart next to Pulumi.yaml, the config keys from PULUMI_CONFIG.
func Program(ctx *pulumi.Context) error { return NewProgram(Options{})(ctx) }

// Options say where a program finds what the engine does not hand it. An
// inline program runs in its caller's process, where neither Pulumi.yaml's
// folder nor the CLI's environment applies.
type Options struct {
	// ChartDir is the chart's folder; empty means found as ChartDir does.
	ChartDir string
	// ConfigKeys lists the config keys the stack sets; nil means the keys of
	// PULUMI_CONFIG, the variable the CLI hands a program's config in.
	ConfigKeys func(ctx *pulumi.Context) ([]string, error)
	// ServesAPI asks the cluster whether it serves an API; nil means
	// ClusterServesAPI.
	ServesAPI ServesAPI
}

// NewProgram is the program with its options.
// An invalid configuration returns every problem before a single resource is
// registered; a change of deploy mode on a live stack is refused before
// anything changes.
func NewProgram(o Options) pulumi.RunFunc {
	if o.ConfigKeys == nil {
		o.ConfigKeys = func(*pulumi.Context) ([]string, error) { return EnvConfigKeys() }
	}
	return func(ctx *pulumi.Context) error {
		return run(ctx, o)
	}
}

// EnvConfigKeys lists the keys of PULUMI_CONFIG.
func EnvConfigKeys() ([]string, error) {
	raw := os.Getenv(pulumi.EnvConfig)
	if raw == "" {
		return nil, nil
	}
	var all map[string]string
	if err := json.Unmarshal([]byte(raw), &all); err != nil {
		return nil, fmt.Errorf("reading %s: %w", pulumi.EnvConfig, err)
	}
	return slices.Sorted(maps.Keys(all)), nil
}

func run(ctx *pulumi.Context, o Options) error {
	keys, err := o.ConfigKeys(ctx)
	if err != nil {
		return fmt.Errorf("listing the stack's config keys: %w", err)
	}
	cfg, err := config.Load(ContextSource{Ctx: ctx, SetKeys: keys}, ctx.Stack())
	if err != nil {
		return err
	}
	if err := guardLiveChanges(ctx, cfg); err != nil {
		return err
	}
	outputs, err := DeployWith(ctx, cfg, o)
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
func Deploy(ctx *pulumi.Context, cfg *config.Stack) (pulumi.Map, error) {
	return DeployWith(ctx, cfg, Options{})
}

// DeployWith is Deploy with the program's options.
func DeployWith(ctx *pulumi.Context, cfg *config.Stack, o Options) (pulumi.Map, error) {
	if o.ServesAPI == nil {
		o.ServesAPI = ClusterServesAPI
	}
	apis, err := extraAPIs(cfg, o.ServesAPI)
	if err != nil {
		return nil, err
	}
	// The provider before the render: the engine starts its plugin meanwhile.
	provider, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{
		Context: components.OptionalString(cfg.KubeContext),
		// Update the fixed-name ConfigMap and Secret in place instead of
		// replacing them; the checksum annotations roll the pods.
		EnableConfigMapMutable: pulumi.Bool(true),
		EnableSecretMutable:    pulumi.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	chartDir := o.ChartDir
	if chartDir == "" {
		if chartDir, err = ChartDir(ctx); err != nil {
			return nil, err
		}
	}
	if chartDir, err = ChartOf(cfg, chartDir); err != nil {
		return nil, err
	}
	// Both modes render the chart before any object: raw mode registers
	// its objects, and values the chart refuses stop the update before any
	// object is created.
	rendered, values, err := Render(cfg, chartDir, apis...)
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

// Render renders the chart in chartDir for cfg as its deploy mode applies
// it; the digests of images still to be built are placeholders.
func Render(cfg *config.Stack, chartDir string, apiVersions ...string) (*charts.Rendered, charts.Values, error) {
	values := HelmValues(cfg)
	placeholders := map[string]string{}
	for _, b := range cfg.ImageBuilds() {
		placeholders[b.Name] = digestPlaceholder(b.Name)
	}
	SetImageDigests(&values, placeholders)
	rendered, err := charts.Render(chartDir, values.Map(), charts.RenderOptions{Namespace: cfg.Namespace, Service: objectManager(cfg), APIVersions: apiVersions})
	if err != nil {
		return nil, values, fmt.Errorf("rendering the chart %s: %w", chartDir, err)
	}
	return rendered, values, nil
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

// guardLiveChanges refuses what a live stack cannot take in one step: a new
// namePrefix (every object renamed, the volumes' data lost), or deploy.mode
// switched, for both modes own the same object names, so Helm would refuse
// to adopt raw objects (or Pulumi would delete the chart's), leaving a
// half-switched stack. The last deployed values are the stack's own outputs.
func guardLiveChanges(ctx *pulumi.Context, cfg *config.Stack) error {
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
	if previous == "" {
		return nil // never deployed
	}
	prefix, err := self.GetOutputDetails("namePrefix")
	if err != nil {
		return fmt.Errorf("reading this stack's last name prefix: %w", err)
	}
	// A stack deployed before namePrefix existed has none.
	if was, _ := prefix.Value.(string); was != cfg.NamePrefix {
		return config.Problems{{
			Key:   config.Namespace + ":namePrefix",
			Value: cfg.NamePrefix,
			Reason: fmt.Sprintf("stack %q is deployed with namePrefix %q; a new prefix renames every object, so each one, the volume claims "+
				"with their data included, would be deleted and made anew. Set it back (`%s`), or move deliberately: back up the "+
				"database, `pulumi destroy -s %s`, then `pulumi up -s %s` and restore", ctx.Stack(), was,
				config.SetCommand(ctx.Stack(), "namePrefix", was, false), ctx.Stack(), ctx.Stack()),
		}}
	}
	if previous == cfg.DeployMode {
		return nil
	}
	return config.Problems{{
		Key:   config.Namespace + ":deploy.mode",
		Value: cfg.DeployMode,
		Reason: fmt.Sprintf("stack %q is deployed in %s mode; switching a live stack is refused because both modes own the same "+
			"objects and a half-done switch would take the application down. Either set it back "+
			"(`%s`), or switch deliberately: `pulumi destroy -s %s` "+
			"(volumes and their data are deleted), then `pulumi up -s %s`",
			ctx.Stack(), previous, config.SetCommand(ctx.Stack(), "deploy.mode", previous, false), ctx.Stack(), ctx.Stack()),
	}}
}
