package stack

import (
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/config"
)

// HelmValues are the chart's values for a stack, computed from the typed
// config: the chart's own defaults are never a second source of truth for a
// Pulumi stack (but for the images' own facts, which no stack sets).
func HelmValues(cfg *config.Stack) charts.Values {
	secrets := charts.Secrets{
		SessionSecretKey: cfg.Secrets.Held("SESSION_SECRET_KEY"),
		JWTSecretKey:     cfg.Secrets.Held("JWT_SECRET_KEY"),
		NextauthSecret:   cfg.Secrets.Held("NEXTAUTH_SECRET"),
		DBEncryptionKey:  cfg.Secrets.Held("DB_ENCRYPTION_KEY"),
		DBPassword:       cfg.Secrets.Held("ADMIN_DB_PASS"),
		DBAppPassword:    cfg.Secrets.Held("APP_DB_PASS"),
		RedisPassword:    cfg.Secrets.Held("REDIS_PASSWORD"),
		AuditHashKey:     cfg.Secrets.Held("AUDIT_HASH_KEY"),
		RegistryPassword: cfg.Images.Password,
		Extra:            orEmpty(cfg.Secrets.Extra),
		SecretKeyRefs:    cfg.Secrets.Refs,
		ExternalSecret:   cfg.Secrets.External,
	}

	registry := ""
	if cfg.Images.HasCredentials() {
		registry = cfg.Images.RegistryServer()
	}
	pg, rd := cfg.Postgres, cfg.Redis
	return charts.Values{
		NamePrefix: cfg.NamePrefix,
		Global: charts.Global{
			Environment:       string(cfg.Environment),
			ImagePullPolicy:   config.PullIfNotPresent,
			ImageTag:          cfg.Images.Tag,
			ImagePullSecrets:  append([]string{}, cfg.Images.PullSecrets...),
			ImageCredentials:  charts.ImageCredentials{Registry: registry, Username: cfg.Images.Username},
			LogLevel:          cfg.LogLevel,
			FrontendURL:       cfg.FrontendURL,
			APIBaseURL:        cfg.APIBaseURL,
			SpreadAcrossNodes: cfg.SpreadAcrossNodes,
			Pod:               pod(cfg.Pod),
		},
		Frontend: appValues(cfg.Frontend.Component),
		Backend:  appValues(cfg.Backend.Component),
		Worker: charts.Worker{
			Enabled: cfg.Worker.Enabled, Component: componentValues(cfg.Worker.Component), Image: image(cfg.Worker.Image),
			Autoscaling: autoscaling(cfg.Worker.Autoscaling), Concurrency: cfg.Worker.Concurrency,
			PrefetchMultiplier: cfg.Worker.PrefetchMultiplier, Keda: cfg.Worker.Keda,
		},
		Database: charts.Database{
			Enabled: pg.Enabled,
			Type:    "postgresql", // DB_DRIVER; the only database Rhesis supports
			PostgreSQL: charts.PostgreSQL{
				Component: componentValues(pg.Component), Image: storeImage(pg.Image),
				Persistence: charts.KeptPersistence{Persistence: persistence(pg.Persistence), Keep: cfg.Keep},
			},
			External: charts.ExternalDatabase{Host: pg.External.Host, Port: pg.External.Port, Database: pg.External.Database,
				User: pg.External.User, SSLMode: pg.External.SSLMode},
		},
		Redis: charts.Redis{
			Enabled: rd.Enabled, Component: componentValues(rd.Component), Image: storeImage(rd.Image), Persistence: persistence(rd.Persistence),
			External: charts.ExternalRedis{Host: rd.External.Host, Port: rd.External.Port, TLS: rd.External.TLS},
		},
		NetworkPolicies: charts.NetworkPolicies{
			Enabled:                    cfg.NetworkPolicies.Enabled,
			IngressControllerNamespace: cfg.NetworkPolicies.IngressNamespace,
			InternetEgress:             cfg.NetworkPolicies.InternetEgress,
			EgressPorts:                append([]int{}, cfg.NetworkPolicies.EgressPorts...),
		},
		Ingress: charts.Ingress{
			Enabled: cfg.Ingress.Enabled, ClassName: cfg.Ingress.ClassName, Host: cfg.Ingress.Host, APIHost: cfg.Ingress.APIHost,
			APIPath: cfg.Ingress.APIPath, TLSSecret: cfg.Ingress.TLSSecret, ClusterIssuer: cfg.Ingress.ClusterIssuer,
			Annotations: orEmpty(cfg.Ingress.Annotations),
		},
		Gateway: charts.Gateway{
			Enabled: cfg.Gateway.Enabled, ParentRefs: orNone(cfg.Gateway.ParentRefs), Host: cfg.Gateway.Host, APIHost: cfg.Gateway.APIHost,
			APIPath: cfg.Gateway.APIPath, HTTPS: cfg.Gateway.HTTPS, Namespace: cfg.Gateway.Namespace, Annotations: orEmpty(cfg.Gateway.Annotations),
		},
		Migrations: charts.Migrations{
			Enabled: cfg.Migrations, Image: image(cfg.Images.Migrate), Resources: resources(config.MigrationResources),
		},
		Backup: charts.Backup{
			Enabled: cfg.Backup.Enabled, Schedule: cfg.Backup.Schedule, RetentionDays: cfg.Backup.RetentionDays,
			Size: cfg.Backup.Size.String(), StorageClass: cfg.Backup.StorageClass,
		},
		Storage: charts.Storage{
			URI: cfg.Storage.URI, Size: cfg.Storage.Size.String(), AccessMode: cfg.Storage.AccessMode, StorageClass: cfg.Storage.StorageClass,
		},
		Monitoring: charts.Monitoring{
			Enabled: cfg.Monitoring.Enabled, Namespace: cfg.Monitoring.Namespace, Labels: orEmpty(cfg.Monitoring.Labels),
		},
		Secrets: secrets,
	}
}

