package stack

import (
	"github.com/rhesis-ai/rhesis-deploy/charts"
)

// What only Pulumi decides about the chart's objects in raw mode: which
// component owns each, what is protected and what is not awaited. The
// objects themselves are the chart's. There is no start order between
// services: as with Helm, everything is applied at once and readiness sorts
// it out (the migration Job waits for the database, backend and worker wait
// for the migrations in their prepare-database init container). A workload
// only waits for the objects its pods read.

// group is a component resource owning some of the objects.
type group struct{ typ, name string }

var (
	platformGroup   = group{"Platform", "platform"}
	policiesGroup   = group{"NetworkPolicies", "network-policies"}
	monitoringGroup = group{"Monitoring", "monitoring"}
)

// serviceGroups own a service's objects (app.kubernetes.io/name), its own
// NetworkPolicy included.
var serviceGroups = []group{
	{"Postgres", "postgres"}, {"Redis", "redis"}, {"Migration", "migrate"},
	{"Backend", "backend"}, {"Worker", "worker"}, {"Frontend", "frontend"},
	{"Backup", "postgres-backup"},
}

// groupOf is the component that owns a rendered object.
func groupOf(o charts.Object) group {
	switch o.Kind() {
	case "ServiceMonitor", "PrometheusRule":
		return monitoringGroup
	case "NetworkPolicy":
		if g, ok := serviceGroup(o.BaseName()); ok {
			return g
		}
		return policiesGroup
	}
	if g, ok := serviceGroup(o.Label("app.kubernetes.io/name")); ok {
		return g
	}
	return platformGroup
}

func serviceGroup(name string) (group, bool) {
	for _, g := range serviceGroups {
		if g.name == name {
			return g, true
		}
	}
	return group{}, false
}

// previousGroup is where the release before this layout kept an object
// (its URN's parent), when that differs: all policies were one component's.
func previousGroup(o charts.Object) (group, bool) {
	if o.Kind() == "NetworkPolicy" && groupOf(o) != policiesGroup {
		return policiesGroup, true
	}
	return group{}, false
}

// helmOnly objects are Helm's hooks: the `helm test` pod has no place in a
// Pulumi stack.
func helmOnly(o charts.Object) bool { return o.Annotation("helm.sh/hook") != "" }

// isWorkload tells the objects that run pods: they wait
// for what they mount and read.
func isWorkload(o charts.Object) bool {
	switch o.Kind() {
	case "Deployment", "Job", "CronJob":
		return true
	}
	return false
}

// protected objects hold data: the claims the chart keeps on uninstall are
// refused deletion and replacement by Pulumi as well.
func protected(o charts.Object) bool { return o.Annotation("helm.sh/resource-policy") == "keep" }

// skipAwait objects are ready when created: a Service's endpoints and a
// claim's binding are awaited through the Deployment that uses them (a
// WaitForFirstConsumer claim binds only then); an Ingress's address and a
// route's acceptance are the controller's, which may be slower than the stack.
func skipAwait(o charts.Object) bool {
	switch o.Kind() {
	case "Service", "PersistentVolumeClaim", "Ingress", "HTTPRoute":
		return true
	}
	return false
}

// secretFields are the fields held as Pulumi secrets, in state and diffs.
var secretFields = map[string][]string{"Secret": {"data", "stringData"}}
