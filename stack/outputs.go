package stack

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/rhesis-ai/rhesis-deploy/charts"
	"github.com/rhesis-ai/rhesis-deploy/config"
)

type outputs struct {
	cfg       *config.Stack
	namespace pulumi.StringOutput
	// services are the http Services the chart rendered.
	services map[string]service
	// release describes the Helm release in helm mode.
	release pulumi.Map
	// images describe the application images.
	images pulumi.Map
}

// values are the stack outputs, by name. Both modes give the same ones, with
// release added in helm mode.
func (o outputs) values() pulumi.Map {
	cfg := o.cfg
	m := pulumi.Map{
		"namespace":   o.namespace,
		"environment": pulumi.String(string(cfg.Environment)),
		"deployMode":  pulumi.String(cfg.DeployMode),
		"namePrefix":  pulumi.String(cfg.NamePrefix),
	}
	urls := pulumi.StringMap{}
	forward := pulumi.StringMap{}
	for _, s := range httpServices {
		name := cfg.NamePrefix + s.name
		if svc, ok := o.services[name]; ok {
			path := ""
			if s.healthOnly {
				path = svc.health
			}
			urls[s.name] = pulumi.Sprintf("http://%s.%s.svc.cluster.local:%d%s", name, o.namespace, svc.port, path)
			forward[s.name] = pulumi.String(fmt.Sprintf("kubectl port-forward -n %s svc/%s %d:%d", cfg.Namespace, name, s.localPort, svc.port))
		}
	}
	m["urls"] = urls
	m["portForward"] = forward
	m["publicUrls"] = pulumi.StringMap{
		"frontend": pulumi.String(cfg.FrontendURL),
		"api":      pulumi.String(cfg.APIBaseURL),
	}
	m["images"] = o.images
	if o.release != nil {
		m["release"] = o.release
	}

	t := Totals(cfg)
	replicas := pulumi.IntMap{}
	for _, c := range cfg.Components() {
		if c.Enabled {
			replicas[c.Name] = pulumi.Int(c.Replicas)
		}
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

// service is one http Service of the chart.
type service struct {
	port   int
	health string
}

// httpServices are the services with an http endpoint in the outputs, and
// the local port of their port-forward (the worker's 8081 sits next to the
// backend's 8080). The worker serves nothing but its health, so its URL is
// its liveness route.
var httpServices = []struct {
	name       string
	localPort  int
	healthOnly bool
}{
	{config.FrontendName, 3000, false},
	{config.BackendName, 8080, false},
	{config.WorkerName, 8081, true},
}

// serviceAddresses are the rendered Services' first ports, and for
// health-only services the liveness route of their Deployment.
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

func quantityOutputs(q config.Quantities) pulumi.Map {
	return pulumi.Map{
		"cpu":       pulumi.String(q.CPU.String()),
		"cpuCores":  pulumi.Float64(q.CPU.AsApproximateFloat64()),
		"memory":    pulumi.String(q.Memory.String()),
		"memoryGiB": pulumi.Float64(q.Memory.AsApproximateFloat64() / (1 << 30)),
	}
}

// StackTotals are the "total" row of README.md's environment table: what the whole stack requests and
// may use, over every replica of every enabled component.
type StackTotals struct {
	Replicas         int
	Requests, Limits config.Quantities
	Storage          resource.Quantity
}

// Totals adds up the stack's replicas, resources and claimed storage.
func Totals(cfg *config.Stack) StackTotals {
	var t StackTotals
	for _, c := range cfg.Components() {
		if !c.Enabled {
			continue
		}
		t.Replicas += c.Replicas
		for i := 0; i < c.Replicas; i++ {
			t.Requests.CPU.Add(c.Resources.Requests.CPU)
			t.Requests.Memory.Add(c.Resources.Requests.Memory)
			t.Limits.CPU.Add(c.Resources.Limits.CPU)
			t.Limits.Memory.Add(c.Resources.Limits.Memory)
		}
	}
	for _, s := range []config.Store{cfg.Postgres, cfg.Redis} {
		if s.Enabled && s.Persistence.Enabled {
			t.Storage.Add(s.Persistence.Size)
		}
	}
	return t
}
