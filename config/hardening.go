package config

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// Autoscaling is a HorizontalPodAutoscaler for a stateless component. While
// it is on, the program leaves the Deployment's replicas to it.
type Autoscaling struct {
	Enabled                       bool
	MinReplicas, MaxReplicas      int
	TargetCPU, TargetMemory       int // percent of the request
	ScaleDownStabilizationSeconds int
}

// Ingress publishes the frontend and the backend API.
type Ingress struct {
	Enabled   bool
	ClassName string
	Host      string
	// APIHost is the backend's own host; APIPath, when set instead, serves
	// the API under a path of Host.
	APIHost, APIPath string
	// TLSSecret holds the certificate; ClusterIssuer asks cert-manager for it.
	TLSSecret, ClusterIssuer string
	Annotations              map[string]string
}

// TLS tells whether the ingress terminates TLS.
func (i Ingress) TLS() bool { return i.TLSSecret != "" || i.ClusterIssuer != "" }

// TLSSecretName is the Secret the certificate is in (cert-manager writes it).
func (i Ingress) TLSSecretName() string {
	if i.TLSSecret != "" {
		return i.TLSSecret
	}
	return DefaultTLSSecret
}

// Gateway publishes the frontend and the API through Gateway API HTTPRoutes.
type Gateway struct {
	Enabled bool
	// ParentRefs are the Gateways the routes attach to.
	ParentRefs             []charts.ParentRef
	Host, APIHost, APIPath string
	// HTTPS tells whether the Gateway's listener terminates TLS.
	HTTPS bool
	// Namespace is where the gateway's pods run, for the network policies.
	Namespace   string
	Annotations map[string]string
}

// PolicyNamespace is the namespace the network policies let in: Namespace,
// else the first parent's.
func (g Gateway) PolicyNamespace() string {
	if g.Namespace != "" || len(g.ParentRefs) == 0 {
		return g.Namespace
	}
	return g.ParentRefs[0].Namespace
}

// DefaultTLSSecret receives cert-manager's certificate when no Secret is named.
const DefaultTLSSecret = "rhesis-tls"

// NetworkPolicies limit traffic to what the stack needs.
type NetworkPolicies struct {
	Enabled bool
	// IngressNamespace is the namespace of the ingress controller.
	IngressNamespace string
	// InternetEgress lets the backend and worker reach public addresses on
	// EgressPorts (model providers, SMTP, OAuth).
	InternetEgress bool
	EgressPorts    []int
}

// External is a database or cache outside the cluster.
type External struct {
	Host     string
	Port     int
	Database string // postgres only
	User     string // postgres only
	SSLMode  string // postgres: PGSSLMODE
	TLS      bool   // redis: rediss://
}

// Backup is the nightly pg_dump CronJob and its volume.
type Backup struct {
	Enabled       bool
	Schedule      string
	RetentionDays int
	Size          resource.Quantity
	StorageClass  string
}

// SharedStorage is /app/storage of the backend and worker: a claim both
// mount, or an object-storage URI.
type SharedStorage struct {
	URI          string
	Size         resource.Quantity
	AccessMode   string
	StorageClass string
}

// Monitoring adds exporters, ServiceMonitors and alert rules.
type Monitoring struct {
	Enabled   bool
	Namespace string
	Labels    map[string]string
}

// Hardening settings and their in-cluster names.
const (
	SharedStorageClaim = "app-storage"
	BackupName         = "postgres-backup" // the backup CronJob, its claim and account
	SharedStoragePath  = "/app/storage"
)

var (
	sslModes    = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
	accessModes = []string{"ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod"}
	// scaledApps may have a HorizontalPodAutoscaler.
	scaledApps = []string{FrontendName, BackendName, WorkerName}
)

