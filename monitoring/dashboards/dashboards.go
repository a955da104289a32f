// Package dashboards builds the Grafana dashboards the chart ships, with
// Grafana's own typed builders (grafana-foundation-sdk), so that every
// dashboard is checked by the types it is made of; cmd/dashboards writes them
// to charts/rhesis/dashboards.
package dashboards

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Selectors of one release. A dashboard shows the release that the variables
// namespace and prefix (its namePrefix, empty by default) name.
const (
	ns         = `namespace="$namespace"`
	components = `${prefix}(frontend|backend|worker|postgres|redis)`
	pods       = ns + `,pod=~"` + components + `-[a-z0-9]+-[a-z0-9]+"`
	postgres   = ns + `,job="${prefix}postgres"`
	redis      = ns + `,job="${prefix}redis"`
	backupJobs = ns + `,job_name=~"${prefix}postgres-backup-[0-9]+"`
	cronjob    = ns + `,cronjob="${prefix}postgres-backup"`
)

// All are the dashboards by file name, as indented JSON.
func All() (map[string][]byte, error) {
	builders := map[string]*dashboard.DashboardBuilder{
		"rhesis-overview.json":   overview(),
		"rhesis-postgresql.json": postgresql(),
		"rhesis-queues.json":     queues(),
		"rhesis-backups.json":    backups(),
	}
	out := map[string][]byte{}
	for name, b := range builders {
		d, err := b.Build()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		raw, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = append(raw, '\n')
	}
	return out, nil
}

func overview() *dashboard.DashboardBuilder {
	return base("rhesis-overview", "Rhesis / Overview",
		"Every component's availability, restarts, CPU and memory against requests and limits.").
		WithPanel(stats("Available pods", "", "",
			query(`kube_deployment_status_replicas_available{`+ns+`,deployment=~"`+components+`"}`, "{{deployment}}"))).
		WithPanel(series("Available and desired pods", "", "none",
			query(`kube_deployment_status_replicas_available{`+ns+`,deployment=~"`+components+`"}`, "{{deployment}} available"),
			query(`kube_deployment_spec_replicas{`+ns+`,deployment=~"`+components+`"}`, "{{deployment}} desired"))).
		WithPanel(series("Restarts in 15 minutes", "A container restarting (RhesisPodRestarting at more than 3).", "none",
			query(`increase(kube_pod_container_status_restarts_total{`+pods+`}[15m])`, "{{pod}} {{container}}"))).
		WithPanel(series("CPU", "Used, against the containers' requests and limits.", "short",
			query(`sum by (pod, container) (rate(container_cpu_usage_seconds_total{`+pods+`,container!=""}[$__rate_interval]))`, "{{pod}} {{container}}"),
			query(`sum by (container) (kube_pod_container_resource_requests{`+pods+`,resource="cpu"})`, "{{container}} request"),
			query(`sum by (container) (kube_pod_container_resource_limits{`+pods+`,resource="cpu"})`, "{{container}} limit"))).
		WithPanel(series("Memory", "Working set, against the containers' requests and limits: at the limit a container is killed.", "bytes",
			query(`sum by (pod, container) (container_memory_working_set_bytes{`+pods+`,container!=""})`, "{{pod}} {{container}}"),
			query(`sum by (container) (kube_pod_container_resource_requests{`+pods+`,resource="memory"})`, "{{container}} request"),
			query(`sum by (container) (kube_pod_container_resource_limits{`+pods+`,resource="memory"})`, "{{container}} limit")))
}

func postgresql() *dashboard.DashboardBuilder {
	return base("rhesis-postgresql", "Rhesis / PostgreSQL",
		"The in-cluster PostgreSQL: connections against max_connections, transactions, size and its volume.").
		WithPanel(stats("Accepting connections", "pg_up: 0 while the server refuses the exporter (RhesisPostgresDown).", "",
			query(`pg_up{`+postgres+`}`, "up"))).
		WithPanel(series("Connections", "By state, against max_connections (the connection budget, docs/operations.md).", "none",
			query(`sum by (state) (pg_stat_activity_count{`+postgres+`})`, "{{state}}"),
			query(`max(pg_settings_max_connections{`+postgres+`})`, "max_connections"))).
		WithPanel(series("Transactions", "", "ops",
			query(`sum(rate(pg_stat_database_xact_commit{`+postgres+`,datname!~"template.*"}[$__rate_interval]))`, "commits"),
			query(`sum(rate(pg_stat_database_xact_rollback{`+postgres+`,datname!~"template.*"}[$__rate_interval]))`, "rollbacks"))).
		WithPanel(series("Database size", "", "bytes",
			query(`pg_database_size_bytes{`+postgres+`,datname!~"template.*"}`, "{{datname}}"))).
		WithPanel(series("Data volume", "postgres-pvc used against its capacity: full, PostgreSQL stops accepting writes.", "bytes",
			query(`kubelet_volume_stats_used_bytes{`+ns+`,persistentvolumeclaim="${prefix}postgres-pvc"}`, "used"),
			query(`kubelet_volume_stats_capacity_bytes{`+ns+`,persistentvolumeclaim="${prefix}postgres-pvc"}`, "capacity")))
}

