package stack

import (
	"github.com/rhesis-ai/rhesis-deploy/config"
)

// HelmValues are the chart's values for a stack, computed from the typed
// config: the chart's own defaults are never a second source of truth for a
// Pulumi stack. The keys mirror charts/rhesis/values.yaml.
func HelmValues(cfg *config.Stack) map[string]any {
	worker := componentValues(cfg.Worker.Component)
	worker["concurrency"] = cfg.Worker.Concurrency
	worker["prefetchMultiplier"] = cfg.Worker.PrefetchMultiplier

	postgres := componentValues(cfg.Postgres.Component)
	delete(postgres, "enabled") // the chart keeps the seed's database.enabled
	postgres["persistence"] = persistenceValues(cfg.Postgres.Persistence)
	redis := componentValues(cfg.Redis.Component)
	redis["persistence"] = persistenceValues(cfg.Redis.Persistence)

	secrets := map[string]any{"existingSecret": "", "extra": stringMap(cfg.Secrets.Extra), "registryPassword": cfg.Images.Password}
	for _, spec := range config.RequiredSecrets {
		secrets[spec.Key] = cfg.Secrets.Required[spec.EnvVar]
	}
	frontend, backend := componentValues(cfg.Frontend.Component), componentValues(cfg.Backend.Component)
	for _, app := range []map[string]any{frontend, backend, worker} {
		app["image"].(map[string]any)["digest"] = ""
	}
	registry := ""
	if cfg.Images.HasCredentials() {
		registry = cfg.Images.RegistryServer()
	}

	return map[string]any{
		"global": map[string]any{
			"environment":      string(cfg.Environment),
			"imagePullPolicy":  config.PullIfNotPresent,
			"imageTag":         cfg.Images.Tag,
			"imagePullSecrets": anyList(cfg.Images.PullSecrets),
			"imageCredentials": map[string]any{"registry": registry, "username": cfg.Images.Username},
			"logLevel":         cfg.LogLevel,
			"frontendUrl":      cfg.FrontendURL,
			"apiBaseUrl":       cfg.APIBaseURL,
			"chartDigest":      "",
		},
		config.FrontendName: frontend,
		config.BackendName:  backend,
		config.WorkerName:   worker,
		"database": map[string]any{
			"enabled":    cfg.Postgres.Enabled,
			"type":       dbDriver,
			"postgresql": postgres,
		},
		config.RedisName: redis,
		"secrets":        secrets,
	}
}

// SetImageDigests puts the digests of built images (plain strings, or
// outputs known after the build) into the values; the chart turns each into
// the pod annotation components.ImageDigestAnnotation, as raw mode does.
func SetImageDigests(values map[string]any, digests map[string]any) {
	for _, app := range []string{config.FrontendName, config.BackendName, config.WorkerName} {
		if d, ok := digests[app]; ok {
			values[app].(map[string]any)["image"].(map[string]any)["digest"] = d
		}
	}
}

func anyList(s []string) []any {
	out := make([]any, 0, len(s))
	for _, v := range s {
		out = append(out, v)
	}
	return out
}

func componentValues(c config.Component) map[string]any {
	r := c.Resources
	return map[string]any{
		"enabled": c.Enabled,
		"image": map[string]any{
			"repository": c.Image.Repository,
			"tag":        c.Image.Tag,
			"pullPolicy": c.Image.PullPolicy,
		},
		"replicas": c.Replicas,
		"resources": map[string]any{
			"requests": map[string]any{"cpu": r.Requests.CPU.String(), "memory": r.Requests.Memory.String()},
			"limits":   map[string]any{"cpu": r.Limits.CPU.String(), "memory": r.Limits.Memory.String()},
		},
		"extraEnv": stringMap(c.ExtraEnv),
	}
}

func persistenceValues(p config.Persistence) map[string]any {
	return map[string]any{"enabled": p.Enabled, "size": p.Size.String(), "storageClass": p.StorageClass}
}

func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