func hardeningKeys() []Key {
	keys := []Key{
		envKey("scheduling.spreadAcrossNodes", KindBoolean, perEnv("false", "false", "true"),
			"Spread each component's replicas across nodes (a soft topology spread constraint on kubernetes.io/hostname)."),
		{Name: "networkPolicies.enabled", Kind: KindBoolean, Default: true,
			Description: "Deny all traffic in the namespace but what the stack needs (NetworkPolicies)."},
		{Name: "networkPolicies.ingressControllerNamespace", Kind: KindString, Default: "ingress-nginx",
			Description: "Namespace of the ingress controller, the only one allowed to reach the frontend and backend from outside."},
		{Name: "networkPolicies.internetEgress", Kind: KindBoolean, Default: true,
			Description: "Let the backend and worker reach public addresses on networkPolicies.egressPorts (model providers, SMTP, OAuth)."},
		{Name: "networkPolicies.egressPorts", Kind: KindString, Default: "80,443,465,587",
			Description: "Comma-separated TCP ports the backend and worker may reach on the internet."},
		envKey("ingress.enabled", KindBoolean, perEnv("false", "true", "true"),
			"Publish the frontend and the backend API through an Ingress (networking.k8s.io/v1)."),
		{Name: "ingress.className", Kind: KindString, Default: "",
			Description: "IngressClass of the Ingress (kubectl get ingressclass); required while the ingress is on. With nginx the program adds ingress-nginx's body size and timeout annotations."},
		{Name: "ingress.host", Kind: KindString, Default: "",
			Description: "Host of the frontend, e.g. rhesis.example.com. Required when the ingress is on; frontendUrl follows from it."},
		{Name: "ingress.apiHost", Kind: KindString, Default: "",
			Description: "Host of the backend API. Empty means api.<ingress.host> (unless ingress.apiPath is set); apiBaseUrl follows from it."},
		{Name: "ingress.apiPath", Kind: KindString, Default: "",
			Description: "Serve the backend API under this path of ingress.host instead of its own host, e.g. /api-backend (the controller must strip it, see ingress.annotations)."},
		{Name: "ingress.tlsSecret", Kind: KindString, Default: "",
			Description: "Secret with the TLS certificate of both hosts."},
		{Name: "ingress.clusterIssuer", Kind: KindString, Default: "",
			Description: "cert-manager ClusterIssuer that issues the certificate into ingress.tlsSecret (default rhesis-tls)."},
		{Name: "ingress.annotations", Kind: KindObject, Default: map[string]any{},
			Description: "Extra annotations of the Ingress, as a map."},
		{Name: "gateway.enabled", Kind: KindBoolean, Default: false,
			Description: "Publish the frontend and the API through Gateway API HTTPRoutes (gateway.networking.k8s.io/v1) attached to gateway.parentRefs, instead of the Ingress (turn that off)."},
		{Name: "gateway.parentRefs", Kind: KindArray, Default: "",
			Description: "The Gateway(s) the routes attach to, a list of parentRefs, e.g. [{name: public, namespace: gateway-system, sectionName: https}]."},
		{Name: "gateway.host", Kind: KindString, Default: "",
			Description: "Host of the frontend's route; frontendUrl follows from it. Required while the routes are on."},
		{Name: "gateway.apiHost", Kind: KindString, Default: "",
			Description: "Host of the API's route. Empty means api.<gateway.host> (unless gateway.apiPath is set)."},
		{Name: "gateway.apiPath", Kind: KindString, Default: "",
			Description: "Serve the API under this path of gateway.host instead of its own host, e.g. /backend."},
		{Name: "gateway.https", Kind: KindBoolean, Default: true,
			Description: "Whether the Gateway's listener terminates TLS: the URLs' scheme. prod requires it."},
		{Name: "gateway.namespace", Kind: KindString, Default: "",
			Description: "Namespace of the gateway's pods, the only one the network policies let reach the frontend and API. Empty means the first parentRef's namespace."},
		{Name: "gateway.annotations", Kind: KindObject, Default: map[string]any{},
			Description: "Extra annotations of the HTTPRoutes, as a map."},
		{Name: "migrations.enabled", Kind: KindBoolean, Default: true,
			Description: "Run the database migrations (the migrate image) once per release, before the backend rolls out; the backend then starts with SKIP_MIGRATIONS=true."},
		{Name: "postgres.external.host", Kind: KindString, Default: "",
			Description: "Use this PostgreSQL server instead of an in-cluster one (none is deployed then). The password is dbPassword."},
		{Name: "postgres.external.port", Kind: KindInteger, Default: 5432, Description: "Port of postgres.external.host."},
		{Name: "postgres.external.database", Kind: KindString, Default: "rhesis-db", Description: "Database on postgres.external.host."},
		{Name: "postgres.external.user", Kind: KindString, Default: "rhesis-user", Description: "User on postgres.external.host."},
		{Name: "postgres.external.sslMode", Kind: KindString, Default: "require",
			Description: "PGSSLMODE towards postgres.external.host: " + strings.Join(sslModes, ", ") + "."},
		{Name: "redis.external.host", Kind: KindString, Default: "",
			Description: "Use this Redis server instead of an in-cluster one (none is deployed then). The password is redisPassword."},
		{Name: "redis.external.port", Kind: KindInteger, Default: 6379, Description: "Port of redis.external.host."},
		{Name: "redis.external.tls", Kind: KindBoolean, Default: true,
			Description: "Reach redis.external.host over TLS (rediss://, certificate verified)."},
		envKey("postgres.persistence.keep", KindBoolean, perEnv("false", "false", "true"),
			"Keep the database, backup and shared-storage volumes: Pulumi protects them (destroy and replacement are refused) and `helm uninstall` leaves them. Set false deliberately, and `pulumi up`, before a change that must replace or delete them."),
		envKey("backup.enabled", KindBoolean, perEnv("false", "false", "true"),
			"Dump the database with pg_dump on backup.schedule to the volume "+BackupName+"."),
		{Name: "backup.schedule", Kind: KindString, Default: "0 3 * * *", Description: "Cron schedule of the backup (the cluster's time zone)."},
		{Name: "backup.retentionDays", Kind: KindInteger, Default: 7, Description: "Days a dump is kept."},
		envKey("backup.size", KindString, perEnv("1Gi", "10Gi", "100Gi"), "Size of the backup volume claim."),
		{Name: "backup.storageClass", Kind: KindString, Default: "", Description: "StorageClass of the backup volume claim."},
		{Name: "storage.uri", Kind: KindString, Default: "",
			Description: "STORAGE_SERVICE_URI for uploaded files (e.g. s3://bucket/rhesis). Empty means the claim " + SharedStorageClaim + " shared by backend and worker at " + SharedStoragePath + "."},
		envKey("storage.size", KindString, perEnv("1Gi", "10Gi", "50Gi"), "Size of the shared claim "+SharedStorageClaim+"."),
		envKey("storage.accessMode", KindString, perEnv("ReadWriteOnce", "ReadWriteMany", "ReadWriteMany"),
			"Access mode of "+SharedStorageClaim+": ReadWriteMany lets backend and worker run on different nodes (the class must support it)."),
		{Name: "storage.storageClass", Kind: KindString, Default: "", Description: "StorageClass of " + SharedStorageClaim +
			". Required with ReadWriteMany: the default classes of most clouds cannot provision it."},
		{Name: "monitoring.enabled", Kind: KindBoolean, Default: false,
			Description: "Add Prometheus exporters to postgres and redis, ServiceMonitors and PrometheusRule alerts (needs the Prometheus Operator's CRDs)."},
		{Name: "monitoring.namespace", Kind: KindString, Default: "monitoring",
			Description: "Namespace of Prometheus, allowed to scrape the exporters."},
		{Name: "monitoring.labels", Kind: KindObject, Default: map[string]any{},
			Description: "Labels the ServiceMonitors and PrometheusRule carry, so Prometheus selects them (e.g. release: prometheus)."},
	}
	for _, c := range componentNames {
		keys = append(keys,
			Key{Name: c + ".serviceAccount.annotations", Kind: KindObject, Default: map[string]any{},
				Description: fmt.Sprintf("Annotations of the ServiceAccount %s (workload identity).", c)},
			Key{Name: c + ".serviceAccount.rules", Kind: KindString, Default: "",
				Description: fmt.Sprintf("Kubernetes API rights of %s in its namespace, as a JSON list of Role rules, "+
					`e.g. [{"apiGroups":[""],"resources":["configmaps"],"verbs":["get"]}]. Empty grants none (the applications need none).`, c)})
	}
	for _, c := range scaledApps {
		keys = append(keys,
			envKey(c+".autoscaling.enabled", KindBoolean, perEnv("false", "false", "true"),
				fmt.Sprintf("Scale %s with a HorizontalPodAutoscaler; the program then leaves its replicas alone.", c)),
			Key{Name: c + ".autoscaling.minReplicas", Kind: KindInteger, Default: "",
				Description: fmt.Sprintf("Fewest %s replicas. Empty means %s.replicas.", c, c)},
			Key{Name: c + ".autoscaling.maxReplicas", Kind: KindInteger, Default: "",
				Description: fmt.Sprintf("Most %s replicas. Empty means twice the minimum.", c)},
			Key{Name: c + ".autoscaling.targetCPUUtilization", Kind: KindInteger, Default: 70,
				Description: "Average CPU use, in percent of the request, the autoscaler keeps."},
			Key{Name: c + ".autoscaling.targetMemoryUtilization", Kind: KindInteger, Default: 80,
				Description: "Average memory use, in percent of the request, the autoscaler keeps."},
			Key{Name: c + ".autoscaling.scaleDownStabilizationSeconds", Kind: KindInteger, Default: 300,
				Description: "How long load must stay low before the autoscaler removes replicas."},
		)
	}
	return keys
}

