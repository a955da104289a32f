// Package stack is the Pulumi program: it loads the typed config, creates the
// Kubernetes provider, deploys in raw or helm mode and returns the outputs.
// main.go and the Automation API driver both run Program.
package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"helm.sh/helm/v3/pkg/chartutil"

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

// SecretPath implements config.PathSecrets from the stack's file
// Pulumi.<stack>.yaml, where each encrypted value is a `secure:` entry.
func (c ContextSource) SecretPath(path string) (secret, known bool) {
	return config.StackFileSecret(filepath.Join(c.ProjectDir(), "Pulumi."+c.Ctx.Stack()+".yaml"), path)
}

// Program is the whole Pulumi program as `pulumi up` runs main.go: the
// chart next to Pulumi.yaml, the config keys from PULUMI_CONFIG.
func Program(ctx *pulumi.Context) error { return NewProgram(Options{})(ctx) }

// Options say where a program finds what the engine does not hand it. An
// inline program runs in its caller's process, where neither Pulumi.yaml's
// folder nor the CLI's environment applies.
type Options struct {
	// ChartDir is the chart's folder; empty means found as LocalChartDir does.
	ChartDir string
	// ConfigKeys lists the config keys the stack sets; nil means the keys of
	// PULUMI_CONFIG, the variable the CLI hands a program's config in.
	ConfigKeys func(ctx *pulumi.Context) ([]string, error)
	// ServesAPI asks the cluster whether it serves an API; nil means
	// ClusterServesAPI.
	ServesAPI ServesAPI
	// Source wraps how the program reads its config (ContextSource); nil
	// reads it as it is.
	Source func(config.Source) config.Source
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
	local := o.ChartDir
	if local == "" {
		if local, err = LocalChartDir(ctx); err != nil {
			return err
		}
	}
	var src config.Source = ContextSource{Ctx: ctx, SetKeys: keys}
	if o.Source != nil {
		src = o.Source(src)
	}
	cfg, err := config.Load(src, ctx.Stack(), ChartResolver(local))
	if err != nil {
		return err
	}
	r, err := Resolve(cfg, o.servesAPI())
	if err != nil {
		return err
	}
	if err := guardLiveChanges(ctx, r); err != nil {
		return err
	}
	outputs, err := DeployResolved(ctx, r)
	if err != nil {
		return err
	}
	for name, value := range outputs {
		ctx.Export(name, value)
	}
	return nil
}

func (o Options) servesAPI() ServesAPI {
	if o.ServesAPI == nil {
		return ClusterServesAPI
	}
	return o.ServesAPI
}

// Resolved is a stack ready to deploy: its configuration, the values handed
// to the chart, those values merged with the chart's defaults (what Go reads
// where it needs a setting), and the chart's objects.
type Resolved struct {
	Config *config.Stack
	// Values are the stack's layers (values-<env>.yaml, builds, overlay);
	// Helm applies values.yaml beneath them.
	Values map[string]any
	Merged map[string]any
	// Rendered are the objects; a built image's digest is a placeholder.
	Rendered *charts.Rendered
}

// Resolve merges, checks and renders a stack's values: every problem the
// schema or the chart's own checks find, each as the stack's key with the
// command that fixes it, before anything is registered.
func Resolve(cfg *config.Stack, serves ServesAPI) (*Resolved, error) {
	values, err := cfg.Values(cfg.ChartDir)
	if err != nil {
		return nil, err
	}
	if cfg.Deploy.Images.Build {
		for _, b := range config.Buildable {
			config.SetPath(values, b.ValuesKey+".image.digest", digestPlaceholder(b.Image))
		}
	}
	// One load of the chart serves the merge and every render.
	chart, err := charts.Load(cfg.ChartDir)
	if err != nil {
		return nil, err
	}
	merged, err := charts.Merged(chart, values)
	if err != nil {
		return nil, err
	}
	problems := cfg.Schema.Validate(cfg.StackName, merged)
	// Rendered even when the schema refused a value, so that the chart's
	// own checks are reported with the schema's problems in one go.
	opts := charts.RenderOptions{SkipSchemaValidation: true, Namespace: cfg.Deploy.Namespace, Service: objectManager(cfg)}
	rendered, err := charts.RenderChart(chart, values, opts)
	if err != nil {
		var refused config.Problems
		if errors.As(config.FromChart(err, cfg.StackName, cfg.Schema), &refused) {
			problems = append(problems, refused...)
		} else if len(problems) == 0 {
			return nil, fmt.Errorf("rendering the chart %s: %w", cfg.ChartDir, err)
		}
	}
	if len(problems) == 0 {
		problems = cfg.CheckBuilds(cfg.ImageBuilds(rendered.Objects))
	}
	if len(problems) > 0 {
		return nil, problems
	}
	// Valid values: ask the cluster for the APIs they need, and render
	// with them.
	apis, err := extraAPIs(cfg, merged, serves)
	if err != nil {
		return nil, err
	}
	if len(apis) > 0 {
		opts.APIVersions = apis
		if rendered, err = charts.RenderChart(chart, values, opts); err != nil {
			return nil, fmt.Errorf("rendering the chart %s: %w", cfg.ChartDir, err)
		}
	}
	return &Resolved{Config: cfg, Values: values, Merged: merged, Rendered: rendered}, nil
}

