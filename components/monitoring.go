package components

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/rhesis-ai/rhesis-deploy/config"
)

// MetricsPortName is the exporters' port, on the container and the Service.
const MetricsPortName = "metrics"

// exporterResources are the same small sizes for both exporters.
var exporterResources = config.Resources{
	Requests: config.Quantities{CPU: resource.MustParse("50m"), Memory: resource.MustParse("64Mi"), EphemeralStorage: resource.MustParse("64Mi")},
	Limits:   config.Quantities{CPU: resource.MustParse("200m"), Memory: resource.MustParse("128Mi"), EphemeralStorage: resource.MustParse("256Mi")},
}

// The exporters read their store over localhost with the stack's credentials.
var (
	PostgresExporter = Sidecar{
		Name: "exporter", Image: "quay.io/prometheuscommunity/postgres-exporter:v0.15.0",
		PortName: MetricsPortName, Port: 9187, Resources: exporterResources,
		Env: []Env{
			Literal("DATA_SOURCE_URI", fmt.Sprintf("127.0.0.1:%d/postgres?sslmode=disable", PostgresPort)),
			Literal("DATA_SOURCE_USER", config.OwnerRoleName),
			FromSecret("DATA_SOURCE_PASS", "ADMIN_DB_PASS"),
		},
	}
	RedisExporter = Sidecar{
		Name: "exporter", Image: "oliver006/redis_exporter:v1.62.0",
		PortName: MetricsPortName, Port: 9121, Resources: exporterResources,
		Env: []Env{
			Literal("REDIS_ADDR", fmt.Sprintf("redis://127.0.0.1:%d", RedisPort)),
			FromSecret("REDIS_PASSWORD", "REDIS_PASSWORD"),
		},
	}
)

// AlertRule is one PrometheusRule alert.
type AlertRule struct {
	Name, Expr, For, Severity, Summary string
}

// AlertRules are the stack's alerts. They use metrics that exist: the
// exporters' and kube-state-metrics' (which a Prometheus Operator stack runs).
func AlertRules(namespace string, deployments []string, postgres, redis bool) []AlertRule {
	ns := fmt.Sprintf(`namespace=%q`, namespace)
	rules := []AlertRule{
		{"RhesisComponentDown",
			fmt.Sprintf(`kube_deployment_status_replicas_available{%s,deployment=~%q} == 0`, ns, strings.Join(deployments, "|")),
			"5m", "critical", "A Rhesis component has no available pod."},
		{"RhesisPodRestarting",
			fmt.Sprintf(`increase(kube_pod_container_status_restarts_total{%s}[15m]) > 3`, ns),
			"0m", "warning", "A Rhesis container restarted more than 3 times in 15 minutes."},
	}
	if postgres {
		rules = append(rules, AlertRule{"RhesisPostgresConnectionsHigh",
			fmt.Sprintf(`sum(pg_stat_activity_count{%s}) / max(pg_settings_max_connections{%s}) > 0.8`, ns, ns),
			"10m", "warning", "PostgreSQL uses more than 80% of its connections."})
	}
	if redis {
		rules = append(rules, AlertRule{"RhesisRedisMemoryHigh",
			fmt.Sprintf(`max(redis_memory_used_bytes{%s}) / max(kube_pod_container_resource_limits{%s,container="redis",resource="memory"}) > 0.9`, ns, ns),
			"10m", "warning", "Redis uses more than 90% of its memory limit."})
	}
	return rules
}

// MonitoringArgs describe the Prometheus Operator objects.
type MonitoringArgs struct {
	Namespace pulumi.StringInput
	// Scraped are the components with an exporter, each gets a ServiceMonitor.
	Scraped []string
	Labels  map[string]string
	Rules   []AlertRule
}

// Monitoring is the ServiceMonitors and the PrometheusRule.
type Monitoring struct {
	pulumi.ResourceState
}

// NewMonitoring registers the Prometheus Operator objects.
func NewMonitoring(ctx *pulumi.Context, name string, args MonitoringArgs, opts ...pulumi.ResourceOption) (*Monitoring, error) {
	c := &Monitoring{}
	if err := ctx.RegisterComponentResource(TypePrefix+"Monitoring", name, c, opts...); err != nil {
		return nil, err
	}
	meta := func(name, component string) metav1.ObjectMetaArgs {
		labels := Labels(component, "monitoring")
		for k, v := range args.Labels {
			labels[k] = v
		}
		return metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: args.Namespace, Labels: pulumi.ToStringMap(labels)}
	}
	for _, s := range args.Scraped {
		_, err := apiextensions.NewCustomResource(ctx, s, &apiextensions.CustomResourceArgs{
			ApiVersion: pulumi.String("monitoring.coreos.com/v1"),
			Kind:       pulumi.String("ServiceMonitor"),
			Metadata:   meta(s, s),
			OtherFields: kubernetes.UntypedArgs{"spec": pulumi.Map{
				"selector":  pulumi.Map{"matchLabels": pulumi.ToStringMap(SelectorLabels(s))},
				"endpoints": pulumi.Array{pulumi.Map{"port": pulumi.String(MetricsPortName), "interval": pulumi.String("30s")}},
			}},
		}, pulumi.Parent(c))
		if err != nil {
			return nil, err
		}
	}
	var rules pulumi.Array
	for _, r := range args.Rules {
		rules = append(rules, pulumi.Map{
			"alert":       pulumi.String(r.Name),
			"expr":        pulumi.String(r.Expr),
			"for":         pulumi.String(r.For),
			"labels":      pulumi.StringMap{"severity": pulumi.String(r.Severity)},
			"annotations": pulumi.StringMap{"summary": pulumi.String(r.Summary)},
		})
	}
	_, err := apiextensions.NewCustomResource(ctx, PartOf, &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String("monitoring.coreos.com/v1"),
		Kind:       pulumi.String("PrometheusRule"),
		Metadata:   meta(PartOf, PartOf),
		OtherFields: kubernetes.UntypedArgs{"spec": pulumi.Map{
			"groups": pulumi.Array{pulumi.Map{"name": pulumi.String(PartOf), "rules": rules}},
		}},
	}, pulumi.Parent(c))
	if err != nil {
		return nil, err
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{})
}