// rules reads a component's Role rules, checked by the Kubernetes types.
func (b *binder) rules(c string) []rbacv1.PolicyRule {
	name := c + ".serviceAccount.rules"
	v := b.str(name)
	if v == "" {
		return nil
	}
	var rules []rbacv1.PolicyRule
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rules); err != nil {
		b.problem(name, v, "must be a JSON list of Role rules ({apiGroups, resources, resourceNames, verbs}): "+err.Error())
		return nil
	}
	for i, r := range rules {
		if len(r.Verbs) == 0 || len(r.Resources) == 0 {
			b.problem(name, v, fmt.Sprintf("rule %d needs resources and verbs", i))
		}
	}
	return rules
}

// explicit tells whether a key was set in the stack's configuration.
func (b *binder) explicit(name string) bool {
	b.key(name)
	v, ok := b.lookup(name)
	return ok && v != ""
}

func (b *binder) autoscaling(c string, replicas int) Autoscaling {
	if !slices.Contains(scaledApps, c) {
		return Autoscaling{}
	}
	a := Autoscaling{
		Enabled:                       b.boolean(c + ".autoscaling.enabled"),
		TargetCPU:                     b.integer(c+".autoscaling.targetCPUUtilization", 1),
		TargetMemory:                  b.integer(c+".autoscaling.targetMemoryUtilization", 1),
		ScaleDownStabilizationSeconds: b.integer(c+".autoscaling.scaleDownStabilizationSeconds", 0),
		MinReplicas:                   max(replicas, 1),
	}
	if b.explicit(c + ".autoscaling.minReplicas") {
		a.MinReplicas = b.integer(c+".autoscaling.minReplicas", 1)
	}
	a.MaxReplicas = 2 * a.MinReplicas
	if b.explicit(c + ".autoscaling.maxReplicas") {
		a.MaxReplicas = b.integer(c+".autoscaling.maxReplicas", 1)
	}
	return a
}

