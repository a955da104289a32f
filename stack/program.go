// Package stack is the Pulumi program: it loads the typed config, creates the
// Kubernetes provider, deploys in raw or helm mode and returns the outputs.
// main.go and the Automation API driver both run Program.
package stack

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/components"
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
func Deploy(ctx *pulumi.Context, cfg *config.Stack) (pulumi.Map, error) { return deploy(ctx, cfg, "") }

func deploy(ctx *pulumi.Context, cfg *config.Stack, chartDir string) (pulumi.Map, error) {
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
		out, err = deployHelm(ctx, cfg, chartDir, digests, pulumi.Providers(provider))
	} else {
		out, err = deployRaw(ctx, cfg, digests, pulumi.Providers(provider))
	}
	if err != nil {
		return nil, err
	}
	out.images = imageOutputs(cfg, digests)
	return out.values(), nil
}

// deployRaw registers every object through the components.
func deployRaw(ctx *pulumi.Context, cfg *config.Stack, digests imageDigests, withProvider pulumi.ResourceOption) (*outputs, error) {
	configData, secretData := ConfigData(cfg), SecretData(cfg)
	platform, err := components.NewPlatform(ctx, "platform", components.PlatformArgs{
		Namespace:      cfg.Namespace,
		ConfigData:     configData,
		SecretData:     secretData,
		PullSecretData: PullSecretData(cfg),
		Keep:           cfg.Keep,
	}, withProvider)
	if err != nil {
		return nil, err
	}
	checksums := map[string]string{
		"checksum/config": checksum(configData),
		"checksum/secret": checksum(secretData),
	}
	args := func(name string, env []components.Env) components.ServiceArgs {
		return components.ServiceArgs{
			Namespace: platform.Namespace, Settings: cfg.Component(name), Env: env,
			PodAnnotations:   digests.podAnnotations(name, checksums),
			ImagePullSecrets: cfg.PullSecretNames(),
			Spread:           cfg.SpreadAcrossNodes,
		}
	}
	after := func(deps ...pulumi.Resource) pulumi.ResourceOption {
		return pulumi.DependsOn(append([]pulumi.Resource{platform}, deps...))
	}

	out := &outputs{cfg: cfg, namespace: platform.Namespace, urls: map[string]pulumi.StringOutput{}}
	if specs := NetworkPolicySpecs(cfg); specs != nil {
		if _, err := components.NewNetworkPolicies(ctx, "network-policies",
			components.NetworkPoliciesArgs{Namespace: platform.Namespace, Specs: specs}, withProvider, after()); err != nil {
			return nil, err
		}
	}
	// Start order as in the project's docker-compose: stores, then the
	// migrations, then the Python services, then the frontend. Each waits for
	// the Deployments (or Job) before it, not for whole components.
	var stores []pulumi.Resource
	var backups pulumi.Resource
	if cfg.Backup.Enabled {
		b, err := components.NewBackup(ctx, components.BackupName, components.BackupArgs{
			JobArgs: backupJobArgs(cfg, platform.Namespace), Backup: cfg.Backup, Keep: cfg.Keep,
		}, withProvider, after())
		if err != nil {
			return nil, err
		}
		backups = b.Claim
	}
	if cfg.PostgresInCluster() {
		pg, err := components.NewPostgres(ctx, config.PostgresName, components.StoreArgs{
			ServiceArgs: args(config.PostgresName, nil), Persistence: cfg.Postgres.Persistence,
			Keep: cfg.Keep, Exporter: cfg.Monitoring.Enabled, Backups: backups,
		}, withProvider, after())
		if err != nil {
			return nil, err
		}
		stores = append(stores, pg.Deployment)
	}
	if cfg.RedisInCluster() {
		rd, err := components.NewRedis(ctx, config.RedisName, components.StoreArgs{
			ServiceArgs: args(config.RedisName, nil), Persistence: cfg.Redis.Persistence, Exporter: cfg.Monitoring.Enabled,
		}, withProvider, after())
		if err != nil {
			return nil, err
		}
		stores = append(stores, rd.Deployment)
	}
	pythonDeps := stores
	if cfg.Backend.Enabled && cfg.Migrations {
		m, err := components.NewMigration(ctx, components.MigrateName, migrationArgs(cfg, platform.Namespace, digests, stores),
			withProvider, after())
		if err != nil {
			return nil, err
		}
		pythonDeps = append(append([]pulumi.Resource{}, stores...), m.Job)
	}
	shared, err := sharedStorage(ctx, cfg, platform, withProvider)
	if err != nil {
		return nil, err
	}
	var backend pulumi.Resource
	if cfg.Backend.Enabled {
		a := args(config.BackendName, BackendEnv(cfg))
		a.Volumes, a.StartAfter, a.PrepareDatabase = shared, pythonDeps, cfg.Migrations || cfg.AppRole()
		a.PrepareEnv = prepareEnv(cfg, cfg.Migrations)
		be, err := components.NewBackend(ctx, config.BackendName, a, withProvider, after(pythonDeps...))
		if err != nil {
			return nil, err
		}
		backend, out.urls[config.BackendName] = be.Deployment, be.URL
	}
	if cfg.Worker.Enabled {
		a := args(config.WorkerName, PythonEnv(cfg))
		a.Volumes, a.StartAfter, a.PrepareDatabase = shared, pythonDeps, cfg.Migrations && cfg.Backend.Enabled
		a.PrepareEnv = prepareEnv(cfg, true)
		wk, err := components.NewWorker(ctx, config.WorkerName, a, withProvider, after(pythonDeps...))
		if err != nil {
			return nil, err
		}
		out.urls[config.WorkerName] = wk.HealthURL
	}
	if cfg.Frontend.Enabled {
		var deps []pulumi.Resource
		if backend != nil {
			deps = append(deps, backend)
		}
		a := args(config.FrontendName, FrontendEnv())
		a.StartAfter = deps
		fe, err := components.NewFrontend(ctx, config.FrontendName, a, withProvider, after(deps...))
		if err != nil {
			return nil, err
		}
		out.urls[config.FrontendName] = fe.URL
	}
	if cfg.Ingress.Enabled {
		if _, err := components.NewIngress(ctx, platform, platform.Namespace, cfg.Ingress); err != nil {
			return nil, err
		}
	}
	if cfg.Monitoring.Enabled {
		if _, err := components.NewMonitoring(ctx, "monitoring", monitoringArgs(cfg, platform.Namespace), withProvider, after()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

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