func queues() *dashboard.DashboardBuilder {
	return base("rhesis-queues", "Rhesis / Redis and Celery queues",
		"The Celery queues' lengths against the workers and their autoscaler, and Redis.").
		WithPanel(series("Waiting tasks per queue", "The Celery queues (worker.keda.queues) in the broker's database.", "none",
			query(`redis_key_size{`+redis+`,db="db0"}`, "{{key}}"))).
		WithPanel(series("Workers", "Available worker pods, and the autoscaler's (the HorizontalPodAutoscaler's or KEDA's) desired and maximum.", "none",
			query(`kube_deployment_status_replicas_available{`+ns+`,deployment="${prefix}worker"}`, "available"),
			query(`kube_horizontalpodautoscaler_status_desired_replicas{`+ns+`,horizontalpodautoscaler=~"${prefix}worker|keda-hpa-${prefix}worker"}`, "desired"),
			query(`kube_horizontalpodautoscaler_spec_max_replicas{`+ns+`,horizontalpodautoscaler=~"${prefix}worker|keda-hpa-${prefix}worker"}`, "maximum"))).
		WithPanel(series("Waiting tasks per worker pod", "RhesisQueueBacklog fires above monitoring.alerts.queuePerWorker for 15 minutes.", "none",
			query(`sum(redis_key_size{`+redis+`,db="db0"}) / clamp_min(sum(kube_deployment_status_replicas_available{`+ns+`,deployment="${prefix}worker"}), 1)`, "per pod"))).
		WithPanel(series("Redis memory", "Used against the container's limit (RhesisRedisMemoryHigh at 90%).", "bytes",
			query(`redis_memory_used_bytes{`+redis+`}`, "used"),
			query(`max(kube_pod_container_resource_limits{`+ns+`,pod=~"${prefix}redis-[a-z0-9]+-[a-z0-9]+",container="redis",resource="memory"})`, "limit"))).
		WithPanel(series("Redis clients", "", "none",
			query(`redis_connected_clients{`+redis+`}`, "connected")))
}

func backups() *dashboard.DashboardBuilder {
	return base("rhesis-backups", "Rhesis / Backups",
		"The nightly dump of the in-cluster database: age of the last good one, the runs' durations and failures, and the backup volume.").
		WithPanel(stats("Since the last good backup", "RhesisBackupTooOld fires above monitoring.alerts.backupMaxAgeHours.", "s",
			query(`time() - max(kube_cronjob_status_last_successful_time{`+cronjob+`})`, "age"))).
		WithPanel(series("Run durations", "", "s",
			query(`kube_job_status_completion_time{`+backupJobs+`} - on(namespace, job_name) kube_job_status_start_time{`+backupJobs+`}`, "{{job_name}}"))).
		WithPanel(series("Failed runs", "A failed run after the last good one fires RhesisBackupFailed.", "none",
			query(`kube_job_failed{`+backupJobs+`,condition="true"}`, "{{job_name}}"))).
		WithPanel(series("Backup volume", "The dumps kept (backup.retentionDays) against the claim's capacity.", "bytes",
			query(`kubelet_volume_stats_used_bytes{`+ns+`,persistentvolumeclaim="${prefix}postgres-backup"}`, "used"),
			query(`kubelet_volume_stats_capacity_bytes{`+ns+`,persistentvolumeclaim="${prefix}postgres-backup"}`, "capacity")))
}

// datasource is the dashboards' Prometheus, chosen with the variable datasource.
var datasource = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}

// base is a dashboard with the variables every one has: the Prometheus data
// source, the release's namespace and its name prefix.
func base(uid, title, description string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{"rhesis"}).
		Editable().
		Refresh("1m").
		Time("now-6h", "now").
		Timezone(common.TimeZoneBrowser).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").Label("Data source").Type("prometheus")).
		WithVariable(dashboard.NewQueryVariableBuilder("namespace").
			Label("Namespace").
			Description("The namespace of the Rhesis release.").
			Datasource(datasource).
			Query(dashboard.StringOrMap{String: cog.ToPtr(`label_values(kube_deployment_status_replicas_available{deployment=~".*backend"}, namespace)`)}).
			Refresh(dashboard.VariableRefreshOnDashboardLoad)).
		WithVariable(dashboard.NewTextBoxVariableBuilder("prefix").
			Label("Name prefix").
			Description("The release's namePrefix (empty unless set): tells releases in one namespace apart.").
			DefaultValue(dashboard.StringOrMap{String: cog.ToPtr("")}))
}

func query(expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Datasource(datasource).Expr(expr).LegendFormat(legend)
}

func series(title, description, unit string, queries ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().Title(title).Datasource(datasource).Unit(unit).Min(0).Height(8).Span(12)
	if description != "" {
		p = p.Description(description)
	}
	for i, q := range queries {
		p = p.WithTarget(q.RefId(refID(i)))
	}
	return p
}

// refID names a panel's i-th query as Grafana does: A, B, C...
func refID(i int) string { return string(rune('A' + i)) }

func stats(title, description, unit string, queries ...*prometheus.DataqueryBuilder) *stat.PanelBuilder {
	p := stat.NewPanelBuilder().Title(title).Datasource(datasource).Height(4).Span(24)
	if description != "" {
		p = p.Description(description)
	}
	if unit != "" {
		p = p.Unit(unit)
	}
	for i, q := range queries {
		p = p.WithTarget(q.RefId(refID(i)))
	}
	return p
}