func (b *binder) ingress() Ingress {
	return Ingress{
		Enabled:       b.boolean("ingress.enabled"),
		ClassName:     b.str("ingress.className"),
		Host:          b.str("ingress.host"),
		APIHost:       b.str("ingress.apiHost"),
		APIPath:       b.str("ingress.apiPath"),
		TLSSecret:     b.str("ingress.tlsSecret"),
		ClusterIssuer: b.str("ingress.clusterIssuer"),
		Annotations:   b.stringMap("ingress.annotations"),
	}
}

func (b *binder) gateway() Gateway {
	g := Gateway{
		Enabled:     b.boolean("gateway.enabled"),
		Host:        b.str("gateway.host"),
		APIHost:     b.str("gateway.apiHost"),
		APIPath:     b.str("gateway.apiPath"),
		HTTPS:       b.boolean("gateway.https"),
		Namespace:   b.str("gateway.namespace"),
		Annotations: b.stringMap("gateway.annotations"),
	}
	decodeKube(b, "gateway.parentRefs", &g.ParentRefs)
	for i, r := range g.ParentRefs {
		if r.Name == "" {
			b.problem(fmt.Sprintf("gateway.parentRefs[%d].name", i), "", "is required: the Gateway's name")
		}
	}
	return g
}

// browserURLs derives frontendUrl and apiBaseUrl from the public hosts (the
// Ingress's or the routes') unless they are set.
func (b *binder) browserURLs(s *Stack) {
	s.FrontendURL, s.APIBaseURL = b.str("frontendUrl"), b.str("apiBaseUrl")
	host, apiHost, apiPath, https := s.Ingress.Host, &s.Ingress.APIHost, s.Ingress.APIPath, s.Ingress.TLS()
	switch {
	case s.Gateway.Enabled:
		host, apiHost, apiPath, https = s.Gateway.Host, &s.Gateway.APIHost, s.Gateway.APIPath, s.Gateway.HTTPS
	case !s.Ingress.Enabled:
		return
	}
	if host == "" {
		return
	}
	if *apiHost == "" && apiPath == "" {
		*apiHost = "api." + host
	}
	scheme := "http"
	if https {
		scheme = "https"
	}
	if !b.explicit("frontendUrl") {
		s.FrontendURL = scheme + "://" + host
	}
	if !b.explicit("apiBaseUrl") {
		if *apiHost != "" {
			s.APIBaseURL = scheme + "://" + *apiHost
		} else {
			s.APIBaseURL = scheme + "://" + host + apiPath
		}
	}
}