// SetImageDigests puts the digests of built images (or placeholders that
// stand for them) into the values; the chart turns each into the pod
// annotation rhesis.dev/image-digest.
func SetImageDigests(v *charts.Values, digests map[string]string) {
	for name, image := range map[string]*charts.Image{
		config.FrontendName: &v.Frontend.Image, config.BackendName: &v.Backend.Image,
		config.WorkerName: &v.Worker.Image, config.MigrateName: &v.Migrations.Image,
	} {
		if d, ok := digests[name]; ok {
			image.Digest = d
		}
	}
}

func appValues(c config.Component) charts.App {
	return charts.App{Enabled: c.Enabled, Component: componentValues(c), Image: image(c.Image), Autoscaling: autoscaling(c.Autoscaling)}
}

func componentValues(c config.Component) charts.Component {
	return charts.Component{
		Replicas: c.Replicas, Resources: resources(c.Resources), ExtraEnv: orEmpty(c.ExtraEnv),
		ServiceAccount: charts.ServiceAccount{
			Annotations: orEmpty(c.ServiceAccountAnnotations), Rules: rules(c.Rules),
		},
		Pod: pod(c.Pod),
	}
}

// pod is the pod settings with every list and map present: the chart's
// schema requires each, and a null would drop the chart's default.
func pod(p charts.Pod) charts.Pod {
	p.NodeSelector, p.PodAnnotations, p.PodLabels = orEmpty(p.NodeSelector), orEmpty(p.PodAnnotations), orEmpty(p.PodLabels)
	p.Service.Annotations = orEmpty(p.Service.Annotations)
	p.Tolerations = orNone(p.Tolerations)
	p.TopologySpreadConstraints = orNone(p.TopologySpreadConstraints)
	p.ExtraVolumes = orNone(p.ExtraVolumes)
	p.ExtraVolumeMounts = orNone(p.ExtraVolumeMounts)
	p.ExtraEnvFrom = orNone(p.ExtraEnvFrom)
	p.InitContainers = orNone(p.InitContainers)
	p.ExtraContainers = orNone(p.ExtraContainers)
	return p
}

// orNone is s, or an empty list.
func orNone[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func rules(rs []rbacv1.PolicyRule) []charts.Rule {
	out := []charts.Rule{}
	for _, r := range rs {
		out = append(out, charts.Rule{APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames, Verbs: r.Verbs})
	}
	return out
}

func autoscaling(a config.Autoscaling) charts.Autoscaling {
	return charts.Autoscaling{
		Enabled: a.Enabled, MinReplicas: a.MinReplicas, MaxReplicas: a.MaxReplicas,
		TargetCPUUtilization: a.TargetCPU, TargetMemoryUtilization: a.TargetMemory,
		ScaleDownStabilizationSeconds: a.ScaleDownStabilizationSeconds,
	}
}

func image(i config.Image) charts.Image {
	return charts.Image{Repository: i.Repository, Tag: i.Tag, PullPolicy: i.PullPolicy}
}

func storeImage(i config.Image) charts.StoreImage {
	return charts.StoreImage{Repository: i.Repository, Tag: i.Tag, PullPolicy: i.PullPolicy}
}

func resources(r config.Resources) charts.Resources {
	return charts.Resources{Requests: quantities(r.Requests), Limits: quantities(r.Limits)}
}

func quantities(q config.Quantities) charts.Quantities {
	return charts.Quantities{CPU: q.CPU.String(), Memory: q.Memory.String(), EphemeralStorage: q.EphemeralStorage.String()}
}

func persistence(p config.Persistence) charts.Persistence {
	return charts.Persistence{Enabled: p.Enabled, Size: p.Size.String(), StorageClass: p.StorageClass}
}

// orEmpty is m, or an empty map: the chart ranges over these.
func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
