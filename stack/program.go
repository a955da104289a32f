// Package stack is the Pulumi program: it loads the typed config, creates the
// Kubernetes provider, wires the components together and exports the outputs.
// main.go and the Automation API driver both run Program.
package stack

import (
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/rhesis-ai/rhesis-deploy/components"
	"github.com/rhesis-ai/rhesis-deploy/config"
)

// ContextSource reads raw config from the Pulumi context.
type ContextSource struct{ Ctx *pulumi.Context }

func (c ContextSource) Get(key string) (string, bool) { return c.Ctx.GetConfig(key) }
func (c ContextSource) IsSecret(key string) bool      { return c.Ctx.IsConfigSecret(key) }

// Program is the whole Pulumi program. An invalid configuration returns every
// problem before a single resource is registered.
func Program(ctx *pulumi.Context) error {
	cfg, err := config.Load(ContextSource{ctx}, ctx.Stack())
	if err != nil {
		return err
	}
	outputs, err := Deploy(ctx, cfg)
	if err != nil {
		return err
	}
	for name, value := range outputs {
		ctx.Export(name, value)
	}
	return nil
}

// Deploy registers the stack described by a valid configuration and returns
// its outputs.
func Deploy(ctx *pulumi.Context, cfg *config.Stack) (pulumi.Map, error) {
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
	withProvider := pulumi.Providers(provider)

	configData, secretData := ConfigData(cfg), SecretData(cfg)
	platform, err := components.NewPlatform(ctx, "platform", components.PlatformArgs{
		Namespace:  cfg.Namespace,
		ConfigData: configData,
		SecretData: secretData,
	}, withProvider)
	if err != nil {
		return nil, err
	}
	annotations := map[string]string{
		"checksum/config": checksum(configData),
		"checksum/secret": checksum(secretData),
	}
	args := func(c config.Component, env []components.Env) components.ServiceArgs {
		return components.ServiceArgs{Namespace: platform.Namespace, Settings: c, Env: env, PodAnnotations: annotations}
	}
	after := func(deps ...pulumi.Resource) pulumi.ResourceOption {
		return pulumi.DependsOn(append([]pulumi.Resource{platform}, deps...))
	}

	out := outputs{cfg: cfg}
	// Start order as in the project's docker-compose: stores, then the Python
	// services, then the frontend. Pulumi waits for each to become ready.
	var stores []pulumi.Resource
	if cfg.Postgres.Enabled {
		pg, err := components.NewPostgres(ctx, config.PostgresName,
			components.StoreArgs{ServiceArgs: args(cfg.Postgres.Component, nil), Persistence: cfg.Postgres.Persistence},
			withProvider, after())
		if err != nil {
			return nil, err
		}
		stores = append(stores, pg)
	}
	if cfg.Redis.Enabled {
		rd, err := components.NewRedis(ctx, config.RedisName,
			components.StoreArgs{ServiceArgs: args(cfg.Redis.Component, nil), Persistence: cfg.Redis.Persistence},
			withProvider, after())
		if err != nil {
			return nil, err
		}
		stores = append(stores, rd)
	}
	var backend pulumi.Resource
	if cfg.Backend.Enabled {
		be, err := components.NewBackend(ctx, config.BackendName, args(cfg.Backend.Component, PythonEnv(cfg)),
			withProvider, after(stores...))
		if err != nil {
			return nil, err
		}
		backend, out.backendURL = be, be.URL
	}
	if cfg.Worker.Enabled {
		wk, err := components.NewWorker(ctx, config.WorkerName, args(cfg.Worker.Component, PythonEnv(cfg)),
			withProvider, after(stores...))
		if err != nil {
			return nil, err
		}
		out.workerHealthURL = wk.HealthURL
	}
	if cfg.Frontend.Enabled {
		var deps []pulumi.Resource
		if backend != nil {
			deps = append(deps, backend)
		}
		fe, err := components.NewFrontend(ctx, config.FrontendName, args(cfg.Frontend.Component, FrontendEnv()),
			withProvider, after(deps...))
		if err != nil {
			return nil, err
		}
		out.frontendURL = fe.URL
	}
	out.namespace = platform.Namespace
	return out.values(), nil
}

func optional(s string) pulumi.StringPtrInput {
	if s == "" {
		return nil
	}
	return pulumi.String(s)
}