func (b *binder) networkPolicies() NetworkPolicies {
	np := NetworkPolicies{
		Enabled:          b.boolean("networkPolicies.enabled"),
		IngressNamespace: b.str("networkPolicies.ingressControllerNamespace"),
		InternetEgress:   b.boolean("networkPolicies.internetEgress"),
	}
	for _, p := range splitList(b.str("networkPolicies.egressPorts")) {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			b.problem("networkPolicies.egressPorts", p, "is not a TCP port (1-65535)")
			continue
		}
		np.EgressPorts = append(np.EgressPorts, n)
	}
	return np
}

func (b *binder) external(s string) External {
	e := External{Host: b.str(s + ".external.host"), Port: b.integer(s+".external.port", 1)}
	if s == PostgresName {
		e.Database, e.User, e.SSLMode = b.str(s+".external.database"), b.str(s+".external.user"), b.str(s+".external.sslMode")
	} else {
		e.TLS = b.boolean(s + ".external.tls")
	}
	return e
}

func (b *binder) backup() Backup {
	return Backup{
		Enabled:       b.boolean("backup.enabled"),
		Schedule:      b.str("backup.schedule"),
		RetentionDays: b.integer("backup.retentionDays", 1),
		Size:          b.quantity("backup.size"),
		StorageClass:  b.str("backup.storageClass"),
	}
}

func (b *binder) sharedStorage() SharedStorage {
	return SharedStorage{
		URI:          b.str("storage.uri"),
		Size:         b.quantity("storage.size"),
		AccessMode:   b.str("storage.accessMode"),
		StorageClass: b.str("storage.storageClass"),
	}
}

func (b *binder) monitoring() Monitoring {
	return Monitoring{
		Enabled:   b.boolean("monitoring.enabled"),
		Namespace: b.str("monitoring.namespace"),
		Labels:    b.stringMap("monitoring.labels"),
	}
}

