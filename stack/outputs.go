package stack

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/rhesis-ai/rhesis-deploy/config"
)

// Local ports of the port-forward commands. The worker gets 8081 so it can be
// forwarded next to the backend (the seed used 8080 for both).
const (
	frontendLocalPort = 3000
	backendLocalPort  = 8080
	workerLocalPort   = 8081
)

type outputs struct {
	cfg       *config.Stack
	namespace pulumi.StringOutput
	// urls are the in-cluster http URLs of the enabled services.
	urls map[string]pulumi.StringOutput
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
	}
	urls := pulumi.StringMap{}
	forward := pulumi.StringMap{}
	for _, s := range httpServices {
		if url, ok := o.urls[s.name]; ok {
			urls[s.name] = url
			forward[s.name] = pulumi.String(fmt.Sprintf("kubectl port-forward -n %s svc/%s %d:%d", cfg.Namespace, s.name, s.localPort, s.port))
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

func quantityOutputs(q config.Quantities) pulumi.Map {
	return pulumi.Map{
		"cpu":       pulumi.String(q.CPU.String()),
		"cpuCores":  pulumi.Float64(q.CPU.AsApproximateFloat64()),
		"memory":    pulumi.String(q.Memory.String()),
		"memoryGiB": pulumi.Float64(q.Memory.AsApproximateFloat64() / (1 << 30)),
	}
}

// StackTotals are the seed's "Total" row: what the whole stack requests and
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