// NamePrefix is the prefix of every object's name.
func (r *Resolved) NamePrefix() string { return config.String(r.Merged, "namePrefix") }

// ReleaseName is the stack's Helm release, and the instance label of its objects.
func (r *Resolved) ReleaseName() string { return charts.ReleaseFor(r.NamePrefix()) }

// Keep protects the data: the claims outlive the stack.
func (r *Resolved) Keep() bool { return config.Bool(r.Merged, "database.postgresql.persistence.keep") }

// DeployResolved registers a resolved stack in its deploy mode and returns
// its outputs.
func DeployResolved(ctx *pulumi.Context, r *Resolved) (pulumi.Map, error) {
	cfg := r.Config
	provider, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{
		Context: components.OptionalString(cfg.Deploy.KubeContext),
		// Update the fixed-name ConfigMap and Secret in place instead of
		// replacing them; the checksum annotations roll the pods.
		EnableConfigMapMutable: pulumi.Bool(true),
		EnableSecretMutable:    pulumi.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	digests, err := buildImages(ctx, r)
	if err != nil {
		return nil, err
	}
	var out *outputs
	if cfg.Deploy.Mode == config.ModeHelm {
		out, err = deployHelm(ctx, r, digests, pulumi.Providers(provider))
	} else {
		out, err = deployRaw(ctx, r, digests, pulumi.Providers(provider))
	}
	if err != nil {
		return nil, err
	}
	out.images = imageOutputs(r, digests)
	return out.values(), nil
}

// objectManager is the app.kubernetes.io/managed-by of the objects: Helm
// in helm mode, the program in raw mode.
func objectManager(cfg *config.Stack) string {
	if cfg.Deploy.Mode == config.ModeHelm {
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
func guardLiveChanges(ctx *pulumi.Context, r *Resolved) error {
	cfg := r.Config
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
	if was, _ := prefix.Value.(string); was != r.NamePrefix() {
		return config.Problems{{
			Key:   config.Namespace + ":namePrefix",
			Value: r.NamePrefix(),
			Reason: fmt.Sprintf("stack %q is deployed with namePrefix %q; a new prefix renames every object, so each one, the volume claims "+
				"with their data included, would be deleted and made anew. Set it back (`%s`), or move deliberately: back up the "+
				"database, `pulumi destroy -s %s`, then `pulumi up -s %s` and restore", ctx.Stack(), was,
				config.SetCommand(ctx.Stack(), "namePrefix", was, false), ctx.Stack(), ctx.Stack()),
		}}
	}
	if previous == cfg.Deploy.Mode {
		return nil
	}
	return config.Problems{{
		Key:   config.Namespace + ":deploy.mode",
		Value: cfg.Deploy.Mode,
		Reason: fmt.Sprintf("stack %q is deployed in %s mode; switching a live stack is refused because both modes own the same "+
			"objects and a half-done switch would take the application down. Either set it back "+
			"(`%s`), or switch deliberately: `pulumi destroy -s %s` "+
			"(volumes and their data are deleted), then `pulumi up -s %s`",
			ctx.Stack(), previous, config.SetCommand(ctx.Stack(), "deploy.mode", previous, false), ctx.Stack(), ctx.Stack()),
	}}
}

// RenderOne renders the stack's values with one more value set at path
// (a restore's backup.restore.object), for an object run on its own.
func (r *Resolved) RenderOne(path []string, v any) (*charts.Rendered, error) {
	override := map[string]any{path[len(path)-1]: v}
	for i := len(path) - 2; i >= 0; i-- {
		override = map[string]any{path[i]: override}
	}
	// MergeTables fills override from the stack's values without writing into them.
	values := chartutil.MergeTables(override, r.Values)
	chart, err := charts.Load(r.Config.ChartDir)
	if err != nil {
		return nil, err
	}
	return charts.RenderChart(chart, values, charts.RenderOptions{Namespace: r.Config.Deploy.Namespace, Service: objectManager(r.Config)})
}