// validateHardening checks the production settings and how they combine.
func (s *Stack) validateHardening() Problems {
	var ps Problems
	add := func(key, value, reason string) {
		ps = append(ps, Problem{Key: Namespace + ":" + key, Value: value, Reason: reason})
	}
	for _, c := range scaledApps {
		a := s.Component(c).Autoscaling
		if a.Enabled && a.MaxReplicas < a.MinReplicas {
			add(c+".autoscaling.maxReplicas", strconv.Itoa(a.MaxReplicas), fmt.Sprintf("is below the minimum %d", a.MinReplicas))
		}
		for _, t := range []struct {
			key string
			v   int
		}{{"targetCPUUtilization", a.TargetCPU}, {"targetMemoryUtilization", a.TargetMemory}} {
			if a.Enabled && t.v > 100 {
				add(c+".autoscaling."+t.key, strconv.Itoa(t.v), "is a percentage of the request: 1 to 100")
			}
		}
	}
	in := s.Ingress
	if in.Enabled && in.ClassName == "" {
		add("ingress.className", "", fmt.Sprintf("is required while the ingress is on: the IngressClass of your controller (kubectl get ingressclass), e.g. `%s`",
			SetCommand(s.StackName, "ingress.className", "nginx", false)))
	}
	s.validateGateway(add)
	if in.Enabled {
		if in.Host == "" {
			add("ingress.host", "", fmt.Sprintf("is required while the ingress is on: the frontend's host, e.g. `%s`; or `%s`",
				SetCommand(s.StackName, "ingress.host", "rhesis.example.com", false), SetCommand(s.StackName, "ingress.enabled", "false", false)))
		}
		checkPublicHosts(add, "ingress", in.Host, in.APIHost, in.APIPath)
		if s.Environment == Prod && !in.TLS() {
			add("ingress.tlsSecret", "", "prod needs TLS: set ingress.tlsSecret (an existing certificate Secret) or ingress.clusterIssuer (cert-manager)")
		}
	}
	if s.NetworkPolicies.Enabled {
		for _, msg := range validation.IsDNS1123Label(s.NetworkPolicies.IngressNamespace) {
			add("networkPolicies.ingressControllerNamespace", s.NetworkPolicies.IngressNamespace, "is not a namespace name: "+msg)
		}
	}
	for _, st := range []struct {
		name string
		e    External
	}{{PostgresName, s.Postgres.External}, {RedisName, s.Redis.External}} {
		if st.e.Host == "" {
			continue
		}
		if net.ParseIP(st.e.Host) == nil && len(validation.IsDNS1123Subdomain(st.e.Host)) > 0 {
			add(st.name+".external.host", st.e.Host, "is neither a host name nor an IP address")
		}
		if st.e.Port > 65535 {
			add(st.name+".external.port", strconv.Itoa(st.e.Port), "is not a TCP port (1-65535)")
		}
	}
	if pg := s.Postgres.External; pg.Host != "" {
		if !slices.Contains(sslModes, pg.SSLMode) {
			add("postgres.external.sslMode", pg.SSLMode, "must be one of "+strings.Join(sslModes, ", "))
		}
		if pg.Database == "" || pg.User == "" {
			add("postgres.external.database", pg.Database, "and postgres.external.user must not be empty")
		}
		if s.Environment == Prod && (pg.SSLMode == "disable" || pg.SSLMode == "allow" || pg.SSLMode == "prefer") {
			add("postgres.external.sslMode", pg.SSLMode, "must be require, verify-ca or verify-full in prod: the password would otherwise cross the network in clear")
		}
	}
	if s.Environment == Prod && s.Redis.External.Host != "" && !s.Redis.External.TLS {
		add("redis.external.tls", "false", "must be true in prod: the password would otherwise cross the network in clear")
	}
	if s.Backup.Enabled {
		if len(strings.Fields(s.Backup.Schedule)) != 5 {
			add("backup.schedule", s.Backup.Schedule, "must be a cron schedule of five fields, e.g. \"0 3 * * *\"")
		}
		if s.Backup.Size.Sign() <= 0 {
			add("backup.size", s.Backup.Size.String(), "must be larger than zero")
		}
		switch {
		case s.Postgres.External.Host != "":
			add("backup.enabled", "true", "backs up the in-cluster database; an external one is backed up by its provider "+
				"(snapshots, point-in-time recovery): set backup.enabled false")
		case !s.PostgresInCluster():
			add("backup.enabled", "true", "needs the in-cluster database (postgres.enabled)")
		}
	}
	if s.Storage.URI == "" {
		if !slices.Contains(accessModes, s.Storage.AccessMode) {
			add("storage.accessMode", s.Storage.AccessMode, "must be one of "+strings.Join(accessModes, ", "))
		}
		if s.Storage.Size.Sign() <= 0 {
			add("storage.size", s.Storage.Size.String(), "must be larger than zero")
		}
		spread := s.Backend.Replicas+s.Worker.Replicas > 1 || s.Backend.Autoscaling.Enabled || s.Worker.Autoscaling.Enabled
		if s.Environment != Local && spread && s.Storage.AccessMode != "ReadWriteMany" {
			add("storage.accessMode", s.Storage.AccessMode, "must be ReadWriteMany when backend and worker run several pods outside local: "+
				"they may land on different nodes; or set storage.uri to object storage")
		}
		if s.Storage.AccessMode == "ReadWriteMany" && s.Storage.StorageClass == "" {
			add("storage.storageClass", "", "is required with storage.accessMode ReadWriteMany: the default classes of GKE, EKS and AKS "+
				"cannot provision it, so backend and worker would stay Pending. Name a class that can (Filestore, EFS, Azure Files, "+
				"CephFS, NFS): `"+SetCommand(s.StackName, "storage.storageClass", "<class>", false)+"`; or keep the files in object storage: `"+
				SetCommand(s.StackName, "storage.uri", "s3://<bucket>/rhesis", false)+"`")
		}
	} else if !strings.Contains(s.Storage.URI, "://") {
		add("storage.uri", s.Storage.URI, "must be a URI such as s3://bucket/rhesis or gs://bucket")
	}
	if s.Monitoring.Enabled {
		for _, msg := range validation.IsDNS1123Label(s.Monitoring.Namespace) {
			add("monitoring.namespace", s.Monitoring.Namespace, "is not a namespace name: "+msg)
		}
	}
	return ps
}

