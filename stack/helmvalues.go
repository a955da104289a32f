package stack

import (
	"encoding/json"

	rbacv1 "k8s.io/api/rbac/v1"

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
	delete(postgres, "autoscaling")
	postgres["persistence"] = persistenceValues(cfg.Postgres.Persistence)
	postgres["persistence"].(map[string]any)["keep"] = cfg.Keep
	redis := componentValues(cfg.Redis.Component)
	redis["persistence"] = persistenceValues(cfg.Redis.Persistence)
	delete(redis, "autoscaling")
	re := cfg.Redis.External
	redis["external"] = map[string]any{"host": re.Host, "port": re.Port, "tls": re.TLS}

	secrets := map[string]any{"existingSecret": "", "extra": stringMap(cfg.Secrets.Extra), "registryPassword": cfg.Images.Password}
	for _, spec := range config.RequiredSecrets {
		secrets[spec.Key] = cfg.Secrets.Required[spec.EnvVar]
	}
	frontend, backend := componentValues(cfg.Frontend.Component), componentValues(cfg.Backend.Component)
	for _, app := range []map[string]any{frontend, backend, worker} {
		withDigest(app["image"].(map[string]any))
	}
	registry := ""
	if cfg.Images.HasCredentials() {
		registry = cfg.Images.RegistryServer()
	}

	return map[string]any{
		"global": map[string]any{
			"environment":       string(cfg.Environment),
			"imagePullPolicy":   config.PullIfNotPresent,
			"imageTag":          cfg.Images.Tag,
			"imagePullSecrets":  anyList(cfg.Images.PullSecrets),
			"imageCredentials":  map[string]any{"registry": registry, "username": cfg.Images.Username},
			"logLevel":          cfg.LogLevel,
			"frontendUrl":       cfg.FrontendURL,
			"apiBaseUrl":        cfg.APIBaseURL,
			"chartDigest":       "",
			"spreadAcrossNodes": cfg.SpreadAcrossNodes,
		},
		config.FrontendName: frontend,
		config.BackendName:  backend,
		config.WorkerName:   worker,
		"database": map[string]any{
			"enabled":    cfg.Postgres.Enabled,
			"type":       "postgresql", // DB_DRIVER; the only database Rhesis supports
			"postgresql": postgres,
			"external":   externalPostgresValues(cfg.Postgres.External),
		},
		"networkPolicies": map[string]any{
			"enabled":                    cfg.NetworkPolicies.Enabled,
			"ingressControllerNamespace": cfg.NetworkPolicies.IngressNamespace,
			"internetEgress":             cfg.NetworkPolicies.InternetEgress,
			"egressPorts":                intList(cfg.NetworkPolicies.EgressPorts),
		},
		"ingress": ingressValues(cfg.Ingress),
		"migrations": map[string]any{
			"enabled": cfg.Migrations,
			"image":   withDigest(imageValues(cfg.Images.Migrate)),
			"resources": map[string]any{
				"requests": quantityValues(config.MigrationResources.Requests),
				"limits":   quantityValues(config.MigrationResources.Limits),
			},
		},
		"backup": map[string]any{
			"enabled": cfg.Backup.Enabled, "schedule": cfg.Backup.Schedule, "retentionDays": cfg.Backup.RetentionDays,
			"size": cfg.Backup.Size.String(), "storageClass": cfg.Backup.StorageClass,
		},
		"storage": map[string]any{
			"uri": cfg.Storage.URI, "size": cfg.Storage.Size.String(), "accessMode": cfg.Storage.AccessMode, "storageClass": cfg.Storage.StorageClass,
		},
		"monitoring": map[string]any{
			"enabled": cfg.Monitoring.Enabled, "namespace": cfg.Monitoring.Namespace, "labels": stringMap(cfg.Monitoring.Labels),
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
	if d, ok := digests[config.MigrateName]; ok {
		values["migrations"].(map[string]any)["image"].(map[string]any)["digest"] = d
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
	a := c.Autoscaling
	return map[string]any{
		"enabled":  c.Enabled,
		"image":    imageValues(c.Image),
		"replicas": c.Replicas,
		"resources": map[string]any{
			"requests": quantityValues(r.Requests),
			"limits":   quantityValues(r.Limits),
		},
		"extraEnv":       stringMap(c.ExtraEnv),
		"serviceAccount": map[string]any{"annotations": stringMap(c.ServiceAccountAnnotations), "rules": rulesValues(c.Rules)},
		"autoscaling": map[string]any{
			"enabled": a.Enabled, "minReplicas": a.MinReplicas, "maxReplicas": a.MaxReplicas,
			"targetCPUUtilization": a.TargetCPU, "targetMemoryUtilization": a.TargetMemory,
			"scaleDownStabilizationSeconds": a.ScaleDownStabilizationSeconds,
		},
	}
}

// rulesValues are Role rules as the chart takes them, empty fields left out
// (as the Kubernetes types' JSON does).
func rulesValues(rules []rbacv1.PolicyRule) []any {
	out := []any{}
	for _, r := range rules {
		b, err := json.Marshal(r)
		if err != nil {
			panic(err) // plain string lists always marshal
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		out = append(out, m)
	}
	return out
}

func imageValues(i config.Image) map[string]any {
	return map[string]any{"repository": i.Repository, "tag": i.Tag, "pullPolicy": i.PullPolicy}
}

// withDigest adds the image's digest, empty until a build sets it.
func withDigest(image map[string]any) map[string]any {
	image["digest"] = ""
	return image
}

func quantityValues(q config.Quantities) map[string]any {
	return map[string]any{"cpu": q.CPU.String(), "memory": q.Memory.String(), "ephemeralStorage": q.EphemeralStorage.String()}
}

func externalPostgresValues(e config.External) map[string]any {
	return map[string]any{"host": e.Host, "port": e.Port, "database": e.Database, "user": e.User, "sslMode": e.SSLMode}
}

func ingressValues(in config.Ingress) map[string]any {
	return map[string]any{
		"enabled": in.Enabled, "className": in.ClassName, "host": in.Host, "apiHost": in.APIHost, "apiPath": in.APIPath,
		"tlsSecret": in.TLSSecret, "clusterIssuer": in.ClusterIssuer, "annotations": stringMap(in.Annotations),
	}
}

func intList(ns []int) []any {
	out := make([]any, 0, len(ns))
	for _, n := range ns {
		out = append(out, n)
	}
	return out
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
