package stack

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/config"
)

// outputs are what a run exports.
type outputs struct {
	r         *Resolved
	namespace pulumi.StringOutput
	// services are the chart's HTTP Services by name, with their port and
	// the liveness path of the pods behind them.
	services map[string]service
	// release is the Helm release's status (helm mode only).
	release pulumi.Map
	images  pulumi.Map
}

// values are the stack outputs.
func (o outputs) values() pulumi.Map {
	cfg, prefix := o.r.Config, o.r.NamePrefix()
	m := pulumi.Map{
		"namespace":   o.namespace,
		"environment": pulumi.String(string(cfg.Environment)),
		"deployMode":  pulumi.String(cfg.Deploy.Mode),
		"namePrefix":  pulumi.String(prefix),
	}
	urls := pulumi.StringMap{}
	forward := pulumi.StringMap{}
	for _, s := range httpServices {
		name := prefix + s.name
		if svc, ok := o.services[name]; ok {
			path := ""
			if s.healthOnly {
				path = svc.health
			}
			urls[s.name] = pulumi.Sprintf("http://%s.%s.svc.cluster.local:%d%s", name, o.namespace, svc.port, path)
			forward[s.name] = pulumi.String(fmt.Sprintf("kubectl port-forward -n %s svc/%s %d:%d", cfg.Deploy.Namespace, name, s.localPort, svc.port))
		}
	}
	m["urls"] = urls
	m["portForward"] = forward
	objects := o.r.Rendered.Objects
	m["publicUrls"] = pulumi.StringMap{
		"frontend": pulumi.String(charts.ConfigValue(objects, "FRONTEND_URL")),
		"api":      pulumi.String(charts.ConfigValue(objects, "API_BASE_URL")),
	}
	m["images"] = o.images
	if o.release != nil {
		m["release"] = o.release
	}
	if cfg.ChartSignedBy != "" {
		// Who published the chart this stack runs, as deploy.chartKeyring verified it.
		m["chartSignedBy"] = pulumi.String(cfg.ChartSignedBy)
	}

	t := Totals(o.r.Merged)
	replicas := pulumi.IntMap{}
	for _, c := range t.Components {
		replicas[c.Name] = pulumi.Int(c.Replicas)
	}
	replicas["total"] = pulumi.Int(t.Replicas)
	m["replicas"] = replicas
	m["resources"] = pulumi.Map{
		"requests": quantityOutputs(t.Requests),
		"limits":   quantityOutputs(t.Limits),
		"storage":  pulumi.String(t.Storage.String()),
	}
	return m
}

// service is an HTTP Service of the chart.
type service struct {
	port   int
	health string
}

// httpServices are the Services reachable over HTTP, with the local port
// `kubectl port-forward` uses and whether only the health path is worth a URL.
var httpServices = []struct {
	name       string
	localPort  int
	healthOnly bool
}{
	{"frontend", 3000, false},
	{"backend", 8080, false},
	{"worker", 8081, true},
}

// serviceAddresses reads each Service's port, and the liveness path of the
// Deployment of the same name, from the rendered chart.
func serviceAddresses(r *charts.Rendered) map[string]service {
	out := map[string]service{}
	for _, o := range r.Objects {
		if port, ok := o.Field("spec", "ports", 0, "port").(float64); ok && o.Kind() == "Service" {
			s := out[o.Name()]
			s.port = int(port)
			out[o.Name()] = s
		}
	}
	for _, o := range r.Objects {
		if s, ok := out[o.Name()]; ok && o.Kind() == "Deployment" {
			s.health, _ = o.Field("spec", "template", "spec", "containers", 0, "livenessProbe", "httpGet", "path").(string)
			out[o.Name()] = s
		}
	}
	return out
}

// Quantities are CPU and memory.
type Quantities struct{ CPU, Memory resource.Quantity }

func quantityOutputs(q Quantities) pulumi.Map {
	return pulumi.Map{
		"cpu":       pulumi.String(q.CPU.String()),
		"cpuCores":  pulumi.Float64(q.CPU.AsApproximateFloat64()),
		"memory":    pulumi.String(q.Memory.String()),
		"memoryGiB": pulumi.Float64(q.Memory.AsApproximateFloat64() / (1 << 30)),
	}
}

// StackTotals are what a stack asks of the cluster at its configured
// replicas: pods, CPU and memory, and volume storage.
type StackTotals struct {
	Components       []ComponentTotal
	Replicas         int
	Requests, Limits Quantities
	Storage          resource.Quantity
}

// ComponentTotal is one running component's replicas.
type ComponentTotal struct {
	Name     string
	Replicas int
}

// workloads are the chart's components: the output name, the values path of
// its settings, and the path that turns it on (with no external host).
var workloads = []struct{ name, path, enabled, external string }{
	{"frontend", "frontend", "frontend.enabled", ""},
	{"backend", "backend", "backend.enabled", ""},
	{"worker", "worker", "worker.enabled", ""},
	{"postgres", "database.postgresql", "database.enabled", "database.external.host"},
	{"redis", "redis", "redis.enabled", "redis.external.host"},
}

// Totals adds up the components the merged values run.
func Totals(merged map[string]any) StackTotals {
	var t StackTotals
	for _, w := range workloads {
		if !config.Bool(merged, w.enabled) || (w.external != "" && config.String(merged, w.external) != "") {
			continue
		}
		n, _ := config.Lookup(merged, w.path+".replicas").(float64)
		replicas := int(n)
		t.Components = append(t.Components, ComponentTotal{Name: w.name, Replicas: replicas})
		t.Replicas += replicas
		for i := 0; i < replicas; i++ {
			t.Requests.CPU.Add(quantity(merged, w.path+".resources.requests.cpu"))
			t.Requests.Memory.Add(quantity(merged, w.path+".resources.requests.memory"))
			t.Limits.CPU.Add(quantity(merged, w.path+".resources.limits.cpu"))
			t.Limits.Memory.Add(quantity(merged, w.path+".resources.limits.memory"))
		}
		if w.external != "" && config.Bool(merged, w.path+".persistence.enabled") {
			t.Storage.Add(quantity(merged, w.path+".persistence.size"))
		}
	}
	return t
}

// quantity is the Kubernetes quantity at a path (the schema checked it).
func quantity(merged map[string]any, path string) resource.Quantity {
	q, _ := resource.ParseQuantity(fmt.Sprint(config.Lookup(merged, path)))
	return q
}
