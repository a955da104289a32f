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

	secrets := map[string]any{"existingSecret": "", "extra": stringMap(cfg.Secrets.Extra)}
	for _, spec := range config.RequiredSecrets {
		secrets[spec.Key] = cfg.Secrets.Required[spec.EnvVar]
	}

	return map[string]any{
		"global": map[string]any{
			"environment":     string(cfg.Environment),
			"imagePullPolicy": "IfNotPresent",
			"logLevel":        cfg.LogLevel,
			"frontendUrl":     cfg.FrontendURL,
			"apiBaseUrl":      cfg.APIBaseURL,
			"chartDigest":     "",
		},
		config.FrontendName: componentValues(cfg.Frontend.Component),
		config.BackendName:  componentValues(cfg.Backend.Component),
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