// PostgresInCluster tells whether the program deploys PostgreSQL itself.
func (s *Stack) PostgresInCluster() bool { return s.Postgres.Enabled && s.Postgres.External.Host == "" }

// AppRole tells whether the application runs under a role of its own
// (AppRoleName) instead of the database's owner: with the in-cluster
// database, whose owner the image makes a superuser that bypasses row-level
// security. The backend's prepare-database init container sets the role up;
// migrations run as the owner. An external database's roles are its
// operator's.
func (s *Stack) AppRole() bool { return s.PostgresInCluster() && s.Backend.Enabled }

// RedisInCluster tells whether the program deploys Redis itself.
func (s *Stack) RedisInCluster() bool { return s.Redis.Enabled && s.Redis.External.Host == "" }

// MinReplicas is the fewest pods a component runs: its replicas, or its
// autoscaler's minimum.
func (c Component) MinReplicas() int {
	if c.Autoscaling.Enabled {
		return c.Autoscaling.MinReplicas
	}
	return c.Replicas
}

// checkPublicHosts checks what the Ingress and the Gateway API routes share
// (keys <edge>.host, .apiHost, .apiPath): host names, an API path the
// frontend does not own, and no API host and path at once.
func checkPublicHosts(add func(key, value, reason string), edge, host, apiHost, apiPath string) {
	for _, h := range []struct{ key, v string }{{edge + ".host", host}, {edge + ".apiHost", apiHost}} {
		if h.v == "" {
			continue
		}
		for _, msg := range validation.IsDNS1123Subdomain(h.v) {
			add(h.key, h.v, "is not a host name: "+msg)
		}
	}
	if apiPath != "" && (!strings.HasPrefix(apiPath, "/") || apiPath == "/" || strings.HasPrefix(apiPath, "/api/") || apiPath == "/api") {
		add(edge+".apiPath", apiPath, "must be a path like /backend; / and /api belong to the frontend (NextAuth lives under /api/auth)")
	}
	if apiHost != "" && apiPath != "" {
		add(edge+".apiPath", apiPath, fmt.Sprintf("and %s.apiHost exclude each other: the API has its own host or a path of %s.host", edge, edge))
	}
}

func (s *Stack) validateGateway(add func(key, value, reason string)) {
	g := s.Gateway
	if !g.Enabled {
		return
	}
	if s.Ingress.Enabled {
		add("gateway.enabled", "true", fmt.Sprintf("and ingress.enabled exclude each other: publish through the routes or the Ingress; `%s`",
			SetCommand(s.StackName, "ingress.enabled", "false", false)))
	}
	if len(g.ParentRefs) == 0 {
		add("gateway.parentRefs", "", "is required while the routes are on: the Gateway they attach to, e.g. [{name: public, namespace: gateway-system}]")
	}
	if g.Host == "" {
		add("gateway.host", "", fmt.Sprintf("is required while the routes are on: the frontend's host, e.g. `%s`",
			SetCommand(s.StackName, "gateway.host", "rhesis.example.com", false)))
	}
	checkPublicHosts(add, "gateway", g.Host, g.APIHost, g.APIPath)
	if s.Environment == Prod && !g.HTTPS {
		add("gateway.https", "false", "must be true in prod: browsers would send session cookies in clear; terminate TLS at the Gateway's listener")
	}
	if s.NetworkPolicies.Enabled && g.PolicyNamespace() == "" {
		add("gateway.namespace", "", "is required with network policies when the parentRefs name no namespace: the namespace of the gateway's pods, the only one let in")
	}
}
