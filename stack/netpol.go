package stack

import (
	"github.com/rhesis-ai/rhesis-deploy/components"
	"github.com/rhesis-ai/rhesis-deploy/config"
)

// HelmTestApp is the app label of the chart's `helm test` pod.
const HelmTestApp = "backend-health-test"

// privateRanges are not "the internet": the backend and worker reach
// in-cluster and private addresses only through the rules that name them.
var privateRanges = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}

// NetworkPolicySpecs are the namespace's traffic rules: deny everything, then
// allow exactly who talks to whom. Nil when network policies are off.
func NetworkPolicySpecs(cfg *config.Stack) []components.PolicySpec {
	np := cfg.NetworkPolicies
	if !np.Enabled {
		return nil
	}
	both := []string{"Ingress", "Egress"}
	tcp := func(ports ...int) []components.PolicyPort {
		out := make([]components.PolicyPort, 0, len(ports))
		for _, p := range ports {
			out = append(out, components.PolicyPort{Port: p})
		}
		return out
	}
	app := func(name string) components.PolicyPeer { return components.PolicyPeer{App: name} }
	anywhere := components.PolicyPeer{CIDR: "0.0.0.0/0"}

	specs := []components.PolicySpec{
		{Name: "default-deny", Types: both},
		{Name: "allow-dns", Types: []string{"Egress"}, Egress: []components.PolicyRule{{
			Peers: []components.PolicyPeer{{DNS: true}},
			Ports: []components.PolicyPort{{Port: 53, Protocol: "UDP"}, {Port: 53, Protocol: "TCP"}},
		}}},
	}
	fromIngress := func(port int) []components.PolicyRule {
		if !cfg.Ingress.Enabled {
			return nil
		}
		return []components.PolicyRule{{Peers: []components.PolicyPeer{{Namespace: np.IngressNamespace}}, Ports: tcp(port)}}
	}
	// The stores, in-cluster or external.
	db := Database(cfg)
	_, redisPort := RedisEndpoint(cfg)
	// storeRule allows egress to one store: its pods, or any address on its
	// port when it is external (its address may change).
	storeRule := func(inCluster bool, external, name string, port int) []components.PolicyRule {
		switch {
		case inCluster:
			return []components.PolicyRule{{Peers: []components.PolicyPeer{app(name)}, Ports: tcp(port)}}
		case external != "":
			return []components.PolicyRule{{Peers: []components.PolicyPeer{anywhere}, Ports: tcp(port)}}
		}
		return nil
	}
	dbEgress := func() []components.PolicyRule {
		return storeRule(cfg.PostgresInCluster(), cfg.Postgres.External.Host, config.PostgresName, db.Port)
	}
	storeEgress := func() []components.PolicyRule {
		return append(dbEgress(), storeRule(cfg.RedisInCluster(), cfg.Redis.External.Host, config.RedisName, redisPort)...)
	}
	pythonEgress := func() []components.PolicyRule {
		rules := storeEgress()
		if np.InternetEgress && len(np.EgressPorts) > 0 {
			rules = append(rules, components.PolicyRule{
				Peers: []components.PolicyPeer{{CIDR: "0.0.0.0/0", Except: privateRanges}},
				Ports: tcp(np.EgressPorts...),
			})
		}
		return rules
	}

	if cfg.Frontend.Enabled {
		var egress []components.PolicyRule
		if cfg.Backend.Enabled {
			// Next.js renders on the server and calls the backend there.
			egress = append(egress, components.PolicyRule{Peers: []components.PolicyPeer{app(config.BackendName)}, Ports: tcp(components.BackendPort)})
		}
		specs = append(specs, components.PolicySpec{Name: config.FrontendName, App: config.FrontendName, Types: both,
			Ingress: fromIngress(components.FrontendPort), Egress: egress})
	}
	if cfg.Backend.Enabled {
		ingress := fromIngress(components.BackendPort)
		if cfg.Frontend.Enabled {
			ingress = append(ingress, components.PolicyRule{Peers: []components.PolicyPeer{app(config.FrontendName)}, Ports: tcp(components.BackendPort)})
		}
		// The chart's `helm test` pod checks the backend's /health.
		ingress = append(ingress, components.PolicyRule{Peers: []components.PolicyPeer{app(HelmTestApp)}, Ports: tcp(components.BackendPort)})
		specs = append(specs, components.PolicySpec{Name: "helm-test", App: HelmTestApp, Types: both,
			Egress: []components.PolicyRule{{Peers: []components.PolicyPeer{app(config.BackendName)}, Ports: tcp(components.BackendPort)}}})
		specs = append(specs, components.PolicySpec{Name: config.BackendName, App: config.BackendName, Types: both,
			Ingress: ingress, Egress: pythonEgress()})
	}
	if cfg.Worker.Enabled {
		specs = append(specs, components.PolicySpec{Name: config.WorkerName, App: config.WorkerName, Types: both, Egress: pythonEgress()})
	}
	if cfg.Backend.Enabled && cfg.Migrations {
		specs = append(specs, components.PolicySpec{Name: components.MigrateName, App: components.MigrateName,
			Types: both, Egress: dbEgress()})
	}
	if cfg.Backup.Enabled {
		specs = append(specs, components.PolicySpec{Name: components.BackupName, App: components.BackupName,
			Types: both, Egress: dbEgress()})
	}
	metrics := func(port int) []components.PolicyRule {
		if !cfg.Monitoring.Enabled {
			return nil
		}
		return []components.PolicyRule{{Peers: []components.PolicyPeer{{Namespace: cfg.Monitoring.Namespace}}, Ports: tcp(port)}}
	}
	if cfg.PostgresInCluster() {
		clients := []components.PolicyPeer{app(config.BackendName), app(config.WorkerName)}
		if cfg.Migrations {
			clients = append(clients, app(components.MigrateName))
		}
		if cfg.Backup.Enabled {
			clients = append(clients, app(components.BackupName))
		}
		ingress := append([]components.PolicyRule{{Peers: clients, Ports: tcp(components.PostgresPort)}}, metrics(components.PostgresExporter.Port)...)
		specs = append(specs, components.PolicySpec{Name: config.PostgresName, App: config.PostgresName, Types: both, Ingress: ingress})
	}
	if cfg.RedisInCluster() {
		ingress := append([]components.PolicyRule{{
			Peers: []components.PolicyPeer{app(config.BackendName), app(config.WorkerName)}, Ports: tcp(components.RedisPort),
		}}, metrics(components.RedisExporter.Port)...)
		specs = append(specs, components.PolicySpec{Name: config.RedisName, App: config.RedisName, Types: both, Ingress: ingress})
	}
	return specs
}
